// Durable whole-file replacement: after a successful return the new content
// survives a crash or power loss; after a failure the old file is untouched.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace hs {

/// The name prefix of temp files that replace_file_durably(path, ...) creates
/// next to `path`: "<basename>.tmp.". A start-up sweep may remove leftovers.
std::string durable_temp_prefix(std::string_view basename);

/// Replaces `path` with `data`, mode `mode`: writes a temp file in the same
/// directory, fsyncs it, renames it over `path`, then fsyncs the directory.
/// On any failure before the rename, `path` is unchanged and the temp file is
/// removed. The one failure after the rename (the directory fsync) is reported
/// too; `path` then already holds the new content but may not survive a crash,
/// and `*renamed` (when given) tells the caller so.
Status replace_file_durably(const std::string& path, std::string_view data, mode_t mode = 0600,
                            bool* renamed = nullptr);

}  // namespace hs

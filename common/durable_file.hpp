// Durable whole-file replacement: after a successful return the new content
// survives a crash or power loss; after a failure the old file is untouched.
#pragma once

#include <sys/types.h>

#include <functional>
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
/// `before_rename` (when given) runs after the temp file is durable, as the
/// last step before the rename: an error from it stops the write there
/// (temp file removed, `path` untouched) and is returned. It lets a caller
/// check, as late as possible, that `path` is still the file it expects.
/// `after_rename` (when given) runs right after the rename, before the
/// directory fsync: the moment to note which file `path` now is.
Status replace_file_durably(const std::string& path, std::string_view data, mode_t mode = 0600,
                            bool* renamed = nullptr, const std::function<Status()>& before_rename = {},
                            const std::function<void()>& after_rename = {});

}  // namespace hs

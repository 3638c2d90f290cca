// The file system calls of TreeWatch, made on its worker thread only:
// listing a directory, lstat, the real path of a directory, and the stat
// signature of a set of trees.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/file_stat.hpp"

namespace hs::daemon::watch {

struct Entry {
  std::string name;
  bool dir = false;  // a directory itself, not a symlink to one
};
/// The entries of `dir` (without . and ..), sorted by name; empty when it
/// cannot be listed.
std::vector<Entry> list_entries(const std::string& dir);

/// lstat(2); nullopt when it fails.
std::optional<FileStat> lstat_of(const std::string& path);
/// Whether `path`, following symlinks, is a directory.
bool is_dir_following(const std::string& path);
/// realpath(3) of an existing path; nullopt when it fails.
std::optional<std::string> real_path(const std::string& path);

/// "/a/b" + "c" = "/a/b/c"; "/" + "c" = "/c".
std::string join_path(const std::string& dir, const std::string& name);
/// "/a/b/c" -> "/a/b"; "/a" -> "/".
std::string parent_path(const std::string& path);
/// "/a/b/c" -> "c".
std::string base_name(const std::string& path);
/// Whether `path` is `top` or lies below it.
bool within(const std::string& path, const std::string& top);

/// The stat signature of `roots`: a SHA-256 (hex) over every path below
/// each root (the root followed if it is a symlink, nothing else followed),
/// in order, with each non-directory's lstat (device, inode, size, mtime,
/// ctime, mode), and a marker for each root that is missing. Equal
/// signatures: nothing a stat can see changed.
std::string tree_signature(const std::vector<std::string>& roots);

}  // namespace hs::daemon::watch

// Helpers for tests: temp dirs under /tmp, whole-file I/O, running commands.
#pragma once

#include <sys/types.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace hs::test {

/// A fresh directory under /tmp (short, so socket paths fit in sun_path),
/// removed with its content on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

/// Sets (or, with nullptr, unsets) an environment variable for one scope.
class EnvVar {
 public:
  EnvVar(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~EnvVar() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  EnvVar(const EnvVar&) = delete;
  EnvVar& operator=(const EnvVar&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

/// Whole content of `path`; fails the test when it cannot be read.
std::string slurp(const std::string& path);
/// Writes `data` to `path` (plain write, no durability needed in tests).
void spit(const std::string& path, std::string_view data, mode_t mode = 0644);
/// True when `path` exists (lstat).
bool exists(const std::string& path);
/// Runs `cmd` with /bin/sh and returns its standard output.
std::string run(const std::string& cmd);
/// Permission bits of `path` (stat).
mode_t mode_of(const std::string& path);
/// Names in a directory, sorted.
std::string list(const std::string& dir);

}  // namespace hs::test

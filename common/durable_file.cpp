#include "common/durable_file.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/fs.hpp"

namespace hs {
namespace {

// Removes the temp file unless dismissed: every early return cleans up.
class TempGuard {
 public:
  explicit TempGuard(std::string path) : path_(std::move(path)) {}
  ~TempGuard() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  void dismiss() { path_.clear(); }
  TempGuard(const TempGuard&) = delete;
  TempGuard& operator=(const TempGuard&) = delete;

 private:
  std::string path_;
};

}  // namespace

std::string durable_temp_prefix(std::string_view basename) {
  std::string p(basename);
  p += ".tmp.";
  return p;
}

Status replace_file_durably(const std::string& path, std::string_view data, mode_t mode, bool* renamed,
                            const std::function<Status()>& before_rename,
                            const std::function<void()>& after_rename) {
  if (renamed != nullptr) *renamed = false;
  auto [dir, base] = fs::split(path);
  std::string tmpl = fs::join(dir, durable_temp_prefix(base) + "XXXXXX");
  // mkostemp creates the file exclusively with mode 0600, so no other user
  // can read it even for the moment before fchmod.
  int raw = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (raw < 0) return os_error("create temp file in", dir, errno);
  UniqueFd fd(raw);
  TempGuard guard(tmpl);

  if (::fchmod(fd.get(), mode) != 0) return os_error("chmod", tmpl, errno);
  HS_TRY(fs::write_all(fd.get(), data, tmpl));
  // The data must be on disk before the rename makes it visible under `path`;
  // otherwise a crash could leave a renamed but empty or partial file.
  HS_TRY(fs::durable_sync(fd.get(), tmpl));
  if (::close(fd.release()) != 0) return os_error("close", tmpl, errno);
  if (before_rename) HS_TRY(before_rename());
  if (::rename(tmpl.c_str(), path.c_str()) != 0) return os_error("rename to " + path, tmpl, errno);
  guard.dismiss();
  if (renamed != nullptr) *renamed = true;
  if (after_rename) after_rename();
  // The rename itself lives in the directory: sync it so that the new name
  // (and not the old file) is what a crash leaves behind.
  return fs::fsync_dir(dir);
}

}  // namespace hs

#include "daemon/store/file_commit.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/clock.hpp"
#include "common/fs.hpp"
#include "daemon/store/rename_seam.hpp"
#include "daemon/store/temp_files.hpp"

namespace hs::daemon::store {
namespace {

// Removes a file of ours unless dismissed: every early return cleans up.
class Removal {
 public:
  explicit Removal(std::string path) : path_(std::move(path)) {}
  ~Removal() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  Removal(const Removal&) = delete;
  Removal& operator=(const Removal&) = delete;
  void move_to(std::string path) { path_ = std::move(path); }
  void dismiss() { path_.clear(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The same file, as far as its content goes: a rename moves only ctime.
bool same_file(const FileStat& a, const FileStat& b) {
  return a.dev == b.dev && a.ino == b.ino && a.size == b.size && a.mtime_ns == b.mtime_ns;
}

Error changed_error(const std::string& path, const std::string& what) {
  return busy("check", path, "changed by another process (" + what + ")");
}

// Step 2: state.json is still the file expected (or still absent).
Status check_expected(const FileCommit& c, FileCommitInfo& out) {
  HS_TRY_ASSIGN(const std::optional<FileStat> now, stat_if_exists(c.path));
  const std::optional<FileStat> expected = c.expect != nullptr ? std::optional<FileStat>(c.expect->id) : std::nullopt;
  if (now == expected) return {};
  out.changed = true;
  return changed_error(c.path, "expected " + describe(expected) + ", found " + describe(now));
}

// The new file's identity once in place. A writer that opened state.json
// in place right after it arrived may already have written into it: then
// the identity from before is kept, which no longer matches, so the next
// check reloads what that writer wrote.
Result<std::shared_ptr<KeptFile>> placed_file(UniqueFd fd, const FileStat& before, const std::string& path) {
  HS_TRY_ASSIGN(const FileStat after, fstat_kept(fd.get(), path));
  return std::make_shared<KeptFile>(KeptFile{std::move(fd), same_file(after, before) ? after : before});
}

// After a swap put our file `own` in state.json and left the previous one
// at `swap`: swaps the previous one back. If a save landed in state.json
// meanwhile, that save is newer than the one put back and takes its place,
// as it would have without us; the one it replaced is deleted if it is
// ours (`ours`), else kept aside. Leaves nothing at `swap`.
Status put_back(const std::string& swap, const std::string& path, uint64_t own, const KeptFile* ours,
                FileCommitInfo& out) {
  auto [dir, base] = fs::split(path);
  int err = exchange_names(swap, path);
  if (err == ENOENT) {
    // state.json was removed since: the displaced file goes back unless
    // yet another one has appeared.
    err = rename_noreplace(swap, path);
    if (err == 0) return {};
    if (err != EEXIST) return os_error("rename to " + path, swap, err);
  } else if (err != 0) {
    return os_error("exchange with " + path, swap, err);
  } else {
    HS_TRY_ASSIGN(const std::optional<FileStat> back, stat_if_exists(swap));
    if (!back || back->ino == own) {
      ::unlink(swap.c_str());
      return {};
    }
    // A newer save: in place again, and what it replaced comes to `swap`.
    if (int e = exchange_names(swap, path); e != 0) return os_error("exchange with " + path, swap, e);
  }
  HS_TRY_ASSIGN(const std::optional<FileStat> left, stat_if_exists(swap));
  if (!left) return {};
  if (left->ino == own || (ours != nullptr && left->ino == ours->id.ino)) {
    ::unlink(swap.c_str());
    return {};
  }
  HS_TRY_ASSIGN(const std::string kept, keep_aside(swap, dir, base + ".displaced", Clock::now()));
  out.warnings.push_back("another process saved " + path + " twice within microseconds of the daemon's write; the " +
                         "earlier save is kept as " + kept);
  return {};
}

// Steps 3 to 6 with a state.json expected.
Status exchange_in(const FileCommit& c, UniqueFd& fd, const FileStat& id, Removal& temp, FileCommitInfo& out) {
  auto [dir, base] = fs::split(c.path);
  const std::string swap = temp.path();
  int err = exchange_names(swap, c.path);
  if (err == EINVAL || err == ENOSYS) {
    out.exchange_refused = true;
    return {};  // the caller goes on with the check's rename
  }
  if (err == ENOENT) {
    out.changed = true;  // state.json was removed since the check
    return changed_error(c.path, "removed");
  }
  if (err != 0) return os_error("exchange with " + c.path, swap, err);
  temp.dismiss();  // `swap` is no longer our new file: the code below decides
  HS_TRY_ASSIGN(const std::optional<FileStat> displaced, stat_if_exists(swap));
  if (!displaced || !same_file(*displaced, c.expect->id)) {
    // Another writer's save landed after the check: it goes back now.
    HS_TRY(put_back(swap, c.path, id.ino, nullptr, out));
    out.changed = true;
    return changed_error(c.path, "a save displaced by the exchange, put back: " + describe(displaced));
  }
  HS_TRY_ASSIGN(out.written, placed_file(std::move(fd), id, c.path));
  if (Status s = fs::fsync_dir(dir); !s) {
    // Not durable: the old file goes back, so that state.json stays as it
    // was, as a failed write promises.
    out.written.reset();
    HS_TRY(put_back(swap, c.path, id.ino, c.expect, out));
    if (auto now = fstat_kept(c.expect->fd.get(), c.path)) out.expect_now = *now;
    return s;
  }
  out.placed = true;
  // The old file is gone from the name only now: a crash before this
  // leaves it at the swap name, where start-up knows it for ours.
  ::unlink(swap.c_str());
  return {};
}

}  // namespace

Status commit_file(const FileCommit& c, FileCommitInfo* info) {
  FileCommitInfo local;
  FileCommitInfo& out = info != nullptr ? *info : local;
  out = FileCommitInfo{};
  auto [dir, base] = fs::split(c.path);

  // Step 1. mkostemp creates the file exclusively with mode 0600, so no
  // other user can read it even before the fchmod.
  std::string tmpl = new_temp_template(dir);
  int raw = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (raw < 0) return os_error("create temp file in", dir, errno);
  UniqueFd fd(raw);
  Removal temp(tmpl);
  if (::fchmod(fd.get(), 0600) != 0) return os_error("chmod", tmpl, errno);
  HS_TRY(fs::write_all(fd.get(), c.text, tmpl));
  // The data must be on disk before a rename makes it visible as state.json;
  // otherwise a crash could leave a renamed but empty or partial file.
  if (::fsync(fd.get()) != 0) return os_error("fsync", tmpl, errno);
  HS_TRY_ASSIGN(const FileStat id, fstat_kept(fd.get(), tmpl));

  if (c.exchange && c.expect != nullptr) {
    // The swap name records what was expected and which file is ours, for
    // a start-up after a crash (temp_files.hpp). Taken before the check, so
    // that nothing but the exchange itself stands between the two.
    std::string swap = swap_name(dir, c.expect->id, id.ino);
    if (::rename(temp.path().c_str(), swap.c_str()) != 0) return os_error("rename to " + swap, temp.path(), errno);
    temp.move_to(swap);
  }
  // Step 2, as late as possible: the encoding and the fsync are behind us.
  HS_TRY(check_expected(c, out));

  if (c.exchange) {
    if (c.expect == nullptr) {
      int err = rename_noreplace(temp.path(), c.path);
      if (err == EEXIST) {
        out.changed = true;
        return changed_error(c.path, "created by another process");
      }
      if (err != 0) return os_error("rename to " + c.path, temp.path(), err);
    } else {
      HS_TRY(exchange_in(c, fd, id, temp, out));
      if (!out.exchange_refused) return {};
      // The exchange was refused: the check above stands for this write.
      if (::rename(temp.path().c_str(), c.path.c_str()) != 0) {
        return os_error("rename to " + c.path, temp.path(), errno);
      }
    }
  } else if (::rename(temp.path().c_str(), c.path.c_str()) != 0) {
    return os_error("rename to " + c.path, temp.path(), errno);
  }
  temp.dismiss();
  out.placed = true;
  HS_TRY_ASSIGN(out.written, placed_file(std::move(fd), id, c.path));
  // The rename itself lives in the directory: sync it so that the new name
  // (and not the old file) is what a crash leaves behind.
  return fs::fsync_dir(dir);
}

bool exchange_works(const std::string& dir) {
  if (!exchange_built()) return false;
  std::string a = new_temp_template(dir);
  std::string b = new_temp_template(dir);
  int fa = ::mkostemp(a.data(), O_CLOEXEC);
  if (fa < 0) return true;  // cannot tell: the first write finds out
  ::close(fa);
  int fb = ::mkostemp(b.data(), O_CLOEXEC);
  if (fb < 0) {
    ::unlink(a.c_str());
    return true;
  }
  ::close(fb);
  int err = exchange_names(a, b);
  ::unlink(a.c_str());
  ::unlink(b.c_str());
  return err != EINVAL && err != ENOSYS;
}

}  // namespace hs::daemon::store

#include "daemon/store/temp_files.hpp"

#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "common/fs.hpp"
#include "daemon/store/rename_seam.hpp"

namespace hs::daemon::store {
namespace {

constexpr std::string_view kNewPrefix = "state.json.harnesssyncd-new.";
constexpr std::string_view kSwapPrefix = "state.json.harnesssyncd-swap.";
// What earlier daemons named their temp files (no other writer uses it).
constexpr std::string_view kOldNewPrefix = "state.json.tmp.";

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Reads one unsigned decimal number up to `stop` (or the end), moving `s` past it.
template <class T>
std::optional<T> take_number(std::string_view& s, char stop) {
  size_t end = s.find(stop);
  std::string_view digits = s.substr(0, end);
  T v{};
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  s = end == std::string_view::npos ? std::string_view() : s.substr(end + 1);
  return v;
}

struct SwapName {
  uint64_t expect_ino = 0;
  int64_t expect_size = 0;
  int64_t expect_mtime_ns = 0;
  uint64_t own = 0;
};

std::optional<SwapName> parse_swap_name(std::string_view name) {
  if (!starts_with(name, kSwapPrefix)) return std::nullopt;
  std::string_view s = name.substr(kSwapPrefix.size());
  auto ino = take_number<uint64_t>(s, '-');
  auto size = take_number<int64_t>(s, '-');
  auto mtime = take_number<int64_t>(s, '.');
  auto own = take_number<uint64_t>(s, '\0');
  if (!ino || !size || !mtime || !own || !s.empty()) return std::nullopt;
  return SwapName{*ino, *size, *mtime, *own};
}

Status remove(const std::string& path, std::vector<std::string>& warnings, const std::string& why) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return os_error("unlink", path, errno);
  warnings.push_back("removed " + path + " (" + why + ")");
  return {};
}

// A swap file a crash left: see temp_files.hpp.
Status recover_swap(const std::string& dir, const std::string& path, const SwapName& n, Clock::time_point now,
                    std::vector<std::string>& warnings) {
  auto st = stat_if_exists(path);  // follows a symlink, as the store read state.json
  if (!st || !*st) return remove(path, warnings, "a dangling swap file of an interrupted write");
  const FileStat& f = **st;
  if (f.ino == n.own) return remove(path, warnings, "the new state of an interrupted write, never in place");
  if (f.ino == n.expect_ino && f.size == n.expect_size && f.mtime_ns == n.expect_mtime_ns) {
    return remove(path, warnings, "the state an interrupted write replaced");
  }
  // Another writer's save, displaced by the swap: it must not be lost.
  const std::string state = fs::join(dir, "state.json");
  HS_TRY_ASSIGN(const std::optional<FileStat> current, stat_if_exists(state));
  if (current && current->ino == n.own) {
    // state.json holds the interrupted write's file, whose changes were
    // never acknowledged (that comes only after the displaced file is
    // looked at): the outside save goes back, as if the swap never was.
    if (::rename(path.c_str(), state.c_str()) != 0) return os_error("rename to " + state, path, errno);
    HS_TRY(fs::fsync_dir(dir));
    warnings.push_back("put back another writer's save of " + state + " that an interrupted write had displaced");
    return {};
  }
  HS_TRY_ASSIGN(const std::string kept, keep_aside(path, dir, "state.json.displaced", now));
  HS_TRY(fs::fsync_dir(dir));
  warnings.push_back("kept another writer's save of " + state + ", displaced by an interrupted write, as " + kept +
                     " (" + state + " has changed since)");
  return {};
}

}  // namespace

bool is_transient_name(std::string_view name) {
  return starts_with(name, kNewPrefix) || starts_with(name, kSwapPrefix);
}

std::string new_temp_template(const std::string& dir) { return fs::join(dir, std::string(kNewPrefix) + "XXXXXX"); }

std::string swap_name(const std::string& dir, const FileStat& expect, uint64_t own) {
  return fs::join(dir, std::string(kSwapPrefix) + std::to_string(expect.ino) + "-" + std::to_string(expect.size) +
                           "-" + std::to_string(expect.mtime_ns) + "." + std::to_string(own));
}

Result<std::string> keep_aside(const std::string& from, const std::string& dir, const std::string& base,
                               Clock::time_point now) {
  const std::string stem = fs::join(dir, base + "." + stamp_local(now));
  for (int n = 0;; ++n) {
    std::string candidate = n == 0 ? stem : stem + "." + std::to_string(n);
    int err = rename_noreplace(from, candidate);
    if (err == 0) return candidate;
    if (err != EEXIST) return os_error("rename to " + candidate, from, err);
  }
}

Status recover_temp_files(const std::string& dir, Clock::time_point now, std::vector<std::string>& warnings) {
  HS_TRY_ASSIGN(const std::vector<std::string> names, fs::list_dir(dir));
  for (const auto& name : names) {
    const std::string path = fs::join(dir, name);
    if (starts_with(name, kNewPrefix) || starts_with(name, kOldNewPrefix)) {
      HS_TRY(remove(path, warnings, "the new state of an interrupted write, never in place"));
    } else if (auto swap = parse_swap_name(name)) {
      HS_TRY(recover_swap(dir, path, *swap, now, warnings));
    }
  }
  return {};
}

}  // namespace hs::daemon::store

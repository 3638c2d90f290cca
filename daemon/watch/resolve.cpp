#include "daemon/watch/resolve.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <deque>

#include "common/fs.hpp"

namespace hs::daemon::watch {
namespace {

// Symlinks followed on one path before giving up (as the kernel: ELOOP).
constexpr int kMaxHops = 40;

void split_into(const std::string& path, std::deque<std::string>& out, bool front) {
  std::vector<std::string> parts;
  size_t at = 0;
  while (at <= path.size()) {
    size_t slash = path.find('/', at);
    if (slash == std::string::npos) slash = path.size();
    if (slash > at) parts.push_back(path.substr(at, slash - at));
    at = slash + 1;
  }
  if (front) {
    out.insert(out.begin(), parts.begin(), parts.end());
  } else {
    out.insert(out.end(), parts.begin(), parts.end());
  }
}

}  // namespace

const Resolver::Node& Resolver::lstat_of(const std::string& p) {
  auto [it, fresh] = memo_.try_emplace(p);
  if (!fresh) return it->second;
  Node& n = it->second;
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) {
    n.err = errno;
    return n;
  }
  n.dir = S_ISDIR(st.st_mode);
  n.dev = st.st_dev;
  n.ino = st.st_ino;
  n.link = S_ISLNK(st.st_mode);
  if (n.link) {
    std::array<char, PATH_MAX> buf{};
    ssize_t len = ::readlink(p.c_str(), buf.data(), buf.size());
    if (len < 0) {
      n.err = errno;
    } else {
      n.target.assign(buf.data(), static_cast<size_t>(len));
    }
  }
  return n;
}

std::optional<std::pair<dev_t, ino_t>> Resolver::dir_identity(const std::string& dir) {
  const Node& n = lstat_of(dir);
  if (n.err != 0 || !n.dir) return std::nullopt;
  return std::pair{n.dev, n.ino};
}

std::vector<Dep> Resolver::deps(const std::string& path) {
  std::vector<Dep> deps;
  std::deque<std::string> todo;
  split_into(path[0] == '/' ? path : fs::join(cwd_, path), todo, false);
  std::string cur = "/";
  int hops = 0;
  // One component at a time, noting each (directory, entry) the result
  // depends on.
  while (!todo.empty()) {
    std::string c = std::move(todo.front());
    todo.pop_front();
    if (c == ".") continue;
    if (c == "..") {
      cur = fs::split(cur).first;  // "/" stays "/"
      continue;
    }
    deps.emplace_back(cur, c);
    std::string next = fs::join(cur, c);
    const Node& n = lstat_of(next);
    if (n.err != 0) break;
    if (n.link) {
      if (++hops > kMaxHops) break;
      if (!n.target.empty() && n.target[0] == '/') cur = "/";
      split_into(n.target, todo, true);
      continue;
    }
    if (!todo.empty() && !n.dir) break;  // ENOTDIR
    cur = std::move(next);
  }
  std::sort(deps.begin(), deps.end());
  deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
  return deps;
}

}  // namespace hs::daemon::watch

#include "common/real_path.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <optional>
#include <vector>

namespace hs {
namespace {

bool is_abs(std::string_view p) { return !p.empty() && p.front() == '/'; }

// posixpath.join(a, b) for a relative b.
std::string join2(std::string_view a, std::string_view b) {
  std::string out(a);
  if (!out.empty() && out.back() != '/') out += '/';
  out += b;
  return out;
}

// posixpath.split(p): head (trailing slashes dropped unless all slashes), tail.
std::pair<std::string, std::string> split(std::string_view p) {
  size_t i = p.rfind('/');
  i = i == std::string_view::npos ? 0 : i + 1;
  std::string head(p.substr(0, i));
  std::string tail(p.substr(i));
  if (!head.empty() && head.find_first_not_of('/') != std::string::npos) {
    while (!head.empty() && head.back() == '/') head.pop_back();
  }
  return {head, tail};
}

std::vector<std::string_view> components(std::string_view p) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos <= p.size()) {
    size_t next = p.find('/', pos);
    if (next == std::string_view::npos) next = p.size();
    out.push_back(p.substr(pos, next - pos));
    pos = next + 1;
  }
  return out;
}

// 0, 1 or 2: how many leading slashes count (three or more count as one).
int leading_slashes(std::string_view p) {
  if (p.rfind("//", 0) == 0 && p.rfind("///", 0) != 0) return 2;
  return is_abs(p) ? 1 : 0;
}

std::optional<std::string> read_link(const std::string& path) {
  std::vector<char> buf(256);
  for (;;) {
    ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
    if (n < 0) return std::nullopt;
    if (static_cast<size_t>(n) < buf.size()) return std::string(buf.data(), static_cast<size_t>(n));
    buf.resize(buf.size() * 2);
  }
}

using Seen = std::map<std::string, std::optional<std::string>>;

// posixpath._joinrealpath (non-strict). Returns false (with what it has)
// when a symlink loop stopped it.
bool join_real(std::string& path, std::string_view rest_in, Seen& seen) {
  std::string rest(rest_in);
  if (is_abs(rest)) {
    rest.erase(0, 1);
    path = "/";
  }
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string name = rest.substr(0, slash);
    rest = slash == std::string::npos ? std::string() : rest.substr(slash + 1);
    if (name.empty() || name == ".") continue;
    if (name == "..") {
      if (!path.empty()) {
        auto [head, tail] = split(path);
        path = tail == ".." ? join2(join2(head, ".."), "..") : head;
      } else {
        path = "..";
      }
      continue;
    }
    std::string newpath = join2(path, name);
    struct stat st {};
    const bool is_link = ::lstat(newpath.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
    if (!is_link) {
      path = newpath;
      continue;
    }
    if (auto it = seen.find(newpath); it != seen.end()) {
      if (it->second) {
        path = *it->second;
        continue;
      }
      path = join2(newpath, rest);  // a loop: leave the rest unresolved
      return false;
    }
    seen[newpath] = std::nullopt;
    auto target = read_link(newpath);
    if (!target) {  // vanished between lstat and readlink: take it as it is
      path = newpath;
      seen.erase(newpath);
      continue;
    }
    if (!join_real(path, *target, seen)) {
      path = join2(path, rest);
      return false;
    }
    seen[newpath] = path;
  }
  return true;
}

}  // namespace

std::string normpath(std::string_view path) {
  if (path.empty()) return ".";
  const int initial = leading_slashes(path);
  std::vector<std::string_view> out;
  for (std::string_view c : components(path)) {
    if (c.empty() || c == ".") continue;
    if (c != ".." || (initial == 0 && out.empty()) || (!out.empty() && out.back() == "..")) {
      out.push_back(c);
    } else if (!out.empty()) {
      out.pop_back();
    }
  }
  std::string s(static_cast<size_t>(initial), '/');
  for (size_t i = 0; i < out.size(); ++i) {
    if (i > 0) s += '/';
    s += out[i];
  }
  return s.empty() ? "." : s;
}

std::string abspath(std::string_view path) {
  if (is_abs(path)) return normpath(path);
  std::vector<char> buf(4096);
  while (::getcwd(buf.data(), buf.size()) == nullptr) {
    if (errno != ERANGE) return normpath(path);  // no cwd: as relative as Python would fail
    buf.resize(buf.size() * 2);
  }
  return normpath(join2(buf.data(), path));
}

std::string realpath_lenient(std::string_view path) {
  std::string out;
  Seen seen;
  join_real(out, path, seen);
  return abspath(out);
}

std::string pathlib_str(std::string_view path) {
  const int initial = leading_slashes(path);
  std::string s(static_cast<size_t>(initial), '/');
  bool first = true;
  for (std::string_view c : components(path)) {
    if (c.empty() || c == ".") continue;
    if (!first) s += '/';
    s += c;
    first = false;
  }
  return s.empty() ? "." : s;
}

std::string pathlib_join(std::string_view base, std::string_view name) {
  std::string b = pathlib_str(base);
  if (b == ".") return std::string(name);
  return join2(b, name);
}

}  // namespace hs

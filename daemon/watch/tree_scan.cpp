#include "daemon/watch/tree_scan.hpp"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <deque>
#include <memory>

#include "common/sha256.hpp"

namespace hs::daemon::watch {

std::vector<Entry> list_entries(const std::string& dir) {
  std::vector<Entry> out;
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) return out;
  while (struct dirent* e = ::readdir(d.get())) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    Entry en;
    if (e->d_type == DT_DIR) {
      en.dir = true;
    } else if (e->d_type == DT_UNKNOWN) {
      struct stat st {};
      en.dir = ::lstat(join_path(dir, name).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    }
    en.name = std::move(name);
    out.push_back(std::move(en));
  }
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return out;
}

std::optional<FileStat> lstat_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
  return FileStat::of(st);
}

bool is_dir_following(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::optional<std::string> real_path(const std::string& path) {
  std::unique_ptr<char, void (*)(void*)> r(::realpath(path.c_str(), nullptr), ::free);
  if (!r) return std::nullopt;
  return std::string(r.get());
}

std::string join_path(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

std::string parent_path(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool within(const std::string& path, const std::string& top) {
  if (top == "/") return !path.empty() && path[0] == '/';
  return path == top || (path.size() > top.size() && path.compare(0, top.size(), top) == 0 && path[top.size()] == '/');
}

namespace {

void feed(sha256_detail::Hasher& h, const std::string& s) {
  h.update(reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

void feed_stat(sha256_detail::Hasher& h, const std::string& path, const FileStat& st) {
  feed(h, path + '\0' + std::to_string(st.dev) + ' ' + std::to_string(st.ino) + ' ' + std::to_string(st.size) + ' ' +
              std::to_string(st.mtime_ns) + ' ' + std::to_string(st.ctime_ns) + ' ' + std::to_string(st.mode) + '\n');
}

}  // namespace

std::string tree_signature(const std::vector<std::string>& roots) {
  sha256_detail::Hasher h;
  for (const auto& root : roots) {
    // The root itself as the command sees it (a symlink followed); what is
    // below it, as it is (no symlink followed: a tree has no cycles then).
    auto top = FileStat::of_path(root);
    if (!top) {
      feed(h, root + '\0' + "missing\n");
      continue;
    }
    if ((top->mode & S_IFMT) != S_IFDIR) {
      feed_stat(h, root, *top);
      continue;
    }
    // A directory's own stat changes with every temp file made and removed
    // in it; its listing (the names below) says what matters.
    feed(h, root + '\0' + "dir\n");
    std::deque<std::string> todo{root};
    while (!todo.empty()) {
      const std::string dir = std::move(todo.front());
      todo.pop_front();
      for (const auto& e : list_entries(dir)) {
        const std::string p = join_path(dir, e.name);
        if (e.dir) {
          feed(h, p + '\0' + "dir\n");
          todo.push_back(p);
        } else if (auto st = lstat_of(p)) {
          feed_stat(h, p, *st);
        }
      }
    }
  }
  unsigned char digest[kSha256Bytes];
  h.final(digest);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

}  // namespace hs::daemon::watch

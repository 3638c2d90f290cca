// Load generator for docs/PERFORMANCE.md. Closed loop: each connection has
// one request outstanding and sends the next as soon as the answer arrives.
// One thread and epoll, so on a 2-core machine it takes one core and leaves
// the other to the daemon.
//
//   hs_rpc_bench ping     SOCKET CONNECTIONS SECONDS [PID]
//   hs_rpc_bench record   SOCKET CONNECTIONS SECONDS [PID]  (durable records/s)
//   hs_rpc_bench watchman SOCKET CONNECTIONS SECONDS [PID]  (Watchman's ["version"])
// With PID, the server's CPU time (utime + stime from /proc/PID/stat) over
// the measured window is divided by the requests answered in it: CPU per
// request tells two servers apart even when the load generator saturates
// the machine and throughput does not.
//   hs_rpc_bench store  STATE_DIR SECONDS             (one write per record, no daemon)
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "daemon/store/state_store.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Conn {
  int fd = -1;
  std::string in;
  Clock::time_point sent;
  long n = 0;
};

int connect_to(const char* path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path, sizeof a.sun_path - 1);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  return fd;
}

// utime + stime of `pid`, in clock ticks; -1 when unreadable.
long cpu_ticks(int pid) {
  if (pid <= 0) return -1;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE* f = std::fopen(path, "r");
  if (f == nullptr) return -1;
  char buf[1024];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');  // the command name may hold spaces
  if (p == nullptr) return -1;
  unsigned long utime = 0, stime = 0;
  // Fields after the name: state(3) ... utime(14) stime(15).
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2) return -1;
  return static_cast<long>(utime + stime);
}

std::string request(const std::string& mode, int conn, long n) {
  if (mode == "watchman") return "[\"version\"]\n";
  if (mode == "ping") return R"({"jsonrpc":"2.0","id":1,"method":"daemon.ping"})" "\n";
  // Each connection re-records its own target, so the document (and so the
  // cost of one write) stays the same size for the whole run.
  return R"({"jsonrpc":"2.0","id":1,"method":"state.record","params":{"target":"bench)" + std::to_string(conn) +
         R"(","scope":"all","file_hashes":{"/home/u/.claude/CLAUDE.md":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},"synced":)" +
         std::to_string(n) + R"(,"skipped":0,"failed":0}})" "\n";
}

void send_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t w = ::write(fd, s.data() + off, s.size() - off);
    if (w <= 0) {
      std::perror("write");
      std::exit(1);
    }
    off += static_cast<size_t>(w);
  }
}

int run_socket(const std::string& mode, const char* path, int nconn, double seconds, int pid) {
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<Conn> conns(static_cast<size_t>(nconn));
  for (int i = 0; i < nconn; ++i) {
    conns[i].fd = connect_to(path);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(i);
    ::epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
  }
  std::vector<double> lat_us;
  lat_us.reserve(4'000'000);
  const auto warmup_end = Clock::now() + std::chrono::milliseconds(500);
  const auto end = warmup_end + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  long errors = 0;
  for (int i = 0; i < nconn; ++i) {
    conns[i].sent = Clock::now();
    send_all(conns[i].fd, request(mode, i, 0));
  }
  std::vector<epoll_event> evs(static_cast<size_t>(nconn));
  char buf[65536];
  long done = 0;
  long cpu_start = -1, cpu_end = -1;
  for (;;) {
    int n = ::epoll_wait(ep, evs.data(), nconn, 1000);
    auto now = Clock::now();
    if (cpu_start < 0 && now >= warmup_end) cpu_start = cpu_ticks(pid);
    if (now >= end) {
      cpu_end = cpu_ticks(pid);
      break;
    }
    for (int k = 0; k < n; ++k) {
      Conn& c = conns[evs[k].data.u32];
      ssize_t r = ::read(c.fd, buf, sizeof buf);
      if (r <= 0) {
        std::fprintf(stderr, "connection closed\n");
        return 1;
      }
      c.in.append(buf, static_cast<size_t>(r));
      size_t nl;
      while ((nl = c.in.find('\n')) != std::string::npos) {
        const bool ok = mode == "watchman" ? c.in.compare(0, 1, "{") == 0 && c.in.find("\"version\"") < nl
                                           : c.in.compare(0, 32, R"({"jsonrpc":"2.0","id":1,"result")") == 0;
        if (!ok) ++errors;
        c.in.erase(0, nl + 1);
        now = Clock::now();
        if (now >= warmup_end) {
          lat_us.push_back(std::chrono::duration<double, std::micro>(now - c.sent).count());
          ++done;
        }
        c.sent = now;
        send_all(c.fd, request(mode, static_cast<int>(evs[k].data.u32), ++c.n));
      }
    }
  }
  std::sort(lat_us.begin(), lat_us.end());
  auto pct = [&](double p) { return lat_us.empty() ? 0.0 : lat_us[static_cast<size_t>(p * (lat_us.size() - 1))]; };
  std::printf("%s: %d connections, %.1f s: %ld requests, %.0f req/s, p50 %.0f us, p99 %.0f us, p99.9 %.0f us, errors %ld\n",
              mode.c_str(), nconn, seconds, done, done / seconds, pct(0.50), pct(0.99), pct(0.999), errors);
  if (cpu_start >= 0 && cpu_end >= 0 && done > 0) {
    const double us = static_cast<double>(cpu_end - cpu_start) * 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
    std::printf("%s: server pid %d CPU %.2f s, %.2f us per request\n", mode.c_str(), pid, us / 1e6, us / done);
  }
  return errors == 0 ? 0 : 1;
}

int run_store(const char* dir, double seconds) {
  hs::daemon::store::StoreOptions o;
  o.dir = dir;
  auto s = hs::daemon::store::StateStore::open(o);
  if (!s) {
    std::fprintf(stderr, "%s\n", s.error().message().c_str());
    return 1;
  }
  const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  long n = 0;
  while (Clock::now() < end) {
    hs::daemon::store::RecordArgs a;
    a.ref.target = "bench" + std::to_string(n % 32);
    a.scope = "all";
    a.file_hashes["/home/u/.claude/CLAUDE.md"] = std::string(64, 'a');
    a.synced = n;
    if (!(*s)->record(a)) return 1;
    ++n;
  }
  std::printf("store: one durable write per record: %ld records, %.0f records/s\n", n, n / seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if ((mode == "ping" || mode == "record" || mode == "watchman") && (argc == 5 || argc == 6)) {
    return run_socket(mode, argv[2], std::atoi(argv[3]), std::atof(argv[4]), argc > 5 ? std::atoi(argv[5]) : 0);
  }
  if (mode == "store" && argc == 4) return run_store(argv[2], std::atof(argv[3]));
  std::fprintf(stderr,
               "usage: %s ping|record|watchman SOCKET CONNECTIONS SECONDS [SERVER_PID]\n"
               "       %s store STATE_DIR SECONDS\n",
               argv[0], argv[0]);
  return 2;
}

// Makes file writes past `bytes` fail for real with EFBIG (RLIMIT_FSIZE),
// for as long as the object lives. SIGXFSZ is ignored meanwhile, so the
// write returns the error instead of killing the process.
#pragma once

#include <signal.h>
#include <sys/resource.h>

#include <stdexcept>

namespace hs::test {

class FsizeLimit {
 public:
  explicit FsizeLimit(rlim_t bytes) {
    if (::getrlimit(RLIMIT_FSIZE, &old_) != 0) throw std::runtime_error("getrlimit");
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    rlimit lim = old_;
    lim.rlim_cur = bytes;
    if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) throw std::runtime_error("setrlimit");
  }
  ~FsizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    ::signal(SIGXFSZ, old_handler_);
  }
  FsizeLimit(const FsizeLimit&) = delete;
  FsizeLimit& operator=(const FsizeLimit&) = delete;

 private:
  rlimit old_ {};
  sighandler_t old_handler_ = SIG_DFL;
};

}  // namespace hs::test

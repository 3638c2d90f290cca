#include "client/src/errors.hpp"

#include <cstring>

namespace harnesssync::detail {

Error make_error(Error::Kind kind, std::string message) {
  Error e;
  e.kind = kind;
  e.message = std::move(message);
  return e;
}

Error errno_error(Error::Kind kind, std::string_view what, int err) {
  std::string message(what);
  message += ": ";
  message += std::strerror(err);
  return make_error(kind, std::move(message));
}

}  // namespace harnesssync::detail

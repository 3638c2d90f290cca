#include "common/error.hpp"

#include <cstring>

namespace hs {

std::string Error::reason() const {
  if (!detail.empty()) return detail;
  if (sys_errno != 0) return std::strerror(sys_errno);
  return "unknown error";
}

std::string Error::message() const {
  std::string out = op;
  if (!path.empty()) {
    if (!out.empty()) out += ' ';
    out += path;
  }
  if (code == Errc::invalid_argument && !field.empty()) {
    if (!out.empty()) out += ' ';
    out += field;
  }
  if (!out.empty()) out += ": ";
  out += reason();
  if (!detail.empty() && sys_errno != 0) {
    out += " (";
    out += std::strerror(sys_errno);
    out += ')';
  }
  return out;
}

Error os_error(std::string op, std::string path, int err) {
  Error e;
  e.code = Errc::os;
  e.sys_errno = err;
  e.op = std::move(op);
  e.path = std::move(path);
  return e;
}

Error invalid_argument(std::string field, std::string reason) {
  Error e;
  e.code = Errc::invalid_argument;
  e.field = std::move(field);
  e.detail = std::move(reason);
  return e;
}

namespace {
Error described(Errc code, std::string op, std::string path, std::string detail) {
  Error e;
  e.code = code;
  e.op = std::move(op);
  e.path = std::move(path);
  e.detail = std::move(detail);
  return e;
}
}  // namespace

Error busy(std::string op, std::string path, std::string detail) {
  return described(Errc::busy, std::move(op), std::move(path), std::move(detail));
}

Error corrupt(std::string op, std::string path, std::string detail) {
  return described(Errc::corrupt, std::move(op), std::move(path), std::move(detail));
}

Error unsupported(std::string op, std::string path, std::string detail) {
  return described(Errc::unsupported, std::move(op), std::move(path), std::move(detail));
}

Error unsafe_socket_dir(std::string dir, std::string detail) {
  return described(Errc::unsafe_socket_dir, "socket dir", std::move(dir), std::move(detail));
}

Error unsafe_state_dir(std::string dir, std::string detail) {
  return described(Errc::unsafe_state_dir, "state dir", std::move(dir), std::move(detail));
}

Error not_regular(std::string op, std::string path, std::string detail) {
  return described(Errc::not_regular, std::move(op), std::move(path), std::move(detail));
}

}  // namespace hs

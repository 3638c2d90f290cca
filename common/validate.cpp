#include "common/validate.hpp"

#include <string>

namespace hs {

bool is_valid_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status check_name(std::string_view field, std::string_view name) {
  if (is_valid_name(name)) return {};
  return invalid_argument(std::string(field), "must be 1 to 64 characters of A-Z a-z 0-9 . _ -");
}

Status check_path(std::string_view field, std::string_view path) {
  if (path.empty()) return invalid_argument(std::string(field), "path must not be empty");
  if (path.size() > kMaxPathBytes) {
    return invalid_argument(std::string(field), "path longer than 4096 bytes");
  }
  if (path.find('\0') != std::string_view::npos) {
    return invalid_argument(std::string(field), "path contains a NUL byte");
  }
  return {};
}

Status check_count(std::string_view field, int64_t value) {
  if (value >= 0 && value <= kMaxCount) return {};
  return invalid_argument(std::string(field), "must be an integer from 0 to 2^53-1");
}

}  // namespace hs

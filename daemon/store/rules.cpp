#include "daemon/store/rules.hpp"

#include <utility>

namespace hs::daemon::store {

bool is_lower_hex(std::string_view s, size_t min_len) {
  if (s.size() < min_len) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool hashes_equal(std::string_view a, std::string_view b) {
  if (a == b) return true;
  if (!is_lower_hex(a, 16) || !is_lower_hex(b, 16)) return false;
  if (a.size() > b.size()) std::swap(a, b);
  return b.substr(0, a.size()) == a;
}

std::string_view sync_status(int64_t synced, int64_t failed) {
  if (failed == 0) return "success";
  if (synced > 0) return "partial";
  return "failed";
}

}  // namespace hs::daemon::store

// What a connection sends: one message's JSON text, in pieces that let a
// large shared result (proto::JsonText) go out without a copy.
#pragma once

#include <cstddef>
#include <string>

#include "proto/wire_json.hpp"

namespace hs::daemon::net {

/// One response's JSON text in up to three pieces: an owned head, a shared
/// result (JsonText, may be null) and an owned tail. Without a shared part
/// the whole response is in `head`.
struct ResponseText {
  std::string head;
  proto::JsonText shared;
  std::string tail;
  size_t size() const { return head.size() + (shared ? shared->size() : 0) + tail.size(); }
};

}  // namespace hs::daemon::net

// Compact JSON text for the wire that is always valid JSON (RFC 8259).
//
// Boost.JSON 1.81 writes a non-finite double as Infinity, -Infinity or NaN,
// which no JSON reader accepts. A non-finite double can only come from a
// number too large for a double in what we parsed (1e400 in a state file's
// unknown member, or in a client's params). We write such numbers as 1e999
// and -1e999: valid JSON that Boost.JSON and Python both read back as the
// same infinity. NaN cannot be parsed from JSON; it is written as null.
#pragma once

#include <boost/json/value.hpp>
#include <memory>
#include <string>

namespace hs::proto {

/// A result already serialized as compact, valid JSON text, shared between
/// the answers that carry it: state.all of one document version is
/// serialized once, however many requests ask for it.
using JsonText = std::shared_ptr<const std::string>;

/// Appends `v` as compact JSON to `out`.
void append_wire_json(std::string& out, const boost::json::value& v);
/// `v` as compact JSON.
std::string to_wire_json(const boost::json::value& v);

}  // namespace hs::proto

// How Python prints and compares JSON values, for HarnessSync's plugin drift
// reasons ("version_changed: 1.0 -> 2.0"), which are made with f-strings in
// HarnessSync and must read the same when the daemon makes them.
#pragma once

#include <boost/json/value.hpp>
#include <string>

namespace hs::daemon::store {

/// What Python's str() writes for the value json.loads() gives for `v`:
/// None, True/False, ints, floats as repr (shortest round trip: 1.0, 0.1,
/// 1e+16, 1.5e-07, inf), strings as they are, lists and dicts as their repr.
/// Limit: inside lists and dicts, strings are quoted with Python's rules for
/// ASCII and for the non-ASCII control, space and format characters
/// (\x85, \xa0, \u200b, ...); other non-printable code points (unassigned
/// ones) would be escaped by Python and are kept as they are here.
std::string python_str(const boost::json::value& v);

/// Python's == on the two decoded values: numbers compare by value across
/// int, float and bool (1 == 1.0 == True), containers element by element.
bool python_equal(const boost::json::value& a, const boost::json::value& b);

}  // namespace hs::daemon::store

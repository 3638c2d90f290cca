// Building params and reading answers for the typed wrappers, without
// trusting the answer's shape: a member of the wrong type reads as absent.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "harnesssync/result.hpp"

namespace harnesssync::detail {

boost::json::array to_array(const std::vector<std::string>& v);
boost::json::object to_object(const std::vector<std::pair<std::string, std::string>>& kv);
/// The strings of an array (other elements skipped); empty when `v` is null or not an array.
std::vector<std::string> to_strings(const boost::json::value* v);
/// o[key] when it is of `kind`, else null.
const boost::json::value* member(const boost::json::object& o, std::string_view key, boost::json::kind kind);

/// The answer of `method`, which must be an object.
Result<boost::json::object> object_result(Result<boost::json::value> r, std::string_view method);
/// Done for any answer (the wrappers of calls that return nothing).
Result<Done> done_result(const Result<boost::json::value>& r);

}  // namespace harnesssync::detail

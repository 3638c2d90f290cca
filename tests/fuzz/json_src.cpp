// Boost.JSON compiled into the fuzz target, so that libFuzzer's
// instrumentation covers the parser as well.
#include <boost/json/src.hpp>

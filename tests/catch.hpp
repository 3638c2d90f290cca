// The one include every test uses, so that the suite builds against Catch2
// v2 (Debian 12) and v3 alike. CMake defines HS_CATCH2_V3 when it found v3.
#pragma once

#if defined(HS_CATCH2_V3)
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#else
#include <catch2/catch.hpp>
#endif

// The pure value rules: names, hash equality, status.
#include "daemon/store/rules.hpp"
#include "tests/catch.hpp"

using namespace hs::daemon::store;
using hs::check_count;
using hs::check_name;
using hs::check_path;
using hs::is_valid_name;
using hs::kMaxCount;

TEST_CASE("target and account names", "[rules]") {
  struct Case {
    std::string name;
    bool valid;
  } cases[] = {
      {"codex", true},          {"gemini-cli", true},  {"open.code_2", true},
      {std::string(64, 'a'), true}, {std::string(65, 'a'), false}, {"", false},
      {"has space", false},     {"slash/no", false},   {"ümlaut", false},
      {std::string("nul\0x", 5), false},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK(is_valid_name(c.name) == c.valid);
    CHECK(check_name("target", c.name).ok() == c.valid);
  }
  auto bad = check_name("account", "a b");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == hs::Errc::invalid_argument);
  CHECK(bad.error().field == "account");
}

TEST_CASE("hash equality is exact or a lowercase-hex prefix of 16+", "[rules]") {
  const std::string full = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  struct Case {
    std::string a, b;
    bool equal;
  } cases[] = {
      {full, full, true},
      {full.substr(0, 16), full, true},
      {full, full.substr(0, 16), true},
      {full.substr(0, 20), full.substr(0, 40), true},
      {full.substr(0, 15), full, false},          // too short to be a prefix hash
      {"9F86D081884C7D65", full, false},          // uppercase is not our form
      {full.substr(0, 16), "9f86d081884c7d66" + full.substr(16), false},
      {"", "", true},
      {"", full, false},
      {"abc", "abc", true},
      {"not-hex-but-long-enough", "not-hex-but-long-enough-too", false},
  };
  for (const auto& c : cases) {
    INFO(c.a << " vs " << c.b);
    CHECK(hashes_equal(c.a, c.b) == c.equal);
  }
}

TEST_CASE("the three-way status", "[rules]") {
  struct Case {
    int64_t synced, failed;
    std::string_view status;
  } cases[] = {{5, 0, "success"}, {0, 0, "success"}, {3, 2, "partial"}, {0, 4, "failed"}};
  for (const auto& c : cases) CHECK(sync_status(c.synced, c.failed) == c.status);
}

TEST_CASE("paths and counts", "[rules]") {
  CHECK(check_path("p", "/a/b"));
  CHECK_FALSE(check_path("p", ""));
  CHECK_FALSE(check_path("p", std::string("/a\0b", 4)));
  CHECK(check_path("p", "/" + std::string(4095, 'x')));
  CHECK_FALSE(check_path("p", "/" + std::string(4096, 'x')));
  CHECK(check_count("synced", 0));
  CHECK(check_count("synced", kMaxCount));
  CHECK_FALSE(check_count("synced", kMaxCount + 1));
  CHECK_FALSE(check_count("synced", -1));
}

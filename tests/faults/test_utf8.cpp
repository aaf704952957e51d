// The UTF-8 checks the host API makes on names and text from plugins
// (host/common/utf8.hpp): RFC 3629's sequences and nothing else.
#include <catch2/catch.hpp>

#include "common/utf8.hpp"

using livebot::invalid_utf8_at;
using livebot::to_valid_utf8;

TEST_CASE("only well-formed UTF-8 is valid; each bad byte becomes U+FFFD", "[faults][utf8]") {
  constexpr auto valid = std::string_view::npos;
  CHECK(invalid_utf8_at("") == valid);
  CHECK(invalid_utf8_at("door \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\xaa \xf4\x8f\xbf\xbf") == valid);
  CHECK(invalid_utf8_at(std::string_view("a\0b", 3)) == valid);
  CHECK(invalid_utf8_at("ab\xff") == 2);          // never a UTF-8 byte
  CHECK(invalid_utf8_at("a\x80") == 1);           // a continuation alone
  CHECK(invalid_utf8_at("\xc0\xaf") == 0);        // overlong "/"
  CHECK(invalid_utf8_at("\xe0\x80\xaf") == 0);    // overlong, 3 bytes
  CHECK(invalid_utf8_at("\xed\xa0\x80") == 0);    // a surrogate
  CHECK(invalid_utf8_at("\xf4\x90\x80\x80") == 0);  // past U+10FFFF
  CHECK(invalid_utf8_at("x\xe2\x82") == 1);       // cut short
  CHECK(invalid_utf8_at("\xe2\x28\xa1") == 0);    // a bad second byte
  CHECK(to_valid_utf8("ok \xc3\xa9") == "ok \xc3\xa9");
  CHECK(to_valid_utf8("a\xff" "b\xe2\x82") == "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd");
}

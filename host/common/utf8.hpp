// UTF-8 checks for text that plugins hand the host: names and texts the host
// later writes as JSON (nlohmann::json refuses to dump invalid UTF-8).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace livebot {

// The offset of the first byte that does not begin a valid UTF-8 sequence
// (overlong forms, surrogates and code points past U+10FFFF included), or
// std::string_view::npos if `text` is valid.
size_t invalid_utf8_at(std::string_view text);

// `text` with every invalid sequence replaced by U+FFFD.
std::string to_valid_utf8(std::string_view text);

}  // namespace livebot

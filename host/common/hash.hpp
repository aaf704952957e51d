// Content hashes: XXH3-128 as 32 lowercase hex digits. Used to name staged
// plugin copies, to tag state with the schema that wrote it, and to tell two
// builds of one file apart when size and mtime agree.
#pragma once

#include <string>
#include <string_view>

namespace livebot {

std::string content_hash(std::string_view bytes);
// Hashes a whole file; throws livebot::Error naming the file if unreadable.
std::string file_hash(const std::string &path);

// SHA-256 as 64 lowercase hex digits, for plugin pins in a manifest: the
// digest users get from `sha256sum`, not a fast hash.
std::string sha256_hex(std::string_view bytes);

}  // namespace livebot

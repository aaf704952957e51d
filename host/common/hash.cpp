#include "common/hash.hpp"

#include <openssl/evp.h>
#include <xxhash.h>

#include <cstdio>

#include "common/error.hpp"
#include "common/read_file.hpp"

namespace livebot {

namespace {
std::string to_hex(XXH128_hash_t h) {
  char out[33];
  std::snprintf(out, sizeof out, "%016llx%016llx",
                static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return out;
}
}  // namespace

std::string content_hash(std::string_view bytes) {
  return to_hex(XXH3_128bits(bytes.data(), bytes.size()));
}

std::string file_hash(const std::string &path) { return content_hash(read_whole_file(path)); }

std::string sha256_hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw Error("sha256", "digest failed");
  std::string hex;
  hex.reserve(len * 2);
  static const char *const digits = "0123456789abcdef";
  for (unsigned int i = 0; i < len; ++i) hex += digits[md[i] >> 4], hex += digits[md[i] & 15];
  return hex;
}

}  // namespace livebot

#include "common/iso_time.hpp"

#include <cstdio>
#include <ctime>

namespace livebot {

std::string iso_time(int64_t ms) {
  constexpr int64_t limit = int64_t{253402300799} * 1000;  // 9999-12-31T23:59:59Z
  if (ms < -int64_t{62167219200} * 1000 || ms > limit) return std::to_string(ms) + " ms";
  const int64_t sec = ms / 1000 - (ms % 1000 < 0 ? 1 : 0);
  const int64_t rest = ms - sec * 1000;
  const std::time_t t = static_cast<std::time_t>(sec);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[48];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest != 0) n += static_cast<size_t>(std::snprintf(buf + n, sizeof buf - n, ".%03d", static_cast<int>(rest)));
  std::snprintf(buf + n, sizeof buf - n, "Z");
  return buf;
}

}  // namespace livebot

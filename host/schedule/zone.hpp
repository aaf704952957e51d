// Time zones by IANA name ("Europe/Berlin"), from the system's zoneinfo
// (Debian's tzdata), so they follow the OS's updates and nothing is fetched.
//
// Promises: resolve_zone never fails on a bad name. A location whose zone is
// missing or unknown still gets its schedules, in UTC, and the caller gets a
// warning to show once, instead of a bot that silently never fires.
//
// Known limit of the library's zoneinfo reader: it uses the transitions the
// files list (through 2037) and not the rule for later years, so after 2037
// a zone keeps its last offset.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace date {
class time_zone;
}

namespace livebot::schedule {

struct ZoneLookup {
  const date::time_zone *zone = nullptr;  // never null once resolved
  std::string warning;                    // empty when the name was found
};

ZoneLookup resolve_zone(std::string_view name);

// The zone's offset from UTC at an instant, in ms: local time = UTC + offset.
int64_t utc_offset_ms(const date::time_zone *zone, int64_t at_ms);

}  // namespace livebot::schedule

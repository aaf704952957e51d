// Time-zone lookup (see zone.hpp). date::locate_zone throws for unknown names;
// only a missing UTC, which means no usable zoneinfo at all, is an error.
#include "schedule/zone.hpp"

#include <date/tz.h>

#include <chrono>
#include <stdexcept>
#include <utility>

#include "common/error.hpp"

namespace livebot::schedule {

ZoneLookup resolve_zone(std::string_view name) {
  if (!name.empty()) {
    try {
      return {date::locate_zone(name), {}};
    } catch (const std::runtime_error &) {
    }
  }
  const date::time_zone *utc = nullptr;
  try {
    utc = date::locate_zone("UTC");
  } catch (const std::runtime_error &e) {
    throw Error("time zones",
                std::string("no UTC zone in the system zoneinfo (is tzdata installed?): ") + e.what());
  }
  std::string warning = name.empty() ? "no time zone given, using UTC"
                                     : "unknown time zone \"" + std::string(name) + "\", using UTC";
  return {utc, std::move(warning)};
}

int64_t utc_offset_ms(const date::time_zone *zone, int64_t at_ms) {
  const auto info = zone->get_info(date::sys_time<std::chrono::milliseconds>(std::chrono::milliseconds(at_ms)));
  return std::chrono::duration_cast<std::chrono::milliseconds>(info.offset).count();
}

}  // namespace livebot::schedule

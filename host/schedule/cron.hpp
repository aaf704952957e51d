// Cron expressions as bot manifests write them, and when they fire next.
//
// Syntax, told apart by the number of fields:
//  - Quartz, as the Python framework's users write it: 7 fields
//    (second minute hour day-of-month month day-of-week year) or 6 (no year).
//    Weekdays count 1=SUN..7=SAT. The two day fields may not both be set
//    (one is "?" or "*"): Quartz refuses that too.
//  - Unix, 5 fields (minute hour day-of-month month day-of-week), firing at
//    second 0. Weekdays count 0=SUN..6=SAT, and 7 is SUN again. When both day
//    fields are set, a day matching either one fires, as in Vixie cron.
// Names (JAN-DEC, SUN-SAT, any case) mean the same in both, so "MON-FRI" is
// the portable way to write weekdays.
//
// Each field takes "*", a value, a range "a-b", a step "*/n", "a/n" (from a
// to the end) or "a-b/n", and comma lists of those. "?" is "*" for the day
// fields only. Day-of-month also takes "L" (last day), "L-n" (n days before
// it), "LW" (last weekday) and "nW" (the weekday nearest day n, within the
// month); day-of-week takes "nL" (the month's last such day), "n#k" (its k-th
// such day) and "L" alone (Saturday, as in Quartz). A day field counts as
// set unless it is exactly "*" or "?". Ranges do not wrap ("FRI-MON" is
// refused). Years run 1970-2099.
//
// Promises:
//  - parse_cron refuses a malformed expression, or one that no date can
//    match (30 February), with a livebot::Error naming the expression and
//    the field: `cron "0 0 25 * * ? *": hour 25 is out of range 0-23`.
//  - next_fire walks the calendar field by field (skipping whole years,
//    months, days, hours), never second by second.
//
// Clock changes, in the zone's wall time:
//  - A local time skipped when clocks go forward fires once, at the instant
//    the gap ends (02:30 on a spring-forward day fires at 03:00), so a daily
//    job still runs that day; everything due in the gap fires as one.
//  - A local time that happens twice when clocks go back fires at its first
//    occurrence only, so a daily job runs once. The exception is a schedule
//    whose hour field is every hour: it is about elapsed time, not a time of
//    day, so it fires in the repeated hour too rather than going quiet for
//    an hour (an hourly job fires 25 times that day, 23 on spring forward).
#pragma once

#include <array>
#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace date {
class time_zone;
}

namespace livebot::schedule {

// A parsed expression: bit n of a field's mask set means value n matches.
struct Cron {
  static constexpr int first_year = 1970;
  static constexpr int last_year = 2099;

  std::string text;  // as written, for messages
  uint64_t seconds = 0;
  uint64_t minutes = 0;
  uint32_t hours = 0;
  uint16_t months = 0;  // bits 1-12

  // Day of month; a day matching any of these matches.
  bool dom_set = false;           // false: every day (unless dow_set)
  uint32_t days = 0;              // bits 1-31
  uint32_t days_before_last = 0;  // bit n: "L-n" ("L" is n = 0)
  uint32_t nearest_weekday = 0;   // bit n: "nW"
  bool last_weekday = false;      // "LW"

  // Day of week, 0 = Sunday whatever the syntax; any of these matches.
  bool dow_set = false;
  uint8_t weekdays = 0;
  uint8_t last_in_month = 0;         // bit w: "wL"
  std::array<uint8_t, 7> nth_in_month{};  // nth_in_month[w] bit k: "w#k"

  bool year_set = false;  // false: every year, past 2099 too
  std::bitset<last_year - first_year + 1> years;
};

// Throws livebot::Error for an expression that is malformed or never fires.
Cron parse_cron(std::string_view text);

// The first firing strictly after `after_ms` (UTC milliseconds), in whole
// seconds, with the fields read as wall time in `zone` (not null). Empty
// once a year-limited expression is past its last year.
std::optional<int64_t> next_fire(const Cron &cron, int64_t after_ms, const date::time_zone *zone);

}  // namespace livebot::schedule

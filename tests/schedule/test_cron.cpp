// Cron parsing and next firings against hand-checked calendars: the
// expressions bot authors write, both syntaxes, clock changes in real zones,
// leap days, and the exact messages of what is refused.
#include <date/tz.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "schedule/cron.hpp"
#include "schedule/zone.hpp"

using namespace livebot::schedule;

namespace {

// "2026-03-08 07:00:00" read as UTC, in ms.
int64_t utc_ms(const std::string &text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  REQUIRE(std::sscanf(text.c_str(), "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &s) == 6);
  const auto day = date::sys_days{date::year{y} / date::month(unsigned(mo)) / date::day(unsigned(d))};
  return (day.time_since_epoch().count() * 86400LL + h * 3600 + mi * 60 + s) * 1000;
}

const date::time_zone *zone(const std::string &name) {
  const auto z = resolve_zone(name);
  REQUIRE(z.warning.empty());
  return z.zone;
}

// A firing as wall time in its zone, with the abbreviation that tells the
// two passes of a repeated hour apart: "2026-11-01 01:30:00 EST".
std::string local(const date::time_zone *z, int64_t ms) {
  const date::sys_seconds t{std::chrono::seconds{ms / 1000}};
  return date::format("%F %T %Z", date::make_zoned(z, t));
}

// The next `n` firings of `expr` strictly after `after` (UTC).
std::vector<std::string> fires(const std::string &expr, const std::string &zone_name,
                               const std::string &after, int n) {
  const Cron cron = parse_cron(expr);
  const date::time_zone *z = zone(zone_name);
  std::vector<std::string> out;
  int64_t at = utc_ms(after);
  for (int i = 0; i < n; ++i) {
    const auto next = next_fire(cron, at, z);
    if (!next) break;
    out.push_back(local(z, *next));
    at = *next;
  }
  return out;
}

using Times = std::vector<std::string>;

std::string refusal(const std::string &expr) {
  try {
    parse_cron(expr);
  } catch (const livebot::Error &e) {
    return e.what();
  }
  return "(accepted)";
}

}  // namespace

TEST_CASE("the Quartz expressions bot authors write", "[cron]") {
  // 2026-05-10 is a Sunday.
  CHECK(fires("0 0 0 1/1 * ? *", "UTC", "2026-05-10 13:00:00", 2) ==
        Times{"2026-05-11 00:00:00 UTC", "2026-05-12 00:00:00 UTC"});
  CHECK(fires("0 0 23 ? * FRI *", "UTC", "2026-05-10 13:00:00", 2) ==
        Times{"2026-05-15 23:00:00 UTC", "2026-05-22 23:00:00 UTC"});
  CHECK(fires("0 0 0/1 1/1 * ? *", "UTC", "2026-05-10 13:20:00", 2) ==
        Times{"2026-05-10 14:00:00 UTC", "2026-05-10 15:00:00 UTC"});
  // Six fields: no year.
  CHECK(fires("0 15 10 * * ?", "UTC", "2026-05-10 13:00:00", 2) ==
        Times{"2026-05-11 10:15:00 UTC", "2026-05-12 10:15:00 UTC"});
  CHECK(fires("30 15 10 ? * *", "UTC", "2026-05-10 10:15:30", 1) == Times{"2026-05-11 10:15:30 UTC"});
}

TEST_CASE("firings are strictly after the given instant, in whole seconds", "[cron]") {
  const Cron every_second = parse_cron("* * * * * ?");
  const auto *utc = zone("UTC");
  const int64_t t = utc_ms("2026-05-10 13:00:00");
  CHECK(next_fire(every_second, t, utc) == t + 1000);
  CHECK(next_fire(every_second, t + 999, utc) == t + 1000);
  CHECK(next_fire(every_second, t - 1, utc) == t);
  CHECK(next_fire(parse_cron("0 0 13 * * ?"), t, utc) == utc_ms("2026-05-11 13:00:00"));
  // Before 1970 too.
  CHECK(next_fire(every_second, -1500, utc) == -1000);
}

TEST_CASE("Unix five-field expressions fire at second 0", "[cron]") {
  CHECK(fires("30 9 * * 1-5", "UTC", "2026-05-15 10:00:00", 2) ==
        Times{"2026-05-18 09:30:00 UTC", "2026-05-19 09:30:00 UTC"});
  CHECK(fires("*/30 * * * *", "UTC", "2026-05-10 13:10:00", 3) ==
        Times{"2026-05-10 13:30:00 UTC", "2026-05-10 14:00:00 UTC", "2026-05-10 14:30:00 UTC"});
  CHECK(fires("0 0 1 1 *", "UTC", "2026-05-10 13:00:00", 1) == Times{"2027-01-01 00:00:00 UTC"});
}

TEST_CASE("weekday numbers differ between the syntaxes, names do not", "[cron]") {
  const Times sundays{"2026-05-17 00:00:00 UTC", "2026-05-24 00:00:00 UTC"};
  CHECK(fires("0 0 0 ? * 1 *", "UTC", "2026-05-10 13:00:00", 2) == sundays);  // Quartz 1 = SUN
  CHECK(fires("0 0 * * 0", "UTC", "2026-05-10 13:00:00", 2) == sundays);      // Unix 0 = SUN
  CHECK(fires("0 0 * * 7", "UTC", "2026-05-10 13:00:00", 2) == sundays);      // and 7
  CHECK(fires("0 0 0 ? * SUN *", "UTC", "2026-05-10 13:00:00", 2) == sundays);
  CHECK(fires("0 0 * * sun", "UTC", "2026-05-10 13:00:00", 2) == sundays);
  // Quartz 7 and Unix 6 are Saturday; so is "L" alone in Quartz.
  const Times saturday{"2026-05-16 00:00:00 UTC"};
  CHECK(fires("0 0 0 ? * 7", "UTC", "2026-05-10 13:00:00", 1) == saturday);
  CHECK(fires("0 0 * * 6", "UTC", "2026-05-10 13:00:00", 1) == saturday);
  CHECK(fires("0 0 0 ? * L", "UTC", "2026-05-10 13:00:00", 1) == saturday);
  // Unix 5-7 is FRI, SAT, SUN.
  CHECK(fires("0 0 * * 5-7", "UTC", "2026-05-10 13:00:00", 3) ==
        Times{"2026-05-15 00:00:00 UTC", "2026-05-16 00:00:00 UTC", "2026-05-17 00:00:00 UTC"});
  // "*/2" is SUN, TUE, THU, SAT in both.
  const Times every_other{"2026-05-12 00:00:00 UTC", "2026-05-14 00:00:00 UTC",
                          "2026-05-16 00:00:00 UTC", "2026-05-17 00:00:00 UTC"};
  CHECK(fires("0 0 0 ? * */2", "UTC", "2026-05-10 13:00:00", 4) == every_other);
  CHECK(fires("0 0 * * */2", "UTC", "2026-05-10 13:00:00", 4) == every_other);
}

TEST_CASE("month and day names, lists, ranges and steps", "[cron]") {
  // First Monday of July 2026 is the 6th.
  CHECK(fires("0 0 12 ? JAN,JUL MON *", "UTC", "2026-05-10 13:00:00", 2) ==
        Times{"2026-07-06 12:00:00 UTC", "2026-07-13 12:00:00 UTC"});
  CHECK(fires("0 0 12 ? jan-mar Mon-Fri *", "UTC", "2026-03-30 13:00:00", 2) ==
        Times{"2026-03-31 12:00:00 UTC", "2027-01-01 12:00:00 UTC"});
  CHECK(fires("0 */20 8-9 * * ?", "UTC", "2026-05-10 07:00:00", 7) ==
        Times{"2026-05-10 08:00:00 UTC", "2026-05-10 08:20:00 UTC", "2026-05-10 08:40:00 UTC",
              "2026-05-10 09:00:00 UTC", "2026-05-10 09:20:00 UTC", "2026-05-10 09:40:00 UTC",
              "2026-05-11 08:00:00 UTC"});
  CHECK(fires("0 5/20 10 * * ?", "UTC", "2026-05-10 07:00:00", 4) ==
        Times{"2026-05-10 10:05:00 UTC", "2026-05-10 10:25:00 UTC", "2026-05-10 10:45:00 UTC",
              "2026-05-11 10:05:00 UTC"});
  CHECK(fires("0 0 1-10/3 * * ?", "UTC", "2026-05-10 00:00:00", 5) ==
        Times{"2026-05-10 01:00:00 UTC", "2026-05-10 04:00:00 UTC", "2026-05-10 07:00:00 UTC",
              "2026-05-10 10:00:00 UTC", "2026-05-11 01:00:00 UTC"});
  CHECK(fires("0 0 0 1,15 NOV,2 ?", "UTC", "2026-05-10 00:00:00", 3) ==
        Times{"2026-11-01 00:00:00 UTC", "2026-11-15 00:00:00 UTC", "2027-02-01 00:00:00 UTC"});
  CHECK(fires("0 0 12 1 1 ? 2027-2028", "UTC", "2026-05-10 00:00:00", 3) ==
        Times{"2027-01-01 12:00:00 UTC", "2028-01-01 12:00:00 UTC"});
  CHECK(fires("0 0 12 1 1 ? 2020", "UTC", "2026-05-10 00:00:00", 1).empty());
}

TEST_CASE("last, nearest-weekday and nth-weekday days", "[cron]") {
  CHECK(fires("0 0 0 L * ?", "UTC", "2026-02-10 00:00:00", 3) ==
        Times{"2026-02-28 00:00:00 UTC", "2026-03-31 00:00:00 UTC", "2026-04-30 00:00:00 UTC"});
  CHECK(fires("0 0 0 L 2 ?", "UTC", "2027-03-01 00:00:00", 1) == Times{"2028-02-29 00:00:00 UTC"});
  CHECK(fires("0 0 0 L-2 * ?", "UTC", "2026-02-10 00:00:00", 2) ==
        Times{"2026-02-26 00:00:00 UTC", "2026-03-29 00:00:00 UTC"});
  // 28 Feb 2026 is a Saturday, 31 May a Sunday.
  CHECK(fires("0 0 0 LW 2,5 ?", "UTC", "2026-02-10 00:00:00", 2) ==
        Times{"2026-02-27 00:00:00 UTC", "2026-05-29 00:00:00 UTC"});
  // 1 and 15 Aug 2026 are Saturdays: 1W stays in August.
  CHECK(fires("0 0 0 1W,15W 8 ?", "UTC", "2026-05-10 00:00:00", 2) ==
        Times{"2026-08-03 00:00:00 UTC", "2026-08-14 00:00:00 UTC"});
  CHECK(fires("0 0 0 31W * ?", "UTC", "2026-05-10 00:00:00", 2) ==
        Times{"2026-05-29 00:00:00 UTC", "2026-07-31 00:00:00 UTC"});
  // Third Friday; last Friday (Quartz 6, Unix 5).
  CHECK(fires("0 0 0 ? * 6#3", "UTC", "2026-05-01 00:00:00", 2) ==
        Times{"2026-05-15 00:00:00 UTC", "2026-06-19 00:00:00 UTC"});
  CHECK(fires("0 0 * * FRI#3", "UTC", "2026-05-01 00:00:00", 1) == Times{"2026-05-15 00:00:00 UTC"});
  CHECK(fires("0 0 0 ? * 6L", "UTC", "2026-05-01 00:00:00", 2) ==
        Times{"2026-05-29 00:00:00 UTC", "2026-06-26 00:00:00 UTC"});
  CHECK(fires("0 0 * * 5L", "UTC", "2026-05-01 00:00:00", 1) == Times{"2026-05-29 00:00:00 UTC"});
}

TEST_CASE("Unix fires on either day field when both are set", "[cron]") {
  CHECK(fires("0 0 13 * 5", "UTC", "2026-05-10 00:00:00", 6) ==
        Times{"2026-05-13 00:00:00 UTC", "2026-05-15 00:00:00 UTC", "2026-05-22 00:00:00 UTC",
              "2026-05-29 00:00:00 UTC", "2026-06-05 00:00:00 UTC", "2026-06-12 00:00:00 UTC"});
}

TEST_CASE("29 February fires only on leap days, and skips 2100", "[cron]") {
  CHECK(fires("0 0 12 29 2 ? *", "UTC", "2026-05-10 00:00:00", 2) ==
        Times{"2028-02-29 12:00:00 UTC", "2032-02-29 12:00:00 UTC"});
  CHECK(fires("0 12 29 2 *", "Europe/Berlin", "2026-05-10 00:00:00", 1) ==
        Times{"2028-02-29 12:00:00 CET"});
  CHECK(fires("0 0 12 29 2 ?", "UTC", "2096-03-01 00:00:00", 1) == Times{"2104-02-29 12:00:00 UTC"});
}

TEST_CASE("New York, spring forward 2026-03-08 (02:00 EST becomes 03:00 EDT)", "[cron][dst]") {
  // 02:30 does not exist that day: it fires once, when the gap ends.
  CHECK(fires("0 30 2 * * ?", "America/New_York", "2026-03-07 12:00:00", 2) ==
        Times{"2026-03-08 03:00:00 EDT", "2026-03-09 02:30:00 EDT"});
  CHECK(fires("30 2 * * *", "America/New_York", "2026-03-07 12:00:00", 2) ==
        Times{"2026-03-08 03:00:00 EDT", "2026-03-09 02:30:00 EDT"});
  // Everything due in the gap fires as one, with what is due at 03:00.
  CHECK(fires("0 0,30 2,3 * * ?", "America/New_York", "2026-03-08 05:00:00", 3) ==
        Times{"2026-03-08 03:00:00 EDT", "2026-03-08 03:30:00 EDT", "2026-03-09 02:00:00 EDT"});
  // Hourly: no hour skipped, none doubled, in real time.
  CHECK(fires("0 0 * * * ?", "America/New_York", "2026-03-08 05:30:00", 3) ==
        Times{"2026-03-08 01:00:00 EST", "2026-03-08 03:00:00 EDT", "2026-03-08 04:00:00 EDT"});
  CHECK(fires("0 */20 * * * ?", "America/New_York", "2026-03-08 06:30:00", 4) ==
        Times{"2026-03-08 01:40:00 EST", "2026-03-08 03:00:00 EDT", "2026-03-08 03:20:00 EDT",
              "2026-03-08 03:40:00 EDT"});
}

TEST_CASE("New York, fall back 2026-11-01 (02:00 EDT becomes 01:00 EST)", "[cron][dst]") {
  // 01:30 happens twice: it fires the first time only.
  CHECK(fires("0 30 1 * * ?", "America/New_York", "2026-10-31 12:00:00", 2) ==
        Times{"2026-11-01 01:30:00 EDT", "2026-11-02 01:30:00 EST"});
  // Asked from inside the repeated hour, it waits for the next day.
  CHECK(fires("0 30 1 * * ?", "America/New_York", "2026-11-01 06:10:00", 1) ==
        Times{"2026-11-02 01:30:00 EST"});
  // A schedule of hour 1 only is a time of day too: first pass only.
  CHECK(fires("0 */20 1 * * ?", "America/New_York", "2026-11-01 04:00:00", 4) ==
        Times{"2026-11-01 01:00:00 EDT", "2026-11-01 01:20:00 EDT", "2026-11-01 01:40:00 EDT",
              "2026-11-02 01:00:00 EST"});
  // Every hour: the repeated hour fires again, so no hour goes quiet.
  CHECK(fires("0 0 * * * ?", "America/New_York", "2026-11-01 03:30:00", 4) ==
        Times{"2026-11-01 00:00:00 EDT", "2026-11-01 01:00:00 EDT", "2026-11-01 01:00:00 EST",
              "2026-11-01 02:00:00 EST"});
  CHECK(fires("0 */20 * * * ?", "America/New_York", "2026-11-01 05:30:00", 5) ==
        Times{"2026-11-01 01:40:00 EDT", "2026-11-01 01:00:00 EST", "2026-11-01 01:20:00 EST",
              "2026-11-01 01:40:00 EST", "2026-11-01 02:00:00 EST"});
  // Asked from the first pass, the second pass is still ahead.
  CHECK(fires("0 5 * * * ?", "America/New_York", "2026-11-01 05:10:00", 2) ==
        Times{"2026-11-01 01:05:00 EST", "2026-11-01 02:05:00 EST"});
}

TEST_CASE("Berlin, 2026-03-29 and 2026-10-25", "[cron][dst]") {
  CHECK(fires("0 30 2 * * ?", "Europe/Berlin", "2026-03-28 12:00:00", 2) ==
        Times{"2026-03-29 03:00:00 CEST", "2026-03-30 02:30:00 CEST"});
  CHECK(fires("0 30 2 * * ?", "Europe/Berlin", "2026-10-24 12:00:00", 2) ==
        Times{"2026-10-25 02:30:00 CEST", "2026-10-26 02:30:00 CET"});
  CHECK(fires("0 0 * * * ?", "Europe/Berlin", "2026-10-24 23:30:00", 4) ==
        Times{"2026-10-25 02:00:00 CEST", "2026-10-25 02:00:00 CET", "2026-10-25 03:00:00 CET",
              "2026-10-25 04:00:00 CET"});
}

TEST_CASE("a year of firings in New York: one per hour, one per day", "[cron][dst]") {
  const auto *ny = zone("America/New_York");
  const int64_t from = utc_ms("2026-01-01 05:00:00") - 1;  // 2026-01-01 00:00 EST
  const int64_t until = utc_ms("2027-01-01 05:00:00");
  const auto count = [&](const char *expr, int64_t step_ms) {
    const Cron cron = parse_cron(expr);
    int n = 0;
    for (auto t = next_fire(cron, from, ny); t && *t < until; t = next_fire(cron, *t, ny)) {
      if (step_ms) REQUIRE(*t == from + 1 + n * step_ms);
      ++n;
    }
    return n;
  };
  CHECK(count("0 0 * * * ?", 3600 * 1000) == 365 * 24);
  CHECK(count("0 0/15 * * * ?", 900 * 1000) == 365 * 24 * 4);
  CHECK(count("0 30 2 * * ?", 0) == 365);
  CHECK(count("0 30 1 * * ?", 0) == 365);
}

TEST_CASE("expressions that can never fire are refused", "[cron]") {
  CHECK(refusal("0 0 0 30 2 ? *") == R"(cron "0 0 0 30 2 ? *": never fires: no date has day-of-month "30", month "2")");
  CHECK(refusal("0 0 0 31 4 ? *") == R"(cron "0 0 0 31 4 ? *": never fires: no date has day-of-month "31", month "4")");
  CHECK(refusal("0 0 30 2 *") == R"(cron "0 0 30 2 *": never fires: no date has day-of-month "30", month "2")");
  CHECK(refusal("0 0 12 29 2 ? 2027") ==
        R"(cron "0 0 12 29 2 ? 2027": never fires: no date has day-of-month "29", month "2", year "2027")");
  // No fifth Thursday in February 2026.
  CHECK(refusal("0 0 0 ? 2 5#5 2026") ==
        R"(cron "0 0 0 ? 2 5#5 2026": never fires: no date has month "2", day-of-week "5#5", year "2026")");
  CHECK(refusal("0 0 12 29 2 ? *") == "(accepted)");
  CHECK(refusal("0 0 12 29 2 ? 2028") == "(accepted)");
  CHECK(refusal("0 0 0 31 4,5 ? *") == "(accepted)");
  CHECK(refusal("0 0 0 ? 2 5#5 *") == "(accepted)");
}

TEST_CASE("malformed expressions are refused with the field at fault", "[cron]") {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"0 0 25 * * ? *", "hour 25 is out of range 0-23"},
      {"0 60 * * * ?", "minute 60 is out of range 0-59"},
      {"60 * * * * ?", "second 60 is out of range 0-59"},
      {"0 0 0 32 * ?", "day-of-month 32 is out of range 1-31"},
      {"0 0 0 0 * ?", "day-of-month 0 is out of range 1-31"},
      {"0 0 0 * 13 ?", "month 13 is out of range 1-12"},
      {"0 0 0 ? * 0 *", "day-of-week 0 is out of range 1-7 (Quartz counts 1=SUN..7=SAT)"},
      {"0 0 * * 8", "day-of-week 8 is out of range 0-7 (Unix counts 0 or 7=SUN..6=SAT)"},
      {"0 0 0 * * ? 1969", "year 1969 is out of range 1970-2099"},
      {"0 0 99999999999 * * ?", "hour 99999999999 is out of range 0-23"},
      {"0 0 0 * FOO ?", R"(month "FOO" is not a number or a month name)"},
      {"0 0 0 ? * FRY", R"(day-of-week "FRY" is not a number or a day name)"},
      {"0 0 5x * * ?", R"(hour "5x" is not a number)"},
      {"0 0 -1 * * ?", R"(hour "-1" is incomplete)"},
      {"0 1, * * * ?", R"(minute "1," has an empty list item)"},
      {"0 0 0 1,,2 * ?", R"(day-of-month "1,,2" has an empty list item)"},
      {"0 */0 * * * ?", "minute step 0 is out of range 1-59"},
      {"0 */60 * * * ?", "minute step 60 is out of range 1-59"},
      {"0 */x * * * ?", R"(minute step "x" is not a number)"},
      {"0 0 5-3 * * ?", R"(hour range "5-3" runs backwards)"},
      {"0 0 12 ? * FRI-MON", R"(day-of-week range "FRI-MON" runs backwards)"},
      {"0 0 ? * * ?", R"(hour "?" is only allowed in day-of-month and day-of-week)"},
      {"0 0 0 1 * ? ?", R"(year "?" is only allowed in day-of-month and day-of-week)"},
      {"0 0 0 1 * MON", R"(day-of-month "1" and day-of-week "MON" are both set; Quartz needs "?" in one of them)"},
      {"0 0 0 ? * 6#6", "day-of-week occurrence 6 is out of range 1-5"},
      {"0 0 0 ? * 6#x", R"(day-of-week occurrence "x" is not a number)"},
      {"0 0 0 L-31 * ?", "day-of-month offset 31 is out of range 0-30"},
      {"0 0 0 32W * ?", "day-of-month 32 is out of range 1-31"},
      {"0 0 0 LX * ?", R"(day-of-month "LX" is not a number)"},
      {"0 0 0 W * ?", R"(day-of-month "W" is not a number)"},
      {"0 0 0 ? * 8L", "day-of-week 8 is out of range 1-7 (Quartz counts 1=SUN..7=SAT)"},
      {"0 0 L * * ?", R"(hour "L" is not a number)"},
      {"0 0 0 ? * 1#", R"(day-of-week "1#" is incomplete)"},
  };
  for (const auto &[expr, what] : cases) {
    INFO(expr);
    CHECK(refusal(expr) == "cron \"" + expr + "\": " + what);
  }
}

TEST_CASE("the field count decides the syntax", "[cron]") {
  CHECK(refusal("") == R"(cron "": expected 5 fields (Unix) or 6 or 7 (Quartz), found 0)");
  CHECK(refusal("* * * *") == R"(cron "* * * *": expected 5 fields (Unix) or 6 or 7 (Quartz), found 4)");
  CHECK(refusal("0 0 0 * * ? * *") ==
        R"(cron "0 0 0 * * ? * *": expected 5 fields (Unix) or 6 or 7 (Quartz), found 8)");
  // Extra blanks between and around fields are fine.
  CHECK(fires("  0\t0  12 * * ?  ", "UTC", "2026-05-10 00:00:00", 1) == Times{"2026-05-10 12:00:00 UTC"});
}

TEST_CASE("an unknown zone falls back to UTC with a warning", "[zone]") {
  const auto mars = resolve_zone("Mars/Base");
  CHECK(mars.warning == "unknown time zone \"Mars/Base\", using UTC");
  REQUIRE(mars.zone != nullptr);
  CHECK(mars.zone->name() == "UTC");
  const auto none = resolve_zone("");
  CHECK(none.warning == "no time zone given, using UTC");
  CHECK(none.zone == mars.zone);
  const auto ny = resolve_zone("America/New_York");
  CHECK(ny.warning.empty());
  CHECK(ny.zone->name() == "America/New_York");
  // The fallback still schedules, in UTC.
  CHECK(local(mars.zone, *next_fire(parse_cron("0 30 2 * * ?"), utc_ms("2026-03-08 00:00:00"), mars.zone)) ==
        "2026-03-08 02:30:00 UTC");
}

// Cron parsing and the next-fire search (see cron.hpp). The search runs on a
// zoneless civil clock, "local seconds" (days since 1970-01-01 times 86400
// plus the time of day); next_fire lays it onto UTC one stretch of constant
// UTC offset at a time, and the clock-change rules live at the seams.
#include "schedule/cron.hpp"

#include <date/tz.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <charconv>
#include <chrono>
#include <vector>

#include "common/error.hpp"

namespace livebot::schedule {
namespace {

constexpr int64_t day_s = 86400;
constexpr uint32_t every_hour = (1u << 24) - 1;
constexpr unsigned saturday = 6, sunday = 0;

int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b < 0 ? 1 : 0); }

// ---- Calendar ----

struct Civil {
  int y;
  unsigned m, d;
};

int64_t days_from_civil(Civil c) {
  return date::sys_days{date::year{c.y} / date::month{c.m} / date::day{c.d}}.time_since_epoch().count();
}

Civil civil_from_days(int64_t days) {
  const date::year_month_day ymd{date::sys_days{date::days{days}}};
  return {int(ymd.year()), unsigned(ymd.month()), unsigned(ymd.day())};
}

unsigned days_in_month(int y, unsigned m) {
  return unsigned((date::year{y} / date::month{m} / date::last).day());
}

unsigned weekday(int y, unsigned m, unsigned d) {
  return date::weekday{date::sys_days{date::year{y} / date::month{m} / date::day{d}}}.c_encoding();
}

void next_month(Civil &c) {
  if (++c.m > 12) {
    c.m = 1;
    ++c.y;
  }
  c.d = 1;
}

// ---- Matching ----

// The lowest set bit at or above `from`, or -1.
int next_bit(uint64_t mask, int from) {
  if (from >= 64) return -1;
  const uint64_t rest = mask >> from;
  return rest ? from + std::countr_zero(rest) : -1;
}

bool year_matches(const Cron &c, int y) {
  if (!c.year_set) return true;
  return y >= Cron::first_year && y <= Cron::last_year && c.years[size_t(y - Cron::first_year)];
}

// "nW": the weekday nearest day n, without leaving the month; 0 if the month
// has no day n.
unsigned nearest_weekday(int y, unsigned m, unsigned n, unsigned last) {
  if (n > last) return 0;
  const unsigned wd = weekday(y, m, n);
  if (wd == saturday) return n == 1 ? 3 : n - 1;
  if (wd == sunday) return n == last ? n - 2 : n + 1;
  return n;
}

bool dom_matches(const Cron &c, int y, unsigned m, unsigned d) {
  const unsigned last = days_in_month(y, m);
  if ((c.days >> d & 1) || (c.days_before_last >> (last - d) & 1)) return true;
  if (c.last_weekday && nearest_weekday(y, m, last, last) == d) return true;
  for (int n = next_bit(c.nearest_weekday, 1); n >= 0; n = next_bit(c.nearest_weekday, n + 1))
    if (nearest_weekday(y, m, unsigned(n), last) == d) return true;
  return false;
}

bool dow_matches(const Cron &c, int y, unsigned m, unsigned d) {
  const unsigned wd = weekday(y, m, d);
  if (c.weekdays >> wd & 1) return true;
  if ((c.last_in_month >> wd & 1) && d + 7 > days_in_month(y, m)) return true;
  return c.nth_in_month[wd] >> ((d - 1) / 7 + 1) & 1;
}

// Quartz has one day field set at most; Unix fires on either when both are.
bool day_matches(const Cron &c, int y, unsigned m, unsigned d) {
  if (!c.dom_set && !c.dow_set) return true;
  return (c.dom_set && dom_matches(c, y, m, d)) || (c.dow_set && dow_matches(c, y, m, d));
}

// The first matching time of day at or after `from` seconds into the day.
std::optional<int> first_time(const Cron &c, int from) {
  const int h0 = from / 3600, m0 = from / 60 % 60, s0 = from % 60;
  for (int h = next_bit(c.hours, h0); h >= 0; h = next_bit(c.hours, h + 1)) {
    for (int m = next_bit(c.minutes, h == h0 ? m0 : 0); m >= 0; m = next_bit(c.minutes, m + 1)) {
      const int s = next_bit(c.seconds, h == h0 && m == m0 ? s0 : 0);
      if (s >= 0) return h * 3600 + m * 60 + s;
    }
  }
  return std::nullopt;
}

// The first matching local second in [from, until): whole years, months and
// days are skipped until one matches, then the time of day is looked up.
std::optional<int64_t> first_match(const Cron &c, int64_t from, int64_t until) {
  const int64_t from_day = floor_div(from, day_s);
  Civil at = civil_from_days(from_day);
  int time = int(from - from_day * day_s);
  for (;;) {
    const int64_t start = days_from_civil(at) * day_s;
    if (start >= until) return std::nullopt;
    if (!year_matches(c, at.y)) {
      at = {at.y + 1, 1, 1};
    } else if (!(c.months >> at.m & 1)) {
      next_month(at);
    } else {
      if (day_matches(c, at.y, at.m, at.d)) {
        if (const auto t = first_time(c, time)) {
          if (start + *t < until) return start + *t;
          return std::nullopt;
        }
      }
      if (at.d == days_in_month(at.y, at.m))
        next_month(at);
      else
        ++at.d;
    }
    time = 0;
  }
}

// Where a search stops: after the last year the expression names, or 400
// years on, one whole Gregorian cycle, so anything that can match does.
int64_t search_horizon(const Cron &c, int from_year) {
  int last = from_year + 400;
  if (c.year_set) {
    last = Cron::last_year;
    while (!c.years[size_t(last - Cron::first_year)]) --last;
  }
  return days_from_civil({last + 1, 1, 1}) * day_s;
}

// ---- Parsing ----

enum class Syntax { Unix, Quartz };
enum class Names { None, Months, Days };

struct Field {
  const char *name;
  Names names;
  int lo, hi;        // the values accepted
  int star_hi;       // where "*" and "a/n" stop: Unix weekday 7 repeats 0
  const char *hint;  // added to a value's range error
};

constexpr Field second_field{"second", Names::None, 0, 59, 59, ""};
constexpr Field minute_field{"minute", Names::None, 0, 59, 59, ""};
constexpr Field hour_field{"hour", Names::None, 0, 23, 23, ""};
constexpr Field dom_field{"day-of-month", Names::None, 1, 31, 31, ""};
constexpr Field month_field{"month", Names::Months, 1, 12, 12, ""};
constexpr Field quartz_dow_field{"day-of-week", Names::Days, 1, 7, 7,
                                 " (Quartz counts 1=SUN..7=SAT)"};
constexpr Field unix_dow_field{"day-of-week", Names::Days, 0, 7, 6,
                               " (Unix counts 0 or 7=SUN..6=SAT)"};
constexpr Field year_field{"year", Names::None, Cron::first_year, Cron::last_year, Cron::last_year, ""};

constexpr std::string_view month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                            "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::string_view day_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

// One bit per value, value - field.lo; wide enough for the years.
using Values = std::bitset<Cron::last_year - Cron::first_year + 1>;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) == y;
         });
}

char upper(char c) { return char(std::toupper(static_cast<unsigned char>(c))); }

std::vector<std::string_view> split(std::string_view s, std::string_view separators) {
  std::vector<std::string_view> out;
  size_t at = 0;
  for (;;) {
    const size_t end = s.find_first_of(separators, at);
    out.push_back(s.substr(at, end - at));
    if (end == std::string_view::npos) return out;
    at = end + 1;
  }
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  for (const auto w : split(s, " \t"))
    if (!w.empty()) out.push_back(w);
  return out;
}

bool is_any(std::string_view field) { return field == "*" || field == "?"; }

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Cron run() {
    const auto f = words(text_);
    if (f.size() < 5 || f.size() > 7)
      fail("expected 5 fields (Unix) or 6 or 7 (Quartz), found " + std::to_string(f.size()));
    syntax_ = f.size() == 5 ? Syntax::Unix : Syntax::Quartz;
    // Unix has no seconds field, and fires at second 0.
    minute_at_ = syntax_ == Syntax::Quartz ? 1 : 0;
    cron_.text = std::string(text_);
    cron_.seconds = minute_at_ ? mask(second_field, f[0]) : 1;
    cron_.minutes = mask(minute_field, f[minute_at_]);
    cron_.hours = uint32_t(mask(hour_field, f[minute_at_ + 1]));
    day_of_month(f[minute_at_ + 2]);
    cron_.months = uint16_t(mask(month_field, f[minute_at_ + 3]));
    day_of_week(f[minute_at_ + 4]);
    if (f.size() == 7 && f[6] != "*") {
      cron_.year_set = true;
      cron_.years = values(year_field, f[6]);
    }
    if (syntax_ == Syntax::Quartz && cron_.dom_set && cron_.dow_set)
      fail("day-of-month " + quoted(f[3]) + " and day-of-week " + quoted(f[5]) +
           " are both set; Quartz needs \"?\" in one of them");
    const int64_t epoch = days_from_civil({Cron::first_year, 1, 1}) * day_s;
    if (!first_match(cron_, epoch, search_horizon(cron_, Cron::first_year)))
      fail("never fires: no date has " + day_fields(f));
    return std::move(cron_);
  }

 private:
  [[noreturn]] void fail(const std::string &what) const { throw Error("cron " + quoted(text_), what); }

  const Field &dow_field() const { return syntax_ == Syntax::Quartz ? quartz_dow_field : unix_dow_field; }

  // The fields that decide the date, for "never fires".
  std::string day_fields(const std::vector<std::string_view> &f) const {
    std::string out;
    const auto add = [&](const char *name, std::string_view field) {
      if (is_any(field)) return;
      out += (out.empty() ? "" : ", ") + std::string(name) + " " + quoted(field);
    };
    add("day-of-month", f[minute_at_ + 2]);
    add("month", f[minute_at_ + 3]);
    add("day-of-week", f[minute_at_ + 4]);
    if (f.size() == 7) add("year", f[6]);
    return out;
  }

  // A decimal integer in [lo, hi]; `what` names it in messages ("step").
  int number(const Field &f, std::string_view what, std::string_view token, int lo, int hi,
             std::string_view hint = {}) const {
    const std::string name = std::string(f.name) + (what.empty() ? "" : " " + std::string(what));
    if (token.empty()) fail(std::string(f.name) + " " + quoted(item_) + " is incomplete");
    if (!std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; }))
      fail(name + " " + quoted(token) + " is not a number" +
           (!what.empty()                 ? ""
            : f.names == Names::Months ? " or a month name"
            : f.names == Names::Days   ? " or a day name"
                                       : ""));
    int v = 0;
    const bool fits = std::from_chars(token.data(), token.data() + token.size(), v).ec == std::errc();
    if (!fits || v < lo || v > hi)
      fail(name + " " + std::string(token) + " is out of range " + std::to_string(lo) + "-" +
           std::to_string(hi) + std::string(hint));
    return v;
  }

  // A field's value: a number, or a name in the syntax's numbering.
  int value(const Field &f, std::string_view token) const {
    if (f.names == Names::Months)
      for (int i = 0; i < 12; ++i)
        if (iequals(token, month_names[i])) return i + 1;
    if (f.names == Names::Days)
      for (int i = 0; i < 7; ++i)
        if (iequals(token, day_names[i])) return i + f.lo;
    return number(f, {}, token, f.lo, f.hi, f.hint);
  }

  // A weekday in the syntax's numbering, as 0 = Sunday.
  unsigned weekday_of(int v) const { return unsigned(syntax_ == Syntax::Quartz ? v - 1 : v % 7); }

  // "*", "a", "a-b", each with an optional "/step".
  void add_values(const Field &f, std::string_view item, Values &out) {
    item_ = item;
    const size_t slash = item.find('/');
    const std::string_view base = item.substr(0, slash);
    int step = 1;
    if (slash != std::string_view::npos)
      step = number(f, "step", item.substr(slash + 1), 1, f.star_hi - f.lo);
    int a = f.lo, b = f.star_hi;
    if (base != "*") {
      const size_t dash = base.find('-');
      a = value(f, base.substr(0, dash));
      if (dash != std::string_view::npos) {
        b = value(f, base.substr(dash + 1));
        if (a > b) fail(std::string(f.name) + " range " + quoted(base) + " runs backwards");
      } else {
        b = slash == std::string_view::npos ? a : std::max(a, f.star_hi);
      }
    }
    for (int v = a; v <= b; v += step) out.set(size_t(v - f.lo));
  }

  // A field's comma-separated items.
  std::vector<std::string_view> items(const Field &f, std::string_view field) const {
    auto out = split(field, ",");
    for (const auto item : out)
      if (item.empty()) fail(std::string(f.name) + " " + quoted(field) + " has an empty list item");
    return out;
  }

  Values values(const Field &f, std::string_view field) {
    if (field == "?") fail(std::string(f.name) + " \"?\" is only allowed in day-of-month and day-of-week");
    Values out;
    for (const auto item : items(f, field)) add_values(f, item, out);
    return out;
  }

  uint64_t mask(const Field &f, std::string_view field) { return values(f, field).to_ullong() << f.lo; }

  void day_of_month(std::string_view field) {
    if (is_any(field)) return;
    cron_.dom_set = true;
    for (const auto item : items(dom_field, field)) {
      item_ = item;
      if (iequals(item, "L")) {
        cron_.days_before_last |= 1;
      } else if (iequals(item, "LW")) {
        cron_.last_weekday = true;
      } else if (item.size() >= 2 && upper(item[0]) == 'L' && item[1] == '-') {
        cron_.days_before_last |= 1u << number(dom_field, "offset", item.substr(2), 0, 30);
      } else if (item.size() >= 2 && upper(item.back()) == 'W') {
        cron_.nearest_weekday |= 1u << value(dom_field, item.substr(0, item.size() - 1));
      } else {
        Values v;
        add_values(dom_field, item, v);
        cron_.days |= uint32_t(v.to_ullong() << 1);
      }
    }
  }

  void day_of_week(std::string_view field) {
    if (is_any(field)) return;
    cron_.dow_set = true;
    const Field &f = dow_field();
    for (const auto item : items(f, field)) {
      item_ = item;
      const size_t hash = item.find('#');
      if (iequals(item, "L")) {
        cron_.weekdays |= 1u << saturday;
      } else if (hash != std::string_view::npos) {
        const unsigned wd = weekday_of(value(f, item.substr(0, hash)));
        cron_.nth_in_month[wd] |= uint8_t(1u << number(f, "occurrence", item.substr(hash + 1), 1, 5));
      } else if (item.size() >= 2 && upper(item.back()) == 'L') {
        cron_.last_in_month |= uint8_t(1u << weekday_of(value(f, item.substr(0, item.size() - 1))));
      } else {
        Values v;
        add_values(f, item, v);
        for (int i = f.lo; i <= f.hi; ++i)
          if (v[size_t(i - f.lo)]) cron_.weekdays |= uint8_t(1u << weekday_of(i));
      }
    }
  }

  std::string_view text_;
  std::string_view item_;  // the list item being read, for messages
  Syntax syntax_ = Syntax::Quartz;
  size_t minute_at_ = 1;  // where minutes are: after the seconds, if any
  Cron cron_;
};

}  // namespace

Cron parse_cron(std::string_view text) { return Parser(text).run(); }

std::optional<int64_t> next_fire(const Cron &cron, int64_t after_ms, const date::time_zone *zone) {
  using std::chrono::seconds;
  const int64_t start = floor_div(after_ms, 1000) + 1;
  const int64_t horizon = search_horizon(cron, civil_from_days(floor_div(start, day_s)).y);
  date::sys_seconds from{seconds{start}};
  date::sys_info info = zone->get_info(from);
  int64_t prev = zone->get_info(info.begin - seconds{1}).offset.count();
  for (;;) {
    const int64_t begin = info.begin.time_since_epoch().count();
    const int64_t end = info.end.time_since_epoch().count();
    const int64_t off = info.offset.count();
    // Local times skipped by a move forward fire when the gap ends.
    if (from == info.begin && off > prev && first_match(cron, begin + prev, std::min(begin + off, horizon)))
      return begin * 1000;
    // Local times repeated by a move back fired the first time round, unless
    // the schedule runs every hour.
    int64_t lo = from.time_since_epoch().count() + off;
    if (off < prev && cron.hours != every_hour) lo = std::max(lo, begin + prev);
    if (const auto t = first_match(cron, lo, std::min(end + off, horizon))) return (*t - off) * 1000;
    if (end + off >= horizon) return std::nullopt;
    prev = off;
    from = info.end;
    info = zone->get_info(from);
  }
}

}  // namespace livebot::schedule

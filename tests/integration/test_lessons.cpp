// The lesson bots on the real 14-day recording. Every figure the plugins
// keep is derived here, independently, from the recording's rows (and the
// zone's calendar, from the date library), never read back from the host's
// own counters; and a Lesson 5 playback killed at random moments, with
// timers, alarms and schedules pending, resumes to the end of an
// uninterrupted one.
#include <date/tz.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "integration/playback_cli.hpp"
#include "playback/recording.hpp"
#include "support/paths.hpp"
#include "support/temp_dir.hpp"

using livebot::playback::Row;
using livebot::playback::Trigger;
using livebot::test::instance_state;
using livebot::test::notifications;
using livebot::test::play;
using livebot::test::stored_state;
using livebot::test::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string bot_lesson1 = LIVEBOT_BOT_DIR "/lesson1";
const std::string bot_lesson5 = LIVEBOT_BOT_DIR "/lesson5";

bool have_recording() {
  if (fs::exists(livebot::test::shared_recording)) return true;
  WARN("skipped: " << livebot::test::shared_recording << " is absent");
  return false;
}

const livebot::playback::Recording &recording() {
  static const auto rec = livebot::playback::read_recording(livebot::test::shared_recording);
  return rec;
}

std::optional<std::string> param(const Row &r, std::string_view name) {
  for (const auto &p : r.params)
    if (p.name == name) return p.value;
  return std::nullopt;
}

bool updated(const Row &r, std::string_view name) {
  return std::find(r.updated_params.begin(), r.updated_params.end(), name) != r.updated_params.end();
}

// The first local wall-clock boundary (a day or an hour) after `ms`.
template <class Unit>
int64_t next_local(const date::time_zone *zone, int64_t ms) {
  using namespace std::chrono;
  const auto local = zone->to_local(date::sys_time<milliseconds>(milliseconds(ms)));
  const auto next = date::floor<Unit>(local) + Unit(1);
  return duration_cast<milliseconds>(zone->to_sys(next, date::choose::earliest).time_since_epoch()).count();
}

template <class Unit>
int64_t boundaries(const date::time_zone *zone, int64_t after, int64_t until) {
  int64_t n = 0;
  for (int64_t t = next_local<Unit>(zone, after); t <= until; t = next_local<Unit>(zone, t)) ++n;
  return n;
}

// What Lesson 5 must have done in one location, from its rows.
struct Lesson5 {
  int64_t timers_started = 0, timers_cancelled = 0, timers_fired = 0;
  int64_t alarms_set = 0;
  std::set<int64_t> alarms;  // the midnights an alarm was set for
  int64_t alarms_fired = 0, midnights = 0, hours = 0;
};

std::map<std::string, Lesson5> derive_lesson5(const livebot::playback::Recording &rec) {
  const auto *zone = date::locate_zone(rec.timezone);
  const int64_t end = rec.rows.back().timestamp_ms;  // the clock stops here
  std::map<std::string, Lesson5> out;
  std::map<std::string, std::optional<int64_t>> door_due;
  std::map<std::string, int64_t> first;  // first execution (the bot takes modes and measurements)
  for (const auto &r : rec.rows) {
    if (r.trigger == Trigger::Alert) continue;
    auto &e = out[r.location_id];
    first.try_emplace(r.location_id, r.timestamp_ms);
    auto &due = door_due[r.location_id];
    // A door timer due by now fired before this row.
    if (due && *due <= r.timestamp_ms) ++e.timers_fired, due.reset();
    if (r.trigger == Trigger::Mode) {
      ++e.alarms_set;
      e.alarms.insert(next_local<date::days>(zone, r.timestamp_ms));
    } else if (r.device_type == 9114 && updated(r, "doorStatus")) {
      if (param(r, "doorStatus") == "1") {
        ++e.timers_started;
        due = r.timestamp_ms + 10000;
      } else if (due) {
        ++e.timers_cancelled;
        due.reset();
      }
    }
  }
  for (auto &[loc, e] : out) {
    if (door_due[loc] && *door_due[loc] <= end) ++e.timers_fired;
    e.alarms_fired = std::count_if(e.alarms.begin(), e.alarms.end(), [&](int64_t m) { return m <= end; });
    e.midnights = boundaries<date::days>(zone, first[loc], end);
    e.hours = boundaries<std::chrono::hours>(zone, first[loc], end);
  }
  return out;
}

}  // namespace

TEST_CASE("Lesson 5 on the real recording: door timers, midnight alarms and schedules as the rows say",
          "[lessons][recording][timers]") {
  if (!have_recording()) return;
  const auto &rec = recording();
  const auto want = derive_lesson5(rec);
  REQUIRE(want.size() == 2);
  TempDir dir;
  const auto sum = play({livebot::test::shared_recording, "--bot", bot_lesson5, "--out", dir / "out"});
  CHECK(sum["errors"] == 0);
  const auto told = notifications(dir / "out");
  const auto *zone = date::locate_zone(rec.timezone);

  int64_t timers = 0, schedules = 0;
  for (const auto &[loc, e] : want) {
    INFO("location " << loc << ": door timers " << e.timers_started << " started, " << e.timers_cancelled
                     << " cancelled, " << e.timers_fired << " fired; alarms " << e.alarms_set << " set, "
                     << e.alarms_fired << " fired; " << e.midnights << " midnights, " << e.hours << " hours");
    // The recording exercises every path.
    CHECK((e.timers_cancelled > 0 && e.timers_fired > 0 && e.alarms_fired > 0 && e.alarms_fired < e.alarms_set));
    const auto st = stored_state(sum["store"], loc);
    const auto door = instance_state(st, "door_timer", "SAMPLE_01");
    CHECK(door["timers_started"] == e.timers_started);
    CHECK(door["timers_cancelled"] == e.timers_cancelled);
    CHECK(door["timers_fired"] == e.timers_fired);
    const auto alarm = instance_state(st, "midnight_alarm");
    CHECK(alarm["alarms_set"] == e.alarms_set);
    CHECK(alarm["alarms_fired"] == e.alarms_fired);
    const auto sched = instance_state(st, "schedules");
    CHECK(sched["midnight"]["kept"] == e.midnights);
    CHECK(sched["hour"]["kept"] == e.hours);
    CHECK(sched["midnight"].value("ignored", 0) == 0);
    CHECK(sched["hour"].value("ignored", 0) == 0);

    // What the people of the location were told.
    int64_t door_told = 0, midnight_told = 0;
    for (const auto &n : told) {
      if (n["location"] != loc) continue;
      if (n["subject"] == "Door left open") {
        ++door_told;
        CHECK(n["body"] == "Front-Door has been open for 10.0 seconds");
      } else if (n["subject"] == "Midnight") {
        ++midnight_told;
        const int64_t at = n["timestamp_ms"];
        CHECK(e.alarms.count(at) == 1);  // a midnight some mode change asked for
        CHECK(next_local<date::days>(zone, at - 1) == at);
      }
    }
    CHECK(door_told == e.timers_fired);
    CHECK(midnight_told == e.alarms_fired);
    timers += e.timers_fired + e.alarms_fired;
    schedules += e.midnights + e.hours;
  }
  CHECK(sum["timer_executions"] == timers);
  CHECK(sum["schedule_executions"] == schedules);
  CHECK(sum["timers_dropped"] == 0);
}

TEST_CASE("Lesson 1 on the real recording: each sensor's changes, and devices told apart by type",
          "[lessons][recording]") {
  if (!have_recording()) return;
  const auto &rec = recording();
  // location -> device -> {param value -> changes}; location -> type -> measurements.
  std::map<std::string, std::map<std::string, std::map<std::string, int64_t>>> changes;
  std::map<std::string, std::map<int32_t, int64_t>> by_type;
  std::map<std::string, std::set<std::string>> devices;
  for (const auto &r : rec.rows) {
    if (r.trigger != Trigger::Measurement) continue;
    ++by_type[r.location_id][r.device_type];
    devices[r.location_id].insert(r.device_id);
    for (const char *p : {"doorStatus", "motionStatus"})
      if (updated(r, p)) ++changes[r.location_id][r.device_id][*param(r, p)];
  }
  TempDir dir;
  const auto sum = play({livebot::test::shared_recording, "--bot", bot_lesson1, "--out", dir / "out"});
  CHECK(sum["errors"] == 0);
  for (const auto &[loc, types] : by_type) {
    INFO("location " << loc);
    const auto st = stored_state(sum["store"], loc);
    const auto kinds = instance_state(st, "device_types");
    CHECK(kinds["entry_measurements"] == types.at(9114));
    CHECK(kinds["motion_measurements"] == types.at(9138));
    CHECK(kinds["other_measurements"] == types.at(37));
    CHECK(kinds["devices_added"] == devices[loc].size());
    for (const auto &[device, counts] : changes[loc]) {
      INFO("device " << device);
      const bool entry = device == "SAMPLE_01";
      const auto s = instance_state(st, entry ? "entry_sensor" : "motion_sensor", device);
      CHECK(s.value(entry ? "opened" : "motion_started", 0) == (counts.count("1") ? counts.at("1") : 0));
      CHECK(s.value(entry ? "closed" : "motion_stopped", 0) == (counts.count("0") ? counts.at("0") : 0));
    }
  }
}

TEST_CASE("Lesson 5 killed with SIGKILL, timers pending, resumes to exactly an uninterrupted run's end",
          "[lessons][recording][timers][kill]") {
  if (!have_recording()) return;
  TempDir dir;
  const std::string rec = livebot::test::shared_recording;
  const auto clean = play({rec, "--bot", bot_lesson5, "--store", dir / "clean.db", "--out", dir / "clean"});
  const std::string store = dir / "killed.db";
  const std::vector<std::string> args = {"playback", "-q", rec, "--bot", bot_lesson5, "--store", store,
                                         "--out", dir / "killed", "--commit-every", "64", "--resume"};
  CHECK(livebot::test::kill_and_resume(args, clean["wall_seconds"].get<double>(), 4, 20261204) >= 1);
  for (const auto &loc : {"1234567", "1663599"}) {
    const auto a = stored_state(dir / "clean.db", loc), b = stored_state(store, loc);
    CHECK(a == b);
    CHECK_FALSE(a["schedules"].empty());  // still pending at the end
  }
  CHECK(notifications(dir / "clean") == notifications(dir / "killed"));
}

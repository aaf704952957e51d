// Schedules from bot.json, with the probe plugins: parsed at load (a bad
// one names itself), fired in the location's time zone from its first
// execution, each firing an execution of its own heard by every instance;
// the local midnight a plugin asks for honours clock changes.
#include <catch2/catch.hpp>

#include "support/probe_host.hpp"

namespace engine = livebot::engine;
using livebot::test::TempDir;
using namespace livebot::test::probe;
using nlohmann::json;

namespace {

const json daily_and_hourly = {{"triggers", 1 | 2 | 8 | 64},
                               {"schedules", {{"MIDNIGHT", "0 0 0 1/1 * ? *"}, {"HOUR", "0 0 0/1 1/1 * ? *"}}}};

std::vector<std::string> schedules_in(const json &state) {
  std::vector<std::string> out;
  for (const auto &h : heard(state))
    if (h.rfind("schedule:", 0) == 0) out.push_back(h);
  return out;
}

// 2026-06-10T12:00:00Z, 08:00 in New York.
constexpr int64_t june10_noon_utc = 1781092800000;
constexpr int64_t hour = 3600 * 1000;

}  // namespace

TEST_CASE("schedules fire in the location's zone, from its first execution, to every instance", "[engine][schedules]") {
  TempDir dir;
  Host h(probe_bot(dir, "1.0.0", daily_and_hourly), dir / "store.db", "America/New_York");
  h.run(measurement(june10_noon_utc, {motion("m1", {{"motionStatus", "1"}}, {"motionStatus"})}));
  CHECK(h.ex->next_due("home") == june10_noon_utc + hour);
  // To local midnight, 04:00Z: 16 hours, then midnight itself.
  const int64_t midnight = june10_noon_utc + 16 * hour;
  CHECK(h.run_due("home", midnight) == 17);
  CHECK(h.ex->stats().schedule_executions == 17);
  for (const auto &[ms, device] : {std::pair{"probe_a", ""}, {"probe_b", ""}, {"probe_dev", "m1"}}) {
    const auto got = schedules_in(h.state("home", ms, device));
    REQUIRE(got.size() == 17);
    CHECK(got.front() == "schedule:HOUR@" + std::to_string(june10_noon_utc + hour));
    // At one time, by id.
    CHECK(got[15] == "schedule:HOUR@" + std::to_string(midnight));
    CHECK(got[16] == "schedule:MIDNIGHT@" + std::to_string(midnight));
  }
  const auto next = h.st->load_schedules("home");
  REQUIRE(next.size() == 2);
  CHECK(next[0].id == "HOUR");
  CHECK(next[0].next_ms == midnight + hour);
  CHECK(next[1].id == "MIDNIGHT");
  CHECK(next[1].next_ms == midnight + 24 * hour);
  CHECK(h.st->due_locations() == std::vector<std::pair<std::string, int64_t>>{{"home", midnight + hour}});
}

TEST_CASE("a location whose zone is unknown gets its schedules in UTC", "[engine][schedules]") {
  TempDir dir;
  Host h(probe_bot(dir, "1.0.0", daily_and_hourly), dir / "store.db", "Mars/Olympus_Mons");
  h.run(mode(june10_noon_utc, "HOME"));
  const auto next = h.st->load_schedules("home");
  REQUIRE(next.size() == 2);
  CHECK(next[1].next_ms == june10_noon_utc + 12 * hour);  // 2026-06-11T00:00:00Z
}

TEST_CASE("a schedule the manifest drops is forgotten; one it adds starts at the next execution",
          "[engine][schedules]") {
  TempDir dir;
  {
    Host h(probe_bot(dir, "1.0.0", {{"triggers", 1 | 2}, {"schedules", {{"MIDNIGHT", "0 0 0 * * ?"}}}}),
           dir / "store.db");
    h.run(mode(june10_noon_utc, "HOME"));
    CHECK(h.st->load_schedules("home").size() == 1);
  }
  Host h(probe_bot(dir, "2.0.0", {{"triggers", 1 | 2}, {"schedules", {{"QUARTER", "0 0/15 * * * ?"}}}}),
         dir / "store.db");
  // Loading the location drops MIDNIGHT; nothing is due until an execution
  // starts QUARTER.
  CHECK_FALSE(h.ex->next_due("home"));
  h.run(mode(june10_noon_utc + 20 * 60 * 1000, "AWAY"));
  const auto next = h.st->load_schedules("home");
  REQUIRE(next.size() == 1);
  CHECK(next[0].id == "QUARTER");
  CHECK(next[0].next_ms == june10_noon_utc + 30 * 60 * 1000);
}

TEST_CASE("a bad schedule stops the bot from loading, naming the schedule", "[engine][schedules][bad-input]") {
  TempDir dir;
  const auto refused = [&](const json &extra, const std::string &reason) {
    const auto bot = probe_bot(dir, "1.0.0", extra);
    CHECK_THROWS_WITH(engine::load_manifest(bot), Catch::Contains("bot.json: " + reason));
  };
  refused({{"triggers", 3}, {"schedules", {{"MIDNIGHT", "0 0 25 * * ? *"}}}},
          "schedule 'MIDNIGHT': cron \"0 0 25 * * ? *\": hour 25 is out of range 0-23");
  refused({{"triggers", 3}, {"schedules", {{"LEAP", "0 0 0 30 2 ? *"}}}}, "schedule 'LEAP': cron \"0 0 0 30 2 ? *\": never fires");
  refused({{"triggers", 3}, {"schedules", {{"X", 5}}}}, "schedule 'X': must be a cron expression in a string");
  refused({{"triggers", 3}, {"schedules", {{"a b", "0 0 * * *"}}}}, "schedule 'a b': a name may hold only");
  refused({{"triggers", 3}, {"schedules", json::array()}}, "'schedules' must be an object");
  refused({{"triggers", 2}, {"schedules", {{"HOUR", "0 * * * *"}}}},
          "'schedules' are given but 'triggers' lacks 1 (schedule)");
}

TEST_CASE("the next local midnight a plugin asks for follows the zone's clock changes", "[engine][zones]") {
  TempDir dir;
  Host h(probe_bot(dir), dir / "store.db", "America/New_York");
  // 2026-03-07T12:00Z: the next midnight, 00:00 EST, is 05:00Z.
  h.run(measurement(1772884800000, {motion("m1", {{"midnight", "?"}}, {"midnight"})}));
  CHECK(heard(h.state("home", "probe_a")).back() == "midnight:1772946000000");
  // 2026-03-08T06:00Z, 01:00 EST: clocks go forward at 02:00, so the next
  // midnight, 00:00 EDT, is 04:00Z.
  h.run(measurement(1772949600000, {motion("m1", {{"midnight", "?"}}, {"midnight"})}));
  CHECK(heard(h.state("home", "probe_a")).back() == "midnight:1773028800000");
}

TEST_CASE("Lesson 5's schedule microservice ignores a repeat firing within 30 minutes", "[engine][schedules][lessons]") {
  TempDir dir;
  const std::string bot = dir / "bot";
  std::filesystem::create_directories(bot);
  livebot::test::write_file(
      bot + "/bot.json",
      json{{"bot", "schedules"},
           {"version", "1.0.0"},
           {"triggers", 1 | 2},
           {"schedules", {{"MIDNIGHT", "0 0 0 1/1 * ? *"}}},
           {"microservices",
            {{"location", {{{"name", "schedules"}, {"plugin", LIVEBOT_PLUGIN_BUILD_DIR "/lesson5_schedules.so"}}}}}}}
          .dump());
  Host h(bot, dir / "store.db");
  // A server's repeat, handed in as the input a host would make of it.
  const auto fired = [&](int64_t ts) {
    engine::Input in;
    in.kind = engine::Input::Kind::Schedule;
    in.location = "home";
    in.timestamp_ms = ts;
    in.schedule = "MIDNIGHT";
    h.run(in);
  };
  fired(june10_noon_utc);
  fired(june10_noon_utc + 10 * 60 * 1000);
  fired(june10_noon_utc + 29 * 60 * 1000);
  fired(june10_noon_utc + 24 * hour);
  const auto midnight = h.state("home", "schedules")["midnight"];
  CHECK(midnight["kept"] == 2);
  CHECK(midnight["ignored"] == 2);
  CHECK(midnight["last_ms"] == june10_noon_utc + 24 * hour);
}

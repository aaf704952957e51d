// Playback in virtual time, with the probe plugins on small recordings made
// here: what is due runs before the row that passes its time, each item as
// its own execution, in due order across locations; schedules start with a
// location's first row; nothing runs past the recording's last row; a run
// stopped and resumed ends as one that was not.
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "integration/playback_cli.hpp"
#include "support/probe_bot.hpp"
#include "support/temp_dir.hpp"

using livebot::test::instance_state;
using livebot::test::notifications;
using livebot::test::play;
using livebot::test::stored_state;
using livebot::test::TempDir;
using livebot::test::probe::probe_bot;
using nlohmann::json;

namespace {

// A measurement row of motion sensor m1 carrying one probe request.
json ask(const std::string &location, int64_t ts, const std::string &param, const std::string &value) {
  return {{"trigger", "8"},         {"location_id", location}, {"timestamp_ms", std::to_string(ts)},
          {"device_id", "m1"},      {"device_type", "9138"},   {"description", "Motion"},
          {"updated_params", param}, {param, value}};
}

json mode_row(const std::string &location, int64_t ts, const std::string &mode) {
  return {{"trigger", "2"}, {"location_id", location}, {"timestamp_ms", std::to_string(ts)}, {"event", mode}};
}

std::string recording(const TempDir &dir, const json &rows) {
  const std::string path = dir / "recording.json";
  livebot::test::write_file(path, json{{"location_info", {{"id", "home"}, {"timezone", {{"id", "UTC"}}}}},
                                       {"data", rows}}
                                      .dump());
  return path;
}

const json rows = json::array({
    ask("home", 1000, "timer", "probe_a|t|5000"),   // due 6000
    ask("cabin", 1000, "timer", "*|t|5000"),        // due 6000, three owners
    ask("home", 2000, "timer", "probe_b|late|1000000"),  // after the last row
    ask("home", 3000, "x", "1"),
    mode_row("home", 6000, "AWAY"),                  // due items at 6000 run first
    ask("cabin", 7000, "x", "1"),
});

}  // namespace

TEST_CASE("due timers run before the row that reaches their time, in due order across locations",
          "[playback][timers]") {
  TempDir dir;
  const auto sum = play({recording(dir, rows), "--bot", probe_bot(dir), "--out", dir / "out"});
  CHECK(sum["errors"] == 0);
  CHECK(sum["timer_executions"] == 4);
  CHECK(sum["executions"] == 6 + 4);

  // At 6000: cabin before home, and in cabin in initialize order.
  const auto n = notifications(dir / "out");
  REQUIRE(n.size() == 4);
  const std::vector<std::pair<std::string, std::string>> want = {
      {"cabin", "probe_dev"}, {"cabin", "probe_b"}, {"cabin", "probe_a"}, {"home", "probe_a"}};
  for (size_t i = 0; i < want.size(); ++i) {
    CHECK(n[i]["location"] == want[i].first);
    CHECK(n[i]["microservice"] == want[i].second);
    CHECK(n[i]["timestamp_ms"] == 6000);
  }
  // The timer's execution comes between the row before its time and the row at it.
  const auto home = stored_state(sum["store"], "home");
  const auto heard = instance_state(home, "probe_a")["heard"];
  const std::vector<std::string> tail(heard.end() - 6, heard.end());
  CHECK(tail == std::vector<std::string>{"initialize", "measure:m1", "initialize", "timer:t@6000", "initialize",
                                         "mode:AWAY"});
  // Virtual time ends with the recording: the late one is still pending.
  REQUIRE(home["timers"].size() == 1);
  CHECK(home["timers"][0]["reference"] == "late");
  CHECK(home["timers"][0]["microservice"] == "probe_b");
  CHECK(home["timers"][0]["due_ms"] == 1002000);
}

TEST_CASE("a playback stopped between a timer's setting and its firing resumes to the same end",
          "[playback][timers][resume]") {
  TempDir dir;
  const auto rec = recording(dir, rows);
  const auto bot = probe_bot(dir);
  const auto whole = play({rec, "--bot", bot, "--store", dir / "whole.db", "--out", dir / "whole"});
  for (const int split : {1, 3, 4, 5}) {
    INFO("split at row " << split);
    const std::string store = dir / ("split" + std::to_string(split) + ".db");
    const std::string out = dir / ("split" + std::to_string(split));
    play({rec, "--bot", bot, "--store", store, "--out", out, "--stop-at-row", std::to_string(split)});
    const auto rest = play({rec, "--bot", bot, "--store", store, "--out", out, "--resume"});
    CHECK(rest["complete"] == true);
    for (const char *loc : {"home", "cabin"}) CHECK(stored_state(store, loc) == stored_state(whole["store"], loc));
    const auto a = notifications(dir / "whole"), b = notifications(out);
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == b[i]);
  }
}

TEST_CASE("a location's schedules fire from its first row onward, to the recording's end", "[playback][schedules]") {
  TempDir dir;
  const auto bot = probe_bot(dir, "1.0.0", {{"triggers", 1 | 2 | 8 | 64}, {"schedules", {{"TICK", "0 * * * * ?"}}}});
  const auto rec = recording(dir, json::array({ask("home", 1000, "x", "1"), ask("cabin", 150000, "x", "1"),
                                               mode_row("home", 300000, "AWAY")}));
  const auto sum = play({rec, "--bot", bot, "--out", dir / "out"});
  // Every minute: home from 1000 to 300000 (five), cabin from 150000 (three).
  CHECK(sum["schedule_executions"] == 8);
  const auto ticks = [&](const std::string &loc) {
    std::vector<std::string> got;
    const auto probe = instance_state(stored_state(sum["store"], loc), "probe_a");
    for (const auto &h : probe["heard"])
      if (h.get<std::string>().rfind("schedule:", 0) == 0) got.push_back(h);
    return got;
  };
  CHECK(ticks("home") == std::vector<std::string>{"schedule:TICK@60000", "schedule:TICK@120000", "schedule:TICK@180000",
                                                  "schedule:TICK@240000", "schedule:TICK@300000"});
  CHECK(ticks("cabin") ==
        std::vector<std::string>{"schedule:TICK@180000", "schedule:TICK@240000", "schedule:TICK@300000"});
  // The one at 300000 came before the row at 300000.
  const auto heard = instance_state(stored_state(sum["store"], "home"), "probe_a")["heard"];
  CHECK(heard.back() == "mode:AWAY");
}

// Playback end to end: the real `livebot` binary, the real Lesson 2 plugins,
// a real SQLite store, the bundled sample and the real 14-day recording.
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "integration/playback_cli.hpp"
#include "loader/plugin.hpp"
#include "playback/recording.hpp"
#include "store/store.hpp"
#include "support/paths.hpp"
#include "support/temp_dir.hpp"

using namespace livebot;
using livebot::test::play;
using livebot::test::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const test::Cli &cli = test::livebot_cli();
const std::string sample = LIVEBOT_SAMPLE_RECORDING;
const std::string bot_v1 = LIVEBOT_BOT_DIR "/lesson2-v1";
const std::string bot_v2 = LIVEBOT_BOT_DIR "/lesson2-v2";
const std::string plugin_v1 = std::string(LIVEBOT_PLUGIN_BUILD_DIR) + "/lesson2_memory/lesson2_memory_v1.so";

bool have_recording() { return fs::exists(test::shared_recording); }

json state(const std::string &store, const std::string &location) { return test::stored_state(store, location); }

json memory_of(const json &st) {
  for (const auto &i : st["instances"])
    if (i["microservice"] == "location_memory") return i["state"];
  FAIL("no location_memory instance");
  return {};
}

int64_t variable(const json &st, const std::string &name) {
  for (const auto &v : st["variables"])
    if (v["name"] == name) return v["value"].get<int64_t>();
  return -1;
}

// What the Lesson 2 bot must count, derived from the rows themselves: one
// mode_updated per mode row, one device_measurements_updated per
// measurement row (rows of one instant share an execution).
struct Expected {
  std::map<std::string, int64_t> modes, measurements, first_ts_from;
};

Expected expected_from(const playback::Recording &rec, size_t from_row) {
  Expected e;
  for (size_t i = 0; i < rec.rows.size(); ++i) {
    const auto &r = rec.rows[i];
    const bool counted = i >= from_row;
    if (counted && !e.first_ts_from.count(r.location_id)) e.first_ts_from[r.location_id] = r.timestamp_ms;
    if (r.trigger == playback::Trigger::Mode) ++e.modes[r.location_id];
    if (r.trigger == playback::Trigger::Measurement && counted) ++e.measurements[r.location_id];
  }
  return e;
}

}  // namespace

TEST_CASE("the bundled sample plays through Lesson 2 v2 with every counter accounted for", "[playback]") {
  TempDir dir;
  const auto sum = play({sample, "--bot", bot_v2, "--out", dir / "out"});
  CHECK(sum["complete"] == true);
  CHECK(sum["errors"] == 0);
  const auto rec = playback::read_recording(sample);
  CHECK(sum["rows_total"] == static_cast<int64_t>(rec.rows.size()));
  const auto &cbs = sum["microservices"][0]["callbacks"];
  const auto st = state(sum["store"], rec.location_id);
  const auto mem = memory_of(st);
  CHECK(mem["measurement_count"] == cbs["device_measurements_updated"]);
  CHECK(mem["mode_updates"] == cbs["mode_updated"]);
  CHECK(variable(st, "measurements") == cbs["device_measurements_updated"].get<int64_t>());
  CHECK(cbs["initialize"] == sum["executions"]);
  const auto exp = expected_from(rec, 0);
  CHECK(mem["mode_updates"] == exp.modes.at(rec.location_id));
  CHECK(mem["measurement_count"] == exp.measurements.at(rec.location_id));
  CHECK(fs::exists(dir / "out/summary.json"));
  CHECK(fs::exists(dir / "out/notifications.jsonl"));
}

TEST_CASE("the real 14-day recording plays with the Lesson 2 bot, every row", "[playback][recording]") {
  if (!have_recording()) {
    WARN("skipped: " << test::shared_recording << " is absent");
    return;
  }
  TempDir dir;
  const auto rec = playback::read_recording(test::shared_recording);
  const auto exp = expected_from(rec, 0);
  const auto sum = play({test::shared_recording, "--bot", bot_v2, "--out", dir / "out"});
  CHECK(sum["complete"] == true);
  CHECK(sum["rows_played"] == static_cast<int64_t>(rec.rows.size()));
  CHECK(sum["errors"] == 0);
  const auto &cbs = sum["microservices"][0]["callbacks"];
  int64_t modes = 0, measurements = 0;
  for (const auto &[loc, n] : exp.modes) {
    const auto st = state(sum["store"], loc);
    const auto mem = memory_of(st);
    CHECK(mem["mode_updates"] == n);
    CHECK(mem["measurement_count"] == exp.measurements.at(loc));
    CHECK(variable(st, "measurements") == exp.measurements.at(loc));
    modes += mem["mode_updates"].get<int64_t>();
    measurements += mem["measurement_count"].get<int64_t>();
  }
  CHECK(modes == cbs["mode_updated"].get<int64_t>());
  CHECK(modes == 68);  // every mode row is played, quoted ones too
  CHECK(measurements == cbs["device_measurements_updated"].get<int64_t>());
}

TEST_CASE("v1 then v2 on one store: v1's memory survives, new fields start from their initial value",
          "[playback][recording]") {
  const bool real = have_recording();
  const std::string recording = real ? test::shared_recording : sample;
  if (!real) WARN("the real recording is absent; using the bundled sample");
  TempDir dir;
  const auto rec = playback::read_recording(recording);
  const size_t split = rec.rows.size() / 2;
  const std::string store = dir / "store.db";

  const auto first = play({recording, "--bot", bot_v1, "--store", store, "--out", dir / "out1", "--stop-at-row",
                           std::to_string(split)});
  CHECK(first["end_row"] == static_cast<int64_t>(split));
  const auto before = expected_from(rec, split);
  std::map<std::string, int64_t> v1_modes;
  for (const auto &[loc, n] : before.first_ts_from) {
    const auto st = state(store, loc);
    if (st["instances"].empty()) continue;
    const auto mem = memory_of(st);
    CHECK(mem.contains("legacy_note"));
    CHECK_FALSE(mem.contains("measurement_count"));
    v1_modes[loc] = mem.value("mode_updates", 0);
  }

  const auto second = play({recording, "--bot", bot_v2, "--store", store, "--out", dir / "out2", "--resume"});
  CHECK(second["start_row"] == static_cast<int64_t>(split));
  CHECK(second["complete"] == true);
  CHECK(second["errors"] == 0);

  const auto all = expected_from(rec, 0);
  loader::Staging staging;
  const auto v1 = loader::Plugin::load(plugin_v1, staging);
  auto raw = store::open_sqlite_store(store, {.create = false, .read_only = true});
  int switched = 0, kept_v1 = 0;
  for (const auto &[loc, n] : all.modes) {
    const auto st = state(store, loc);
    const auto mem = memory_of(st);
    // Every mode change is counted once, across both versions.
    CHECK(mem["mode_updates"] == n);
    const auto inst = raw->load_instance(loc, "location_memory", "");
    REQUIRE(inst);
    const auto as_v1 = json::parse(v1->schema().to_json(inst->state));
    if (!before.first_ts_from.count(loc)) {
      // No row of this location came after the switch: its memory is v1's,
      // untouched, until it next executes.
      CHECK(st["bot_version"] == "1.0.0");
      CHECK(as_v1.contains("legacy_note"));
      ++kept_v1;
      continue;
    }
    ++switched;
    CHECK(st["bot_version"] == "2.0.0");
    CHECK(mem["measurement_count"] == before.measurements.at(loc));
    CHECK(variable(st, "measurements") == before.measurements.at(loc));
    if (v1_modes.count(loc)) {
      CHECK(v1_modes.at(loc) > 0);
      // The new field was initialised once, in v2's first execution here.
      CHECK(mem["counting_since_ms"] == before.first_ts_from.at(loc));
    }
    // The deprecated field is gone from the stored bytes, even for a reader
    // that still knows it (v1's schema).
    CHECK_FALSE(mem.contains("legacy_note"));
    CHECK_FALSE(as_v1.contains("legacy_note"));
  }
  CHECK(switched >= 1);
  // The store tells how many locations still hold the deprecated field's
  // data: those that have not executed since the switch.
  const auto held = cli.run({"state", "--deprecated", "--store", store, "--json"});
  INFO(held.err);
  REQUIRE(held.exit_code == 0);
  const auto report = json::parse(held.out);
  REQUIRE(report.size() == 1);
  CHECK(report[0]["microservice"] == "location_memory");
  CHECK(report[0]["field"] == "legacy_note");
  CHECK(report[0]["locations"] == kept_v1);
  CHECK(report[0]["of"] == kept_v1 + switched);
  const auto text = cli.run({"state", "--deprecated", "--store", store});
  CHECK_THAT(text.out, Catch::Contains("location_memory.legacy_note: deprecated, still held by " +
                                       std::to_string(kept_v1) + " of " + std::to_string(kept_v1 + switched)));
  const auto none = cli.run({"state", "--deprecated", "no_such", "--store", store});
  CHECK(none.exit_code == 3);
  CHECK_THAT(none.err, Catch::Contains("no state of a microservice 'no_such'"));
}

TEST_CASE("a playback killed with SIGKILL resumes to exactly the state of an uninterrupted run",
          "[playback][recording][kill]") {
  const bool real = have_recording();
  const std::string recording = real ? test::shared_recording : sample;
  if (!real) WARN("the real recording is absent; using the bundled sample");
  TempDir dir;
  const auto rec = playback::read_recording(recording);

  const auto clean = play({recording, "--bot", bot_v2, "--store", dir / "clean.db", "--out", dir / "clean"});
  const double wall = clean["wall_seconds"].get<double>();

  const std::string store = dir / "killed.db";
  const std::vector<std::string> args = {"playback", "-q", recording, "--bot", bot_v2, "--store", store,
                                         "--out", dir / "killed", "--commit-every", "64", "--resume"};
  CHECK(test::kill_and_resume(args, wall, 4, 20261203) >= 1);

  std::set<std::string> locations;
  for (const auto &r : rec.rows) locations.insert(r.location_id);
  for (const auto &loc : locations) {
    auto a = state(dir / "clean.db", loc), b = state(store, loc);
    CHECK(a == b);
  }
  const auto integrity = cli.run({"errors", "--store", store});
  CHECK(integrity.exit_code == 0);
}

TEST_CASE("bad input: one line naming the place, a non-zero exit, the store untouched", "[playback][bad-input]") {
  TempDir dir;
  const std::string store = dir / "store.db";
  play({sample, "--bot", bot_v1, "--store", store, "--out", dir / "out", "--stop-at-row", "100"});
  const std::string before = test::read_file(store);

  const auto refuse = [&](const std::vector<std::string> &args, const std::string &needle) {
    const auto r = cli.run(args);
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains(needle));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(test::read_file(store) == before);
  };
  test::write_file(dir / "bad.json", "{\"data\": [ {\"trigger\": \"8\", ");
  refuse({"playback", dir / "bad.json", "--bot", bot_v1, "--store", store, "--resume"}, "bad.json");
  test::write_file(dir / "ts.json",
               R"({"location_info":{"id":"x"},"data":[{"trigger":"2","timestamp_ms":"soon","event":"HOME"}]})");
  refuse({"playback", dir / "ts.json", "--bot", bot_v1, "--store", store, "--resume"}, "timestamp_ms");
  test::write_file(dir / "trig.json",
               R"({"location_info":{"id":"x"},"data":[{"trigger":"99","timestamp_ms":"1","event":"HOME"}]})");
  refuse({"playback", dir / "trig.json", "--bot", bot_v1, "--store", store, "--resume"}, "trigger");
  // Playing the same recording again into a store that has it, without --resume.
  refuse({"playback", sample, "--bot", bot_v1, "--store", store}, "pass --resume");
  // A file that is not a livebot plugin.
  fs::create_directories(dir / "badbot");
  test::write_file(dir / "badbot/x.so", "not a plugin");
  test::write_file(dir / "badbot/bot.json",
                   R"({"bot":"b","version":"1","microservices":{"location":[{"name":"x","plugin":"x.so"}]}})");
  refuse({"playback", sample, "--bot", dir / "badbot", "--store", store, "--resume"}, "x.so: not an ELF file");
  // A manifest with a key twice (JSON parsers keep the last one silently).
  test::write_file(dir / "badbot/bot.json",
                   R"({"bot":"b","version":"1","version":"2","microservices":{"location":[]}})");
  refuse({"playback", sample, "--bot", dir / "badbot", "--store", store, "--resume"}, "key 'version' appears twice");
  // A bot directory whose bot.json is not a file.
  fs::create_directories(dir / "dirbot/bot.json");
  refuse({"playback", sample, "--bot", dir / "dirbot", "--store", store, "--resume"}, "no bot manifest");
  // Resuming a recording the store never played, on top of other memory.
  test::write_file(dir / "other.json",
                   R"({"location_info":{"id":"x"},"data":[{"trigger":"2","timestamp_ms":"1","event":"HOME"}]})");
  refuse({"playback", dir / "other.json", "--bot", bot_v1, "--store", store, "--resume"},
         "holds no playback of this recording to resume");
  // A plugin whose schema cannot read the stored state (the schema gate):
  // v2's memory played back with v1, which lacks v2's fields.
  const std::string v2_store = dir / "v2.db";
  play({sample, "--bot", bot_v2, "--store", v2_store, "--out", dir / "out2", "--stop-at-row", "100"});
  const std::string v2_before = test::read_file(v2_store);
  const auto down = cli.run({"playback", sample, "--bot", bot_v1, "--store", v2_store, "--resume"});
  CHECK(down.exit_code == 1);
  CHECK_THAT(down.err, Catch::Contains("lesson2_memory_v1.so: schema cannot read the stored state of "
                                       "'location_memory': lesson2.LocationMemory.measurement_count: field removed"));
  CHECK(test::read_file(v2_store) == v2_before);
  // A store another process is writing to (here: this test) is refused at
  // once, and so is clearing another run's scratch store.
  {
    const auto held = store::open_sqlite_store(store);
    refuse({"playback", sample, "--bot", bot_v1, "--store", store, "--resume"}, "in use");
    const std::string scratch = dir / "out/playback.db";
    const auto held_scratch = store::open_sqlite_store(scratch);
    const auto r = cli.run({"playback", sample, "--bot", bot_v1, "--out", dir / "out"});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("playback.db: in use"));
    CHECK(fs::exists(scratch));
  }
  // A store file that is not ours is refused and left as it was.
  test::write_file(dir / "notours.db", "just some text");
  const auto r = cli.run({"playback", sample, "--bot", bot_v1, "--store", dir / "notours.db"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("not a livebot store"));
  CHECK(test::read_file(dir / "notours.db") == "just some text");
}

TEST_CASE("errors and state answer --help and name what is missing", "[cli]") {
  CHECK(cli.run({"--help"}).exit_code == 0);
  for (const char *sub : {"playback", "errors", "state"}) CHECK(cli.run({sub, "--help"}).exit_code == 0);
  // Usage errors: exit 2, one line naming the subcommand and the option.
  const auto usage = [&](const std::vector<std::string> &args, const std::string &needle) {
    const auto r = cli.run(args);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::StartsWith("livebot") && Catch::Contains(needle));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  };
  usage({"playback"}, "recording is required");
  usage({"playback", "/no/such/recording.json", "--bot", bot_v1}, "/no/such/recording.json");
  usage({"playback", sample, "--bot", bot_v1, "--commit-every", "0"}, "--commit-every");
  usage({"errors", "--limit", "0"}, "--limit");
  usage({"playback", sample, "--bot", bot_v1, "--swap", "10:location_memory=/no/such.so"},
        "'/no/such.so' is not a file");
  usage({"bogus"}, "unknown command 'bogus'");
  // send: one input, complete, or nothing reaches the host (none runs here).
  usage({"send", "home", "--mode", "AWAY", "--alert", "x"}, "--alert requires --device");
  usage({"send", "home", "--datastream", "a"}, "--datastream requires --content");
  usage({"send", "home", "--mode", "AWAY", "--remove-device", "d"}, "--mode excludes --remove-device");
  usage({"send", "home", "-d", "door"}, "--device requires --type");
  usage({"send", "home", "-d", "door", "-t", "0", "-p", "a=1"}, "not in range 1 to 2147483647");
  usage({"send", "-d", "door", "-t", "1", "-p", "a=1"}, "livebot send: a location is required");
  usage({"send", "home", "-d", "door", "-t", "1", "-p", "a"}, "--param 'a' is not NAME=VALUE");
  usage({"send", "home", "-d", "door", "-t", "1"}, "a measurement needs at least one --param");
  usage({"send", "home"}, "give --mode MODE");
  // An option where a value should be is not taken as the value.
  usage({"send", "home", "--remove-device", "--json"}, "--remove-device: '--json' reads as the option --json, not a value");
  usage({"send", "home", "-d", "-t", "1", "-p", "a=1"}, "--device: '-t' reads as the option -t");
  usage({"send", "home", "-d", "-t10014", "-p", "a=1"}, "--device: '-t10014' reads as the option -t");
  usage({"status", "--socket", "--json"}, "--socket: '--json' reads as the option --json");
  usage({"state", "--store", sample}, "livebot state: a location is required");
  // --log-level is taken before or after the subcommand.
  usage({"errors", "--log-level", "nonsense", "--store", sample}, "unknown level 'nonsense'");
  usage({"--log-level", "nonsense", "errors", "--store", sample}, "unknown level 'nonsense'");
  TempDir dir;
  play({sample, "--bot", bot_v1, "--store", dir / "s.db", "--out", dir / "out", "--stop-at-row", "50"});
  const auto r = cli.run({"state", "no-such-home", "--store", dir / "s.db"});
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.err, Catch::Contains("no location 'no-such-home'"));
  const auto e = cli.run({"errors", "--json", "--store", dir / "s.db"});
  CHECK(e.exit_code == 0);
  CHECK(json::parse(e.out).is_array());
}

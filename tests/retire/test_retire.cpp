// Retirement of removed microservices on the real `livebot run`: probe
// plugins copied into the bot directory, bot.json edited and files deleted
// while the host runs, SIGKILL mid-sweep, the store read back with SQLite.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "retire/retire_host.hpp"

using namespace livebot;
using livebot::test::RetireHost;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string plugins = LIVEBOT_TEST_PLUGIN_DIR;
const std::vector<std::string> kFiles = {plugins + "/probe_a.so", plugins + "/probe_b.so", plugins + "/probe_dev.so"};

// Two location probes and a device probe for motion sensors, taking modes,
// alerts, measurements, timers and data streams.
json probe_manifest() {
  return {{"bot", "retire-test"},
          {"version", "1.0.0"},
          {"triggers", 2 | 4 | 8 | 64 | 256},
          {"microservices",
           {{"location", {{{"name", "probe_a"}, {"plugin", "probe_a.so"}}, {{"name", "probe_b"}, {"plugin", "probe_b.so"}}}},
            {"device", {{{"name", "probe_dev"}, {"plugin", "probe_dev.so"}, {"device_types", {9138}}}}}}}};
}

std::string loc(int i) { return "loc-" + std::string(i < 10 ? "00" : i < 100 ? "0" : "") + std::to_string(i); }

// A motion sensor's measurement: probe_dev gets an instance; probe_a sets a
// timer an hour away, so each location holds one of its timers.
json measurement(const std::string &location, json params = json::object()) {
  params["timer"] = "probe_a|later|3600000";
  return {{"cmd", "send"}, {"location", location}, {"kind", "measurement"},
          {"devices", {{{"id", "motion"}, {"type", 9138}, {"params", params}}}}};
}

void populate(RetireHost &h, int locations) {
  for (int i = 0; i < locations; ++i) REQUIRE(h.ask(measurement(loc(i)))["ok"] == true);
}

// A host run once over `locations` locations, then stopped: a store to start
// the next host on.
void populated(RetireHost &h, int locations) {
  h.start("100");
  populate(h, locations);
  REQUIRE(h.stop().exit_code == 0);
}

// What a location's destroy() calls left behind (tests/plugins/probe.cpp).
std::map<std::string, std::string> destroyed(const RetireHost &h) {
  std::map<std::string, std::string> out;
  for (const auto &row : h.rows("SELECT location, value FROM variables WHERE name = 'destroyed'")) {
    const auto bar = row.find('|');
    out[row.substr(0, bar)] = row.substr(bar + 1);
  }
  return out;
}

std::string retire_cli_status(const RetireHost &h) {
  return test::retire_cli.run({"status", "--socket", h.socket}).out;
}

// Nothing of probe_a is left but its retirement record.
void check_gone(const RetireHost &h) {
  CHECK(h.count("SELECT count(*) FROM instances WHERE microservice = 'probe_a'") == 0);
  CHECK(h.count("SELECT count(*) FROM timers") == 0);  // only probe_a set any
  CHECK(h.count("SELECT count(*) FROM purges") == 0);
  CHECK(h.rows("SELECT state, length(plugin) FROM retirements") == std::vector<std::string>{"retired|0"});
}

}  // namespace

TEST_CASE("a microservice dropped from bot.json is drained everywhere, then released; its file may go at once",
          "[retire]") {
  RetireHost h(probe_manifest(), kFiles);
  h.start("200");
  populate(h, 30);
  // A message to probe_a waits in loc-000 (sent an hour ahead): dropped.
  auto early = measurement(loc(0), {{"stream", "probe_b|probe_a|hello"}});
  early["timestamp_ms"] = 4'000'000'000'000;
  REQUIRE(h.ask(early)["ok"] == true);
  REQUIRE(h.count("SELECT count(*) FROM datastreams WHERE address = 'probe_a'") == 1);
  const auto others = h.rows(
      "SELECT location, microservice, device_id, state FROM instances WHERE microservice != 'probe_a' "
      "AND location >= 'loc-010' ORDER BY 1, 2, 3");
  REQUIRE(others.size() == 40);

  h.drop("probe_a");
  fs::remove(h.bot + "/probe_a.so");
  REQUIRE(RetireHost::wait_until([&] { return h.retirement("probe_a").is_object(); }));
  // Locations that execute are purged first, in their own transaction.
  for (int i = 1; i < 5; ++i) CHECK(h.ask(measurement(loc(i)))["ok"] == true);
  REQUIRE(h.wait_retired("probe_a"));

  const auto status = h.ask({{"cmd", "status"}});
  const auto r = h.retirement("probe_a");
  CHECK(r["purged"] == 30);
  CHECK(r["locations"] == 30);
  CHECK(r["safe_to_delete"] == true);
  CHECK(r["messages_dropped"] == 1);
  CHECK(status["mapped_images"].size() == 2);
  CHECK(status["kept_aside"].empty());
  const auto text = retire_cli_status(h);
  CHECK_THAT(text, Catch::Contains("retired probe_a 1.0.0: 30 locations purged, 1 messages dropped; " + h.bot +
                                   "/probe_a.so is safe to delete"));

  // Every location heard destroy() once; the other microservices' state is
  // byte for byte what it was where nothing executed since.
  const auto gone = destroyed(h);
  CHECK(gone.size() == 30);
  for (const auto &[location, value] : gone) CHECK(value == "probe_a[],");
  CHECK(h.rows("SELECT location, microservice, device_id, state FROM instances WHERE microservice != 'probe_a' "
               "AND location >= 'loc-010' ORDER BY 1, 2, 3") == others);
  CHECK(h.count("SELECT count(*) FROM datastreams") == 0);
  CHECK(h.count("SELECT count(*) FROM errors") == 0);
  const auto stopped = h.stop();
  CHECK(stopped.exit_code == 0);
  CHECK_THAT(stopped.err, Catch::Contains("probe_a: retired: 30 locations purged, library unloaded; " + h.bot +
                                          "/probe_a.so is safe to delete"));
  check_gone(h);

  // Named again, after a restart: a new microservice of that name.
  fs::copy_file(plugins + "/probe_a.so", h.bot + "/probe_a.so");
  h.write_manifest(h.manifest);
  h.start("200");
  CHECK(h.ask({{"cmd", "status"}})["retirements"].empty());
  REQUIRE(h.ask(measurement(loc(0)))["ok"] == true);
  CHECK(h.stop().exit_code == 0);
  CHECK(h.count("SELECT count(*) FROM retirements") == 0);
  CHECK(h.rows("SELECT location FROM instances WHERE microservice = 'probe_a'") == std::vector<std::string>{loc(0)});
}

TEST_CASE("a host killed mid-sweep resumes it: no location purged twice, none missed, the file long gone",
          "[retire][crash]") {
  RetireHost h(probe_manifest(), kFiles);
  h.start("40");
  populate(h, 120);
  h.drop("probe_a");
  fs::remove(h.bot + "/probe_a.so");
  int64_t purged = 0;
  REQUIRE(RetireHost::wait_until([&] {
    const auto r = h.retirement("probe_a");
    purged = r.is_object() ? r["purged"].get<int64_t>() : 0;
    return purged >= 20;
  }));
  h.kill9();
  const auto after_kill = h.count("SELECT count(*) FROM purges");
  CHECK(after_kill >= purged);
  CHECK(after_kill < 120);
  CHECK(h.count("SELECT count(*) FROM instances WHERE microservice = 'probe_a'") == 120 - after_kill);

  h.start("0");  // the plugin comes from the store: its file is gone
  REQUIRE(h.wait_retired("probe_a"));
  const auto gone = destroyed(h);
  CHECK(gone.size() == 120);
  for (const auto &[location, value] : gone) CHECK(value == "probe_a[],");
  const auto stopped = h.stop();
  CHECK(stopped.exit_code == 0);
  CHECK_THAT(stopped.err, Catch::Contains("probe_a: retirement resumed, " + std::to_string(after_kill) + " of 120"));
  check_gone(h);
}

TEST_CASE("named again before its drain is done, a microservice keeps the state not purged yet", "[retire]") {
  RetireHost h(probe_manifest(), kFiles);
  h.start("10");
  populate(h, 60);
  h.drop("probe_a");
  REQUIRE(RetireHost::wait_until([&] {
    const auto r = h.retirement("probe_a");
    return r.is_object() && r["purged"].get<int64_t>() >= 3;
  }));
  h.write_manifest(h.manifest);
  REQUIRE(RetireHost::wait_until([&] { return h.retirement("probe_a").is_null(); }));

  // Each location has either its probe_a state or the record of its destroy.
  const auto gone = destroyed(h);
  const auto kept = h.rows("SELECT location FROM instances WHERE microservice = 'probe_a'");
  CHECK(gone.size() >= 3);
  CHECK(gone.size() + kept.size() == 60);
  for (const auto &location : kept) CHECK(gone.count(location) == 0);
  CHECK(h.count("SELECT count(*) FROM timers") == static_cast<int64_t>(kept.size()));
  // A kept one carries on from its state.
  REQUIRE(h.ask(measurement(kept.back()))["ok"] == true);
  const auto status = h.ask({{"cmd", "status"}});
  CHECK(status["microservices"][0]["state"] == "serving");
  CHECK(h.stop().exit_code == 0);
  CHECK(h.count("SELECT count(*) FROM instances WHERE microservice = 'probe_a'") ==
        static_cast<int64_t>(kept.size()));
  CHECK(h.count("SELECT count(*) FROM retirements") == 0);
}

TEST_CASE("livebot retire by hand; a destroy that throws is recorded and the purge still happens", "[retire]") {
  RetireHost h(probe_manifest(), kFiles);
  h.start("0");
  populate(h, 3);
  REQUIRE(h.ask(measurement(loc(1), {{"save", "throw_in_destroy"}}))["ok"] == true);

  const auto help = test::retire_cli.run({"retire", "--help"});
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Catch::Contains("--socket"));
  const auto unknown = test::retire_cli.run({"retire", "nosuch", "--socket", h.socket});
  CHECK(unknown.exit_code == 1);
  CHECK_THAT(unknown.err, Catch::Contains("nosuch: no microservice of that name in the bot, and no state of it kept aside"));
  const auto started = test::retire_cli.run({"retire", "probe_a", "--socket", h.socket, "--json"});
  INFO(started.err);
  CHECK(started.exit_code == 0);
  CHECK(json::parse(started.out)["retirement"]["name"] == "probe_a");
  const auto again = test::retire_cli.run({"retire", "probe_a", "--socket", h.socket});
  CHECK(again.exit_code == 1);
  CHECK_THAT(again.err, Catch::Contains("probe_a: is retiring already"));
  REQUIRE(h.wait_retired("probe_a"));
  CHECK(h.stop().exit_code == 0);

  const auto errors = test::retire_cli.run({"errors", "--store", h.store});
  CHECK(errors.exit_code == 0);
  CHECK_THAT(errors.out, Catch::Contains("loc-001") && Catch::Contains("probe_a") && Catch::Contains("destroy") &&
                             Catch::Contains("asked to throw in destroy"));
  // The failed destroy's variable writes are undone; the others' kept.
  const auto gone = destroyed(h);
  CHECK(gone.size() == 2);
  CHECK(gone.count(loc(1)) == 0);
  check_gone(h);
}

TEST_CASE("state of a microservice the host starts without is kept aside, untouched, and comes back with it",
          "[retire][kept-aside]") {
  RetireHost h(probe_manifest(), kFiles);
  populated(h, 3);
  const auto kept = h.rows("SELECT location, state FROM instances WHERE microservice = 'probe_a' ORDER BY 1");
  REQUIRE(kept.size() == 3);

  // Started on a bot without it (edited while no host ran): nothing retires.
  h.drop("probe_a");
  fs::remove(h.bot + "/probe_a.so");
  h.start("100");
  auto status = h.ask({{"cmd", "status"}});
  CHECK(status["kept_aside"] == json::array({"probe_a"}));
  CHECK(status["retirements"].empty());
  CHECK_THAT(retire_cli_status(h), Catch::Contains("kept aside: probe_a"));
  for (int i = 0; i < 3; ++i) REQUIRE(h.ask(measurement(loc(i)))["ok"] == true);
  CHECK(h.stop().exit_code == 0);
  CHECK(h.rows("SELECT location, state FROM instances WHERE microservice = 'probe_a' ORDER BY 1") == kept);
  CHECK(h.count("SELECT count(*) FROM timers") == 3);  // its timers wait with it

  // Back: its state is there again, and goes on.
  fs::copy_file(plugins + "/probe_a.so", h.bot + "/probe_a.so");
  h.write_manifest(h.manifest);
  h.start("100");
  CHECK(h.ask({{"cmd", "status"}})["kept_aside"].empty());
  REQUIRE(h.ask(measurement(loc(0)))["ok"] == true);
  CHECK(h.stop().exit_code == 0);
  CHECK(h.count("SELECT count(*) FROM instances WHERE microservice = 'probe_a'") == 3);
  CHECK(h.rows("SELECT state FROM instances WHERE microservice = 'probe_a' AND location = 'loc-001'") ==
        std::vector<std::string>{kept[1].substr(kept[1].find('|') + 1)});
}

TEST_CASE("a malformed bot.json written while the host runs retires nothing; the bot runs on as it was",
          "[retire]") {
  RetireHost h(probe_manifest(), kFiles);
  h.start("100");
  populate(h, 2);
  test::write_file(h.bot + "/bot.json.tmp", R"({"bot":"retire-test","version":"1.0.0","microservices":{"location":[)");
  fs::rename(h.bot + "/bot.json.tmp", h.bot + "/bot.json");
  REQUIRE(RetireHost::wait_until([&] { return test::read_file(h.scratch + "/err").find("runs on as it was") !=
                                              std::string::npos; }));
  REQUIRE(h.ask(measurement(loc(0)))["ok"] == true);
  CHECK(h.ask({{"cmd", "status"}})["retirements"].empty());
  CHECK(h.stop().exit_code == 0);
  CHECK(h.count("SELECT count(*) FROM instances WHERE microservice = 'probe_a'") == 2);
  CHECK(h.count("SELECT count(*) FROM retirements") == 0);
}

TEST_CASE("a rename with previous_name moves state, timers and waiting messages to the new name at once",
          "[retire][rename]") {
  RetireHost h(probe_manifest(), kFiles);
  h.start("100");
  populate(h, 3);
  auto early = measurement(loc(0), {{"stream", "probe_b|probe_a|hello"}});
  early["timestamp_ms"] = 4'000'000'000'000;
  REQUIRE(h.ask(early)["ok"] == true);
  const auto before = h.rows("SELECT location, device_id, instance_id, state FROM instances "
                             "WHERE microservice = 'probe_a' ORDER BY 1");
  REQUIRE(before.size() == 3);

  // Renamed while the host runs: it is not retired; the move waits for a start.
  json renamed = h.manifest;
  renamed["microservices"]["location"][0] = {{"name", "probe_r"}, {"plugin", "probe_a.so"}, {"previous_name", "probe_a"}};
  h.write_manifest(renamed);
  REQUIRE(RetireHost::wait_until([&] { return test::read_file(h.scratch + "/err").find("renamed in") != std::string::npos; }));
  CHECK(h.ask({{"cmd", "status"}})["retirements"].empty());
  CHECK(h.stop().exit_code == 0);
  CHECK(h.count("SELECT count(*) FROM instances WHERE microservice = 'probe_a'") == 3);

  h.start("100");
  const auto status = h.ask({{"cmd", "status"}});
  CHECK(status["kept_aside"].empty());
  CHECK(status["microservices"][0]["name"] == "probe_r");
  const auto stopped = h.stop();
  CHECK(stopped.exit_code == 0);
  CHECK_THAT(stopped.err, Catch::Contains("probe_r: renamed from 'probe_a'"));
  CHECK(h.rows("SELECT location, device_id, instance_id, state FROM instances WHERE microservice = 'probe_r' "
               "ORDER BY 1") == before);
  CHECK(h.count("SELECT count(*) FROM instances WHERE microservice = 'probe_a'") == 0);
  CHECK(h.count("SELECT count(*) FROM timers") == 3);
  CHECK(h.rows("SELECT address FROM datastreams") == std::vector<std::string>{"probe_r"});
}

TEST_CASE("previous_name must name another microservice", "[retire][rename]") {
  json m = probe_manifest();
  m["microservices"]["location"][0]["previous_name"] = "probe_a";
  RetireHost h(m, kFiles);
  const auto r = test::retire_cli.run({"run", "--bot", h.bot, "--store", h.store, "--socket", h.socket});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains(h.bot + "/bot.json") && Catch::Contains("previous_name 'probe_a' must be another valid name"));
  CHECK_FALSE(fs::exists(h.store));
}

TEST_CASE("state kept aside is retired by hand: purged through purge records, destroy not called",
          "[retire][kept-aside]") {
  RetireHost h(probe_manifest(), kFiles);
  populated(h, 4);
  const auto others = h.rows("SELECT location, microservice, device_id, state FROM instances "
                             "WHERE microservice != 'probe_a' ORDER BY 1, 2, 3");
  REQUIRE(others.size() == 8);

  h.drop("probe_a");
  fs::remove(h.bot + "/probe_a.so");
  h.start("0");
  REQUIRE(h.ask({{"cmd", "status"}})["kept_aside"] == json::array({"probe_a"}));
  // A name with no state and no microservice is refused, naming it.
  const auto none = test::retire_cli.run({"retire", "probe_z", "--socket", h.socket});
  CHECK(none.exit_code != 0);
  CHECK_THAT(none.err + none.out, Catch::Contains("probe_z: no microservice of that name"));

  const auto asked = test::retire_cli.run({"retire", "probe_a", "--socket", h.socket, "--json"});
  REQUIRE(asked.exit_code == 0);
  const auto r = json::parse(asked.out)["retirement"];
  CHECK(r["destroy_called"] == false);
  REQUIRE(h.wait_retired("probe_a"));
  const auto status = h.ask({{"cmd", "status"}});
  CHECK(status["kept_aside"].empty());
  CHECK(h.retirement("probe_a")["purged"] == 4);
  CHECK(h.retirement("probe_a")["safe_to_delete"] == false);
  CHECK_THAT(retire_cli_status(h),
             Catch::Contains("retired probe_a: 4 locations purged, 0 messages dropped; its state was kept aside: "
                             "destroy was not called"));
  const auto stopped = h.stop();
  CHECK(stopped.exit_code == 0);
  CHECK_THAT(stopped.err, Catch::Contains("probe_a: retired: 4 locations purged of its state kept aside; destroy was "
                                          "not called"));
  CHECK(destroyed(h).empty());
  check_gone(h);
  CHECK(h.rows("SELECT location, microservice, device_id, state FROM instances WHERE microservice != 'probe_a' "
               "ORDER BY 1, 2, 3") == others);
}

TEST_CASE("a host whose bot.json names a missing plugin file starts without it, and loads it when it appears",
          "[retire][kept-aside][missing]") {
  RetireHost h(probe_manifest(), kFiles);
  populated(h, 3);
  const auto kept = h.rows("SELECT location, instance_id, state FROM instances WHERE microservice = 'probe_b' "
                           "ORDER BY 1");
  REQUIRE(kept.size() == 3);
  const auto ids = h.rows("SELECT location, instance_id FROM instances WHERE microservice = 'probe_b' ORDER BY 1");

  fs::remove(h.bot + "/probe_b.so");
  h.start("100");
  auto status = h.ask({{"cmd", "status"}});
  CHECK(status["kept_aside"] == json::array({"probe_b"}));
  CHECK(status["waiting"] == json::array({{{"name", "probe_b"}, {"file", h.bot + "/probe_b.so"}}}));
  CHECK(status["microservices"].size() == 2);
  CHECK(status["retirements"].empty());
  CHECK_THAT(retire_cli_status(h), Catch::Contains("waiting: probe_b — plugin file " + h.bot + "/probe_b.so is missing"));
  // The others run; its state is not touched.
  for (int i = 0; i < 3; ++i) REQUIRE(h.ask(measurement(loc(i)))["ok"] == true);
  CHECK(h.rows("SELECT location, instance_id, state FROM instances WHERE microservice = 'probe_b' ORDER BY 1") ==
        kept);

  // The file appears: loaded, and its instances go on from their state.
  fs::copy_file(plugins + "/probe_b.so", h.bot + "/probe_b.so.tmp");
  fs::rename(h.bot + "/probe_b.so.tmp", h.bot + "/probe_b.so");
  REQUIRE(RetireHost::wait_until([&] { return h.ask({{"cmd", "status"}})["waiting"].empty(); }));
  status = h.ask({{"cmd", "status"}});
  CHECK(status["kept_aside"].empty());
  REQUIRE(status["microservices"].size() == 3);
  CHECK(status["microservices"][2]["name"] == "probe_b");
  REQUIRE(h.ask(measurement(loc(1)))["ok"] == true);
  const auto stopped = h.stop();
  CHECK(stopped.exit_code == 0);
  CHECK_THAT(stopped.err, Catch::Contains("probe_b: plugin file " + h.bot + "/probe_b.so is missing"));
  CHECK_THAT(stopped.err, Catch::Contains("joined with its stored state, from " + h.bot + "/probe_b.so"));
  const auto after = h.rows("SELECT location, instance_id, state FROM instances WHERE microservice = 'probe_b' "
                            "ORDER BY 1");
  REQUIRE(after.size() == 3);
  CHECK(after[0] == kept[0]);
  CHECK(after[2] == kept[2]);
  CHECK(after[1] != kept[1]);
  // The same instance, its state carried on: one constructed afresh would
  // have a new id.
  CHECK(h.rows("SELECT location, instance_id FROM instances WHERE microservice = 'probe_b' ORDER BY 1") == ids);
  CHECK(h.count("SELECT count(*) FROM errors") == 0);
}

TEST_CASE("state waiting for its plugin file and retired by hand stays retired when the file appears",
          "[retire][kept-aside][missing]") {
  RetireHost h(probe_manifest(), kFiles);
  populated(h, 2);
  fs::remove(h.bot + "/probe_b.so");
  h.start("0");
  REQUIRE(test::retire_cli.run({"retire", "probe_b", "--socket", h.socket}).exit_code == 0);
  REQUIRE(h.wait_retired("probe_b"));
  CHECK(h.ask({{"cmd", "status"}})["waiting"].empty());
  fs::copy_file(plugins + "/probe_b.so", h.bot + "/probe_b.so");
  // Longer than the watcher's debounce and settle: it is seen, and not run.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  REQUIRE(h.ask(measurement(loc(0)))["ok"] == true);
  CHECK(h.ask({{"cmd", "status"}})["microservices"].size() == 2);
  CHECK(h.stop().exit_code == 0);
  CHECK(h.count("SELECT count(*) FROM instances WHERE microservice = 'probe_b'") == 0);
}

namespace {

// `livebot playback` of the sample recording into the host's store and bot.
test::CliResult play(const RetireHost &h, std::vector<std::string> extra) {
  std::vector<std::string> args = {"playback", LIVEBOT_SAMPLE_RECORDING, "--bot", h.bot, "--store", h.store,
                                   "--out",    h.dir / "out",            "--quiet"};
  args.insert(args.end(), extra.begin(), extra.end());
  return test::retire_cli.run(args);
}

}  // namespace

TEST_CASE("playback --resume retires what bot.json dropped, the way a live host does", "[retire][playback]") {
  RetireHost h(probe_manifest(), kFiles);
  REQUIRE(play(h, {"--stop-at-row", "200"}).exit_code == 0);
  const int64_t locations = h.count("SELECT count(*) FROM locations");
  REQUIRE(locations > 0);
  REQUIRE(h.count("SELECT count(*) FROM instances WHERE microservice = 'probe_a'") == locations);

  h.drop("probe_a");
  // A plugin that is not there is a usage error, and the store stays as it was.
  const auto bad = play(h, {"--resume", "--retired-plugin", "probe_a=" + h.bot + "/nope.so"});
  CHECK(bad.exit_code != 0);
  CHECK_THAT(bad.err, Catch::Contains("'" + h.bot + "/nope.so' is not a file"));
  CHECK(h.count("SELECT count(*) FROM instances WHERE microservice = 'probe_a'") == locations);

  // Each location is purged at its next execution, the rest at the end of
  // the run; then the library goes.
  const auto run = play(h, {"--resume", "--json", "--log-level", "info", "--retired-plugin", "probe_a=" + h.bot + "/probe_a.so"});
  REQUIRE(run.exit_code == 0);
  const auto sum = json::parse(run.out);
  CHECK(sum["complete"] == true);
  REQUIRE(sum["retirements"].size() == 1);
  // Every location the store knows has a purge, those first seen in this
  // run too.
  const auto all = h.count("SELECT count(*) FROM locations");
  const auto r = sum["retirements"][0];
  CHECK(r["name"] == "probe_a");
  CHECK(r["state"] == "retired");
  CHECK(r["purged"] == all);
  CHECK(r["destroy_called"] == true);
  CHECK(r["safe_to_delete"] == true);
  CHECK_THAT(run.err, Catch::Contains("probe_a: retired: " + std::to_string(all) +
                                      " locations purged, library unloaded; " + h.bot + "/probe_a.so is safe to delete"));
  const auto gone = destroyed(h);
  CHECK(static_cast<int64_t>(gone.size()) == locations);
  for (const auto &[location, value] : gone) CHECK(value == "probe_a[],");
  check_gone(h);
  CHECK(h.count("SELECT count(*) FROM instances WHERE microservice = 'probe_b'") == all);
  CHECK(h.count("SELECT count(*) FROM errors") == 0);
}

TEST_CASE("a playback refused at its start retires nothing",
          "[retire][playback][bad-input]") {
  RetireHost h(probe_manifest(), kFiles);
  REQUIRE(play(h, {"--stop-at-row", "200"}).exit_code == 0);
  const int64_t locations = h.count("SELECT count(*) FROM locations");
  h.drop("probe_a");
  // A library for it that cannot read its state: refused by the schema
  // gate, and the store is as it was, no retirement recorded.
  const auto wrong = play(h, {"--resume", "--retired-plugin", "probe_a=" + plugins + "/counter_a.so"});
  CHECK(wrong.exit_code == 1);
  CHECK_THAT(wrong.err, Catch::Contains("cannot read the stored state of 'probe_a'"));
  CHECK(h.count("SELECT count(*) FROM retirements") == 0);
  CHECK(h.count("SELECT count(*) FROM instances WHERE microservice = 'probe_a'") == locations);
  // With the right library it is retired, every other state kept.
  REQUIRE(play(h, {"--resume", "--retired-plugin", "probe_a=" + h.bot + "/probe_a.so"}).exit_code == 0);
  CHECK(h.rows("SELECT state FROM retirements") == std::vector<std::string>{"retired"});
  check_gone(h);
  CHECK(h.count("SELECT count(*) FROM instances WHERE microservice = 'probe_b'") ==
        h.count("SELECT count(*) FROM locations"));
}

TEST_CASE("playback --resume without the dropped microservice's plugin retires its state without destroy",
          "[retire][playback][kept-aside]") {
  RetireHost h(probe_manifest(), kFiles);
  REQUIRE(play(h, {"--stop-at-row", "200"}).exit_code == 0);
  h.drop("probe_a");
  fs::remove(h.bot + "/probe_a.so");
  const auto run = play(h, {"--resume", "--stop-at-row", "400"});
  REQUIRE(run.exit_code == 0);
  CHECK_THAT(run.out, Catch::Contains("retired    probe_a: " + std::to_string(h.count("SELECT count(*) FROM locations")) +
                                      " locations purged, 0 messages dropped; destroy was not called"));
  CHECK(destroyed(h).empty());
  CHECK(h.count("SELECT count(*) FROM instances WHERE microservice = 'probe_a'") == 0);
  CHECK(h.count("SELECT count(*) FROM purges") == 0);
  CHECK(h.rows("SELECT state FROM retirements") == std::vector<std::string>{"retired"});
  // Nothing left to retire: the next run retires nothing.
  const auto again = play(h, {"--resume", "--json"});
  REQUIRE(again.exit_code == 0);
  CHECK(json::parse(again.out)["retirements"].empty());
}

TEST_CASE("the dev loop's feed retires a microservice a build dropped, with the last build's library",
          "[retire][playback][dev]") {
  RetireHost h(probe_manifest(), kFiles);
  const std::string src = h.dir / "src", out = h.dir / "dev", scratch = h.dir / "dev-scratch";
  fs::create_directories(src);
  fs::create_directories(scratch);
  test::write_file(src + "/meson.build", "# the build\n");
  test::write_file(src + "/bot.json", h.manifest.dump());
  // The "build" installs the source bot.json into the bot directory.
  const std::string build = "cp '" + src + "/bot.json' '" + h.bot + "/bot.json'";
  const pid_t pid = test::retire_cli.start({"dev", "--bot", h.bot, "--recording", LIVEBOT_SAMPLE_RECORDING, "--source",
                                            src, "--build-cmd", build, "--feed", "200", "--out", out, "--debounce-ms",
                                            "50", "--cycles", "1"},
                                           scratch);
  REQUIRE(RetireHost::wait_until([&] { return test::read_file(scratch + "/out").find("watching") != std::string::npos; }));
  json dropped = h.manifest;
  dropped["microservices"]["location"].erase(0);
  test::write_file(src + "/bot.json.tmp", dropped.dump());
  fs::rename(src + "/bot.json.tmp", src + "/bot.json");
  test::write_file(src + "/meson.build", "# the build, edited\n");
  const auto fed = test::Cli::wait(pid, scratch);
  INFO(fed.out << fed.err);
  REQUIRE(fed.exit_code == 0);
  CHECK_THAT(fed.out, Catch::Contains("fed rows 200 to 400"));
  CHECK_THAT(fed.out, Catch::Contains("retired    probe_a: ") && Catch::Contains(h.bot + "/probe_a.so is safe to delete"));
  h.store = out + "/feed/playback.db";  // the feed's memory
  const auto gone = destroyed(h);
  CHECK_FALSE(gone.empty());
  for (const auto &[location, value] : gone) CHECK(value == "probe_a[],");
  check_gone(h);
}

// The execution model with real plugins and a real store: constructor once,
// initialize every execution in the documented order, triggers dispatched
// to the right instances, failures contained, memory persisted.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "engine/bot.hpp"
#include "engine/executor.hpp"
#include "loader/staging.hpp"
#include "schema/schema.hpp"
#include "store/store.hpp"
#include "support/paths.hpp"
#include "support/temp_dir.hpp"

using namespace livebot;
using livebot::test::TempDir;
using livebot::test::write_file;
using nlohmann::json;

namespace {

const std::string plugins = LIVEBOT_TEST_PLUGIN_DIR;

std::string probe_bot(const TempDir &dir, const std::string &version = "1.0.0") {
  const json manifest = {
      {"bot", "probes"},
      {"version", version},
      {"microservices",
       {{"location",
         {{{"name", "probe_a"}, {"plugin", plugins + "/probe_a.so"}},
          {{"name", "probe_b"}, {"plugin", plugins + "/probe_b.so"}, {"priority", 10}}}},
        {"device", {{{"name", "probe_dev"}, {"plugin", plugins + "/probe_dev.so"}, {"device_types", {9138}}}}}}}};
  const std::string bot = dir / ("bot-" + version);
  std::filesystem::create_directories(bot);
  write_file(bot + "/bot.json", manifest.dump(2));
  return bot;
}

// One host: staging, bot, store, executor; each execution committed.
struct Host {
  loader::Staging staging;
  std::unique_ptr<engine::Bot> bot;
  std::unique_ptr<store::Store> st;
  std::unique_ptr<engine::Executor> ex;

  Host(const std::string &bot_dir, const std::string &store_path) {
    bot = engine::Bot::load(engine::load_manifest(bot_dir), staging);
    st = store::open_sqlite_store(store_path);
    ex = std::make_unique<engine::Executor>(*st, *bot, "UTC");
    st->begin();
    ex->register_schemas();
    st->commit();
  }
  void run(const engine::Input &in) {
    st->begin();
    ex->execute(in);
    ex->flush();
    st->commit();
  }
  json state(const std::string &loc, const std::string &ms, const std::string &device = "") {
    const auto inst = st->load_instance(loc, ms, device);
    REQUIRE(inst);
    const auto bfbs = st->load_schema(inst->schema_hash);
    REQUIRE(bfbs);
    return json::parse(schema::BinarySchema::parse(*bfbs, "test").to_json(inst->state));
  }
  std::string var(const std::string &loc, const std::string &name) {
    const auto v = st->load_variable(loc, name);
    return v ? v->value : "<none>";
  }
};

engine::Input measurement(int64_t ts, std::vector<engine::DeviceInput> devices) {
  engine::Input in;
  in.kind = engine::Input::Kind::Measurement;
  in.location = "home";
  in.timestamp_ms = ts;
  in.devices = std::move(devices);
  return in;
}

engine::DeviceInput motion(std::string_view id, std::vector<engine::ParamValue> params,
                           std::vector<std::string_view> updated) {
  return engine::DeviceInput{id, 9138, "Motion", std::move(params), std::move(updated)};
}

engine::Input mode(int64_t ts, std::string_view m) {
  engine::Input in;
  in.kind = engine::Input::Kind::Mode;
  in.location = "home";
  in.timestamp_ms = ts;
  in.mode = m;
  return in;
}

std::vector<std::string> heard(const json &state) { return state.value("heard", std::vector<std::string>{}); }

}  // namespace

TEST_CASE("construct runs once ever, initialize every execution, memory survives a restart", "[engine]") {
  TempDir dir;
  const auto bot = probe_bot(dir);
  {
    Host h(bot, dir / "store.db");
    h.run(mode(1000, "HOME"));
    h.run(mode(2000, "AWAY"));
  }
  Host h(bot, dir / "store.db");  // a new process would see the same
  h.run(mode(3000, "HOME"));
  const auto a = h.state("home", "probe_a");
  CHECK(a["executions"] == 3);
  CHECK(a["constructed_at_ms"] == 1000);
  CHECK(heard(a) == std::vector<std::string>{"construct", "initialize", "mode:HOME", "initialize", "mode:AWAY",
                                             "initialize", "mode:HOME"});
  CHECK(h.st->load_location("home")->mode == "HOME");
}

TEST_CASE("initialize order: device microservices, then location ones by priority then name", "[engine]") {
  TempDir dir;
  Host h(probe_bot(dir), dir / "store.db");
  h.run(measurement(1000, {motion("m1", {{"motionStatus", "1"}}, {"motionStatus"})}));
  CHECK(h.var("home", "order") == "probe_dev,probe_b,probe_a,");
}

TEST_CASE("measurements reach the device's own microservice and every location microservice", "[engine]") {
  TempDir dir;
  Host h(probe_bot(dir), dir / "store.db");
  // Two devices measured at one instant: one execution.
  h.run(measurement(1000, {motion("m1", {{"motionStatus", "1"}}, {"motionStatus"}),
                           motion("m2", {{"motionStatus", "0"}}, {"motionStatus"})}));
  CHECK(h.ex->stats().executions == 1);
  CHECK(heard(h.state("home", "probe_a")) ==
        std::vector<std::string>{"construct", "initialize", "measure:m1", "measure:m2"});
  CHECK(heard(h.state("home", "probe_dev", "m1")) ==
        std::vector<std::string>{"construct", "initialize", "measure:m1"});
  CHECK(heard(h.state("home", "probe_dev", "m2")) ==
        std::vector<std::string>{"construct", "initialize", "measure:m2"});
  CHECK(h.ex->stats().instances_created == 4);
}

TEST_CASE("a callback that throws loses only its own instance's changes from that execution", "[engine]") {
  TempDir dir;
  Host h(probe_bot(dir), dir / "store.db");
  h.run(measurement(1000, {motion("m1", {{"motionStatus", "1"}}, {"motionStatus"})}));
  const auto before = h.state("home", "probe_a");
  h.run(measurement(2000, {motion("m1", {{"throw_in", "probe_a"}, {"save", "x"}}, {"throw_in", "save"})}));

  CHECK(h.state("home", "probe_a") == before);  // not even its executions count moved
  CHECK(h.var("home", "probe_a") == "<none>");  // its variable write was undone
  CHECK(h.state("home", "probe_b")["executions"] == 2);
  CHECK(h.var("home", "probe_b") == "x");
  CHECK(h.var("home", "order") == "probe_dev,probe_b,probe_a,probe_dev,probe_b,");

  const auto errors = h.st->list_errors("", 10);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].bot == "probes");
  CHECK(errors[0].location == "home");
  CHECK(errors[0].microservice == "probe_a");
  CHECK(errors[0].version == "1.0.0");
  CHECK(errors[0].callback == "device_measurements_updated");
  CHECK(errors[0].message == "asked to throw by m1");
  CHECK(errors[0].event_ms == 2000);

  // The next execution sees the state from before the failure.
  h.run(mode(3000, "HOME"));
  CHECK(h.state("home", "probe_a")["executions"] == 2);
}

TEST_CASE("new_version runs once per bot version, not for a location's first execution", "[engine]") {
  TempDir dir;
  {
    Host h(probe_bot(dir, "1.0.0"), dir / "store.db");
    h.run(mode(1000, "HOME"));
  }
  Host h(probe_bot(dir, "1.1.0"), dir / "store.db");
  h.run(mode(2000, "AWAY"));
  h.run(mode(3000, "HOME"));
  const auto got = heard(h.state("home", "probe_b"));
  CHECK(std::count(got.begin(), got.end(), "new_version") == 1);
  CHECK(got[3] == "new_version");
  CHECK(h.st->load_location("home")->bot_version == "1.1.0");
}

TEST_CASE("a device keeps about an hour of history, readable by its microservices", "[engine]") {
  TempDir dir;
  Host h(probe_bot(dir), dir / "store.db");
  const int64_t hour = 3600 * 1000;
  h.run(measurement(1000, {motion("m1", {{"motionStatus", "1"}}, {"motionStatus"})}));
  h.run(measurement(2000, {motion("m1", {{"motionStatus", "0"}}, {"motionStatus"})}));
  h.run(measurement(3000, {motion("m1", {{"motionStatus", "1"}, {"history", "motionStatus"}}, {"motionStatus", "history"})}));
  CHECK(heard(h.state("home", "probe_a")).back() == "history:3:1");
  // Two hours on, the old samples are gone (and so they are after a restart).
  h.run(measurement(2 * hour, {motion("m1", {{"motionStatus", "0"}}, {"motionStatus"})}));
  Host again(probe_bot(dir), dir / "store.db");
  again.run(measurement(2 * hour + 1000, {motion("m1", {{"history", "motionStatus"}}, {"history"})}));
  CHECK(heard(again.state("home", "probe_a")).back() == "history:1:0");
}

TEST_CASE("notifications are recorded as outputs of the execution", "[engine]") {
  TempDir dir;
  Host h(probe_bot(dir), dir / "store.db");
  h.run(measurement(1000, {motion("m1", {{"notify", "Door open"}}, {"notify"})}));
  const auto outs = h.st->list_outputs();
  REQUIRE(outs.size() == 3);  // probe_dev, probe_b, probe_a each notify once
  CHECK(json::parse(outs[0].body)["subject"] == "Door open");
  CHECK(h.ex->stats().notifications == 3);
}

TEST_CASE("a manifest naming a missing plugin is refused with the file and the entry", "[engine]") {
  TempDir dir;
  write_file(dir / "bot.json",
             R"({"bot":"x","version":"1","microservices":{"location":[{"name":"a","plugin":"nope.so"}]}})");
  CHECK_THROWS_WITH(engine::load_manifest(dir.path()),
                    Catch::Contains("bot.json: microservices.location[0]: plugin 'nope.so' not found"));
  write_file(dir / "bot.json", R"({"bot":"x","version":"1","microservices":{"location":[]},"extra":1})");
  CHECK_THROWS_WITH(engine::load_manifest(dir.path()), Catch::Contains("unknown key 'extra'"));
  write_file(dir / "bot.json",
             R"({"bot":"x","version":"1","triggers":0,"microservices":{"location":[]}})");
  CHECK_THROWS_WITH(engine::load_manifest(dir.path()), Catch::Contains("'triggers' is 0"));
  write_file(dir / "bot.json", "{not json");
  CHECK_THROWS_WITH(engine::load_manifest(dir.path()), Catch::Contains("bot.json: not valid JSON"));
}

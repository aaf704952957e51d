// The execution model with real plugins and a real store: constructor once,
// initialize every execution in the documented order, triggers dispatched
// to the right instances, failures contained, memory persisted.
#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "support/probe_host.hpp"

using namespace livebot;
using livebot::test::TempDir;
using livebot::test::write_file;
using namespace livebot::test::probe;
using nlohmann::json;

namespace {

// A real SQLite store that counts the lazy variable reads reaching it.
struct CountingStore : store::Store {
  std::unique_ptr<store::Store> inner;
  std::map<std::string, int> variable_reads;
  explicit CountingStore(const std::string &path) : inner(store::open_sqlite_store(path)) {}
  std::optional<store::VariableRecord> load_variable(const std::string &a, const std::string &b) override {
    ++variable_reads[b];
    return inner->load_variable(a, b);
  }
  void begin() override { return inner->begin(); }
  void commit() override { return inner->commit(); }
  void rollback() override { return inner->rollback(); }
  bool in_transaction() const override { return inner->in_transaction(); }
  std::optional<store::LocationRecord> load_location(const std::string &a) override { return inner->load_location(a); }
  void put_location(const store::LocationRecord &a) override { return inner->put_location(a); }
  std::vector<std::string> location_ids() override { return inner->location_ids(); }
  std::vector<store::InstanceRecord> load_instances(const std::string &a) override { return inner->load_instances(a); }
  std::optional<store::InstanceRecord> load_instance(const std::string &a, const std::string &b, const std::string &c) override { return inner->load_instance(a, b, c); }
  void put_instance(const std::string &a, const store::InstanceRecord &b) override { return inner->put_instance(a, b); }
  void delete_instance(const std::string &a, const std::string &b, const std::string &c) override { return inner->delete_instance(a, b, c); }
  std::vector<std::string> state_schemas(const std::string &a) override { return inner->state_schemas(a); }
  int64_t allocate_instance_id() override { return inner->allocate_instance_id(); }
  std::vector<store::DeviceRecord> load_devices(const std::string &a) override { return inner->load_devices(a); }
  void put_device(const std::string &a, const store::DeviceRecord &b) override { return inner->put_device(a, b); }
  void delete_device(const std::string &a, const std::string &b) override { return inner->delete_device(a, b); }
  std::vector<store::VariableRecord> load_required_variables(const std::string &a) override { return inner->load_required_variables(a); }
  std::vector<store::VariableRecord> load_variables(const std::string &a) override { return inner->load_variables(a); }
  void put_variable(const std::string &a, const store::VariableRecord &b) override { return inner->put_variable(a, b); }
  void delete_variable(const std::string &a, const std::string &b) override { return inner->delete_variable(a, b); }
  std::vector<store::TimerRecord> load_timers(const std::string &a) override { return inner->load_timers(a); }
  void put_timer(const std::string &a, const store::TimerRecord &b) override { return inner->put_timer(a, b); }
  void delete_timer(const std::string &a, int64_t b, const std::string &c) override { return inner->delete_timer(a, b, c); }
  std::vector<store::ScheduleRecord> load_schedules(const std::string &a) override { return inner->load_schedules(a); }
  void put_schedule(const std::string &a, const store::ScheduleRecord &b) override { return inner->put_schedule(a, b); }
  void delete_schedule(const std::string &a, const std::string &b) override { return inner->delete_schedule(a, b); }
  std::vector<store::DataStreamRecord> load_datastreams(const std::string &a) override { return inner->load_datastreams(a); }
  void put_datastream(const std::string &a, const store::DataStreamRecord &b) override { return inner->put_datastream(a, b); }
  void delete_datastream(const std::string &a, int64_t b) override { return inner->delete_datastream(a, b); }
  std::vector<std::pair<std::string, int64_t>> due_locations() override { return inner->due_locations(); }
  void put_schema(const std::string &a, const std::string &b) override { return inner->put_schema(a, b); }
  std::optional<std::string> load_schema(const std::string &a) override { return inner->load_schema(a); }
  std::optional<int64_t> load_cursor(const std::string &a) override { return inner->load_cursor(a); }
  void put_cursor(const std::string &a, int64_t b) override { return inner->put_cursor(a, b); }
  void add_error(const store::ErrorRecord &a) override { return inner->add_error(a); }
  std::vector<store::ErrorRecord> list_errors(const std::string &a, size_t b) override { return inner->list_errors(a, b); }
  void quarantine_instance(const store::QuarantineRecord &a) override { return inner->quarantine_instance(a); }
  std::vector<store::QuarantineRecord> list_quarantined(size_t a) override { return inner->list_quarantined(a); }
  int64_t count_quarantined() override { return inner->count_quarantined(); }
  void add_bad_version(const store::BadVersionRecord &a) override { return inner->add_bad_version(a); }
  std::vector<store::BadVersionRecord> bad_versions() override { return inner->bad_versions(); }
  void add_output(const store::OutputRecord &a) override { return inner->add_output(a); }
  std::vector<store::OutputRecord> list_outputs() override { return inner->list_outputs(); }
  std::vector<store::RetirementRecord> load_retirements() override { return inner->load_retirements(); }
  void put_retirement(const store::RetirementRecord &a) override { return inner->put_retirement(a); }
  void delete_retirement(const std::string &a) override { return inner->delete_retirement(a); }
  void add_purge(const store::PurgeRecord &a) override { return inner->add_purge(a); }
  bool is_purged(const std::string &a, const std::string &b) override { return inner->is_purged(a, b); }
  int64_t purged_count(const std::string &a) override { return inner->purged_count(a); }
  int64_t purged_messages(const std::string &a) override { return inner->purged_messages(a); }
  void delete_purges(const std::string &a) override { return inner->delete_purges(a); }
  std::vector<std::string> unpurged_locations(const std::string &a, const std::string &b, size_t c) override { return inner->unpurged_locations(a, b, c); }
  int64_t location_count() override { return inner->location_count(); }
  std::vector<std::string> stored_microservices() override { return inner->stored_microservices(); }
  void rename_microservice(const std::string &a, const std::string &b) override { return inner->rename_microservice(a, b); }
};

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
  {
    Host h(probe_bot(dir), dir / "store.db");
    h.run(measurement(1000, {motion("m1", {{"motionStatus", "1"}}, {"motionStatus"})}));
    CHECK(h.var("home", "order") == "probe_dev,probe_b,probe_a,");
  }
  // The same order for a location read back from the store.
  Host h(probe_bot(dir), dir / "store.db");
  h.run(mode(2000, "HOME"));
  CHECK(h.var("home", "order") == "probe_dev,probe_b,probe_a,probe_dev,probe_b,probe_a,");
}

TEST_CASE("a variable not required is read from the store once, a miss included", "[engine][variables]") {
  TempDir dir;
  auto counting = std::make_unique<CountingStore>(dir / "store.db");
  const auto &reads = counting->variable_reads;
  Host h(probe_bot(dir), std::move(counting));
  // Three instances read and write "order" in every execution; the first
  // read of all finds nothing, and that miss must be remembered too.
  for (int i = 1; i <= 5; ++i)
    h.run(measurement(i * 1000, {motion("m1", {{"motionStatus", "1"}}, {"motionStatus"})}));
  // Read 15 times and written 15 times, it reaches the store once: the miss
  // of the first read is cached, and the location stays cached between
  // executions of this host.
  CHECK(reads.at("order") == 1);
  CHECK(h.var("home", "order") == "probe_dev,probe_b,probe_a,probe_dev,probe_b,probe_a,probe_dev,probe_b,probe_a,"
                                   "probe_dev,probe_b,probe_a,probe_dev,probe_b,probe_a,");
}

TEST_CASE("measurements reach the device's own microservice and every location microservice", "[engine]") {
  TempDir dir;
  Host h(probe_bot(dir), dir / "store.db");
  // Two devices measured at one instant: one execution.
  h.run(measurement(1000, {motion("m1", {{"motionStatus", "1"}}, {"motionStatus"}),
                           motion("m2", {{"motionStatus", "0"}}, {"motionStatus"})}));
  CHECK(h.ex->stats().executions == 1);
  CHECK(heard(h.state("home", "probe_a")) ==
        std::vector<std::string>{"construct", "initialize", "added:m1", "added:m2", "measure:m1", "measure:m2"});
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
  const int64_t hour = 3600 * 1000;
  {
    Host h(probe_bot(dir), dir / "store.db");
    h.run(measurement(1000, {motion("m1", {{"motionStatus", "1"}}, {"motionStatus"})}));
    h.run(measurement(2000, {motion("m1", {{"motionStatus", "0"}}, {"motionStatus"})}));
    h.run(measurement(3000, {motion("m1", {{"motionStatus", "1"}, {"history", "motionStatus"}},
                                    {"motionStatus", "history"})}));
    CHECK(heard(h.state("home", "probe_a")).back() == "history:3:1");
    // Two hours on, the old samples are gone (and so they are after a restart).
    h.run(measurement(2 * hour, {motion("m1", {{"motionStatus", "0"}}, {"motionStatus"})}));
  }
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
  write_file(dir / "bot.json",
             R"({"bot":"x","version":"1","microservices":{"location":[{"name":"a","plugin":")" + plugins +
                 R"(/probe_a.so","sha256":"ABC"}]}})");
  CHECK_THROWS_WITH(engine::load_manifest(dir.path()), Catch::Contains("'sha256' must be 64 lowercase hex digits"));
  write_file(dir / "bot.json", "{not json");
  CHECK_THROWS_WITH(engine::load_manifest(dir.path()), Catch::Contains("bot.json: not valid JSON"));
}

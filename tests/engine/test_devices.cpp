// A device's life in a location, with the probe plugins: first seen, its
// device microservices are created and the location microservices hear
// device_added; removed, its own instances hear destroy() and go with their
// state and timers (dropped, counted), and the location microservices hear
// device_deleted.
#include <catch2/catch.hpp>

#include "support/probe_host.hpp"

namespace engine = livebot::engine;
using livebot::test::TempDir;
using namespace livebot::test::probe;
using nlohmann::json;

namespace {

engine::Input removed(int64_t ts, std::string_view device) {
  engine::Input in;
  in.kind = engine::Input::Kind::DeviceRemoved;
  in.location = "home";
  in.timestamp_ms = ts;
  in.devices.push_back(engine::DeviceInput{device, 0, {}, {}, {}});
  return in;
}

int count(const std::vector<std::string> &v, const std::string &what) {
  return static_cast<int>(std::count(v.begin(), v.end(), what));
}

}  // namespace

TEST_CASE("a device first seen is announced to the location microservices, once", "[engine][devices]") {
  TempDir dir;
  {
    Host h(probe_bot(dir), dir / "store.db");
    h.run(measurement(1000, {motion("m1", {{"motionStatus", "1"}}, {"motionStatus"})}));
    h.run(measurement(2000, {motion("m1", {{"motionStatus", "0"}}, {"motionStatus"}),
                             motion("m2", {{"motionStatus", "1"}}, {"motionStatus"})}));
  }
  Host h(probe_bot(dir), dir / "store.db");
  h.run(measurement(3000, {motion("m2", {{"motionStatus", "0"}}, {"motionStatus"})}));
  const auto a = heard(h.state("home", "probe_a"));
  CHECK(count(a, "added:m1") == 1);
  CHECK(count(a, "added:m2") == 1);
  // Before the measurement that brought it.
  CHECK(std::vector<std::string>(a.begin(), a.begin() + 4) ==
        std::vector<std::string>{"construct", "initialize", "added:m1", "measure:m1"});
  CHECK(count(heard(h.state("home", "probe_b")), "added:m2") == 1);
  // Device microservices are created for it, and are not told.
  CHECK(heard(h.state("home", "probe_dev", "m2")) ==
        std::vector<std::string>{"construct", "initialize", "measure:m2", "initialize", "measure:m2"});
}

TEST_CASE("a removed device takes its microservices' state and timers with it", "[engine][devices]") {
  TempDir dir;
  Host h(probe_bot(dir), dir / "store.db");
  h.run(measurement(1000, {motion("m1", {{"timer", "probe_dev|t|5000"}}, {"timer"}),
                           motion("m2", {{"motionStatus", "1"}}, {"motionStatus"})}));
  REQUIRE(h.st->load_timers("home").size() == 1);
  h.run(removed(2000, "m1"));

  CHECK(h.var("home", "destroyed") == "probe_dev[m1],");
  CHECK_FALSE(h.st->load_instance("home", "probe_dev", "m1"));
  CHECK(h.st->load_instance("home", "probe_dev", "m2"));
  CHECK(h.st->load_timers("home").empty());
  CHECK(h.ex->stats().timers_dropped == 1);
  CHECK_FALSE(h.ex->next_due("home"));
  CHECK(h.run_due("home", 100000) == 0);
  const auto devices = h.st->load_devices("home");
  REQUIRE(devices.size() == 1);
  CHECK(devices[0].id == "m2");
  CHECK(heard(h.state("home", "probe_a")).back() == "deleted:m1");
  CHECK(count(heard(h.state("home", "probe_dev", "m2")), "deleted:m1") == 0);

  // Removing it again, or a device never seen, does nothing.
  const auto executions = h.ex->stats().executions;
  h.run(removed(3000, "m1"));
  h.run(removed(3000, "never"));
  CHECK(h.ex->stats().executions == executions);

  // Back again: a new device, with new microservices.
  h.run(measurement(4000, {motion("m1", {{"motionStatus", "1"}}, {"motionStatus"})}));
  CHECK(heard(h.state("home", "probe_dev", "m1")).front() == "construct");
  CHECK(count(heard(h.state("home", "probe_a")), "added:m1") == 2);
}

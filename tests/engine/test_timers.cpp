// Timers and alarms in virtual time, with the probe plugins: one per
// instance and reference, replaced by setting again, cancelled, fired to
// their owner only in an execution of their own at their due time, in due
// order; bad lengths and far-off alarms refused with a reason; kept with the
// location's memory across a restart.
#include <catch2/catch.hpp>

#include <livebot/sdk.hpp>

#include "engine/host_api.hpp"
#include "support/probe_host.hpp"

namespace engine = livebot::engine;
using livebot::test::TempDir;
using namespace livebot::test::probe;
using nlohmann::json;

namespace {

engine::Input ask(int64_t ts, std::vector<engine::ParamValue> params) {
  std::vector<std::string_view> updated;
  for (const auto &p : params) updated.push_back(p.name);
  return measurement(ts, {motion("m1", std::move(params), std::move(updated))});
}

std::vector<std::string> fired_in(const json &state) {
  std::vector<std::string> out;
  for (const auto &h : heard(state))
    if (h.rfind("timer:", 0) == 0) out.push_back(h);
  return out;
}

constexpr int64_t day = 24 * 3600 * 1000;

}  // namespace

TEST_CASE("setting a timer again replaces it; it fires once, to its owner only, at its due time", "[engine][timers]") {
  TempDir dir;
  Host h(probe_bot(dir), dir / "store.db");
  h.run(ask(1000, {{"timer", "probe_a|t|5000"}}));
  h.run(ask(2000, {{"timer", "probe_a|t|8000"}, {"due", "probe_a|t"}}));
  CHECK(heard(h.state("home", "probe_a")).back() == "due:t:10000");
  CHECK(h.ex->next_due("home") == 10000);

  CHECK(h.run_due("home", 9999) == 0);  // not yet
  CHECK(h.run_due("home", 60000) == 1);
  CHECK(fired_in(h.state("home", "probe_a")) == std::vector<std::string>{"timer:t@10000"});
  CHECK(fired_in(h.state("home", "probe_b")).empty());
  CHECK(fired_in(h.state("home", "probe_dev", "m1")).empty());
  // Everyone initialized in that execution, as in any other.
  CHECK(h.state("home", "probe_b")["executions"] == 3);
  CHECK(h.ex->stats().timer_executions == 1);
  CHECK_FALSE(h.ex->next_due("home"));
  CHECK(h.st->load_timers("home").empty());
  CHECK(h.st->due_locations().empty());
}

TEST_CASE("a cancelled timer never fires; cancelling tells whether one was set", "[engine][timers]") {
  TempDir dir;
  Host h(probe_bot(dir), dir / "store.db");
  h.run(ask(1000, {{"timer", "probe_b|door|10000"}}));
  h.run(ask(2000, {{"cancel", "probe_b|door"}}));
  h.run(ask(3000, {{"cancel", "probe_b|door"}, {"due", "probe_b|door"}}));
  const auto got = heard(h.state("home", "probe_b"));
  CHECK(std::count(got.begin(), got.end(), "cancel:door:yes") == 1);
  CHECK(std::count(got.begin(), got.end(), "cancel:door:no") == 1);
  CHECK(got.back() == "due:door:none");
  CHECK(h.run_due("home", 100000) == 0);
}

TEST_CASE("references are per instance; due timers fire in due order, ties in initialize order", "[engine][timers]") {
  TempDir dir;
  Host h(probe_bot(dir), dir / "store.db");
  // Every probe sets "x" due at 11000 and "late" due at 21000; probe_a also
  // sets "early" due at 6000 and "a2" at 11000.
  h.run(ask(1000, {{"timer", "*|x|10000"}}));
  h.run(ask(1000, {{"alarm", "*|late|21000"}}));
  h.run(ask(1000, {{"alarm", "probe_a|early|6000"}}));
  h.run(ask(1000, {{"alarm", "probe_a|a2|11000"}}));
  CHECK(h.st->load_timers("home").size() == 8);
  CHECK(h.st->due_locations() == std::vector<std::pair<std::string, int64_t>>{{"home", 6000}});
  CHECK(h.run_due("home", 15000) == 5);
  // Initialize order is probe_dev, probe_b, probe_a; within one instance,
  // by reference.
  CHECK(h.var("home", "fired") == "probe_a:early,probe_dev:x,probe_b:x,probe_a:a2,probe_a:x,");
  CHECK(fired_in(h.state("home", "probe_a")) ==
        std::vector<std::string>{"timer:early@6000", "timer:a2@11000", "timer:x@11000"});
  CHECK(h.ex->next_due("home") == 21000);
}

TEST_CASE("timers are memory: committed with the location, due after a restart", "[engine][timers]") {
  TempDir dir;
  const auto bot = probe_bot(dir);
  {
    Host h(bot, dir / "store.db");
    h.run(ask(1000, {{"timer", "probe_dev|t|500"}}));
  }
  Host h(bot, dir / "store.db");
  CHECK(h.st->due_locations() == std::vector<std::pair<std::string, int64_t>>{{"home", 1500}});
  CHECK(h.ex->next_due("home") == 1500);
  CHECK(h.run_due("home", 1500) == 1);
  CHECK(fired_in(h.state("home", "probe_dev", "m1")) == std::vector<std::string>{"timer:t@1500"});
}

TEST_CASE("an alarm slightly in the past, or a timer of 0 ms, fires in the next execution", "[engine][timers]") {
  TempDir dir;
  Host h(probe_bot(dir), dir / "store.db");
  h.run(ask(5000, {{"alarm", "probe_a|past|4000"}}));
  h.run(ask(5000, {{"timer", "probe_b|now|0"}}));
  // Never in the execution that set it: 1 ms on, so virtual time moves.
  CHECK(h.ex->next_due("home") == 5001);
  CHECK(h.run_due("home", 5001) == 2);
  CHECK(fired_in(h.state("home", "probe_a")) == std::vector<std::string>{"timer:past@5001"});
  CHECK(fired_in(h.state("home", "probe_b")) == std::vector<std::string>{"timer:now@5001"});
}

TEST_CASE("bad timer input fails the call with a reason", "[engine][timers][bad-input]") {
  TempDir dir;
  Host h(probe_bot(dir), dir / "store.db");
  const int64_t now = 1750000000000;  // 2025-06-15T15:06:40Z
  std::string param, value, reason;
  SECTION("an alarm more than a year before now") {
    param = "alarm", value = "probe_a|x|" + std::to_string(now - 400 * day);
    reason = "set_alarm('x') refused by the host: an alarm at 2024-05-11T15:06:40Z is more than 366 days before "
             "the execution's time (2025-06-15T15:06:40Z)";
  }
  SECTION("an alarm in seconds, not ms") {
    param = "alarm", value = "probe_a|x|" + std::to_string(now / 1000);
    reason = "an alarm at 1970-01-21T06:06:40Z is more than 366 days before";
  }
  SECTION("an alarm more than a year ahead") {
    param = "alarm", value = "probe_a|x|" + std::to_string(now + 367 * day);
    reason = "is more than 366 days after the execution's time";
  }
  SECTION("a negative timer") {
    param = "timer", value = "probe_a|x|-5";
    reason = "start_timer_ms('x') refused by the host: a timer of -5 ms; timers run from 0 ms to 366 days";
  }
  SECTION("a timer over a year") {
    param = "timer", value = "probe_a|x|" + std::to_string(367 * day);
    reason = "a timer of 31708800000 ms; timers run from 0 ms to 366 days";
  }
  h.run(ask(now, {{"timer", "probe_a|kept|1000"}}));
  h.run(ask(now, {{param, value}}));
  const auto errors = h.st->list_errors("", 10);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].microservice == "probe_a");
  CHECK(errors[0].callback == "device_measurements_updated");
  CHECK_THAT(errors[0].message, Catch::Contains(reason));
  const auto timers = h.st->load_timers("home");
  REQUIRE(timers.size() == 1);
  CHECK(timers[0].reference == "kept");
}

TEST_CASE("a failed callback's timer changes are undone, cancellations too", "[engine][timers]") {
  TempDir dir;
  Host h(probe_bot(dir), dir / "store.db");
  h.run(ask(1000, {{"timer", "probe_a|keep|9000"}}));
  h.run(ask(2000, {{"cancel", "probe_a|keep"}, {"timer", "probe_a|new|1000"}, {"throw_in", "probe_a"}}));
  const auto timers = h.st->load_timers("home");
  REQUIRE(timers.size() == 1);
  CHECK(timers[0].reference == "keep");
  CHECK(timers[0].due_ms == 10000);
}

TEST_CASE("a bot that does not take timers is told so when it sets one", "[engine][timers]") {
  TempDir dir;
  Host h(probe_bot(dir, "1.0.0", {{"triggers", 14}}), dir / "store.db");
  h.run(ask(1000, {{"timer", "probe_a|t|1000"}}));
  const auto errors = h.st->list_errors("", 10);
  REQUIRE(errors.size() == 1);
  CHECK_THAT(errors[0].message, Catch::Contains("the bot does not take timers: add 64 to its triggers"));
  CHECK(h.st->load_timers("home").empty());
}

TEST_CASE("on a host older than its SDK, a plugin's timer calls fail saying so", "[engine][timers][abi]") {
  // The table as a host of the first ABI 1 layout hands it out.
  livebot_host_api old = *engine::host_api();
  old.struct_size = static_cast<uint32_t>(offsetof(livebot_host_api, last_refusal));
  const livebot::Host host(&old, nullptr);
  CHECK_THROWS_WITH(host.start_timer_s(10, "door"),
                    "start_timer_ms: this host is older than the SDK and does not offer it");
  CHECK_THROWS_WITH(host.cancel_timers("door"), "cancel_timers: this host is older than the SDK and does not offer it");
  CHECK(LIVEBOT_HOST_OFFERS(engine::host_api(), cancel_timer));
  CHECK_FALSE(LIVEBOT_HOST_OFFERS(&old, last_refusal));
}

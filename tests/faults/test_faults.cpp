// The fault-injection suite: plugins broken on purpose
// (tests/plugins/faults/), each fault at a location of its own, beside the
// probes, in a real store. For every fault the host stays up, records it
// (microservice, version, location, callback, a message naming it) where
// `livebot errors` shows it, and every other microservice's memory is byte
// for byte what a store without the faulty plugins holds after the same
// inputs. docs/RELIABILITY.md lists the faults and what the host does.
#include <catch2/catch.hpp>

#include "faults/fault_bot.hpp"
#include "integration/cli_runner.hpp"

using namespace livebot;
using namespace livebot::test::faults;
using livebot::test::TempDir;

namespace {

struct Fault {
  std::string location;  // names the fault (tests/plugins/faults/)
  std::string callback;  // where it is recorded; empty: nothing to record
  std::string message;   // a part of the recorded message
};

const std::vector<std::string> kCallbacks = {
    "construct",    "initialize",     "new_version",    "destroy",           "device_measurements_updated",
    "mode_updated", "device_alert",   "schedule_fired", "timer_fired",       "datastream_updated",
    "device_added", "device_deleted"};

std::vector<Fault> faults() {
  std::vector<Fault> all;
  for (const auto &cb : kCallbacks) all.push_back({"throw:" + cb, cb, "fault injected in " + cb});
  for (const std::string cb : {"initialize", "timer_fired", "device_deleted"})
    all.push_back({"throw-int:" + cb, cb, "unknown exception"});
  all.push_back({"throw-binary:initialize", "initialize", "fault \xEF\xBF\xBD in initialize"});
  const std::string m = "device_measurements_updated";
  const std::vector<std::pair<std::string, std::string>> bad_calls = {
      {"null-name", "no bytes for a variable name of 5 bytes"},
      {"name-1mb", "a variable name of 1048576 bytes; it takes 1 to 1024"},
      {"name-size-max", "a variable name of 18446744073709551615 bytes; it takes 1 to 1024"},
      {"name-invalid-utf8", "a variable name that is not valid UTF-8 (byte 0)"},
      {"value-100mb", "a value of 104857600 bytes; the limit is 16 MiB"},
      {"value-size-max", "a value of 18446744073709551615 bytes; the limit is 16 MiB"},
      {"value-null", "no bytes for a value of 8"},
      {"text-invalid-utf8", "a text value that is not valid UTF-8 (byte 0)"},
      {"kind-unknown", "unknown value kind 99"},
      {"load-nowhere", "nowhere to put the value"},
      {"delete-null", "no bytes for a variable name of 3 bytes"},
      {"timer-negative", "a timer of -1 ms; timers run from 0 ms to 366 days"},
      {"timer-absurd", "a timer of 9223372036854775807 ms"},
      {"alarm-absurd", "an alarm at -9223372036854775808 ms is more than 366 days before"},
      {"reference-1mb", "a reference of 1048576 bytes; it takes 0 to 1024"},
      {"reference-null", "no bytes for a reference of 4 bytes"},
      {"due-nowhere", "nowhere to put the due time"},
      {"notify-wrapping-size", "a notification of 18446744073709551615 + 2 bytes; the limit is 1 MiB"},
      {"notify-invalid-utf8", "a subject that is not valid UTF-8 (byte 0)"},
      {"history-null", "no bytes for a device id of 2 bytes"},
      {"offset-nowhere", "nowhere to put the offset"},
      {"stream-2mb", "content of 2097152 bytes; the limit is 1 MiB"},
      {"state-garbage-mid-callback", "the state does not verify against the plugin's schema"},
      {"state-size-max", "a state of 18446744073709551615 bytes; it takes 1 byte to 64 MiB"},
  };
  for (const auto &[c, msg] : bad_calls) all.push_back({"api:" + c, m, c + " refused: " + msg});
  for (const std::string c : {"log-null", "log-1mb", "log-bad-level", "error-null", "refusal-nowhere"})
    all.push_back({"api:" + c, "", ""});
  all.push_back({"raw:error-silent", "initialize", "failed with status 1 and no message"});
  all.push_back({"raw:status-77", "initialize", "failed with status 77 and no message"});
  all.push_back({"raw:open-null", "open", "no instance and no message"});
  all.push_back({"raw:close-error", "close", "close failed on purpose"});
  all.push_back({"raw:no-state", "close", "no state handed back (status 0)"});
  const std::string refused = "set_state refused by the host: ";
  for (const std::string c : {"garbage", "truncated", "wrong-root", "wrong-schema"})
    all.push_back({"state:" + c, "close", refused + "the state does not verify against the plugin's schema"});
  all.push_back({"state:empty", "close", refused + "a state of 0 bytes; it takes 1 byte to 64 MiB"});
  all.push_back({"state:size-max", "close", refused + "a state of 18446744073709551615 bytes"});
  return all;
}

// Every location through both bot versions, in one store per bot.
void play(const std::string &v1, const std::string &v2, const std::string &store,
          const std::vector<std::string> &locations) {
  // The plugins' log lines (one of 64 KiB) are not the test's output.
  const auto quiet = [](void *, int, std::string_view, std::string_view, std::string_view) {};
  {
    Host h(v1, store);
    h.ex->set_log_sink(quiet, nullptr);
    for (const auto &loc : locations) REQUIRE_NOTHROW(first_version(h, loc));
  }
  Host h(v2, store);
  h.ex->set_log_sink(quiet, nullptr);
  for (const auto &loc : locations) REQUIRE_NOTHROW(second_version(h, loc));
}

}  // namespace

TEST_CASE("every injected fault is survived, recorded, and leaves the others' memory as it was", "[faults]") {
  TempDir with, without;
  const auto all = faults();
  std::vector<std::string> locations = {"ok:timer_fired"};
  for (const auto &f : all) locations.push_back(f.location);
  play(fault_bot(with, "1.0.0"), fault_bot(with, "2.0.0"), with / "store.db", locations);
  play(probes_bot(without, "1.0.0"), probes_bot(without, "2.0.0"), without / "store.db", locations);

  const auto st = store::open_sqlite_store(with / "store.db", {.create = false, .read_only = true});
  const auto plain = store::open_sqlite_store(without / "store.db", {.create = false, .read_only = true});
  const auto errors = st->list_errors("", 1'000'000);
  CHECK(plain->list_errors("", 10).empty());
  // What `livebot errors` prints: valid JSON, whatever bytes plugins sent.
  const auto cli = test::Cli(LIVEBOT_CLI).run({"errors", "--store", with / "store.db", "--json", "-n", "1000000"});
  INFO(cli.err);
  REQUIRE(cli.exit_code == 0);
  const auto listed = json::parse(cli.out);
  REQUIRE(listed.size() == errors.size());

  size_t survived = 0;
  for (const auto &f : all) {
    INFO("fault " << f.location);
    size_t recorded = 0;
    for (const auto &e : listed) {
      if (e["location"] != f.location) continue;
      ++recorded;
      CHECK(faulty(e["microservice"].get<std::string>().substr(0, e["microservice"].get<std::string>().find('['))));
      CHECK(e["version"] == (e["microservice"] == "raw_fault" ? "0.0.1-raw" : "1.0.0"));
      CHECK(e["bot"] == "probes");
      if (e["callback"] == f.callback) CHECK_THAT(e["message"].get<std::string>(), Catch::Contains(f.message));
    }
    const bool in_place = std::any_of(listed.begin(), listed.end(), [&](const json &e) {
      return e["location"] == f.location && e["callback"] == f.callback;
    });
    if (f.callback.empty()) CHECK(recorded == 0);
    else CHECK(in_place);
    // The fault's own timer brings an execution of its own: compare with
    // the same plugin where it does not fault.
    const bool own_timer = f.location.ends_with(":timer_fired");
    const auto others = others_memory(*st, f.location);
    const auto expected = own_timer ? others_memory(*st, "ok:timer_fired") : others_memory(*plain, f.location);
    CHECK(others.size() > 3);
    CHECK(others == expected);
    if ((f.callback.empty() ? recorded == 0 : in_place) && others == expected) ++survived;
  }
  CHECK(survived == all.size());
  // The figure docs/RELIABILITY.md gives.
  WARN("faults injected and survived: " << survived << "/" << all.size());
}

TEST_CASE("a plugin that sets a timer in every execution is held to 1,024, each refusal recorded", "[faults][timers]") {
  TempDir with, without;
  constexpr int kExecutions = 1100;
  const auto run = [&](const std::string &bot, const std::string &store) {
    Host h(bot, store);
    h.st->begin();
    for (int i = 0; i < kExecutions; ++i) {
      auto in = input(engine::Input::Kind::Measurement, "timers", kT0 + i * 1000);
      in.devices = {test::probe::motion("m1", {}, {})};
      h.ex->execute(in);
    }
    h.ex->flush();
    h.st->commit();
  };
  run(fault_bot(with, "1.0.0"), with / "store.db");
  run(probes_bot(without, "1.0.0"), without / "store.db");
  const auto st = store::open_sqlite_store(with / "store.db", {.create = false, .read_only = true});
  std::map<int64_t, std::string> owner;
  for (const auto &i : st->load_instances("timers")) owner[i.instance_id] = i.microservice;
  std::map<std::string, size_t> timers;
  for (const auto &t : st->load_timers("timers")) ++timers[owner[t.instance_id]];
  CHECK(timers == std::map<std::string, size_t>{{"fault", 1024}, {"fault_dev", 1024}});
  const auto errors = st->list_errors("", 1'000'000);
  CHECK(errors.size() == 2 * (kExecutions - 1024));
  for (const auto &e : errors) {
    CHECK(e.callback == "device_measurements_updated");
    CHECK_THAT(e.message, Catch::Contains("the instance already has 1024 timers set; cancel some first"));
  }
  const auto plain = store::open_sqlite_store(without / "store.db", {.create = false, .read_only = true});
  CHECK(others_memory(*st, "timers") == others_memory(*plain, "timers"));
}

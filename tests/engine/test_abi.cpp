// The ABI growth policy (docs/ABI.md), enforced: the first layout of both
// tables is locked member by member, a plugin built against that first
// layout (tests/plugins/abi) runs in this host beside plugins built with the
// current SDK, and one claiming an ABI this host does not serve is refused
// with both versions named.
#include <livebot/livebot.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "engine/host_api.hpp"
#include "loader/plugin.hpp"
#include "support/probe_host.hpp"

namespace engine = livebot::engine;
using livebot::test::TempDir;
using namespace livebot::test::probe;
using nlohmann::json;

namespace {

// Members are only appended: a member of the first layout that moved would
// break every plugin built before the move. Offsets on LP64, the ABI's only
// target so far.
#define LOCKED(table, member, offset) static_assert(offsetof(table, member) == (offset), #table "::" #member " moved")
static_assert(sizeof(void *) == 8 && sizeof(size_t) == 8, "the locked offsets are LP64's");
LOCKED(livebot_host_api, abi_version, 0);
LOCKED(livebot_host_api, struct_size, 4);
LOCKED(livebot_host_api, timestamp_ms, 8);
LOCKED(livebot_host_api, log, 16);
LOCKED(livebot_host_api, set_state, 24);
LOCKED(livebot_host_api, set_error, 32);
LOCKED(livebot_host_api, save_variable, 40);
LOCKED(livebot_host_api, load_variable, 48);
LOCKED(livebot_host_api, delete_variable, 56);
LOCKED(livebot_host_api, notify, 64);
LOCKED(livebot_host_api, device_history, 72);
// Appended to ABI 1, in this order.
LOCKED(livebot_host_api, last_refusal, 80);
LOCKED(livebot_host_api, start_timer_ms, 88);
LOCKED(livebot_host_api, set_alarm, 96);
LOCKED(livebot_host_api, timer_due, 104);
LOCKED(livebot_host_api, cancel_timer, 112);
LOCKED(livebot_host_api, utc_offset_ms, 120);
LOCKED(livebot_host_api, send_datastream, 128);
LOCKED(livebot_plugin, abi_version, 0);
LOCKED(livebot_plugin, struct_size, 4);
LOCKED(livebot_plugin, name, 8);
LOCKED(livebot_plugin, version, 16);
LOCKED(livebot_plugin, sdk_version, 24);
LOCKED(livebot_plugin, state_root_type, 32);
LOCKED(livebot_plugin, schema, 40);
LOCKED(livebot_plugin, schema_size, 48);
LOCKED(livebot_plugin, open, 56);
LOCKED(livebot_plugin, call, 64);
LOCKED(livebot_plugin, close, 72);
static_assert(sizeof(livebot_plugin) == 80, "a member appended to livebot_plugin: the host must check struct_size");
#undef LOCKED

struct LogLines {
  std::vector<std::string> lines;
  static void sink(void *ctx, int, std::string_view, std::string_view ms, std::string_view msg) {
    static_cast<LogLines *>(ctx)->lines.push_back(std::string(ms) + ": " + std::string(msg));
  }
};

}  // namespace

TEST_CASE("a plugin built against the first layout of ABI 1 runs in this host beside current ones",
          "[engine][abi]") {
  TempDir dir;
  const json old_abi = {{"name", "old_abi"}, {"plugin", plugins + "/old_abi.so"}};
  const auto bot = probe_bot(dir, "1.0.0",
                             {{"microservices",
                               {{"location",
                                 {old_abi, {{"name", "probe_a"}, {"plugin", plugins + "/probe_a.so"}}}}}}});
  Host h(bot, dir / "store.db");
  LogLines log;
  h.ex->set_log_sink(&LogLines::sink, &log);
  // Measurements it counts, a mode change and a timer of probe_a's it is
  // not told of, a measurement after the timer fired.
  h.run(measurement(1000, {motion("m1", {{"timer", "probe_a|t|500"}}, {"timer"})}));
  h.run(mode(1200, "AWAY"));
  CHECK(h.run_due("home", 2000) == 1);
  h.run(measurement(3000, {motion("m1", {{"status", "1"}}, {"status"})}));

  CHECK(h.ex->stats().failed_callbacks == 0);
  const auto st = h.state("home", "old_abi");
  CHECK(st["count"] == 2);
  CHECK(st["last_version"] == "old-abi");
  CHECK(h.var("home", "last_measured").size() == 8);
  CHECK(heard(h.state("home", "probe_a")).size() >= 4);
  // It read only the first layout, of a table that has grown since.
  REQUIRE(!log.lines.empty());
  CHECK(log.lines.front() ==
        "old_abi: given a host table of " + std::to_string(engine::host_api()->struct_size) + " bytes");
  CHECK(engine::host_api()->struct_size > 80);
}

TEST_CASE("a plugin claiming an ABI newer than this host's is refused, both versions named", "[engine][abi]") {
  livebot::loader::Staging staging;
  try {
    livebot::loader::Plugin::load(plugins + "/old_abi_future.so", staging);
    FAIL("loaded");
  } catch (const livebot::Error &e) {
    CHECK(std::string(e.what()) ==
          plugins + "/old_abi_future.so: built for ABI version 2; this host serves ABI versions 1 to 1");
  }
}

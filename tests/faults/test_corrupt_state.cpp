// Corrupt state in a real SQLite store: rows damaged behind the host's back
// (bytes flipped, truncated, emptied, of another schema, tagged with a schema
// the store does not hold). The host verifies every stored state before a
// plugin sees it: a bad one goes to the store's quarantine table as it was
// found, is reported, and its instance starts afresh from construct(); the
// rest of the store is what it would have been without the damage.
#include <signal.h>
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "faults/fault_bot.hpp"
#include "integration/cli_runner.hpp"

using namespace livebot;
using namespace livebot::test::faults;
using livebot::test::TempDir;

namespace {

// Rewrites one instance row with SQLite itself, as a damaged disk or a
// careless hand would.
void damage(const std::string &path, const std::string &loc, const std::string &ms, const std::string &device,
            const std::function<void(std::string &state, std::string &hash)> &how) {
  sqlite3 *db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  const auto text = [](sqlite3_stmt *s, int i, const std::string &v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  };
  sqlite3_stmt *s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT state, schema_hash FROM instances WHERE location = ? AND microservice = ? "
                                 "AND device_id = ?", -1, &s, nullptr) == SQLITE_OK);
  text(s, 1, loc), text(s, 2, ms), text(s, 3, device);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  std::string state(static_cast<const char *>(sqlite3_column_blob(s, 0)), static_cast<size_t>(sqlite3_column_bytes(s, 0)));
  std::string hash(reinterpret_cast<const char *>(sqlite3_column_text(s, 1)));
  sqlite3_finalize(s);
  how(state, hash);
  REQUIRE(sqlite3_prepare_v2(db, "UPDATE instances SET state = ?, schema_hash = ? WHERE location = ? AND "
                                 "microservice = ? AND device_id = ?", -1, &s, nullptr) == SQLITE_OK);
  // data() is never null, so "" binds an empty blob, not NULL.
  sqlite3_bind_blob(s, 1, state.data(), static_cast<int>(state.size()), SQLITE_STATIC);
  text(s, 2, hash), text(s, 3, loc), text(s, 4, ms), text(s, 5, device);
  REQUIRE(sqlite3_step(s) == SQLITE_DONE);
  sqlite3_finalize(s);
  REQUIRE(sqlite3_close(db) == SQLITE_OK);
}

// Two locations with a device each, a timer of probe_a's and one of
// probe_b's; the same again after the damage.
void before(Host &h) {
  for (const std::string loc : {"home", "other"})
    measure(h, loc, kT0, {{"timer", "*|t|600000"}, {"save", "kept"}});
}
void after(Host &h) {
  for (const std::string loc : {"home", "other"}) {
    auto mode = input(engine::Input::Kind::Mode, loc, kT0 + 1000);
    mode.mode = "AWAY";
    at(h, mode);
  }
}

struct Damage {
  std::string name;
  std::function<void(std::string &, std::string &)> how;
  std::string reason;
};

}  // namespace

TEST_CASE("a corrupt stored state is quarantined and its instance starts afresh; the rest is intact",
          "[faults][quarantine]") {
  const std::string other_schema = [] {
    // A well-formed table of another schema: field 0 a uint, not a vector.
    flatbuffers::FlatBufferBuilder fbb;
    const auto start = fbb.StartTable();
    fbb.AddElement<uint32_t>(flatbuffers::FieldIndexToOffset(0), 0xfffffff0u, 0);
    fbb.Finish(flatbuffers::Offset<flatbuffers::Table>(fbb.EndTable(start)));
    return std::string(reinterpret_cast<const char *>(fbb.GetBufferPointer()), fbb.GetSize());
  }();
  const std::vector<Damage> damages = {
      {"bytes flipped", [](std::string &s, std::string &) { for (auto &c : s) c = static_cast<char>(c ^ 0xff); },
       "bytes do not verify as probe.ProbeState"},
      {"truncated", [](std::string &s, std::string &) { s.resize(s.size() / 2); },
       "bytes do not verify as probe.ProbeState"},
      {"emptied", [](std::string &s, std::string &) { s.clear(); }, "its state is empty"},
      {"another schema's table", [&](std::string &s, std::string &) { s = other_schema; },
       "bytes do not verify as probe.ProbeState"},
      {"a schema hash the store does not hold", [](std::string &, std::string &h) { h = "00000000deadbeef"; },
       "it was written by schema 00000000deadbeef, which the store does not hold"},
  };
  for (const auto &d : damages) {
    for (const std::string device : {"", "m1"}) {
      const std::string ms = device.empty() ? "probe_a" : "probe_dev";
      const std::string who = device.empty() ? ms : ms + "[" + device + "]";
      INFO(d.name << " in " << who);
      TempDir dir;
      const std::string bot = probes_bot(dir, "1.0.0");
      const std::string damaged = dir / "damaged.db", intact = dir / "intact.db";
      {
        Host h(bot, damaged);
        before(h);
      }
      std::filesystem::copy_file(damaged, intact);
      std::string bad_state, bad_hash;
      damage(damaged, "home", ms, device, [&](std::string &s, std::string &h) {
        d.how(s, h);
        bad_state = s, bad_hash = h;
      });
      const int64_t id = store::open_sqlite_store(damaged)->load_instance("home", ms, device)->instance_id;
      for (const auto &path : {damaged, intact}) {
        Host h(bot, path);
        REQUIRE_NOTHROW(after(h));
        CHECK(h.ex->stats().quarantined == (path == damaged ? 1 : 0));
      }

      auto st = store::open_sqlite_store(damaged);
      auto ref = store::open_sqlite_store(intact);
      // The bytes, kept as they were found.
      const auto kept = st->list_quarantined(10);
      REQUIRE(kept.size() == 1);
      CHECK(st->count_quarantined() == 1);
      CHECK(kept[0].location == "home");
      CHECK(kept[0].instance.microservice == ms);
      CHECK(kept[0].instance.device_id == device);
      CHECK(kept[0].instance.instance_id == id);
      CHECK(kept[0].instance.schema_hash == bad_hash);
      CHECK(kept[0].instance.state == bad_state);
      CHECK_THAT(kept[0].reason, Catch::Contains(d.reason));
      // Reported, where `livebot errors` shows it.
      const auto errors = st->list_errors("", 10);
      REQUIRE(errors.size() == 1);
      CHECK(errors[0].location == "home");
      CHECK(errors[0].microservice == who);
      CHECK(errors[0].version == "1.0.0");
      CHECK(errors[0].callback == "load");
      CHECK_THAT(errors[0].message, Catch::StartsWith("stored state quarantined: ") && Catch::Contains(d.reason) &&
                                        Catch::EndsWith("the instance starts afresh from construct()"));
      // A fresh instance, under the same id, from construct(); its timer
      // went with its state.
      Host h(bot, std::move(st));
      const auto fresh = h.state("home", ms, device);
      CHECK(test::probe::heard(fresh) == std::vector<std::string>{"construct", "initialize", "mode:AWAY"});
      CHECK(h.st->load_instance("home", ms, device)->instance_id == id);
      for (const auto &t : h.st->load_timers("home")) CHECK(t.instance_id != id);
      // Everything else is what the undamaged store holds.
      auto theirs = others_memory(*ref, "home"), ours = others_memory(*h.st, "home");
      CHECK(ours.erase("state " + ms + "[" + device + "]") == 1);
      CHECK(theirs.erase("state " + ms + "[" + device + "]") == 1);
      theirs.erase("timer " + ms + "[" + device + "] t");
      CHECK(ours == theirs);
      CHECK(others_memory(*h.st, "other") == others_memory(*ref, "other"));
      // Once set aside, it stays aside: a restart finds nothing to quarantine.
      CHECK(h.ex->stats().quarantined == 0);
      h.run(input(engine::Input::Kind::Mode, "home", kT0 + 2000));
      CHECK(h.st->count_quarantined() == 1);
    }
  }
}

TEST_CASE("a damaged row of a location not loaded stays as it is", "[faults][quarantine]") {
  TempDir dir;
  const std::string bot = probes_bot(dir, "1.0.0");
  {
    Host h(bot, dir / "store.db");
    before(h);
  }
  damage(dir / "store.db", "other", "probe_b", "", [](std::string &s, std::string &) { s.resize(3); });
  Host h(bot, dir / "store.db");
  auto mode = input(engine::Input::Kind::Mode, "home", kT0 + 1000);
  mode.mode = "AWAY";
  at(h, mode);
  CHECK(h.st->count_quarantined() == 0);
  CHECK(h.st->load_instance("other", "probe_b", "")->state.size() == 3);
  CHECK(h.st->list_errors("", 10).empty());
}

TEST_CASE("a live host quarantines a damaged state, runs on, and counts it in livebot status", "[faults][quarantine][live]") {
  TempDir dir, scratch;
  // No schedule: a live host would fire every minute missed since kT0.
  const std::string bot = test::probe::probe_bot(dir), store = dir / "store.db", socket = dir / "host.sock";
  {
    Host h(bot, store);
    before(h);
  }
  damage(store, "home", "probe_a", "", [](std::string &s, std::string &) { s.resize(s.size() / 2); });
  const test::Cli cli(LIVEBOT_CLI);
  const pid_t pid = cli.start({"run", "--bot", bot, "--store", store, "--socket", socket, "--no-watch"}, scratch.path());
  REQUIRE(test::wait_listening(socket));
  const auto sent = cli.run({"send", "home", "--mode", "AWAY", "--socket", socket});
  INFO(sent.err);
  CHECK(sent.exit_code == 0);
  const auto status = json::parse(cli.run({"status", "--json", "--socket", socket}).out);
  CHECK(status["quarantined"] == 1);
  CHECK_THAT(cli.run({"status", "--socket", socket}).out, Catch::Contains(" queued, 1 states quarantined\n"));
  ::kill(pid, SIGTERM);
  const auto stopped = test::Cli::wait(pid, scratch.path());
  CHECK(stopped.exit_code == 0);
  CHECK_THAT(stopped.err + stopped.out, Catch::Contains("stored state of probe_a quarantined: its"));
  const auto errors = cli.run({"errors", "--store", store});
  CHECK_THAT(errors.out, Catch::Contains("home  probe_a 1.0.0  load: stored state quarantined: its"));
}

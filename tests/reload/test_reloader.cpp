// Hot reload with real plugin builds, a real store and the real executor:
// swaps keep every location's memory, bad versions never serve, a version
// that fails on probation is rolled back with its execution re-run, and
// replaced images really leave the process.
#include <elf.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "engine/bot.hpp"
#include "engine/executor.hpp"
#include "loader/plugin.hpp"
#include "reload/reloader.hpp"
#include "schema/schema.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"

using namespace livebot;
using livebot::test::read_file;
using livebot::test::TempDir;
using livebot::test::write_file;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string plugins = LIVEBOT_TEST_PLUGIN_DIR;
std::string build_of(const std::string &name) { return plugins + "/" + name + ".so"; }

// A bot whose one location microservice, "counter", is a file in the bot
// directory that the test replaces the way a build would.
struct Host {
  TempDir dir;
  std::string plugin = dir / "counter.so";
  loader::Staging staging;
  std::unique_ptr<engine::Bot> bot;
  std::unique_ptr<store::Store> st;
  std::unique_ptr<engine::Executor> ex;
  std::unique_ptr<reload::Reloader> rl;
  int64_t clock = 1'000'000;

  // `with_probe`: the bot also runs probe_a (tests/plugins/probe.cpp), which
  // sets timers when asked.
  explicit Host(const std::string &first = "counter_a", reload::ProbationPolicy policy = {3, 1'000'000},
                bool with_probe = false) {
    spdlog::set_level(spdlog::level::err);  // swaps log at info; pinned images at warn
    fs::copy_file(build_of(first), plugin);
    json location = {{{"name", "counter"}, {"plugin", "counter.so"}}};
    if (with_probe) location.push_back({{"name", "probe_a"}, {"plugin", build_of("probe_a")}});
    write_file(dir / "bot.json", json{{"bot", "reload-test"},
                                      {"version", "1"},
                                      {"triggers", 2 | 4 | 8 | 64},
                                      {"microservices", {{"location", location}}}}
                                     .dump());
    bot = engine::Bot::load(engine::load_manifest(dir.path()), staging);
    st = store::open_sqlite_store(dir / "store.db");
    ex = std::make_unique<engine::Executor>(*st, *bot, "UTC");
    st->begin();
    ex->register_schemas();
    st->commit();
    rl = std::make_unique<reload::Reloader>(*ex, staging, policy);
  }

  // A build lands at the plugin's path: written elsewhere, renamed in.
  reload::Offer deliver(const std::string &build) {
    fs::copy_file(build_of(build), plugin + ".tmp", fs::copy_options::overwrite_existing);
    fs::rename(plugin + ".tmp", plugin);
    return offer();
  }
  reload::Offer offer() {
    st->begin();
    const auto r = rl->offer(0, plugin, clock);
    ex->flush();
    st->commit();
    return r;
  }

  void measure(const std::string &location, int n = 1, std::vector<engine::ParamValue> params = {{"doorStatus", "OPEN"}}) {
    std::vector<std::string_view> updated;
    for (const auto &p : params) updated.push_back(p.name);
    for (int i = 0; i < n; ++i) {
      engine::Input in;
      in.kind = engine::Input::Kind::Measurement;
      in.location = location;
      in.timestamp_ms = ++clock;
      in.devices.push_back({"d1", 10014, "Entry", params, updated});
      st->begin();
      rl->execute(in, clock);
      ex->flush();
      st->commit();
    }
  }

  json state(const std::string &location) {
    const auto inst = st->load_instance(location, "counter", "");
    REQUIRE(inst);
    const auto bfbs = st->load_schema(inst->schema_hash);
    REQUIRE(bfbs);
    return json::parse(schema::BinarySchema::parse(*bfbs, "test").to_json(inst->state));
  }
  const reload::VersionRecord &serving() {
    for (const auto &v : rl->history(0))
      if (v.state == "serving" || v.state == "probation") return v;
    FAIL("nothing serving");
    throw 0;
  }
  std::string version() { return bot->microservices()[0].plugin->version(); }
};

}  // namespace

TEST_CASE("a swap keeps every location's memory and tells initialize the new fields", "[reload]") {
  Host h;
  h.measure("home-1", 5);
  h.measure("home-2", 2);
  const auto r = h.deliver("counter_v2");
  INFO(r.message);
  REQUIRE(r.outcome == reload::Offer::Outcome::Published);
  CHECK(h.version() == "2.0.0");
  CHECK(h.rl->on_probation(0));
  h.measure("home-1");
  h.measure("home-2");
  auto a = h.state("home-1"), b = h.state("home-2");
  CHECK(a["count"] == 6);
  CHECK(b["count"] == 3);
  CHECK(a["last_version"] == "2.0.0");
  // since_ms was set once, from the first execution under v2.
  CHECK(a["since_ms"] == 1'000'008);
  h.measure("home-1", 3);
  CHECK(h.state("home-1")["since_ms"] == 1'000'008);
  CHECK_FALSE(h.rl->on_probation(0));
  const auto &hist = h.rl->history(0);
  REQUIRE(hist.size() == 2);
  CHECK(hist[0].state == "retired");
  CHECK(hist[0].executions == 7);
  CHECK(hist[1].state == "serving");
  CHECK(hist[1].executions == 5);
  // The replaced image left the process; only the serving one is mapped.
  CHECK(h.rl->mapped_images() == std::vector<std::string>{hist[1].staged_path});
}

TEST_CASE("versions that cannot serve are refused and the current one carries on", "[reload][bad-input]") {
  Host h;
  h.measure("home", 2);
  const std::string good = read_file(build_of("counter_b"));
  const auto refused = [&](const std::string &bytes, const std::string &needle) {
    write_file(h.plugin, bytes);
    const auto r = h.offer();
    INFO(r.message);
    CHECK(r.outcome == reload::Offer::Outcome::Refused);
    CHECK_THAT(r.message, Catch::Contains(needle));
    CHECK(h.version() == "1.0.0-a");
    h.measure("home");
  };
  // Half-written files, as a linker leaves them mid-write.
  for (const size_t n : {size_t(0), size_t(64), size_t(1024), size_t(8192)})
    refused(good.substr(0, n), "counter.so");
  Elf64_Ehdr eh;
  std::memcpy(&eh, good.data(), sizeof eh);
  refused(good.substr(0, eh.e_shoff), "section headers end past the file");
  refused(read_file(plugins + "/bad1.so"), "no 'livebot_entry' symbol");
  refused(read_file(plugins + "/bad3.so"), "built for ABI version 99");
  refused(read_file(build_of("counter_bad")),
          "schema cannot read the stored state of 'counter': counter.Counter.count: type changed");
  CHECK(h.state("home")["count"] == 10);
  // Every refusal is on record, and nothing was left mapped or staged.
  const auto errors = h.st->list_errors("", 100);
  CHECK(errors.size() == 8);
  CHECK(errors.front().callback == "reload");
  CHECK(h.rl->mapped_images().size() == 1);
  // The same bad bytes are not tried again (still refused, nothing more
  // recorded); a good build is.
  const auto again = h.offer();
  CHECK(again.outcome == reload::Offer::Outcome::Refused);
  CHECK_THAT(again.message, Catch::Contains("was refused before"));
  CHECK(h.st->list_errors("", 100).size() == 8);
  CHECK(h.deliver("counter_b").outcome == reload::Offer::Outcome::Published);
}

TEST_CASE("a version that throws on probation is rolled back and its event re-run on the old one",
          "[reload][rollback]") {
  Host h;
  h.measure("home", 4);
  REQUIRE(h.deliver("counter_throws").outcome == reload::Offer::Outcome::Published);
  h.measure("home");
  CHECK(h.version() == "1.0.0-a");
  const auto s = h.state("home");
  CHECK(s["count"] == 5);  // the event counted once, by the old version
  CHECK(s["last_version"] == "1.0.0-a");
  const auto &hist = h.rl->history(0);
  REQUIRE(hist.size() == 2);
  CHECK(hist[1].state == "rolled back");
  CHECK_THAT(hist[1].note, Catch::Contains("this build always fails in initialize"));
  CHECK(hist[0].state == "serving");
  const auto errors = h.st->list_errors("", 10);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].callback == "probation");
  CHECK_THAT(errors[0].message, Catch::Contains("version 3.0.0-throws rolled back to 1.0.0-a"));
  CHECK(errors[1].callback == "initialize");
  // Rolled back for good: the same file is not published again.
  CHECK(h.offer().outcome == reload::Offer::Outcome::Refused);
  CHECK(h.rl->mapped_images().size() == 1);
}

TEST_CASE("a timer whose execution fails on probation fires again, once, on the old version", "[reload][timers]") {
  Host h("counter_a", {3, 1'000'000}, true);
  h.measure("home", 1, {{"timer", "probe_a|t|500"}});
  const int64_t due = h.clock + 500;
  REQUIRE(h.deliver("counter_throws").outcome == reload::Offer::Outcome::Published);
  h.st->begin();
  CHECK_FALSE(h.rl->run_due("home", due - 1, due - 1));
  CHECK(h.rl->run_due("home", due, due));
  h.ex->flush();
  h.st->commit();

  CHECK(h.version() == "1.0.0-a");
  CHECK(h.rl->history(0).back().state == "rolled back");
  const auto inst = h.st->load_instance("home", "probe_a", "");
  REQUIRE(inst);
  const auto probe = json::parse(schema::BinarySchema::parse(*h.st->load_schema(inst->schema_hash), "probe").to_json(inst->state));
  const auto heard = probe["heard"].get<std::vector<std::string>>();
  CHECK(std::count(heard.begin(), heard.end(), "timer:t@" + std::to_string(due)) == 1);
  CHECK(h.st->load_timers("home").empty());
  const auto errors = h.st->list_errors("", 10);
  REQUIRE_FALSE(errors.empty());
  CHECK(errors[0].callback == "probation");
  CHECK(errors[0].event_ms == due);
}

TEST_CASE("the staged copy serves while the file is overwritten in place; a rebuild at the same path is new code",
          "[reload]") {
  Host h;
  h.measure("home", 2);
  // `cp` over the loaded file, in place: the host runs its private copy.
  write_file(h.plugin, read_file(build_of("counter_b")));
  h.measure("home", 2);
  CHECK(h.state("home")["last_version"] == "1.0.0-a");
  // The new content at the same path is a new version when offered.
  CHECK(h.offer().outcome == reload::Offer::Outcome::Published);
  h.measure("home");
  CHECK(h.state("home")["last_version"] == "1.0.0-b");
  CHECK(h.state("home")["count"] == 5);
}

TEST_CASE("a build with STB_GNU_UNIQUE symbols is reported as pinned, never silently stale", "[reload]") {
  Host h("counter_unique", {1, 1'000'000});
  REQUIRE_FALSE(h.bot->microservices()[0].plugin->unique_symbols().empty());
  h.measure("home");
  REQUIRE(h.deliver("counter_a").outcome == reload::Offer::Outcome::Published);
  h.measure("home");  // passes probation: the old image is unloaded
  const auto &hist = h.rl->history(0);
  CHECK(hist[0].state == "retired");
  CHECK_THAT(hist[0].note, Catch::Contains("pinned") && Catch::Contains("STB_GNU_UNIQUE"));
  CHECK(h.state("home")["last_version"] == "1.0.0-a");  // the new code runs
}

TEST_CASE("50 reloads of alternating builds: at most two images mapped, nothing lost", "[reload]") {
  Host h("counter_a", {2, 1'000'000});
  size_t most = 0;
  for (int i = 0; i < 50; ++i) {
    REQUIRE(h.deliver(i % 2 ? "counter_a" : "counter_b").outcome == reload::Offer::Outcome::Published);
    most = std::max(most, h.rl->mapped_images().size());
    h.measure("home-" + std::to_string(i % 3));
    most = std::max(most, h.rl->mapped_images().size());
    if (i % 5 == 0) h.measure("home-0", 2);
  }
  CHECK(most <= 2);
  CHECK(h.rl->history(0).size() <= 32);  // a host that swaps all day does not grow with it
  int64_t total = 0;
  for (int l = 0; l < 3; ++l) total += h.state("home-" + std::to_string(l))["count"].get<int64_t>();
  CHECK(total == 50 + 10 * 2);
  CHECK(h.st->list_errors("", 10).empty());
}

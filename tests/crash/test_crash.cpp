// Crash containment with real faults: plugin builds that segfault, abort,
// loop forever and allocate without bound, in a supervised `livebot run`
// beside a healthy microservice (crash_host.hpp).
#include <chrono>

#include "crash/crash_host.hpp"

using namespace livebot;
using namespace livebot::test::crash;

namespace {

struct Fault {
  const char *build, *version, *cause;
  const char *timeout;  // the watchdog's bound: long for the hog, which must reach the memory limit first
};

}  // namespace

TEST_CASE("a version that kills the host on probation: back serving on the one before, marked bad, "
          "the event served once, the healthy one intact", "[crash]") {
  const auto fault =
      GENERATE(Fault{"counter_segv", "6.0.0-segv", "crashed the host with signal 11 (SIGSEGV)", "2s"},
               Fault{"counter_abort", "6.0.0-abort", "crashed the host with signal 6 (SIGABRT)", "2s"},
               Fault{"counter_loop", "6.0.0-loop", "ran over the watchdog's bound", "1s"},
               Fault{"counter_hog", "6.0.0-hog", "failed to allocate at the memory limit", "20s"});
  INFO(fault.build);
  CrashHost h("counter_a", {"--callback-timeout", fault.timeout});
  for (int i = 0; i < 3; ++i) REQUIRE(h.send("door").exit_code == 0);
  h.deliver(fault.build, "victim.so");
  const auto reload = cli.run({"reload", "victim", "--socket", h.socket});
  REQUIRE_THAT(reload.out, Catch::Contains("victim: published"));
  const pid_t before = h.host_pid();

  // The client is not answered by the host that died; it sends again, and
  // the host that took over runs the event on the version before.
  const auto boom = h.send("boom");
  INFO(boom.err);
  CHECK(boom.exit_code == 0);
  CHECK_THAT(boom.out, Catch::Contains("executed and committed for home"));
  const auto s = h.serving_after(before);
  CHECK(s["restarts"] == 1);
  CHECK(s["microservices"][1]["version"] == "1.0.0-a");
  CHECK(s["suspended"].empty());
  CHECK(h.count("healthy") == 4);
  CHECK(h.count("victim") == 4);
  CHECK(h.state("victim")["last_version"] == "1.0.0-a");
  for (int i = 0; i < 2; ++i) REQUIRE(h.send("door").exit_code == 0);
  CHECK(h.count("healthy") == 6);
  CHECK(h.count("victim") == 6);

  const auto errors = cli.run({"errors", "--store", h.store});
  INFO(errors.out);
  CHECK_THAT(errors.out, Catch::Contains(std::string("home  victim ") + fault.version + "  crash: version " +
                                         fault.version + " " + fault.cause));
  CHECK_THAT(errors.out, Catch::Contains("in device_measurements_updated at location home; marked bad"));
  {
    auto st = store::open_sqlite_store(h.store, {.create = false, .read_only = true});
    const auto bad = st->bad_versions();
    REQUIRE(bad.size() == 1);
    CHECK(bad[0].microservice == "victim");
    CHECK(bad[0].version == fault.version);
  }
  // Offered again, the bad build is not loaded.
  CHECK_THAT(cli.run({"reload", "victim", "--socket", h.socket}).out, Catch::Contains("refused before"));

  // A restart of its own (not a crash) still does not load it.
  CHECK(h.stop().exit_code == 0);
  h.start();
  const auto again = h.status();
  CHECK(again["restarts"] == 0);
  CHECK(again["microservices"][1]["version"] == "1.0.0-a");
  REQUIRE(h.send("door").exit_code == 0);
  CHECK(h.count("victim") == 7);
  CHECK(h.stop().exit_code == 0);
  CHECK(integrity(h.store) == "ok");
}

TEST_CASE("a build that crashes as it is loaded: marked bad by its bytes, the serving one back from its staged copy",
          "[crash]") {
  CrashHost h;
  for (int i = 0; i < 2; ++i) REQUIRE(h.send("door").exit_code == 0);
  const pid_t before = h.host_pid();
  h.deliver("counter_crash_load", "victim.so");
  // The host dies answering: the reload's client is told it hung up.
  CHECK(cli.run({"reload", "victim", "--socket", h.socket}).exit_code == 1);
  const auto s = h.serving_after(before);
  CHECK(s["microservices"][1]["version"] == "1.0.0-a");
  const auto errors = cli.run({"errors", "--store", h.store});
  CHECK_THAT(errors.out, Catch::Contains("crashed the host with signal 11 (SIGSEGV) while it was loaded; marked bad"));
  REQUIRE(h.send("door").exit_code == 0);
  CHECK(h.count("victim") == 3);
  CHECK(h.count("healthy") == 3);
  CHECK_THAT(cli.run({"reload", "victim", "--socket", h.socket}).out, Catch::Contains("refused before"));
  CHECK(h.host_pid() == s["pid"].get<pid_t>());
}

TEST_CASE("a version with no earlier build is suspended; the others keep serving and its state is kept",
          "[crash]") {
  CrashHost h("counter_segv");
  REQUIRE(h.send("door").exit_code == 0);
  const pid_t before = h.host_pid();
  REQUIRE(h.send("boom").exit_code == 0);
  const auto s = h.serving_after(before);
  REQUIRE(s["suspended"].size() == 1);
  CHECK(s["suspended"][0]["name"] == "victim");
  CHECK(s["microservices"].size() == 1);
  CHECK(h.count("healthy") == 2);
  CHECK(h.count("victim") == 1);
  REQUIRE(h.send("door").exit_code == 0);
  CHECK(h.count("healthy") == 3);
  CHECK(h.count("victim") == 1);
  CHECK_THAT(cli.run({"status", "--socket", h.socket}).out, Catch::Contains("suspended: victim"));

  // A new build at the manifest's path brings it back at the next start.
  CHECK(h.stop().exit_code == 0);
  h.deliver("counter_b", "victim.so");
  h.start();
  CHECK(h.status()["suspended"].empty());
  REQUIRE(h.send("door").exit_code == 0);
  CHECK(h.count("victim") == 2);
}

TEST_CASE("a host that dies before it serves is started again with a growing back-off, then given up", "[crash]") {
  CrashHost h;
  CHECK(h.stop().exit_code == 0);
  h.deliver("counter_crash_load", "victim.so");
  const auto started = std::chrono::steady_clock::now();
  const auto r = cli.run({"run", "--bot", h.bot, "--store", h.store, "--socket", h.socket, "--no-watch"});
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(r.exit_code == 4);
  CHECK_THAT(r.err, Catch::Contains("livebot run: the host died 5 times in a row before serving (last: signal 11 "
                                    "(SIGSEGV)); giving up"));
  // 0.1 + 0.2 + 0.4 + 0.8 s of back-off.
  CHECK(took >= std::chrono::milliseconds(1500));
  CHECK(took < std::chrono::seconds(20));
}

TEST_CASE("a send carrying a client and seq is executed once", "[crash]") {
  CrashHost h;
  const std::string line = R"({"cmd":"send","location":"home","kind":"measurement","client":"c1","seq":1,)"
                           R"("devices":[{"id":"door","type":10014,"params":{"doorStatus":"OPEN"}}]})";
  control::Client c(h.socket);
  const auto first = json::parse(c.request(line));
  CHECK(first["ok"] == true);
  CHECK_FALSE(first.contains("duplicate"));
  const auto second = json::parse(c.request(line));
  CHECK(second["ok"] == true);
  CHECK(second["duplicate"] == true);
  CHECK(h.count("healthy") == 1);
  const auto refused = json::parse(c.request(R"({"cmd":"send","location":"home","kind":"mode","mode":"AWAY",)"
                                             R"("client":"c1"})"));
  CHECK(refused["error"] == "request: 'client' and 'seq' go together");
}

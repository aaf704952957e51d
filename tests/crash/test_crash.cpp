// Crash containment with real faults: plugin builds that segfault, abort,
// loop forever and allocate without bound, in a supervised `livebot run`
// beside a healthy microservice (crash_host.hpp).
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "crash/crash_host.hpp"

using namespace livebot;
using namespace livebot::test;
using namespace livebot::test::crash;

namespace {

struct Fault {
  const char *build, *version, *cause;
  const char *timeout;  // the watchdog's bound: long for the hog, which must reach the memory limit first
};

// `faults`, and the one that needs the memory limit where there is one: a
// sanitized build does not run it at all, rather than count it as passed.
std::vector<Fault> with_memory_fault(std::vector<Fault> faults, Fault hog) {
  if (kMemoryLimited) faults.push_back(hog);
  return faults;
}

// A restart of the host's own, not a crash: the victim serves `version`, the
// next input makes its count `count`, and the store is whole after a stop.
void restart_cleanly(CrashHost &h, const std::string &version, int64_t count) {
  CHECK(h.stop().exit_code == 0);
  h.start();
  const auto s = h.status();
  CHECK(s["restarts"] == 0);
  CHECK(s["microservices"][1]["version"] == version);
  REQUIRE(h.send("door").exit_code == 0);
  CHECK(h.count("victim") == count);
  CHECK(h.stop().exit_code == 0);
  CHECK(integrity(h.store) == "ok");
}

// The victim counts one input; then `build` is copied over it while the
// host is stopped, and the host is started again.
void install_while_stopped(CrashHost &h, const std::string &build) {
  REQUIRE(h.send("door").exit_code == 0);
  CHECK(h.stop().exit_code == 0);
  h.deliver(build, "victim.so");
  h.start();
}

}  // namespace

TEST_CASE("a version that kills the host on probation: back serving on the one before, marked bad, "
          "the event served once, the healthy one intact", "[crash]") {
  const auto fault = GENERATE(from_range(with_memory_fault(
      {Fault{"counter_segv", "6.0.0-segv", "crashed the host with signal 11 (SIGSEGV)", "2s"},
       Fault{"counter_abort", "6.0.0-abort", "crashed the host with signal 6 (SIGABRT)", "2s"},
       Fault{"counter_loop", "6.0.0-loop", "ran over the watchdog's bound", "1s"}},
      Fault{"counter_hog", "6.0.0-hog", "failed to allocate at the memory limit", "20s"})));
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
  restart_cleanly(h, "1.0.0-a", 7);
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
  CHECK(s["kept_aside"].empty());  // suspended, not a microservice the host does not run
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

TEST_CASE("a host that dies before it serves, by nobody's fault, is started again with a growing back-off, then "
          "given up", "[crash]") {
  CrashHost h;
  CHECK(h.stop().exit_code == 0);
  // SIGKILL blames no plugin, even one loading: nothing is marked bad, and
  // every host started dies the same way.
  h.deliver("counter_kill_load", "victim.so");
  const auto started = std::chrono::steady_clock::now();
  const auto r = cli.run({"run", "--bot", h.bot, "--store", h.store, "--socket", h.socket, "--no-watch"});
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(r.exit_code == 4);
  CHECK_THAT(r.err, Catch::Contains("livebot run: the host died 5 times in a row before serving (last: signal 9 "
                                    "(SIGKILL)); giving up"));
  // 0.1 + 0.2 + 0.4 + 0.8 s of back-off.
  CHECK(took >= std::chrono::milliseconds(1500));
  CHECK(took < std::chrono::seconds(20));
  const auto errors = cli.run({"errors", "--store", h.store});
  CHECK_THAT(errors.out, Catch::Contains("crashed the host with signal 9 (SIGKILL) while it was loaded; not the "
                                         "plugin's doing, nothing marked bad"));
  auto st = store::open_sqlite_store(h.store, {.create = false, .read_only = true});
  CHECK(st->bad_versions().empty());
}

TEST_CASE("a host that keeps crashing after it served is given up after --max-crashes in a minute", "[crash]") {
  CrashHost h("counter_a", {"--max-crashes", "2"});
  REQUIRE(h.send("door").exit_code == 0);
  // Ended from outside each time, after serving: restarted at once twice,
  // the third time given up.
  for (int i = 0; i < 3; ++i) {
    const pid_t host = h.host_pid();
    REQUIRE(::kill(host, SIGSEGV) == 0);
    if (i < 2) h.serving_after(host);
  }
  const auto r = Cli::wait(h.pid, h.scratch.path());
  h.pid = -1;
  INFO(r.err);
  CHECK(r.exit_code == 4);
  const std::string line = "livebot run: the host crashed 3 times in 60 s (last: signal 11 (SIGSEGV)); giving up\n";
  CHECK_THAT(r.err, Catch::Contains(line));
  CHECK(r.err.find("giving up") == r.err.rfind("giving up"));  // said once
  CHECK(h.status_or_null().is_null());
  // The store is as the last host left it: every input counted, nothing bad.
  CHECK(h.count("healthy") == 1);
  auto st = store::open_sqlite_store(h.store, {.create = false, .read_only = true});
  CHECK(st->bad_versions().empty());
  CHECK(integrity(h.store) == "ok");
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

TEST_CASE("a build that crashes as it loads at the host's start: marked bad, the build before it serves from its "
          "kept copy, the other microservice serves", "[crash]") {
  const auto fault = GENERATE(from_range(with_memory_fault(
      {Fault{"counter_crash_load", "", "crashed the host with signal 11 (SIGSEGV)", "2s"},
       Fault{"counter_abort_load", "", "crashed the host with signal 6 (SIGABRT)", "2s"},
       Fault{"counter_loop_load", "", "ran over the watchdog's bound", "1s"}},
      Fault{"counter_hog_load", "", "failed to allocate at the memory limit", "20s"})));
  INFO(fault.build);
  CrashHost h("counter_a", {"--callback-timeout", fault.timeout});
  for (int i = 0; i < 2; ++i) REQUIRE(h.send("door").exit_code == 0);
  CHECK(h.stop().exit_code == 0);
  h.deliver(fault.build, "victim.so");
  h.start();  // the first host dies loading it; the next one serves
  const auto s = h.status();
  CHECK(s["restarts"] == 1);
  CHECK(s["suspended"].empty());
  REQUIRE(s["microservices"].size() == 2);
  CHECK(s["microservices"][1]["version"] == "1.0.0-a");
  CHECK_THAT(s["microservices"][1]["file"].get<std::string>(), Catch::EndsWith("/victim.so"));

  std::string hash;
  {
    auto st = store::open_sqlite_store(h.store, {.create = false, .read_only = true});
    const auto bad = st->bad_versions();
    REQUIRE(bad.size() == 1);
    CHECK(bad[0].microservice == "victim");
    hash = bad[0].hash;
  }
  const auto errors = cli.run({"errors", "--store", h.store});
  INFO(errors.out);
  CHECK_THAT(errors.out, Catch::Contains("  victim   crash: the build " + hash.substr(0, 16) + " (" + h.bot +
                                         "/victim.so) " + fault.cause));
  CHECK_THAT(errors.out, Catch::Contains(" while it was loaded; marked bad, not loaded again"));
  for (int i = 0; i < 2; ++i) REQUIRE(h.send("door").exit_code == 0);
  CHECK(h.count("healthy") == 4);
  CHECK(h.count("victim") == 4);
  CHECK_THAT(cli.run({"reload", "victim", "--socket", h.socket}).out, Catch::Contains("refused before"));

  // A restart of its own goes to the kept copy again, without a crash.
  restart_cleanly(h, "1.0.0-a", 5);
}

TEST_CASE("a build that crashes as it loads at start with nothing before it: suspended, the other serves",
          "[crash]") {
  CrashHost h("counter_crash_load");
  const auto s = h.status();
  CHECK(s["restarts"] == 1);
  REQUIRE(s["suspended"].size() == 1);
  CHECK(s["suspended"][0]["name"] == "victim");
  REQUIRE(s["microservices"].size() == 1);
  CHECK(s["microservices"][0]["name"] == "healthy");
  REQUIRE(h.send("door").exit_code == 0);
  CHECK(h.count("healthy") == 1);
  CHECK_THAT(cli.run({"errors", "--store", h.store}).out,
             Catch::Contains("crashed the host with signal 11 (SIGSEGV) while it was loaded; marked bad"));
}

TEST_CASE("kept builds are pruned to what rollback needs; after many swaps the one before still comes back",
          "[crash]") {
  CrashHost h("counter_a", {"--probation", "1", "--probation-seconds", "3600"});
  REQUIRE(h.send("door").exit_code == 0);
  std::vector<std::string> kept = h.kept();
  CHECK(kept.size() == 2);  // each microservice's build serving
  // Twelve builds of other bytes, each past its probation.
  for (int n = 1; n <= 12; ++n) {
    INFO("swap " << n);
    h.deliver(n % 2 ? "counter_b" : "counter_a", "victim.so", "swap " + std::to_string(n));
    REQUIRE_THAT(cli.run({"reload", "victim", "--socket", h.socket}).out, Catch::Contains("victim: published"));
    REQUIRE(h.send("door").exit_code == 0);
    CHECK(h.status()["microservices"][1]["state"] == "serving");
    kept = h.kept();
    CHECK(kept.size() == 3);  // healthy's; victim's serving and the one before
  }
  CHECK(h.count("victim") == 13);
  const std::string last = h.status()["microservices"][1]["version"];
  CHECK(last == "1.0.0-a");

  // The file is overwritten by a build that crashes as it loads: the next
  // start goes back to the last one that served, from its kept copy.
  CHECK(h.stop().exit_code == 0);
  h.deliver("counter_crash_load", "victim.so");
  h.start();
  const auto s = h.status();
  CHECK(s["restarts"] == 1);
  CHECK(s["suspended"].empty());
  CHECK(s["microservices"][1]["version"] == last);
  REQUIRE(h.send("door").exit_code == 0);
  CHECK(h.count("victim") == 14);
  CHECK(h.kept().size() == 3);
}

TEST_CASE("a suspended microservice comes back with a new build on `livebot reload NAME`, on probation", "[crash]") {
  CrashHost h("counter_segv", {"--probation", "2", "--probation-seconds", "3600"});
  REQUIRE(h.send("door").exit_code == 0);
  const pid_t before = h.host_pid();
  REQUIRE(h.send("boom").exit_code == 0);
  REQUIRE(h.serving_after(before)["suspended"].size() == 1);

  // The build that crashed, offered again: refused, still suspended.
  auto r = cli.run({"reload", "victim", "--socket", h.socket});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("victim: refused — victim: " + h.bot + "/victim.so was refused before"));
  // A build whose schema cannot read the state it left: refused by the gate.
  h.deliver("counter_bad", "victim.so");
  r = cli.run({"reload", "victim", "--socket", h.socket});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("schema cannot read the stored state of 'victim'"));
  CHECK_THAT(cli.run({"errors", "--store", h.store}).out,
             Catch::Contains("victim   reload: " + h.bot + "/victim.so: schema cannot read the stored state"));
  CHECK(h.status()["suspended"].size() == 1);
  CHECK(h.count("victim") == 1);

  // A new build: back at once, on probation, with the state it left.
  h.deliver("counter_b", "victim.so");
  r = cli.run({"reload", "victim", "--socket", h.socket});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("victim: published — victim: version 1.0.0-b (generation"));
  CHECK_THAT(r.out, Catch::Contains("back from suspension, on probation, from " + h.bot + "/victim.so"));
  auto s = h.status();
  CHECK(s["suspended"].empty());
  REQUIRE(s["microservices"].size() == 2);
  CHECK(s["microservices"][1]["name"] == "victim");
  CHECK(s["microservices"][1]["state"] == "probation");
  for (int i = 0; i < 2; ++i) REQUIRE(h.send("door").exit_code == 0);
  CHECK(h.count("victim") == 3);
  CHECK(h.count("healthy") == 4);
  CHECK(h.state("victim")["last_version"] == "1.0.0-b");
  s = h.status();
  CHECK(s["microservices"][1]["state"] == "serving");
  CHECK(s["restarts"] == 1);  // the crash that suspended it; none on the way back
  // Past its probation it is kept beside the store, as every build serving.
  const auto kept = h.kept();
  REQUIRE(kept.size() == 2);
  CHECK_THAT(kept[1], Catch::StartsWith("victim-"));

  // The next start loads it from the manifest's file, as any build.
  CHECK(h.stop().exit_code == 0);
  h.start();
  CHECK(h.status()["suspended"].empty());
  REQUIRE(h.send("door").exit_code == 0);
  CHECK(h.count("victim") == 4);
}

TEST_CASE("a suspended microservice comes back when a new build lands in the watched directory", "[crash]") {
  CrashHost h("counter_crash_load", {"--watch"});
  REQUIRE(h.status()["suspended"].size() == 1);
  h.deliver("counter_a", "victim.so");
  json s;
  for (int i = 0; i < 1000; ++i) {
    s = h.status();
    if (s["suspended"].empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(s["suspended"].empty());
  REQUIRE(s["microservices"].size() == 2);
  CHECK(s["microservices"][1]["version"] == "1.0.0-a");
  CHECK(s["microservices"][1]["state"] == "probation");
  REQUIRE(h.send("door").exit_code == 0);
  CHECK(h.count("victim") == 1);
  CHECK(h.count("healthy") == 1);
}

TEST_CASE("a plugin others could write, or not the pinned bytes, is refused with one line at start and on reload; "
          "the store keeps what it held",
          "[crash][security]") {
  CrashHost h;
  REQUIRE(h.send("door").exit_code == 0);
  const std::string victim = h.bot + "/victim.so";
  h.deliver("counter_b", "victim.so");
  ::chmod(victim.c_str(), 0666);
  auto r = cli.run({"reload", "victim", "--socket", h.socket});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("victim: refused — " + victim +
                                    ": refused: plugin file is writable by other users (mode 0666); chmod go-w it"));
  CHECK(h.status()["microservices"][1]["version"] == "1.0.0-a");
  CHECK(h.stop().exit_code == 0);

  const auto run = [&] {
    return cli.run({"run", "--bot", h.bot, "--store", h.store, "--socket", h.socket, "--no-watch"});
  };
  const auto one_line = [](const std::string &err) { return std::count(err.begin(), err.end(), '\n') == 1; };
  r = run();
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains(victim + ": refused: plugin file is writable by other users (mode 0666)"));
  CHECK(one_line(r.err));
  ::chmod(victim.c_str(), 0644);
  ::chmod(h.bot.c_str(), 0777);
  r = run();
  CHECK(r.exit_code == 1);
  // The first plugin in the manifest is the first refused.
  CHECK_THAT(r.err, Catch::Contains(h.bot + "/healthy.so: refused: directory " + h.bot +
                                    " is writable by other users (mode 0777)"));
  CHECK(one_line(r.err));
  ::chmod(h.bot.c_str(), 0755);

  // A pin: only the pinned bytes load.
  auto manifest = json::parse(read_file(h.bot + "/bot.json"));
  manifest["microservices"]["location"][1]["sha256"] = std::string(64, '0');
  write_file(h.bot + "/bot.json", manifest.dump());
  r = run();
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains(victim + ": refused: its SHA-256 is "));
  CHECK_THAT(r.err, Catch::Contains(", the manifest pins " + std::string(64, '0')));
  CHECK(one_line(r.err));

  // Refused before anything ran: no crash recorded, nothing marked bad, the count as it was.
  {
    auto st = store::open_sqlite_store(h.store, {.create = false, .read_only = true});
    CHECK(st->bad_versions().empty());
    for (const auto &e : st->list_errors("", 100)) CHECK(e.callback != "crash");
  }
  CHECK(h.count("victim") == 1);
  manifest["microservices"]["location"][1].erase("sha256");
  write_file(h.bot + "/bot.json", manifest.dump());
  h.start();
  CHECK(h.status()["microservices"][1]["version"] == "1.0.0-b");
  REQUIRE(h.send("door").exit_code == 0);
  CHECK(h.count("victim") == 2);
}

TEST_CASE("a microservice back from suspension that fails on probation has nothing to roll back to: the failure is "
          "recorded, the host serves on, a newer build replaces it",
          "[crash]") {
  CrashHost h("counter_segv", {"--probation", "3", "--probation-seconds", "3600"});
  REQUIRE(h.send("door").exit_code == 0);
  const pid_t before = h.host_pid();
  REQUIRE(h.send("boom").exit_code == 0);
  const pid_t host = h.serving_after(before)["pid"];

  h.deliver("counter_throws", "victim.so");
  REQUIRE(cli.run({"reload", "victim", "--socket", h.socket}).exit_code == 0);
  REQUIRE(h.send("door").exit_code == 0);
  auto s = h.status();
  CHECK(s["pid"] == host);
  CHECK(s["microservices"][1]["version"] == "3.0.0-throws");
  CHECK(s["microservices"][1]["state"] == "probation");
  CHECK(h.count("healthy") == 3);
  CHECK(h.count("victim") == 1);  // its execution failed: nothing of it kept
  CHECK_THAT(cli.run({"errors", "--store", h.store}).out,
             Catch::Contains("victim 3.0.0-throws  initialize: this build always fails in initialize"));

  // A newer build takes its place on probation, and passes.
  h.deliver("counter_b", "victim.so");
  REQUIRE_THAT(cli.run({"reload", "victim", "--socket", h.socket}).out, Catch::Contains("victim: published"));
  for (int i = 0; i < 3; ++i) REQUIRE(h.send("door").exit_code == 0);
  s = h.status();
  CHECK(s["pid"] == host);
  CHECK(s["microservices"][1]["version"] == "1.0.0-b");
  CHECK(s["microservices"][1]["state"] == "serving");
  CHECK(h.count("victim") == 4);
  CHECK(h.count("healthy") == 6);
}

TEST_CASE("a build installed while the host was stopped that crashes in its first callback: the build before it "
          "serves from its kept copy",
          "[crash]") {
  CrashHost h;
  install_while_stopped(h, "counter_segv");
  CHECK(h.status()["microservices"][1]["version"] == "6.0.0-segv");
  const pid_t before = h.host_pid();
  REQUIRE(h.send("boom").exit_code == 0);  // resent to the next host
  const auto s = h.serving_after(before);
  CHECK(s["suspended"].empty());
  CHECK(s["microservices"][1]["version"] == "1.0.0-a");
  CHECK(h.count("victim") == 2);
  CHECK(h.count("healthy") == 2);
  CHECK(h.state("victim")["last_version"] == "1.0.0-a");
  CHECK_THAT(cli.run({"errors", "--store", h.store}).out,
             Catch::Contains("home  victim 6.0.0-segv  crash: version 6.0.0-segv crashed the host with signal 11 "
                             "(SIGSEGV) in device_measurements_updated at location home; marked bad"));
}

TEST_CASE("a build cut short on disk while the host was stopped: the build before it serves, the host starts",
          "[crash][bad-input]") {
  CrashHost h;
  REQUIRE(h.send("door").exit_code == 0);
  CHECK(h.stop().exit_code == 0);
  // Half a build where the manifest points: refused by the ELF check, so
  // the kept copy of the one that served loads instead.
  const std::string whole = read_file(plugins + "/counter_b.so");
  write_file(h.bot + "/victim.so", whole.substr(0, whole.size() / 2));
  h.start();
  const auto s = h.status();
  CHECK(s["suspended"].empty());
  CHECK(s["microservices"][1]["version"] == "1.0.0-a");
  CHECK(s["microservices"][1]["versions"][1]["state"] == "refused");
  CHECK_THAT(cli.run({"errors", "--store", h.store}).out, Catch::Contains(h.bot + "/victim.so: "));
  REQUIRE(h.send("door").exit_code == 0);
  CHECK(h.count("victim") == 2);
  CHECK(h.count("healthy") == 2);
  // The whole build, when it lands, is offered as any new build.
  h.deliver("counter_b", "victim.so");
  const auto reload = cli.run({"reload", "victim", "--socket", h.socket});
  CHECK(reload.exit_code == 0);
  CHECK(h.status()["microservices"][1]["version"] == "1.0.0-b");
  CHECK(h.stop().exit_code == 0);

  // With no build kept before it, not a whole file is refused as any build
  // that does not load: the host does not start, the store as it was.
  write_file(h.bot + "/victim.so", "not a shared object");
  fs::remove_all(h.store + ".kept");
  const auto r = cli.run({"run", "--bot", h.bot, "--store", h.store, "--socket", h.socket, "--no-watch"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains(h.bot + "/victim.so: "));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(h.count("victim") == 2);
}

TEST_CASE("a copied store falls back only on builds that served it: not on the files its marker names elsewhere, "
          "changed since",
          "[crash][bad-input]") {
  CrashHost h;
  REQUIRE(h.send("door").exit_code == 0);
  CHECK(h.stop().exit_code == 0);
  // The deployment copied whole, the marker with it (it names the first
  // one's files); then the first one's victim changes, and the copy's is
  // not a shared object.
  TempDir copy, scratch;
  fs::copy(h.dir.path(), copy.path(), fs::copy_options::recursive);
  h.deliver("counter_v2", "victim.so");
  write_file(copy / "bot/victim.so", "not a shared object");
  const std::string socket = copy / "host.sock";
  const pid_t pid = cli.start({"run", "--bot", copy / "bot", "--store", copy / "store.db", "--socket", socket,
                               "--no-watch", "--no-supervise"},
                              scratch.path());
  REQUIRE(wait_listening(socket));
  const auto s = json::parse(cli.run({"status", "--json", "--socket", socket}).out);
  ::kill(pid, SIGTERM);
  CHECK(Cli::wait(pid, scratch.path()).exit_code == 0);
  // Its own kept copy serves, not the other deployment's new build.
  CHECK(s["microservices"][1]["version"] == "1.0.0-a");
}

TEST_CASE("a build installed while the host was stopped that the schema gate refuses: the build before it serves, "
          "the refusal is recorded; with none before it the host does not start",
          "[crash][bad-input]") {
  CrashHost h;
  // counter_bad changes a field's type: it cannot read the stored count.
  install_while_stopped(h, "counter_bad");
  auto s = h.status();
  CHECK(s["suspended"].empty());
  const auto &victim = s["microservices"][1];
  CHECK(victim["version"] == "1.0.0-a");
  CHECK(victim["file"] == h.bot + "/victim.so");
  const auto &versions = victim["versions"];
  REQUIRE(versions.size() == 2);
  CHECK(versions[1]["state"] == "refused");
  CHECK_THAT(versions[1]["note"].get<std::string>(),
             Catch::Contains("schema cannot read the stored state of 'victim'") &&
                 Catch::Contains("at start; the build that served before it serves"));
  REQUIRE(h.send("door").exit_code == 0);
  CHECK(h.count("victim") == 2);
  CHECK(h.count("healthy") == 2);
  CHECK_THAT(cli.run({"errors", "--store", h.store}).out,
             Catch::Contains("victim") && Catch::Contains("schema cannot read the stored state of 'victim'"));
  // Not tried again until it changes.
  auto r = cli.run({"reload", "victim", "--socket", h.socket});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("was refused before; waiting for it to change"));
  // A compatible build, when it lands, is offered as any new build.
  h.deliver("counter_b", "victim.so");
  r = cli.run({"reload", "victim", "--socket", h.socket});
  CHECK(r.exit_code == 0);
  CHECK(h.status()["microservices"][1]["version"] == "1.0.0-b");
  CHECK(h.stop().exit_code == 0);

  // No earlier build kept: the host refuses to start, in one line, and the
  // store keeps what it held.
  h.deliver("counter_bad", "victim.so");
  fs::remove_all(h.store + ".kept");
  r = cli.run({"run", "--bot", h.bot, "--store", h.store, "--socket", h.socket, "--no-watch"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains(h.bot + "/victim.so: schema cannot read the stored state of 'victim'"));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(h.count("victim") == 2);
  CHECK(integrity(h.store) == "ok");
}

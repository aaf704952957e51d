// The live host as a user runs it: the real `livebot run` process, its real
// control socket, real plugin builds renamed into its bot directory, a real
// store read back afterwards.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "control/client.hpp"
#include "integration/cli_runner.hpp"
#include "schema/schema.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"

using namespace livebot;
using livebot::test::Cli;
using livebot::test::TempDir;
using livebot::test::wait_listening;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const Cli cli(LIVEBOT_CLI);
const std::string plugins = LIVEBOT_TEST_PLUGIN_DIR;

// A live host on a bot of one location microservice, "counter".
struct LiveHost {
  TempDir dir;
  TempDir scratch;
  std::string bot = dir / "bot", store = dir / "store.db", socket = dir / "host.sock";
  pid_t pid = -1;

  explicit LiveHost(const std::string &first = "counter_a", int probation = 3, bool watch = false) {
    fs::create_directories(bot);
    fs::copy_file(plugins + "/" + first + ".so", bot + "/counter.so");
    test::write_file(bot + "/bot.json",
                     json{{"bot", "live-test"},
                          {"version", "1"},
                          {"microservices", {{"location", {{{"name", "counter"}, {"plugin", "counter.so"}}}}}}}
                         .dump());
    std::vector<std::string> args = {"run", "--bot", bot, "--store", store, "--socket", socket, "--probation",
                                      std::to_string(probation), "--probation-seconds", "3600"};
    if (!watch) args.push_back("--no-watch");
    pid = cli.start(args, scratch.path());
    REQUIRE(wait_listening(socket));
  }
  ~LiveHost() {
    if (pid > 0) ::kill(pid, SIGKILL), ::waitpid(pid, nullptr, 0);
  }
  test::CliResult stop() {
    ::kill(pid, SIGTERM);
    const auto r = Cli::wait(pid, scratch.path());
    pid = -1;
    return r;
  }
  // A build lands in the bot directory the way `install` or `cp`+`mv` does it.
  void deliver(const std::string &build) {
    fs::copy_file(plugins + "/" + build + ".so", bot + "/counter.so.tmp", fs::copy_options::overwrite_existing);
    fs::rename(bot + "/counter.so.tmp", bot + "/counter.so");
  }
  json ask(const std::string &line) {
    control::Client c(socket);
    return json::parse(c.request(line));
  }
  static std::string measurement(const std::string &location, int64_t ts) {
    return json{{"cmd", "send"}, {"location", location}, {"kind", "measurement"}, {"timestamp_ms", ts},
                {"devices", {{{"id", "door"}, {"type", 10014}, {"params", {{"doorStatus", "OPEN"}}}}}}}
        .dump();
  }
  int64_t count(const std::string &location) {
    auto st = store::open_sqlite_store(store, {.create = false, .read_only = true});
    const auto inst = st->load_instance(location, "counter", "");
    if (!inst) return 0;
    const auto bfbs = st->load_schema(inst->schema_hash);
    REQUIRE(bfbs);
    return json::parse(schema::BinarySchema::parse(*bfbs, "test").to_json(inst->state)).value("count", int64_t{0});
  }
};

}  // namespace

TEST_CASE("livebot run serves send, status and reload on a 0600 socket and drains on SIGTERM", "[live]") {
  LiveHost h;
  struct stat st{};
  REQUIRE(::stat(h.socket.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  const auto sent = cli.run({"send", "home", "--socket", h.socket, "-d", "door", "-t", "10014", "-p", "doorStatus=OPEN"});
  INFO(sent.err);
  CHECK(sent.exit_code == 0);
  CHECK_THAT(sent.out, Catch::Contains("executed and committed for home"));
  CHECK(cli.run({"send", "home", "--socket", h.socket, "--mode", "AWAY"}).exit_code == 0);

  auto status = json::parse(cli.run({"status", "--json", "--socket", h.socket}).out);
  CHECK(status["executions"] == 2);
  CHECK(status["microservices"][0]["version"] == "1.0.0-a");
  CHECK(status["mapped_images"].size() == 1);

  h.deliver("counter_b");
  const auto reload = cli.run({"reload", "--socket", h.socket});
  CHECK(reload.exit_code == 0);
  CHECK_THAT(reload.out, Catch::Contains("counter: published"));
  status = json::parse(cli.run({"status", "--json", "--socket", h.socket}).out);
  CHECK(status["microservices"][0]["version"] == "1.0.0-b");
  CHECK(status["microservices"][0]["state"] == "probation");
  CHECK(status["mapped_images"].size() == 2);
  CHECK(cli.run({"status", "--socket", h.socket}).out.find("standby: 1.0.0-a") != std::string::npos);

  // A refused build: the command says so and exits 1; the host serves on.
  h.deliver("counter_bad");
  const auto refused = cli.run({"reload", "counter", "--socket", h.socket});
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.out, Catch::Contains("refused") && Catch::Contains("type changed"));
  const auto refused_json = cli.run({"reload", "counter", "--json", "--socket", h.socket});
  CHECK(refused_json.exit_code == 1);
  CHECK(json::parse(refused_json.out)["results"][0]["outcome"] == "refused");

  // Inputs queued when SIGTERM arrives are still executed and committed.
  {
    control::Client c(h.socket);
    for (int i = 0; i < 200; ++i) c.send_line(LiveHost::measurement("home", 10'000 + i));
    CHECK(json::parse(c.read_line())["ok"] == true);
    ::kill(h.pid, SIGTERM);
    int answered = 1;
    try {
      for (; answered < 200; ++answered) CHECK(json::parse(c.read_line())["ok"] == true);
    } catch (const std::exception &) {
    }
    CHECK(answered == 200);
  }
  const auto r = h.stop();
  CHECK(r.exit_code == 0);
  CHECK(h.count("home") == 201);
  CHECK_FALSE(fs::exists(h.socket));
  const auto errors = json::parse(cli.run({"errors", "--json", "--store", h.store}).out);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0]["callback"] == "reload");
}

TEST_CASE("bad requests get a one-line refusal and the host serves on", "[live][bad-input]") {
  LiveHost h;
  for (const char *bad : {"not json", "[]", R"({"cmd":"launch"})", R"({"cmd":"send","location":"x","kind":"teleport"})",
                          R"({"cmd":"send","location":"x","kind":"measurement"})",
                          R"({"cmd":"send","location":"x","kind":"measurement","devices":[{"id":"d","type":-1}]})",
                          R"({"cmd":"reload","microservice":"nope"})"}) {
    const auto r = h.ask(bad);
    INFO(bad);
    CHECK(r["ok"] == false);
    CHECK(r["error"].get<std::string>().find('\n') == std::string::npos);
  }
  // Control characters in an id, a NUL above all, are refused with the byte.
  auto r = h.ask(R"({"cmd":"send","location":"a\u0000b","kind":"mode","mode":"HOME"})");
  CHECK(r["ok"] == false);
  CHECK(r["error"] == "request: 'location' has a control character (0x00) at byte 1");
  r = h.ask(R"({"cmd":"send","location":"x","kind":"measurement","devices":[{"id":"d","type":1,"params":{"a\tb":"1"}}]})");
  CHECK(r["error"] == "request: devices[0]: a param name has a control character (0x09) at byte 1");
  r = h.ask(R"({"cmd":"send","location":"x","kind":"measurement","devices":[{"id":"d","type":1,"params":{"a":"1"},"updated":["a\u0000"]}]})");
  CHECK(r["error"] == "request: devices[0]: a name in 'updated' has a control character (0x00) at byte 1");
  // A line over the limit: `livebot send` prints the host's reason, not a broken pipe.
  const std::string long_line = h.dir / "long.jsonl";
  test::write_file(long_line, R"({"cmd":"send","location":"x","kind":"mode","mode":")" + std::string(2 << 20, 'a') + "\"}\n");
  auto sent = cli.run({"send", "--lines", long_line, "--socket", h.socket});
  CHECK(sent.exit_code == 1);
  CHECK_THAT(sent.err, Catch::Contains("request 1: request: a line is longer than"));
  CHECK_THAT(sent.out, Catch::Contains("0 of 1 inputs executed"));
  CHECK(h.ask(LiveHost::measurement("home", 1))["ok"] == true);
  // A second host on the same socket or the same store is refused.
  const auto second = cli.run({"run", "--bot", h.bot, "--store", h.dir / "other.db", "--socket", h.socket});
  CHECK(second.exit_code == 1);
  CHECK_THAT(second.err, Catch::Contains("another livebot host is serving on this socket"));
  CHECK_FALSE(fs::exists(h.dir / "other.db"));  // refused before it created anything
  const auto third = cli.run({"run", "--bot", h.bot, "--store", h.store, "--socket", h.dir / "other.sock"});
  CHECK(third.exit_code == 1);
  CHECK_THAT(third.err, Catch::Contains("in use"));
  // No host there: one line, exit 1.
  const auto none = cli.run({"status", "--socket", h.dir / "nobody.sock"});
  CHECK(none.exit_code == 1);
  CHECK_THAT(none.err, Catch::Contains("no livebot host answers here"));
  const auto dir = cli.run({"status", "--socket", h.dir.path()});
  CHECK(dir.exit_code == 1);
  CHECK_THAT(dir.err, Catch::Contains(h.dir.path() + ": is a directory, not a host's socket"));
  CHECK(h.stop().exit_code == 0);
}

TEST_CASE("a request the host hung up on before it was out still gets the host's answer", "[live][client]") {
  // What a refused connection sees when the host is quicker than the client:
  // the reason is written and the socket closed before the request is sent.
  TempDir dir;
  const std::string path = dir / "refusing.sock";
  const int server = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::bind(server, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(server, 1) == 0);
  control::Client c(path, 5000);
  const int peer = ::accept(server, nullptr, nullptr);
  const std::string reason = "{\"ok\":false,\"error\":\"control: uid 65534 may not use this host\"}\n";
  REQUIRE(::write(peer, reason.data(), reason.size()) == ssize_t(reason.size()));
  ::close(peer);
  ::close(server);
  CHECK(json::parse(c.request(R"({"cmd":"status"})"))["error"] == "control: uid 65534 may not use this host");
}

TEST_CASE("another user is refused by the socket's mode, and by its uid when the mode is opened", "[live][security]") {
  if (::getuid() != 0) {
    WARN("not root: cannot connect as another user; skipped");
    return;
  }
  LiveHost h;
  const auto connect_as_nobody = [&]() {
    const pid_t pid = ::fork();
    if (pid == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
      try {
        control::Client c(h.socket, 5000);
        // A refused peer is told why before the host hangs up; it need not ask.
        const auto r = json::parse(c.read_line());
        ::_exit(r["ok"] == false && r["error"].get<std::string>().find("uid 65534 may not use this host") !=
                                        std::string::npos
                    ? 1
                    : 0);
      } catch (const std::exception &) {
        ::_exit(2);  // could not connect or was hung up on
      }
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WEXITSTATUS(status);
  };
  CHECK(connect_as_nobody() == 2);  // 0600: not even a connection
  ::chmod(h.socket.c_str(), 0666);
  CHECK(connect_as_nobody() == 1);  // connected, and refused by SO_PEERCRED
  CHECK(h.ask(R"({"cmd":"status"})")["ok"] == true);
}

TEST_CASE("under a continuous stream for many locations, repeated swaps apply every event exactly once",
          "[live][guarantee]") {
  LiveHost h("counter_a", 5);
  constexpr int kLocations = 20, kEvents = 3000;
  std::atomic<int> answered{0}, failed{0};
  std::thread sender([&] {
    control::Client c(h.socket);
    // Pipelined in bursts, so inputs are waiting whenever a swap happens.
    for (int i = 0; i < kEvents; i += 100) {
      for (int j = i; j < i + 100; ++j) c.send_line(LiveHost::measurement("home-" + std::to_string(j % kLocations), j));
      for (int j = i; j < i + 100; ++j) {
        const auto r = json::parse(c.read_line());
        ++answered;
        if (r["ok"] != true || r["failed"] != 0) ++failed;
      }
    }
  });
  int swaps = 0;
  for (int i = 0; answered < kEvents && i < 400; ++i) {
    h.deliver(i % 2 ? "counter_a" : "counter_b");
    const auto r = h.ask(R"({"cmd":"reload"})");
    if (r["results"][0]["outcome"] == "published") ++swaps;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  sender.join();
  const auto status = h.ask(R"({"cmd":"status"})");
  CHECK(status["mapped_images"].size() <= 2);
  CHECK(h.stop().exit_code == 0);
  CHECK(answered == kEvents);
  CHECK(failed == 0);
  CHECK(swaps >= 5);
  int64_t total = 0;
  for (int l = 0; l < kLocations; ++l) total += h.count("home-" + std::to_string(l));
  CHECK(total == kEvents);
  CHECK(json::parse(cli.run({"errors", "--json", "--store", h.store}).out).empty());
}

TEST_CASE("a version that throws live is rolled back and the event served by the old one", "[live][rollback]") {
  LiveHost h;
  CHECK(h.ask(LiveHost::measurement("home", 1))["ok"] == true);
  h.deliver("counter_throws");
  CHECK(h.ask(R"({"cmd":"reload"})")["results"][0]["outcome"] == "published");
  const auto r = h.ask(LiveHost::measurement("home", 2));
  CHECK(r["ok"] == true);
  CHECK(r["failed"] == 0);  // the re-run on the old version succeeded
  const auto status = h.ask(R"({"cmd":"status"})");
  CHECK(status["microservices"][0]["version"] == "1.0.0-a");
  CHECK(status["microservices"][0]["versions"][1]["state"] == "rolled back");
  CHECK(h.stop().exit_code == 0);
  CHECK(h.count("home") == 2);
  const auto errors = json::parse(cli.run({"errors", "--json", "--store", h.store}).out);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0]["callback"] == "probation");
}

TEST_CASE("the watcher swaps a build renamed in or copied over, and a deleted file keeps serving", "[live][watch]") {
  LiveHost h("counter_a", 3, /*watch=*/true);
  const auto generation = [&](const std::string &location, int64_t ts) {
    const auto r = h.ask(LiveHost::measurement(location, ts));
    REQUIRE(r["ok"] == true);
    return r["generations"][0].get<int64_t>();
  };
  // Waits (up to 10 s) until an input is served by a build other than `old`.
  const auto served_after = [&](int64_t old, int64_t &ts) {
    for (int i = 0; i < 1000; ++i) {
      const auto g = generation("home", ++ts);
      if (g != old) return g;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return old;
  };
  int64_t ts = 0;
  const auto g1 = generation("home", ++ts);
  h.deliver("counter_b");  // cp + mv, as install tools and lld do
  const auto g2 = served_after(g1, ts);
  CHECK(g2 != g1);
  // cp over the file in place: the host maps its own copy, and the new bytes
  // are a new build once they are whole.
  test::write_file(h.bot + "/counter.so", test::read_file(plugins + "/counter_a.so"));
  const auto g3 = served_after(g2, ts);
  CHECK(g3 != g2);
  fs::remove(h.bot + "/counter.so");
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  CHECK(generation("home", ++ts) == g3);
  const auto status = h.ask(R"({"cmd":"status"})");
  CHECK(status["watching"].size() == 1);
  CHECK(h.stop().exit_code == 0);
  CHECK(h.count("home") == ts);
  CHECK_THAT(test::read_file(h.scratch / "err"), Catch::Contains("its staged copy keeps serving"));
}

TEST_CASE("livebot dev rebuilds on an edit, replays the recording and shows what changed", "[dev]") {
  TempDir dir;
  const std::string bot = dir / "bot", src = dir / "src";
  fs::create_directories(bot);
  fs::create_directories(src);
  fs::copy_file(plugins + "/counter_a.so", bot + "/counter.so");
  test::write_file(bot + "/bot.json",
                   R"({"bot":"dev-test","version":"1","microservices":{"location":[{"name":"counter","plugin":"counter.so"}]}})");
  test::write_file(src + "/counter.cpp", "// v1\n");
  // The "build" drops in a version that fails in every execution.
  const std::string build = "cp '" + plugins + "/counter_throws.so' '" + bot + "/counter.so.tmp' && mv '" + bot +
                            "/counter.so.tmp' '" + bot + "/counter.so'";
  TempDir scratch;
  const pid_t pid = cli.start({"dev", "--bot", bot, "--recording", LIVEBOT_SAMPLE_RECORDING, "--source", src,
                               "--build-cmd", build, "--out", dir / "out", "--debounce-ms", "50", "--cycles", "1"},
                              scratch.path());
  for (int i = 0; i < 500 && test::read_file(scratch / "out").find("watching") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  test::write_file(src + "/counter.cpp", "// v2\n");
  const auto r = Cli::wait(pid, scratch.path());
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("changed: " + src + "/counter.cpp"));
  CHECK_THAT(r.out, Catch::Contains("build succeeded"));
  CHECK_THAT(r.out, Catch::Contains("counter 1.0.0-a -> 3.0.0-throws"));
  CHECK_THAT(r.out, Catch::Contains("errors                       0 -> "));
}

TEST_CASE("live timers fire in real time, and data streams and device removals come in from outside",
          "[live][timers]") {
  TempDir dir, scratch;
  const std::string bot = dir / "bot", socket = dir / "host.sock", store = dir / "store.db";
  fs::create_directories(bot);
  fs::copy_file(plugins + "/probe_a.so", bot + "/probe_a.so");
  test::write_file(bot + "/bot.json",
                   R"({"bot":"timers","version":"1","triggers":330,"microservices":{"location":[{"name":"probe_a","plugin":"probe_a.so"}]}})");
  const pid_t pid = cli.start({"run", "--bot", bot, "--store", store, "--socket", socket, "--no-watch"}, scratch.path());
  REQUIRE(wait_listening(socket));
  const auto ask = [&](const json &req) {
    control::Client c(socket);
    return json::parse(c.request(req.dump()));
  };
  const auto heard = [&]() {
    auto st = store::open_sqlite_store(store, {.create = false, .read_only = true});
    const auto inst = st->load_instance("home", "probe_a", "");
    REQUIRE(inst);
    const auto bfbs = st->load_schema(inst->schema_hash);
    return json::parse(schema::BinarySchema::parse(*bfbs, "t").to_json(inst->state))["heard"].dump();
  };
  CHECK(ask({{"cmd", "send"}, {"location", "home"}, {"kind", "measurement"},
             {"devices", {{{"id", "door"}, {"type", 10014}, {"params", {{"timer", "probe_a|soon|300"}}}}}}})["ok"] ==
        true);
  for (int i = 0; i < 300 && heard().find("timer:soon@") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK_THAT(heard(), Catch::Contains("timer:soon@"));
  CHECK(ask({{"cmd", "send"}, {"location", "home"}, {"kind", "datastream"}, {"address", "alarm"}, {"content", "on"}})["ok"] ==
        true);
  CHECK(ask({{"cmd", "send"}, {"location", "home"}, {"kind", "device_removed"}, {"device", "door"}})["ok"] == true);
  ::kill(pid, SIGTERM);
  CHECK(Cli::wait(pid, scratch.path()).exit_code == 0);
  const auto h = heard();
  CHECK_THAT(h, Catch::Contains("alarm") && Catch::Contains("deleted:door"));
}

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

  explicit LiveHost(const std::string &first = "counter_a", int probation = 3) {
    fs::create_directories(bot);
    fs::copy_file(plugins + "/" + first + ".so", bot + "/counter.so");
    test::write_file(bot + "/bot.json",
                     json{{"bot", "live-test"},
                          {"version", "1"},
                          {"microservices", {{"location", {{{"name", "counter"}, {"plugin", "counter.so"}}}}}}}
                         .dump());
    pid = cli.start({"run", "--bot", bot, "--store", store, "--socket", socket, "--probation",
                     std::to_string(probation), "--probation-seconds", "3600"},
                    scratch.path());
    for (int i = 0; i < 500 && !fs::exists(socket); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(fs::exists(socket));
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
  CHECK(h.ask(LiveHost::measurement("home", 1))["ok"] == true);
  // A second host on the same socket or the same store is refused.
  const auto second = cli.run({"run", "--bot", h.bot, "--store", h.dir / "other.db", "--socket", h.socket});
  CHECK(second.exit_code == 1);
  CHECK_THAT(second.err, Catch::Contains("another livebot host is serving on this socket"));
  const auto third = cli.run({"run", "--bot", h.bot, "--store", h.store, "--socket", h.dir / "other.sock"});
  CHECK(third.exit_code == 1);
  CHECK_THAT(third.err, Catch::Contains("in use"));
  // No host there: one line, exit 1.
  const auto none = cli.run({"status", "--socket", h.dir / "nobody.sock"});
  CHECK(none.exit_code == 1);
  CHECK_THAT(none.err, Catch::Contains("no livebot host answers here"));
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
        const auto r = json::parse(c.request(R"({"cmd":"status"})"));
        ::_exit(r["ok"] == true ? 0 : 1);
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

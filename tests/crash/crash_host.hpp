// A supervised `livebot run` for the crash tests: the real binary, its real
// supervisor and control socket, a bot of two location microservices built
// from the counter plugin ("healthy" and "victim"), and its real store read
// back with SQLite's own checks.
#pragma once

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "control/client.hpp"
#include "integration/cli_runner.hpp"
#include "schema/schema.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"

namespace livebot::test::crash {

using nlohmann::json;
namespace fs = std::filesystem;

inline const Cli cli(LIVEBOT_CLI);
inline const std::string plugins = LIVEBOT_TEST_PLUGIN_DIR;

// ASan reserves terabytes of address space as a process starts, so a host
// under it cannot run with an RLIMIT_AS: a sanitized build starts its hosts
// without --memory-limit and leaves out the tests of reaching it.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kMemoryLimited = false;
#else
inline constexpr bool kMemoryLimited = true;
#endif

// ASan turns a fault signal in a host into a report and exit status 1; the
// supervisor must see the signal itself, as it does in a normal build. The
// hosts started from here on let it through; this process keeps ASan's
// handlers, read when it started.
inline void let_fault_signals_through() {
#if defined(__SANITIZE_ADDRESS__)
  static const bool done = [] {
    const char *now = std::getenv("ASAN_OPTIONS");
    const std::string options = std::string(now ? now : "") + ":handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0";
    return ::setenv("ASAN_OPTIONS", options.c_str(), 1) == 0;
  }();
  (void)done;
#endif
}

struct CrashHost {
  TempDir dir;
  TempDir scratch;
  std::string bot = dir / "bot", store = dir / "store.db", socket = dir / "host.sock";
  std::vector<std::string> extra;
  pid_t pid = -1;  // the supervisor's

  explicit CrashHost(const std::string &victim = "counter_a", std::vector<std::string> more = {})
      : extra(std::move(more)) {
    fs::create_directories(bot);
    fs::copy_file(plugins + "/counter_a.so", bot + "/healthy.so");
    fs::copy_file(plugins + "/" + victim + ".so", bot + "/victim.so");
    write_file(bot + "/bot.json",
               json{{"bot", "crash-test"},
                    {"version", "1"},
                    {"microservices",
                     {{"location",
                       {{{"name", "healthy"}, {"plugin", "healthy.so"}}, {{"name", "victim"}, {"plugin", "victim.so"}}}}}}}
                   .dump());
    start();
  }
  ~CrashHost() {
    if (pid > 0) {
      const auto s = status_or_null();
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      if (s.is_object()) ::kill(s["pid"].get<pid_t>(), SIGKILL);
    }
  }

  // `extra` may set its own probation, and "--watch" to watch the plugins.
  void start() {
    let_fault_signals_through();
    const auto has = [&](const std::string &flag) {
      return std::find(extra.begin(), extra.end(), flag) != extra.end();
    };
    std::vector<std::string> args = {"run", "--bot", bot, "--store", store, "--socket", socket};
    if (kMemoryLimited) args.insert(args.end(), {"--memory-limit", "512M"});
    if (!has("--probation")) args.insert(args.end(), {"--probation", "1000", "--probation-seconds", "3600"});
    if (!has("--watch")) args.push_back("--no-watch");
    std::copy_if(extra.begin(), extra.end(), std::back_inserter(args), [](const auto &a) { return a != "--watch"; });
    pid = cli.start(args, scratch.path());
    REQUIRE(status()["ok"] == true);
  }
  CliResult stop() {
    ::kill(pid, SIGTERM);
    const auto r = Cli::wait(pid, scratch.path());
    pid = -1;
    return r;
  }

  json status_or_null() const {
    try {
      control::Client c(socket, 2000);
      return json::parse(c.request(R"({"cmd":"status"})"));
    } catch (const Error &) {
      return nullptr;
    }
  }
  // The status once the host answers (it may be restarting).
  json status(int64_t timeout_ms = 10'000) const {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      auto s = status_or_null();
      if (s.is_object() || std::chrono::steady_clock::now() > until) return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  pid_t host_pid() const { return status()["pid"].get<pid_t>(); }
  // Waits for a host process other than `old` to serve.
  json serving_after(pid_t old) const {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
      auto s = status(20'000);
      if (s.is_object() && s["pid"].get<pid_t>() != old) return s;
      INFO("livebot run's stderr:\n" << read_file(scratch / "err"));
      REQUIRE(std::chrono::steady_clock::now() < until);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  // `livebot send`: a measurement of `device`, resent if the host hangs up.
  CliResult send(const std::string &device) const {
    return cli.run({"send", "home", "--socket", socket, "-d", device, "-t", "10014", "-p", "doorStatus=OPEN"});
  }
  // Puts a build in place as a complete file at once; `trailer`, appended
  // after the ELF image, makes a build of other bytes from the same code.
  void deliver(const std::string &build, const std::string &as, const std::string &trailer = "") const {
    write_file(bot + "/" + as + ".tmp", read_file(plugins + "/" + build + ".so") + trailer);
    fs::rename(bot + "/" + as + ".tmp", bot + "/" + as);
  }
  // The copies of earlier builds kept beside the store.
  std::vector<std::string> kept() const {
    std::vector<std::string> out;
    if (fs::exists(store + ".kept"))
      for (const auto &e : fs::directory_iterator(store + ".kept")) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

  json state(const std::string &ms) const {
    auto st = store::open_sqlite_store(store, {.create = false, .read_only = true});
    const auto inst = st->load_instance("home", ms, "");
    if (!inst) return json::object();
    const auto bfbs = st->load_schema(inst->schema_hash);
    REQUIRE(bfbs);
    return json::parse(schema::BinarySchema::parse(*bfbs, "test").to_json(inst->state));
  }
  int64_t count(const std::string &ms) const { return state(ms).value("count", int64_t{0}); }
};

// SQLite's own verdict on the file: "ok" when every page and index holds.
inline std::string integrity(const std::string &path) {
  sqlite3 *db = nullptr;
  std::string verdict;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_exec(
        db, "PRAGMA integrity_check",
        [](void *out, int, char **values, char **) {
          auto &v = *static_cast<std::string *>(out);
          v += (v.empty() ? "" : "; ") + std::string(values[0] ? values[0] : "");
          return 0;
        },
        &verdict, nullptr);
  } else {
    verdict = sqlite3_errmsg(db);
  }
  sqlite3_close(db);
  return verdict;
}

}  // namespace livebot::test::crash

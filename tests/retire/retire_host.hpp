// A real `livebot run` for retirement tests: its bot directory holds copies
// of the plugins (so a test may delete one), bot.json is rewritten the way
// an operator edits it, and the store is read back with SQLite itself.
#pragma once

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "control/client.hpp"
#include "integration/cli_runner.hpp"
#include "support/temp_dir.hpp"

namespace livebot::test {

using nlohmann::json;

inline const Cli retire_cli(LIVEBOT_CLI);

struct RetireHost {
  TempDir dir;
  std::string bot = dir / "bot", store = dir / "store.db", socket = dir / "host.sock";
  json manifest;
  pid_t pid = -1;
  int starts = 0;
  std::string scratch;  // of the current process: out, err

  // The plugin files are copied into the bot directory; `m` is bot.json,
  // naming them relative to it.
  RetireHost(json m, const std::vector<std::string> &plugin_files) : manifest(std::move(m)) {
    std::filesystem::create_directories(bot);
    for (const auto &f : plugin_files)
      std::filesystem::copy_file(f, bot + "/" + std::filesystem::path(f).filename().string());
    write_manifest(manifest);
  }
  ~RetireHost() {
    if (pid > 0) ::kill(pid, SIGKILL), ::waitpid(pid, nullptr, 0);
  }

  void write_manifest(const json &m) {
    // Whole or not at all, as an editor saves it.
    write_file(bot + "/bot.json.tmp", m.dump(2));
    std::filesystem::rename(bot + "/bot.json.tmp", bot + "/bot.json");
  }
  // bot.json without microservice `name`.
  void drop(const std::string &name) {
    json m = manifest;
    for (auto &[kind, list] : m["microservices"].items()) {
      json kept = json::array();
      for (const auto &e : list)
        if (e["name"] != name) kept.push_back(e);
      list = kept;
    }
    write_manifest(m);
  }

  // Unsupervised: a kill9() is the host's own death, with no supervisor to
  // start it again behind the test's back.
  void start(const std::string &rate) {
    scratch = dir / ("run" + std::to_string(++starts));
    std::filesystem::create_directories(scratch);
    std::filesystem::remove(socket);  // left by a killed host
    pid = retire_cli.start({"run", "--bot", bot, "--store", store, "--socket", socket, "--retire-rate", rate,
                            "--debounce-ms", "30", "--log-level", "info", "--no-supervise"},
                           scratch);
    REQUIRE(wait_listening(socket));
  }
  CliResult stop() {
    ::kill(pid, SIGTERM);
    const auto r = Cli::wait(pid, scratch);
    pid = -1;
    return r;
  }
  void kill9() {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    pid = -1;
  }

  json ask(const json &req) const {
    control::Client c(socket);
    return json::parse(c.request(req.dump()));
  }
  json retirement(const std::string &name) const {
    const json status = ask({{"cmd", "status"}});
    for (const auto &r : status["retirements"])
      if (r["name"] == name) return r;
    return nullptr;
  }
  // Polls until `done` holds, for at most `seconds`.
  static bool wait_until(const std::function<bool()> &done, int seconds = 30) {
    for (int i = 0; i < seconds * 100; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done();
  }
  bool wait_retired(const std::string &name, int seconds = 60) const {
    return wait_until([&] {
      const auto r = retirement(name);
      return r.is_object() && r["state"] == "retired";
    }, seconds);
  }

  // The rows of a query on the store, each row's columns joined by '|'.
  std::vector<std::string> rows(const std::string &sql) const {
    sqlite3 *db = nullptr;
    REQUIRE(sqlite3_open_v2(store.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt *s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    std::vector<std::string> out;
    while (sqlite3_step(s) == SQLITE_ROW) {
      std::string row;
      for (int c = 0; c < sqlite3_column_count(s); ++c) {
        if (c) row += '|';
        const auto *p = static_cast<const char *>(sqlite3_column_blob(s, c));
        row.append(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(s, c)));
      }
      out.push_back(std::move(row));
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
  }
  int64_t count(const std::string &sql) const { return std::stoll(rows(sql).at(0)); }
};

}  // namespace livebot::test

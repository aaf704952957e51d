// Playback through the real `livebot` binary, as the integration tests drive
// it: a run's JSON summary, a location's stored memory, its notifications,
// and a run killed with SIGKILL at random moments and resumed to its end.
#pragma once

#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "integration/cli_runner.hpp"
#include "support/temp_dir.hpp"

namespace livebot::test {

inline const Cli &livebot_cli() {
  static const Cli cli(LIVEBOT_CLI);
  return cli;
}

// `livebot playback --json -q ARGS...`, which must succeed.
inline nlohmann::json play(const std::vector<std::string> &args) {
  std::vector<std::string> full = {"playback", "--json", "-q"};
  full.insert(full.end(), args.begin(), args.end());
  const auto r = livebot_cli().run(full);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

// `livebot state LOCATION --json`: instances, timers, variables.
inline nlohmann::json stored_state(const std::string &store, const std::string &location) {
  const auto r = livebot_cli().run({"state", location, "--json", "--store", store});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

// One instance's state in stored_state()'s answer.
inline nlohmann::json instance_state(const nlohmann::json &state, const std::string &microservice,
                                     const std::string &device = "") {
  for (const auto &i : state["instances"])
    if (i["microservice"] == microservice && i["device"] == device) return i["state"];
  FAIL("no instance of " << microservice << " [" << device << "]");
  return {};
}

// A playback's notifications.jsonl, in order.
inline std::vector<nlohmann::json> notifications(const std::string &out_dir) {
  std::ifstream in(out_dir + "/notifications.jsonl");
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

// Runs `args` (a `playback` command line with --store and --resume) and
// kills it with SIGKILL at `attempts` random moments of a run that takes
// about `wall_seconds`, then lets it finish. Returns how many kills landed
// before the run ended by itself.
inline int kill_and_resume(const std::vector<std::string> &args, double wall_seconds, int attempts, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> at(0.05, 0.95);
  int kills = 0;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    TempDir scratch;
    const pid_t pid = livebot_cli().start(args, scratch.path());
    std::this_thread::sleep_for(std::chrono::duration<double>(wall_seconds * at(rng)));
    ::kill(pid, SIGKILL);
    if (Cli::wait(pid, scratch.path()).exit_code == -SIGKILL) ++kills;
  }
  const auto last = livebot_cli().run(args);
  INFO(last.err);
  REQUIRE(last.exit_code == 0);
  return kills;
}

}  // namespace livebot::test

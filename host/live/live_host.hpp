// The live host: one bot on a libuv loop, its memory in the store, inputs
// and commands on the control socket, new builds offered to the reloader
// between executions.
//
// Promises:
//  - Each input is one execution, committed before its sender is answered;
//    inputs run in the order they arrived, and inputs that arrive while a
//    new version is being checked wait and then run on what was published.
//  - A plugin file that changes on disk is offered to the reloader once its
//    build is complete (watch/watcher.hpp); one that disappears leaves its
//    staged copy serving, with a warning.
//  - bot.json is watched too: a microservice it no longer names is retired
//    (retire/retirer.hpp), one it names again has its retirement cancelled.
//  - SIGTERM or SIGINT: no new connections, every queued input is still
//    executed and committed, then run() returns 0.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "reload/reloader.hpp"

namespace livebot::live {

struct LiveOptions {
  std::string bot_dir;
  std::string store_path = "livebot.db";
  std::string socket_path = "livebot.sock";
  std::string timezone = "UTC";  // for locations the host has not seen before
  reload::ProbationPolicy probation;
  // Watching the plugins' directories: a new build is offered on its own.
  bool watch = true;
  int64_t debounce_ms = 150;
  bool poll_only = false;  // file systems without inotify
  // Retirement: locations purged per second by the sweep (0: unbounded).
  double retire_rate = 100;
};

class LiveHost {
 public:
  // Loads the bot and opens the store and the socket; throws livebot::Error.
  explicit LiveHost(const LiveOptions &opts);
  ~LiveHost();

  // Serves until SIGTERM/SIGINT (or stop()); returns the exit code.
  int run();
  // Asks run() to drain and return, from the loop thread.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace livebot::live

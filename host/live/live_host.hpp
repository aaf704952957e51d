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
//  - A microservice whose plugin file is missing at start does not stop the
//    host: its stored state is kept aside, the others run, and it is loaded
//    with its state when the file appears.
//  - SIGTERM or SIGINT: no new connections, every queued input is still
//    executed and committed, then run() returns 0.
//  - A send carrying a client and seq is executed once per seq: one at or
//    below the client's last committed seq is answered as a duplicate.
//  - Crash containment (docs/RELIABILITY.md): every plugin call is named in
//    the in-flight marker beside the store and bounded by the watchdog; at
//    start the host recovers from what its predecessor left there
//    (supervise/recovery.hpp) and never loads a version marked bad.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "reload/reloader.hpp"
#include "supervise/supervisor.hpp"

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
  int64_t callback_timeout_ms = 10'000;  // the watchdog's bound; 0: none
  // A memory limit is set (by the supervisor): a failed allocation ends the
  // host (supervise/watchdog.hpp).
  bool memory_limited = false;
};

class LiveHost {
 public:
  // Opens the store, recovers from a crash of the previous host (told how it
  // ended by `previous`), loads the bot and opens the socket, then calls
  // `serving`; throws livebot::Error.
  explicit LiveHost(const LiveOptions &opts, const supervise::PreviousExit &previous = {},
                    const std::function<void()> &serving = {});
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

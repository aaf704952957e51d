// `livebot run`'s parent process. The host (the child) holds the store, the
// socket and the plugins; this process holds nothing but the child's pid, so
// nothing a plugin does can take it down. A child that dies abnormally is
// started again, told how its predecessor ended; the in-flight marker tells
// it in which call (inflight.hpp). A clean stop (exit 0) or a configuration
// error (exit 1 before serving) ends the supervisor with the same status.
//
// Crash loops: a child that dies before it serves is started again after a
// back-off that doubles (0.1 s, 0.2 s, ...) and given up after
// `max_startup_failures` in a row; one that served is started again at once,
// but more than `max_crashes` crashes within `window_ms` are given up too.
// Giving up exits kExitCrashLoop with one line saying why.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

namespace livebot::supervise {

constexpr int kExitCrashLoop = 4;

// How the previous child ended, for the next one.
struct PreviousExit {
  int restarts = 0;   // children started before this one
  int signal = 0;     // the signal that ended it, or 0
  int exit_code = 0;  // its exit status when no signal ended it
  bool abnormal() const { return restarts > 0 && (signal != 0 || exit_code != 0); }
  std::string describe() const;  // "signal 11 (SIGSEGV)", "exit status 5 (watchdog)"
};

struct SuperviseOptions {
  int max_startup_failures = 5;
  int max_crashes = 10;
  int64_t window_ms = 60'000;
  int64_t first_backoff_ms = 100;
  int64_t max_backoff_ms = 5'000;
  uint64_t memory_limit = 0;  // RLIMIT_AS of the child in bytes; 0: none
};

// What the child is handed: how its predecessor ended, and how to say it
// is serving (call `ready()` once the socket listens).
struct Child {
  PreviousExit previous;
  std::function<void()> ready;
};

// Runs `host` in a child process until it stops cleanly, restarting it as
// above; returns the exit status for `livebot run`. SIGTERM and SIGINT are
// passed on to the child.
int supervise(const SuperviseOptions &opts, const std::function<int(const Child &)> &host);

}  // namespace livebot::supervise

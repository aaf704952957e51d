// Bounds every plugin call. A thread stuck in a loop cannot be stopped
// safely from inside the process (cancelling it would leave the plugin's and
// the allocator's locks and the store's transaction in whatever state it was
// in), so a call that runs over the bound ends the process: the marker says
// which call it was, and the supervisor starts a host that will not load
// that version again. The execution in flight is not committed, so nothing
// of it is kept.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

#include "supervise/inflight.hpp"

namespace livebot::supervise {

// The exit status of a host the watchdog ended (docs/RELIABILITY.md).
constexpr int kExitWatchdog = 5;
// The exit status of a host whose allocation failed (--memory-limit).
constexpr int kExitOutOfMemory = 6;

class Watchdog {
 public:
  // Watches `marker` from a thread of its own; timeout_ms > 0.
  Watchdog(InflightMarker &marker, int64_t timeout_ms);
  ~Watchdog();
  Watchdog(const Watchdog &) = delete;
  Watchdog &operator=(const Watchdog &) = delete;

 private:
  void watch();

  InflightMarker &marker_;
  int64_t timeout_ms_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Makes a failed C++ allocation end the process (kExitOutOfMemory) after
// marking the call in progress, instead of throwing std::bad_alloc into a
// plugin or the host near its memory limit, where the next allocation fails
// too. `marker` must outlive the process's serving.
void end_process_on_allocation_failure(InflightMarker *marker);

}  // namespace livebot::supervise

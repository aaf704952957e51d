#include "supervise/watchdog.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <new>

namespace livebot::supervise {

Watchdog::Watchdog(InflightMarker &marker, int64_t timeout_ms) : marker_(marker), timeout_ms_(timeout_ms) {
  // The thread takes no signals: SIGTERM is the loop's to handle, and once
  // the loop has blocked it for a clean exit it must not land here instead.
  sigset_t all, before;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &before);
  thread_ = std::thread([this] { watch(); });
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
}

Watchdog::~Watchdog() {
  stop_ = true;
  thread_.join();
}

void Watchdog::watch() {
  // A tenth of the bound between looks: an overrun is caught within 110% of
  // it, and an idle host wakes a few times a second at most.
  const auto period = std::chrono::milliseconds(std::clamp<int64_t>(timeout_ms_ / 10, 5, 250));
  while (!stop_) {
    std::this_thread::sleep_for(period);
    const auto call = marker_.running();
    if (!call) continue;
    const int64_t elapsed_ms = (monotonic_ns() - call->since_ns) / 1'000'000;
    if (elapsed_ms <= timeout_ms_) continue;
    // The same call still running? (It may have ended and the next begun.)
    const auto again = marker_.running();
    if (!again || again->calls != call->calls) continue;
    marker_.mark_overrun(elapsed_ms);
    spdlog::critical("watchdog: {} has run {} ms, over the {} ms bound; ending the host so that it restarts "
                     "without this version",
                     marker_.describe_call(), elapsed_ms, timeout_ms_);
    spdlog::default_logger()->flush();
    ::_exit(kExitWatchdog);
  }
}

namespace {

InflightMarker *oom_marker = nullptr;

void on_allocation_failure() {
  // Nothing here may allocate.
  if (oom_marker) oom_marker->mark_out_of_memory();
  static const char line[] = "livebot run: an allocation failed at the memory limit; ending the host\n";
  (void)!::write(STDERR_FILENO, line, sizeof line - 1);
  ::_exit(kExitOutOfMemory);
}

}  // namespace

void end_process_on_allocation_failure(InflightMarker *marker) {
  oom_marker = marker;
  std::set_new_handler(on_allocation_failure);
}

}  // namespace livebot::supervise

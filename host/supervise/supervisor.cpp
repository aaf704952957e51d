#include "supervise/supervisor.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <deque>
#include <iostream>
#include <thread>

#include "supervise/watchdog.hpp"

namespace livebot::supervise {

namespace {

volatile sig_atomic_t stop_signal = 0;
volatile pid_t child_pid = 0;

extern "C" void pass_on(int sig) {
  stop_signal = sig;
  if (child_pid > 0) ::kill(child_pid, sig);
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void set_handlers(void (*handler)(int)) {
  struct sigaction sa{};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
}

// Sleeps up to `ms`, cut short by a stop signal.
void pause_for(int64_t ms) {
  const int64_t until = now_ms() + ms;
  while (!stop_signal && now_ms() < until) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

[[noreturn]] void run_child(const SuperviseOptions &opts, const std::function<int(const Child &)> &host,
                            PreviousExit previous, int ready_fd, pid_t parent) {
  set_handlers(SIG_DFL);
  // A supervisor killed outright leaves no host behind: it drains and stops.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::_exit(1);
  if (opts.memory_limit > 0) {
    const rlimit lim{opts.memory_limit, opts.memory_limit};
    if (setrlimit(RLIMIT_AS, &lim) != 0)
      spdlog::warn("--memory-limit: setrlimit failed: {}", std::strerror(errno));
    // Until the host names the call in progress, a failed allocation ends
    // the process all the same.
    end_process_on_allocation_failure(nullptr);
  }
  Child child{previous, [ready_fd] {
                const char byte = 1;
                (void)!::write(ready_fd, &byte, 1);
              }};
  int rc = 1;
  try {
    rc = host(child);
  } catch (const std::exception &e) {
    std::cerr << "livebot: " << e.what() << '\n';
  }
  spdlog::shutdown();
  std::cout.flush();
  std::cerr.flush();
  ::_exit(rc);
}

}  // namespace

std::string PreviousExit::describe() const {
  if (signal != 0) {
    const char *abbrev = sigabbrev_np(signal);
    return "signal " + std::to_string(signal) + (abbrev ? std::string(" (SIG") + abbrev + ")" : "");
  }
  if (exit_code == kExitWatchdog) return "exit status " + std::to_string(exit_code) + " (watchdog)";
  if (exit_code == kExitOutOfMemory) return "exit status " + std::to_string(exit_code) + " (memory limit)";
  return "exit status " + std::to_string(exit_code);
}

int supervise(const SuperviseOptions &opts, const std::function<int(const Child &)> &host) {
  set_handlers(pass_on);
  PreviousExit previous;
  int startup_failures = 0;
  std::deque<int64_t> crashes;  // when the recent ones were
  for (;;) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      std::cerr << "livebot run: pipe: " << std::strerror(errno) << '\n';
      return 1;
    }
    const int64_t started = now_ms();
    const pid_t self = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
      std::cerr << "livebot run: fork: " << std::strerror(errno) << '\n';
      return 1;
    }
    if (pid == 0) {
      ::close(fds[0]);
      run_child(opts, host, previous, fds[1], self);
    }
    child_pid = pid;
    ::close(fds[1]);
    // A stop asked between fork and the store of child_pid still reaches it.
    if (stop_signal) ::kill(pid, stop_signal);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    child_pid = 0;
    char byte = 0;
    const bool served = ::read(fds[0], &byte, 1) == 1;
    ::close(fds[0]);

    const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (clean || stop_signal) return code;
    // A host that cannot start for a reason it reports (a bad manifest, a
    // store in use) will not start by trying again.
    if (!served && WIFEXITED(status) && WEXITSTATUS(status) == 1) return 1;

    previous.restarts += 1;
    previous.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    previous.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    const int64_t now = now_ms();
    if (served) {
      startup_failures = 0;
      crashes.push_back(now);
      while (!crashes.empty() && crashes.front() < now - opts.window_ms) crashes.pop_front();
      if (static_cast<int>(crashes.size()) > opts.max_crashes) {
        std::cerr << "livebot run: the host crashed " << crashes.size() << " times in "
                  << opts.window_ms / 1000 << " s (last: " << previous.describe() << "); giving up\n";
        return kExitCrashLoop;
      }
      spdlog::error("supervisor: the host (pid {}) ended by {} after {} ms; starting it again", pid,
                    previous.describe(), now - started);
      continue;
    }
    if (++startup_failures >= opts.max_startup_failures) {
      std::cerr << "livebot run: the host died " << startup_failures << " times in a row before serving (last: "
                << previous.describe() << "); giving up\n";
      return kExitCrashLoop;
    }
    const int64_t backoff = std::min(opts.max_backoff_ms, opts.first_backoff_ms << (startup_failures - 1));
    spdlog::error("supervisor: the host (pid {}) ended by {} before serving; starting it again in {} ms", pid,
                  previous.describe(), backoff);
    pause_for(backoff);
    if (stop_signal) return code;
  }
}

}  // namespace livebot::supervise

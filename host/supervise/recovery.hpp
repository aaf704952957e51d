// What a host does first after its predecessor crashed: it reads the
// in-flight marker, records the crash (`livebot errors`: signal, callback,
// location, version), marks the version that crashed bad in the store when
// the crash was the plugin's doing, and chooses for every microservice the
// build to load: the manifest's file unless its content is marked bad, else
// the version that served before it (the standby of a probation, or the one
// loaded earlier), else none — the microservice is suspended and the others
// run. A version once marked bad is never loaded again; a new build (other
// bytes) is.
//
// Whose doing: a fault signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT,
// SIGTRAP, SIGSYS) during a plugin call, the watchdog ending a call, or an
// allocation failing in one. A SIGKILL or SIGTERM from outside is recorded
// but marks nothing: it says nothing about the code that was running.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/manifest.hpp"
#include "store/store.hpp"
#include "supervise/inflight.hpp"
#include "supervise/supervisor.hpp"

namespace livebot::supervise {

struct Recovered {
  engine::Manifest manifest;  // the suspended microservices left out
  // Microservices to load from a kept copy of an earlier build instead of
  // the manifest's file (whose content is bad).
  std::map<std::string, std::string> load_from;
  std::vector<std::pair<std::string, std::string>> suspended;  // name, why
};

// Inside a transaction the caller commits. `kept_dir` is where copies of
// earlier builds are kept across restarts (created when needed).
Recovered recover(engine::Manifest manifest, store::Store &st, const std::optional<Snapshot> &previous,
                  const PreviousExit &how, const std::string &kept_dir, int64_t now_ms);

// Whether a process ended by `signal` points at the code that was running.
bool is_fault_signal(int signal);

}  // namespace livebot::supervise

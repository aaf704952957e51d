// What a host does first after its predecessor crashed: it reads the
// in-flight marker, records the crash (`livebot errors`: signal, callback,
// location, version), marks the version that crashed bad in the store when
// the crash was the plugin's doing, and chooses for every microservice the
// build to load: the manifest's file unless its content is marked bad, else
// the version that served before it (the standby of a probation, the one
// loaded earlier, or the newest kept copy of an earlier build), else none —
// the microservice is suspended and the others run. A version once marked
// bad is never loaded again; a new build (other bytes) is. Loading a build
// is in the marker like a call, so one that crashes as it loads at start is
// marked bad too.
//
// Whose doing: a fault signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT,
// SIGTRAP, SIGSYS) during a plugin call, the watchdog ending a call, or an
// allocation failing in one. A SIGKILL or SIGTERM from outside is recorded
// but marks nothing: it says nothing about the code that was running.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/bot.hpp"
#include "engine/manifest.hpp"
#include "store/store.hpp"
#include "supervise/inflight.hpp"
#include "supervise/kept.hpp"
#include "supervise/supervisor.hpp"

namespace livebot::supervise {

// The build chosen for one microservice: the manifest's file, or a kept copy
// of an earlier build when the manifest's content is bad.
struct Build {
  std::string file, hash;
};

// A microservice left out: every build known of it is marked bad.
struct Suspended {
  engine::MicroserviceSpec spec;
  std::string why;
  std::set<std::string> refused;  // builds offered since and refused: not tried again until the file changes
};

struct Recovered {
  engine::Manifest manifest;  // the suspended microservices left out
  std::map<std::string, Build> builds;  // by microservice, each one of `manifest`'s
  std::vector<Suspended> suspended;
};

// Inside a transaction the caller commits. `kept` holds copies of earlier
// builds across restarts: the fallback when nothing else is left.
Recovered recover(engine::Manifest manifest, store::Store &st, const std::optional<Snapshot> &previous,
                  const PreviousExit &how, KeptBuilds &kept, int64_t now_ms);

// Loads the bot from the builds `rec` chose, each load in the marker (a
// build that crashes in its static constructors is the next host's to mark
// bad); the specs keep the manifest's files, for the watcher and reload.
// Throws livebot::Error as Bot::load does, the marker left idle.
std::unique_ptr<engine::Bot> load_recovered(const Recovered &rec, loader::Staging &staging, InflightMarker &marker);

// The content hashes of `name`'s builds the store marks bad.
std::set<std::string> bad_hashes(store::Store &st, const std::string &name);

// Whether a process ended by `signal` points at the code that was running.
bool is_fault_signal(int signal);

}  // namespace livebot::supervise

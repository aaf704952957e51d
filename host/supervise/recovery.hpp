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
  // By microservice: kept copies of earlier builds, newest first, for when
  // the chosen one is refused as it loads or by the schema gate.
  std::map<std::string, std::vector<Build>> fallbacks;
  std::vector<Suspended> suspended;
};

// Inside a transaction the caller commits. `kept` holds copies of earlier
// builds across restarts: the fallback when nothing else is left.
Recovered recover(engine::Manifest manifest, store::Store &st, const std::optional<Snapshot> &previous,
                  const PreviousExit &how, KeptBuilds &kept, int64_t now_ms);

// A build refused as the host started, by the loader or the schema gate,
// with an earlier build serving in its place.
struct StartRefusal {
  size_t ms;
  std::string file, hash, why;
};

// Loads the bot from the builds `rec` chose, each load in the marker (a
// build that crashes in its static constructors is the next host's to mark
// bad). The specs keep the manifest's files, for the watcher and reload.
// A chosen build that is refused (not an ELF for this machine, another
// ABI, a schema that cannot read the stored state) gives way to its
// fallbacks in turn; when none is left, the first refusal is thrown
// (livebot::Error), the marker left idle, and the host does not start. A
// file others could write, or not the pinned bytes, stops the start at once.
class BotStart {
 public:
  BotStart(Recovered rec, loader::Staging &staging, InflightMarker &marker)
      : rec_(std::move(rec)), staging_(staging), marker_(marker) {}

  // Throws as Bot::load does when a microservice has no build left.
  std::unique_ptr<engine::Bot> load();
  // Microservice `ms`'s build, loaded, was refused for `why` (the schema
  // gate): the next fallback that loads. Throws the first refusal if none.
  std::unique_ptr<loader::Plugin> next(size_t ms, const std::string &why);
  // What was refused, oldest first.
  const std::vector<StartRefusal> &refused() const { return refused_; }

 private:
  std::unique_ptr<loader::Plugin> load_one(size_t ms);

  Recovered rec_;
  loader::Staging &staging_;
  InflightMarker &marker_;
  std::vector<Build> current_;  // by microservice: the build loaded last
  std::vector<StartRefusal> refused_;
};

// The content hashes of `name`'s builds the store marks bad.
std::set<std::string> bad_hashes(store::Store &st, const std::string &name);

// Whether a process ended by `signal` points at the code that was running.
bool is_fault_signal(int signal);

}  // namespace livebot::supervise

// How a microservice joins a running bot: one suspended at start (every
// build known of it marked bad) when a build of other bytes is offered by
// the watcher or `livebot reload NAME`, or one whose plugin file was missing
// at start when the file appears. Either goes through the checks of any
// reload — the loader's (owner and mode, pin, ELF, ABI), its load in the
// in-flight marker, the schema gate against the state stored under its
// name — and then gets that state back (docs/RELIABILITY.md,
// docs/RETIREMENT.md).
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "engine/executor.hpp"
#include "loader/staging.hpp"
#include "reload/reloader.hpp"
#include "store/store.hpp"
#include "supervise/inflight.hpp"

namespace livebot::live {

// What a microservice joins.
struct RunningHost {
  store::Store &st;
  engine::Executor &ex;
  reload::Reloader &reloader;
  loader::Staging &staging;
  supervise::InflightMarker &marker;
};

// Offers `spec`'s plugin file, between executions and outside a
// transaction. Published: the microservice is the bot's last, on probation
// if `probation` (a build back from suspension: nothing to roll back to, so
// a failure there is recorded and it serves on). Refused: recorded
// (`livebot errors`, callback reload) and its hash added to `refused`,
// unless it was refused before or crashed a host, which is answered without
// a try.
reload::Offer join(const engine::MicroserviceSpec &spec, std::set<std::string> &refused, const RunningHost &host,
                   int64_t now_ms, bool probation);

}  // namespace livebot::live

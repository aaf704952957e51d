// How a microservice suspended at start (every build known of it marked bad)
// comes back without a restart: a build of other bytes, offered by the
// watcher or `livebot reload NAME`, goes through the checks of any reload —
// the loader's (owner and mode, pin, ELF, ABI), its load in the in-flight
// marker, the schema gate against the state the microservice left — and
// joins the running bot on probation (docs/RELIABILITY.md).
#pragma once

#include <cstdint>

#include "engine/executor.hpp"
#include "loader/staging.hpp"
#include "reload/reloader.hpp"
#include "store/store.hpp"
#include "supervise/inflight.hpp"
#include "supervise/recovery.hpp"

namespace livebot::live {

// What a microservice joins.
struct RunningHost {
  store::Store &st;
  engine::Executor &ex;
  reload::Reloader &reloader;
  loader::Staging &staging;
  supervise::InflightMarker &marker;
};

// Offers `s`'s file at the manifest's path, between executions and outside
// a transaction. Published: the microservice is the bot's last, on
// probation. Refused: recorded (`livebot errors`, callback reload) unless
// refused before, and `s` stays suspended.
reload::Offer resume(supervise::Suspended &s, const RunningHost &host, int64_t now_ms);

}  // namespace livebot::live

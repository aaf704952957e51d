// Two-phase retirement of a microservice removed from the bot
// (docs/RETIREMENT.md).
//
// Phase 1, drain: the microservice is marked retiring in the store, with the
// time, the bot version and its plugin's bytes; it hears no more events.
// Each location is purged of it — its instances hear destroy() and are
// deleted with their timers, the location's waiting data stream messages
// addressed to it are dropped — either just before that location's next
// execution, or by a sweep through the locations at a bounded rate. Each
// purge is written with its purge record, in the caller's transaction.
// Phase 2, release: once every location the store knows is purged, the
// library is unloaded and verified gone, the microservice is marked
// retired, its purge records fold into that one row, and the file is safe
// to delete.
// State kept aside (a microservice the host does not run) is retired the
// same way with no library: nothing hears destroy(), nothing is unloaded,
// and its record names no file.
//
// Promises:
//  - No location is purged twice (its purge record is unique), none is
//    missed (release waits for every location), and a host killed
//    mid-sweep resumes where the store says it was.
//  - No purge touches another microservice's state, variables or timers.
//  - Re-adding a retiring microservice cancels its retirement: locations
//    not purged yet keep their state.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "engine/executor.hpp"
#include "loader/staging.hpp"
#include "store/store.hpp"

namespace livebot::retire {

struct RetireOptions {
  // Locations purged per second by the sweep; 0: as fast as the loop allows.
  double rate = 100;
};

class Retirer {
 public:
  Retirer(store::Store &store, engine::Executor &ex, loader::Staging &staging, RetireOptions opts = {});

  // At start, before the first execution: retirements the store holds go
  // on, with their plugins loaded from the store when the manifest no
  // longer names them. Throws livebot::Error if a plugin cannot be loaded.
  void resume();

  // Starts retiring microservice `ms` (an index into the bot), in a
  // transaction of its own. Throws livebot::Error naming it if it is
  // retiring already.
  void start(size_t ms, int64_t now_ms);
  // Starts retiring state kept aside: stored state of microservice `name`,
  // which the bot does not run, so no library is loaded and nothing hears
  // destroy(). Purged as start() purges, through purge records. Throws
  // livebot::Error naming it if the bot runs it, it is retiring already,
  // or the store holds no state of it.
  void start_kept_aside(const std::string &name, int64_t now_ms);
  // Retiring, or the bot runs it in some other way: not kept aside.
  bool retiring(const std::string &name) const;
  // The manifest names a retiring microservice again (as `spec`): its
  // retirement ends, in a transaction of its own; locations not purged keep
  // their state. Returns false if it was not retiring.
  bool cancel(const engine::MicroserviceSpec &spec);

  // Before an execution of `location`, in its transaction: purges it of
  // every retiring microservice it still holds.
  void before_execution(std::string_view location, int64_t now_ms);
  // Purges up to `budget` locations that have not executed, in the caller's
  // transaction (flush the executor before the commit, then evict()).
  // Returns the locations purged.
  size_t sweep(size_t budget, int64_t now_ms);
  // After the sweep's commit: drops the swept locations from the
  // executor's memory.
  void evict();
  // Releases every retirement the sweep has been through to the end, if
  // every location is purged and `in_flight(ms)` is false, each in a
  // transaction of its own; the others are swept again from the start.
  void release_ready(int64_t now_ms, const std::function<bool(size_t)> &in_flight);

  bool active() const { return !draining_.empty(); }
  double rate() const { return opts_.rate; }
  // Retirements (from the store) with their progress, for `livebot status`.
  nlohmann::json status(int64_t now_ms);

 private:
  struct Draining {
    std::string name;
    std::optional<size_t> ms;  // its library; none for state kept aside
    std::string cursor;  // the sweep's position, by location id
    bool at_end = false;  // the sweep found nothing left after its cursor
  };
  void purge(Draining &d, const std::string &location, int64_t now_ms, const char *by);
  void begin(Draining d, const store::RetirementRecord &r);
  void forget_retired(const std::string &name);

  store::Store &store_;
  engine::Executor &ex_;
  loader::Staging &staging_;
  RetireOptions opts_;
  std::vector<Draining> draining_;
  std::vector<std::string> swept_;
};

}  // namespace livebot::retire

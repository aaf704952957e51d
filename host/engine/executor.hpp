// Runs executions: one input for one location through the botengine model
// (docs/EXECUTION.md) — load its memory, create missing instances,
// new_version once per bot version, initialize everyone in order, dispatch
// the trigger, keep the state of the instances that succeeded.
//
// Promises: an instance whose callback fails keeps the state (and variable
// writes) it had before the execution, and the failure is recorded; every
// other instance carries on. Nothing reaches the store until flush(), which
// the caller wraps in a transaction together with its input position.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/error.hpp"
#include "engine/bot.hpp"
#include "engine/location.hpp"
#include "loader/plugin.hpp"
#include "schema/schema.hpp"
#include "store/store.hpp"

struct livebot_exec;

namespace livebot::engine {

struct ParamValue {
  std::string_view name;
  std::string_view value;
};

// One device's part of an input.
struct DeviceInput {
  std::string_view id;
  int32_t type = 0;
  std::string_view description;
  std::vector<ParamValue> params;
  std::vector<std::string_view> updated;
};

struct Input {
  // Timer and Schedule inputs are made by run_due from the location's own;
  // DataStream inputs too, from messages its microservices sent, and by a
  // host for messages from outside. DeviceRemoved: the location no longer
  // has devices[0] (a host learns it from the platform).
  enum class Kind { Measurement, Mode, Alert, Timer, Schedule, DataStream, DeviceRemoved };
  Kind kind = Kind::Measurement;
  std::string_view location;
  int64_t timestamp_ms = 0;
  std::vector<DeviceInput> devices;  // Measurement: one or more; Alert, DeviceRemoved: one
  std::string_view mode;             // Mode
  std::string_view alert_type;       // Alert
  int64_t instance_id = 0;           // Timer: its owner
  std::string_view reference;        // Timer
  std::string_view schedule;         // Schedule: its id
  std::string_view address, content;  // DataStream
};

struct Notification {
  int64_t timestamp_ms;
  std::string location, microservice, subject, body;
};

struct ExecutorStats {
  int64_t executions = 0;
  int64_t failed_callbacks = 0;
  int64_t notifications = 0;
  int64_t instances_created = 0;
  int64_t timer_executions = 0;
  int64_t timers_dropped = 0;  // due, but their owner was gone
  int64_t schedule_executions = 0;
  int64_t datastream_executions = 0;  // of messages the bot sent itself
  int64_t quarantined = 0;  // stored states that did not verify when loaded
};

// Where plugin log lines go (playback: a file in the output directory).
using PluginLogSink = void (*)(void *ctx, int level, std::string_view location,
                               std::string_view microservice, std::string_view msg);

// Told around every call into a plugin (open, each callback, close), on the
// executing thread: a watchdog and a crash marker must know which code runs,
// for which location, when the process dies in it.
class CallObserver {
 public:
  virtual ~CallObserver() = default;
  // `what` is a callback's name, or "open" / "close".
  virtual void entering(size_t ms, std::string_view location, const char *what) = 0;
  virtual void left() = 0;
};

class Executor {
 public:
  Executor(store::Store &store, Bot &bot, std::string default_timezone);
  ~Executor();

  // Moves the stored state of each microservice the manifest renamed
  // (previous_name) to its new name, unless the new name has state already;
  // then checks every microservice's schema against every schema that wrote
  // its stored state (the schema gate), and registers the bot's schemas in
  // the store. Throws livebot::Error naming the plugin and the first refused
  // change; call inside a transaction before the first execution, so the
  // moves are committed with the rest or not at all. A refusal goes first to
  // `refused(ms, error)`, if given: true when it has put another build in
  // microservice ms's place (replace_plugin), which is then gated in turn.
  using Refused = std::function<bool(size_t, const Error &)>;
  void register_schemas(const Refused &refused = {});

  void execute(const Input &in);

  // Virtual time. When the location next has something due (a data stream
  // message its microservices sent, a schedule, a timer), loading it from
  // the store if it is not cached.
  std::optional<int64_t> next_due(std::string_view location);
  // Runs the location's earliest item due at or before `now_ms` as one
  // execution timestamped with its due time; false if nothing is due. Items
  // due at one time go: data stream messages in send order, schedules by id,
  // then timers in initialize order and by reference.
  bool run_due(std::string_view location, int64_t now_ms);
  // Retirement (docs/RETIREMENT.md), between executions. Drains one
  // location of retiring microservice `name`: each of its instances there
  // hears destroy() from the library of microservice `ms` and is deleted
  // with its timers, and the location's waiting data stream messages
  // addressed to it are dropped. Without `ms` (state kept aside, with no
  // library) nothing hears destroy(). A destroy that fails is recorded; the
  // purge happens all the same. Written by the next flush().
  struct Purged {
    int64_t instances = 0;
    int64_t messages_dropped = 0;
  };
  Purged purge(std::string_view location, const std::string &name, std::optional<size_t> ms, int64_t now_ms);

  // Microservices (indices into Bot::microservices()) with a callback that
  // failed in the last execute().
  const std::vector<size_t> &last_failures() const { return last_failures_; }
  // Failures recorded since the last flush(), oldest first.
  const std::vector<store::ErrorRecord> &pending_errors() const { return pending_errors_; }

  // Hot reload, between executions only.
  // Throws livebot::Error (naming `file`) when `candidate` cannot read the
  // state microservice `ms` wrote: every schema in the store and the one
  // its current version writes with.
  void check_schema(size_t ms, const schema::BinarySchema &candidate, const std::string &file);
  // Puts `next` in place of microservice `ms`'s plugin and returns the one it
  // replaces. Instances keep their state; their next execution opens it with
  // the new code and initialize() is told the new fields. The schema goes to
  // the store with the next flush().
  std::unique_ptr<loader::Plugin> replace_plugin(size_t ms, std::unique_ptr<loader::Plugin> next);
  // A microservice joining after the start (its plugin file appeared, or a
  // suspended one is back with a new build): gated
  // against the state stored under its name (throws livebot::Error naming
  // `spec.plugin`, and adds nothing), then added to the bot; cached
  // locations are dropped, so that each loads its state back at its next
  // execution. Its schema goes to the store with the next flush(). Between
  // executions, after a flush. Returns its index.
  size_t add_microservice(MicroserviceSpec spec, std::unique_ptr<loader::Plugin> plugin);

  // What one location's execution can be taken back to: its memory as the
  // host held it, and the outputs and failures queued since. Used to undo a
  // whole execution when a version on probation fails in it.
  struct Checkpoint {
    std::string location;
    std::optional<Location> memory;  // empty: it was not cached
    size_t errors = 0, outputs = 0;
    ExecutorStats stats;
    std::vector<MicroserviceStats> ms_stats;
  };
  Checkpoint checkpoint(std::string_view location) const;
  // Records a failure that is not a callback's: a refused or rolled-back
  // version, say. `what` takes the callback column (e.g. "reload").
  void record_failure(size_t ms, const std::string &version, std::string location, int64_t event_ms,
                      std::string what, std::string message);
  // Restores the checkpoint; failures recorded since are kept (they are the
  // reason for the rollback), outputs are dropped.
  void restore(Checkpoint cp);

  // Writes everything dirty (locations, devices, instances, variables,
  // errors, outputs) to the store. The caller holds the transaction.
  void flush();

  // Drops every cached location (after a rollback, say).
  void forget();
  // Drops one cached location, flushed already: a sweep through thousands
  // of locations does not keep them all in memory.
  void evict(std::string_view location);

  void set_log_sink(PluginLogSink sink, void *ctx) { log_sink_ = sink, log_ctx_ = ctx; }
  void set_call_observer(CallObserver *observer) { observer_ = observer; }
  const ExecutorStats &stats() const { return stats_; }
  Bot &bot() { return bot_; }
  store::Store &store() { return store_; }

  // Used by the host API (engine/host_api.cpp).
  void log_from_plugin(int level, const Location &loc, const Instance &inst, std::string_view msg);
  void add_notification(Notification n);
  // The variable as this execution sees it: cached, else fetched once.
  const store::VariableRecord *fetch_variable(Location &loc, const std::string &name);
  // Saves (or, with nullopt, deletes) a variable, remembering in `exec` what
  // it replaced.
  void write_variable(livebot_exec &exec, std::string name, std::optional<store::VariableRecord> var);
  // Sets (or, with nullopt, cancels) a timer of `exec`'s instance,
  // remembering in `exec` what it replaced.
  void write_timer(livebot_exec &exec, TimerKey key, std::optional<int64_t> due_ms);
  const schema::BinarySchema &schema_of(const Instance &inst) const;
  // The location's offset from UTC at an instant (unknown zones: UTC).
  int64_t utc_offset_ms(Location &loc, int64_t at_ms);

 private:
  struct Call;
  Location &location(std::string_view id);
  // Applies the input's device data; returns the devices first seen.
  std::vector<std::string> apply_devices(Location &loc, const Input &in);
  // After a DeviceRemoved execution: the device and its instances go, with
  // their state and timers.
  void remove_device(Location &loc, const std::string &device_id);
  void sync_instances(Location &loc);
  void destroy(Location &loc, Instance &inst, int64_t now_ms);
  // The retiring microservice a data stream address names, if any: messages
  // to it are dropped and counted.
  LoadedMicroservice *retiring_addressee(std::string_view address);
  void order_instances(Location &loc);
  // What a location has due first, in run_due's order.
  struct Due {
    Input::Kind kind;
    int64_t at;
    TimerKey timer;        // Timer
    std::string schedule;  // Schedule
  };
  std::optional<Due> first_due(const Location &loc) const;
  // Starts the schedules the location lacks: first firing after `now_ms`.
  // Once per location held (those the manifest dropped go at load).
  void start_schedules(Location &loc, int64_t now_ms);
  const date::time_zone *zone_of(Location &loc);
  std::vector<std::string> new_fields_for(const Instance &inst);
  void record_error(const Location &loc, const Instance &inst, int64_t ts, std::string what,
                    std::string message);
  // The schema of `hash`, the bot's or the store's (parsed once); null if
  // the store does not hold it. Throws livebot::Error if it is not a schema.
  const schema::BinarySchema *find_schema(const std::string &hash);
  // Why a loaded instance's stored state may not reach its plugin; empty if
  // it may.
  std::string unreadable(const Instance &inst);
  // Sets the state aside (written at the next flush) and makes the instance
  // new again: construct() runs in its next execution.
  void quarantine(Location &loc, Instance &inst, std::string reason);
  // The next flush() writes the location.
  void mark_dirty(Location &loc);
  // Throws livebot::Error (naming `file`) if `candidate` cannot read the
  // state stored under `name` and, if given, what `current` writes.
  void gate(const std::string &name, const schema::BinarySchema *current, const schema::BinarySchema &candidate,
            const std::string &file);
  // The schema goes to the store with the next flush(), once.
  void add_schema(const schema::BinarySchema &s);

  store::Store &store_;
  Bot &bot_;
  std::string default_timezone_;
  std::map<std::string, Location, std::less<>> locations_;
  // Ids of the cached locations changed since the last flush(), so that the
  // flush walks those and not every location held.
  std::set<std::string, std::less<>> dirty_;
  std::unordered_map<std::string, schema::BinarySchema> schemas_;  // by hash
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> new_fields_cache_;
  std::vector<store::ErrorRecord> pending_errors_;
  std::vector<std::pair<std::string, std::string>> pending_schemas_;  // hash, bytes
  std::vector<size_t> last_failures_;
  std::vector<Notification> pending_outputs_;
  std::set<std::string, std::less<>> warned_zones_;
  ExecutorStats stats_;
  PluginLogSink log_sink_ = nullptr;
  void *log_ctx_ = nullptr;
  CallObserver *observer_ = nullptr;
};

}  // namespace livebot::engine

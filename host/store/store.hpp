// The store: where the host keeps every location's memory between
// executions. One interface, so that a shared backend for fleets can sit
// beside the embedded SQLite one later.
//
// Promises:
//  - Writes happen only between begin() and commit(); commit() makes all of
//    them durable at once or none of them (rollback(), or a crash).
//  - Reads see committed data plus this transaction's own writes.
//  - Opening a file that is not a livebot store fails with a one-line
//    livebot::Error naming the file, and leaves the file untouched.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace livebot::store {

// A location's own record (not its devices, instances or variables).
struct LocationRecord {
  std::string id;
  std::string mode;
  std::string timezone;
  std::string bot_version;  // the bot version its last execution ran
};

// One microservice instance's memory: FlatBuffers bytes of its root table,
// tagged with the hash of the binary schema that wrote them.
struct InstanceRecord {
  std::string microservice;  // manifest name
  std::string device_id;     // empty for location microservices
  int64_t instance_id = 0;   // persistent; owns the instance's timers
  std::string schema_hash;
  std::string state;
};

struct VariableRecord {
  std::string name;
  int32_t kind = 0;  // livebot_value_kind
  std::string value;
  bool required = false;  // required_for_each_execution
};

// A device as the host tracks it; `record` is an opaque blob owned by the
// engine (its latest parameters and short history).
struct DeviceRecord {
  std::string id;
  std::string record;
};

struct ErrorRecord {
  int64_t id = 0;  // assigned by the store
  int64_t wall_ms = 0;
  int64_t event_ms = 0;
  std::string bot;
  std::string location;
  std::string microservice;
  std::string version;
  std::string callback;
  std::string message;
};

// A pending timer or alarm: one per instance and reference. A timer that
// fired or was cancelled is deleted.
struct TimerRecord {
  int64_t instance_id = 0;  // its owner
  std::string reference;
  int64_t due_ms = 0;
};

// When one of a location's schedules fires next.
struct ScheduleRecord {
  std::string id;  // its name in bot.json
  int64_t next_ms = 0;
};

// A data stream message waiting to be delivered in its location.
struct DataStreamRecord {
  int64_t seq = 0;  // send order within the location
  int64_t due_ms = 0;
  std::string address;
  std::string content;
};

// Stored state the host will not hand a plugin (it does not verify against
// the schema it is tagged with, or that schema is unknown): kept aside with
// the reason, never deleted, so that a person can look at the bytes.
struct QuarantineRecord {
  int64_t id = 0;  // assigned by the store
  int64_t wall_ms = 0;
  std::string location;
  InstanceRecord instance;
  std::string reason;
};

// A plugin build that crashed the host; the host never loads it again.
struct BadVersionRecord {
  std::string microservice;
  std::string hash;  // content hash of the plugin file
  std::string version;
  int64_t wall_ms = 0;
  std::string reason;  // one line: the signal or the overrun, where, in which callback
};

// A side effect a plugin produced (a notification, for now).
struct OutputRecord {
  int64_t id = 0;  // assigned by the store, increasing
  int64_t event_ms = 0;
  std::string location;
  std::string microservice;
  std::string kind;
  std::string body;  // JSON text
};

// A microservice removed from the bot, being drained location by location
// (retiring) or drained and unloaded (retired). docs/RETIREMENT.md.
struct RetirementRecord {
  std::string microservice;
  std::string state;  // "retiring" or "retired"
  int64_t started_ms = 0;  // wall clock
  std::string bot_version;  // the bot version that dropped it
  std::string file;         // its plugin file as the manifest named it
  std::string version;      // the microservice's own version
  // The plugin's bytes while retiring, so that a host restarted after the
  // file was deleted can still call destroy; emptied once retired.
  std::string plugin;
  int64_t released_ms = 0;   // retired: when its library was unloaded
  int64_t purged = 0;        // retired: locations purged
  int64_t messages_dropped = 0;  // retired: data stream messages addressed to it, dropped
};

// One location drained of a retiring microservice, committed with the purge.
struct PurgeRecord {
  std::string microservice;
  std::string location;
  int64_t wall_ms = 0;
  int64_t instances = 0;         // instances deleted (device microservices: one per device)
  int64_t messages_dropped = 0;  // waiting data stream messages addressed to it
  std::string by;                // "execution" or "sweep"
};

class Store {
 public:
  virtual ~Store() = default;

  virtual void begin() = 0;
  virtual void commit() = 0;
  virtual void rollback() = 0;
  virtual bool in_transaction() const = 0;

  // Locations.
  virtual std::optional<LocationRecord> load_location(const std::string &id) = 0;
  virtual void put_location(const LocationRecord &loc) = 0;
  virtual std::vector<std::string> location_ids() = 0;

  // Instances.
  virtual std::vector<InstanceRecord> load_instances(const std::string &location) = 0;
  virtual std::optional<InstanceRecord> load_instance(const std::string &location,
                                                      const std::string &microservice,
                                                      const std::string &device_id) = 0;
  virtual void put_instance(const std::string &location, const InstanceRecord &inst) = 0;
  virtual void delete_instance(const std::string &location, const std::string &microservice,
                               const std::string &device_id) = 0;
  // Hashes of the schemas that wrote the stored state of a microservice, in
  // any location: what a new version's schema must be able to read.
  virtual std::vector<std::string> state_schemas(const std::string &microservice) = 0;
  // A fresh, never reused instance id.
  virtual int64_t allocate_instance_id() = 0;

  // Devices.
  virtual std::vector<DeviceRecord> load_devices(const std::string &location) = 0;
  virtual void put_device(const std::string &location, const DeviceRecord &dev) = 0;
  virtual void delete_device(const std::string &location, const std::string &device_id) = 0;

  // Variables (the protected space, apart from instance state).
  virtual std::vector<VariableRecord> load_required_variables(const std::string &location) = 0;
  virtual std::vector<VariableRecord> load_variables(const std::string &location) = 0;
  virtual std::optional<VariableRecord> load_variable(const std::string &location,
                                                      const std::string &name) = 0;
  virtual void put_variable(const std::string &location, const VariableRecord &var) = 0;
  virtual void delete_variable(const std::string &location, const std::string &name) = 0;

  // Timers. Deleting an instance deletes its timers.
  virtual std::vector<TimerRecord> load_timers(const std::string &location) = 0;
  virtual void put_timer(const std::string &location, const TimerRecord &timer) = 0;
  virtual void delete_timer(const std::string &location, int64_t instance_id, const std::string &reference) = 0;
  // Schedules.
  virtual std::vector<ScheduleRecord> load_schedules(const std::string &location) = 0;
  virtual void put_schedule(const std::string &location, const ScheduleRecord &schedule) = 0;
  virtual void delete_schedule(const std::string &location, const std::string &id) = 0;
  // Data stream messages waiting, in send order.
  virtual std::vector<DataStreamRecord> load_datastreams(const std::string &location) = 0;
  virtual void put_datastream(const std::string &location, const DataStreamRecord &message) = 0;
  virtual void delete_datastream(const std::string &location, int64_t seq) = 0;
  // Every location with something due (a timer, a schedule, a data stream
  // message), with its earliest due time, by location id: what a host's
  // wake-up queue starts from.
  virtual std::vector<std::pair<std::string, int64_t>> due_locations() = 0;

  // Binary schemas, by content hash. put_schema is idempotent.
  virtual void put_schema(const std::string &hash, const std::string &bfbs) = 0;
  virtual std::optional<std::string> load_schema(const std::string &hash) = 0;

  // Input positions: how far a named input source has been applied.
  virtual std::optional<int64_t> load_cursor(const std::string &source) = 0;
  virtual void put_cursor(const std::string &source, int64_t position) = 0;

  // Recorded failures, newest first; `bot` empty means all bots.
  virtual void add_error(const ErrorRecord &err) = 0;
  virtual std::vector<ErrorRecord> list_errors(const std::string &bot, size_t limit) = 0;

  // Moves an instance's row into quarantine: the record goes to the
  // quarantine table; the instance row, and so its timers, are deleted.
  virtual void quarantine_instance(const QuarantineRecord &q) = 0;
  // Newest first.
  virtual std::vector<QuarantineRecord> list_quarantined(size_t limit) = 0;
  virtual int64_t count_quarantined() = 0;

  // Builds that crashed the host. Adding one already there keeps the first.
  virtual void add_bad_version(const BadVersionRecord &bad) = 0;
  virtual std::vector<BadVersionRecord> bad_versions() = 0;

  // Outputs, oldest first.
  virtual void add_output(const OutputRecord &out) = 0;
  virtual std::vector<OutputRecord> list_outputs() = 0;

  // Retirements, by microservice. Deleting one deletes its purge records.
  virtual std::vector<RetirementRecord> load_retirements() = 0;
  virtual void put_retirement(const RetirementRecord &r) = 0;
  virtual void delete_retirement(const std::string &microservice) = 0;
  // A second purge record of one location fails: no location is purged twice.
  virtual void add_purge(const PurgeRecord &p) = 0;
  virtual bool is_purged(const std::string &microservice, const std::string &location) = 0;
  virtual int64_t purged_count(const std::string &microservice) = 0;
  // The purges' dropped messages, summed.
  virtual int64_t purged_messages(const std::string &microservice) = 0;
  virtual void delete_purges(const std::string &microservice) = 0;
  // Up to `limit` locations after `after` (by id) not yet purged of it.
  virtual std::vector<std::string> unpurged_locations(const std::string &microservice, const std::string &after,
                                                      size_t limit) = 0;
  virtual int64_t location_count() = 0;
  // Every microservice that has stored state in some location, by name.
  virtual std::vector<std::string> stored_microservices() = 0;
  // A rename: every instance of `from` (and so its timers, which follow the
  // instance id) becomes `to`'s, and waiting data stream messages addressed
  // to `from` are addressed to `to`.
  virtual void rename_microservice(const std::string &from, const std::string &to) = 0;
};

struct OpenOptions {
  bool create = true;      // create the file if missing
  bool read_only = false;  // open for reading only (no schema upgrade, no writes)
};

// Opens (or creates) a SQLite store in WAL mode. A writer holds the store
// for itself: a second writer (another process, or another open in this
// one) is refused with "in use"; readers are always let in. A store of an
// older schema version is upgraded in place when opened for writing, in one
// transaction; opened read-only it is refused, saying so.
std::unique_ptr<Store> open_sqlite_store(const std::string &path, const OpenOptions &opts = {});

// Deletes a store and its -wal/-shm files, unless a writer holds it.
void remove_sqlite_store(const std::string &path);

}  // namespace livebot::store

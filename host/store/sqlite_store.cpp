// The embedded store: one SQLite file, WAL mode, every statement prepared
// once. A Store belongs to one thread at a time (it has one transaction), so
// connections are opened NOMUTEX and spare a lock per call.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <system_error>
#include <utility>

#include "common/error.hpp"
#include "store/store.hpp"

namespace livebot::store {
namespace {

// 'LVBT' in the header's application_id: how we know a file is ours.
constexpr int32_t kApplicationId = 0x4C564254;
// PRAGMA user_version. A newer file is refused; an older one is brought up
// to date by kUpgrades when opened for writing.
constexpr int64_t kSchemaVersion = 5;
// How long to wait for another process's write lock before failing.
constexpr int kBusyTimeoutMs = 5000;

// Comments inside the CREATE statements are kept in sqlite_schema, so
// `sqlite3 file .schema` shows them.
constexpr const char *kSchema = R"sql(
CREATE TABLE locations (
  -- A location's own record; devices, instances and variables refer to it.
  id TEXT PRIMARY KEY,
  mode TEXT NOT NULL,
  timezone TEXT NOT NULL,
  bot_version TEXT NOT NULL  -- the bot version its last execution ran
) STRICT, WITHOUT ROWID;  -- small rows, always found by id

CREATE TABLE instances (
  -- One microservice instance's memory. The instance id is the rowid: it is
  -- unique and never reused, and large states stay out of the key b-tree.
  instance_id INTEGER PRIMARY KEY CHECK (instance_id > 0),  -- 0: never allocated
  -- Foreign keys are checked at commit, so a transaction may write a
  -- location's rows in any order.
  location TEXT NOT NULL REFERENCES locations (id) DEFERRABLE INITIALLY DEFERRED,
  microservice TEXT NOT NULL,  -- manifest name
  device_id TEXT NOT NULL,     -- '' for location microservices
  schema_hash TEXT NOT NULL,   -- the binary schema that wrote state
  state BLOB NOT NULL,         -- FlatBuffers bytes of the root table
  UNIQUE (location, microservice, device_id)
) STRICT;

CREATE TABLE devices (
  location TEXT NOT NULL REFERENCES locations (id) DEFERRABLE INITIALLY DEFERRED,
  id TEXT NOT NULL,
  record BLOB NOT NULL,  -- opaque, owned by the engine; carries history, so may be large
  PRIMARY KEY (location, id)
) STRICT;

CREATE TABLE variables (
  -- A location's protected space, apart from instance state.
  location TEXT NOT NULL REFERENCES locations (id) DEFERRABLE INITIALLY DEFERRED,
  name TEXT NOT NULL,
  kind INTEGER NOT NULL,      -- livebot_value_kind
  value BLOB NOT NULL,
  required INTEGER NOT NULL,  -- 1: loaded for each execution
  PRIMARY KEY (location, name)
) STRICT, WITHOUT ROWID;  -- small values, always found by key

CREATE TABLE schemas (
  hash TEXT PRIMARY KEY,  -- content hash of bfbs, so a row never changes
  bfbs BLOB NOT NULL      -- kilobytes: a rowid table keeps the key b-tree dense
) STRICT;

CREATE TABLE cursors (
  source TEXT PRIMARY KEY,   -- a named input source
  position INTEGER NOT NULL  -- how far it has been applied
) STRICT, WITHOUT ROWID;

CREATE TABLE errors (
  -- AUTOINCREMENT: ids keep increasing even once old rows are pruned.
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  wall_ms INTEGER NOT NULL,
  event_ms INTEGER NOT NULL,
  bot TEXT NOT NULL,
  location TEXT NOT NULL,  -- no foreign key: a failure may precede the location's record
  microservice TEXT NOT NULL,
  version TEXT NOT NULL,
  callback TEXT NOT NULL,
  message TEXT NOT NULL
) STRICT;
-- The rowid rides along in the index, so one bot's errors newest first is
-- a walk of the index.
CREATE INDEX errors_by_bot ON errors (bot);

CREATE TABLE outputs (
  -- A side effect a plugin produced; AUTOINCREMENT keeps ids increasing.
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  event_ms INTEGER NOT NULL,
  location TEXT NOT NULL,
  microservice TEXT NOT NULL,
  kind TEXT NOT NULL,
  body TEXT NOT NULL  -- JSON
) STRICT;

CREATE TABLE counters (
  -- Monotonic counters. 'instance_id' holds the last id handed out; like any
  -- write it becomes durable only at commit (see allocate_instance_id).
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES ('instance_id', 0);
)sql";

// kUpgrades[v - 1] takes a store from version v to v + 1. A new store is
// kSchema followed by every upgrade, so the two never disagree.
constexpr const char *kUpgrades[] = {
    // 1 -> 2: virtual time.
    R"sql(
CREATE TABLE timers (
  -- A pending timer or alarm, one per instance and reference; deleted when
  -- it fires or is cancelled, and with its instance.
  location TEXT NOT NULL REFERENCES locations (id) DEFERRABLE INITIALLY DEFERRED,
  instance_id INTEGER NOT NULL REFERENCES instances (instance_id)
    ON DELETE CASCADE ON UPDATE CASCADE DEFERRABLE INITIALLY DEFERRED,
  reference TEXT NOT NULL,
  due_ms INTEGER NOT NULL,
  PRIMARY KEY (location, instance_id, reference)
) STRICT, WITHOUT ROWID;
-- Deleting an instance looks its timers up by owner.
CREATE INDEX timers_by_instance ON timers (instance_id);

CREATE TABLE schedules (
  -- When each of a location's schedules (bot.json) fires next.
  location TEXT NOT NULL REFERENCES locations (id) DEFERRABLE INITIALLY DEFERRED,
  id TEXT NOT NULL,
  next_ms INTEGER NOT NULL,
  PRIMARY KEY (location, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE datastreams (
  -- Data stream messages waiting to be delivered in their location, by seq.
  location TEXT NOT NULL REFERENCES locations (id) DEFERRABLE INITIALLY DEFERRED,
  seq INTEGER NOT NULL,
  due_ms INTEGER NOT NULL,
  address TEXT NOT NULL,
  content BLOB NOT NULL,
  PRIMARY KEY (location, seq)
) STRICT;
)sql",
    // 2 -> 3: corrupt state kept aside.
    R"sql(
CREATE TABLE quarantine (
  -- An instance's stored state that failed verification when its location was
  -- loaded, as it was found; the instance started afresh. Never deleted by
  -- the host. AUTOINCREMENT: ids keep increasing even if rows are pruned.
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  wall_ms INTEGER NOT NULL,
  location TEXT NOT NULL,  -- no foreign key: kept even if the location goes
  microservice TEXT NOT NULL,
  device_id TEXT NOT NULL,
  instance_id INTEGER NOT NULL,
  schema_hash TEXT NOT NULL,  -- as the row had it: perhaps what was wrong
  state BLOB NOT NULL,
  reason TEXT NOT NULL
) STRICT;
)sql",
    // 3 -> 4: retirement of removed microservices.
    R"sql(
CREATE TABLE retirements (
  -- A microservice removed from the bot: drained, then released.
  microservice TEXT PRIMARY KEY,
  state TEXT NOT NULL CHECK (state IN ('retiring', 'retired')),
  started_ms INTEGER NOT NULL,
  bot_version TEXT NOT NULL,   -- the bot version that dropped it
  file TEXT NOT NULL,          -- its plugin file as the manifest named it
  version TEXT NOT NULL,       -- the microservice's own version
  plugin BLOB NOT NULL,        -- the plugin's bytes while retiring, for destroy; '' once retired
  released_ms INTEGER NOT NULL,
  purged INTEGER NOT NULL,     -- once retired: locations purged (their records are gone)
  messages_dropped INTEGER NOT NULL
) STRICT;  -- a rowid table: the plugin's bytes stay out of the key b-tree

CREATE TABLE purges (
  -- One location drained of a retiring microservice, written with the purge.
  microservice TEXT NOT NULL REFERENCES retirements (microservice)
    ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
  location TEXT NOT NULL,
  wall_ms INTEGER NOT NULL,
  instances INTEGER NOT NULL,
  messages_dropped INTEGER NOT NULL,
  by TEXT NOT NULL,  -- 'execution' or 'sweep'
  PRIMARY KEY (microservice, location)  -- a location is purged once
) STRICT, WITHOUT ROWID;
-- Which microservices have state: read at start, per name.
CREATE INDEX instances_by_microservice ON instances (microservice);
)sql",
    // 4 -> 5: crash containment.
    R"sql(
CREATE TABLE bad_versions (
  -- A plugin build that crashed the host (a fatal signal or the watchdog):
  -- never loaded again, keyed by the file's content hash so a rebuild with
  -- other bytes is a new chance.
  microservice TEXT NOT NULL,
  hash TEXT NOT NULL,
  version TEXT NOT NULL,
  wall_ms INTEGER NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (microservice, hash)
) STRICT, WITHOUT ROWID;
)sql",
};
static_assert(std::size(kUpgrades) == kSchemaVersion - 1, "one upgrade per schema version after the first");

struct CloseDb {
  void operator()(sqlite3 *db) const { sqlite3_close(db); }
};
using Db = std::unique_ptr<sqlite3, CloseDb>;

struct FinalizeStmt {
  void operator()(sqlite3_stmt *s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, FinalizeStmt>;

[[noreturn]] void fail(sqlite3 *db, const std::string &path, const std::string &op) {
  // Whatever we were doing, the file turned out not to be a database.
  if (sqlite3_errcode(db) == SQLITE_NOTADB)
    throw Error(path, "not a livebot store (not a SQLite database)");
  throw Error(path, op + ": " + sqlite3_errmsg(db));
}

// Opens `target` (the path, or a URI for it); errors name `path`.
Db open_db(const std::string &path, const std::string &target, int flags) {
  sqlite3 *raw = nullptr;
  int rc = sqlite3_open_v2(target.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK)
    throw Error(path, std::string("open: ") + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  return db;
}

// A URI opening the file immutable: no locks, no journal, no WAL, so SQLite
// creates no -wal or -shm beside it and cannot write to it.
std::string immutable_uri(const std::string &path) {
  std::string uri = "file:";
  for (char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      char esc[4];
      std::snprintf(esc, sizeof esc, "%%%02X", static_cast<unsigned char>(c));
      uri += esc;
    } else {
      uri += c;
    }
  }
  return uri + "?immutable=1";
}

Stmt prepare(sqlite3 *db, const std::string &path, const char *sql) {
  sqlite3_stmt *s = nullptr;
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
    fail(db, path, std::string("prepare \"") + sql + "\"");
  return Stmt(s);
}

void exec(sqlite3 *db, const std::string &path, const char *op, const char *sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(db, path, op);
}

// One use of a prepared statement: binds in order, steps, reads columns.
// Resets and clears bindings on the way out, success or not, so the
// statement holds neither a read snapshot nor a pointer into the caller's
// strings (those are bound SQLITE_STATIC, without a copy).
class Query {
 public:
  Query(sqlite3 *db, const std::string &path, sqlite3_stmt *s, const char *op)
      : db_(db), path_(path), s_(s), op_(op) {}
  Query(const Query &) = delete;
  Query &operator=(const Query &) = delete;
  ~Query() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }

  Query &text(const std::string &v) {
    return check(sqlite3_bind_text64(s_, ++bound_, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8));
  }
  // Bytes that may hold NULs. data() is never null, so "" binds an empty
  // blob, not NULL.
  Query &blob(const std::string &v) {
    return check(sqlite3_bind_blob64(s_, ++bound_, v.data(), v.size(), SQLITE_STATIC));
  }
  Query &integer(int64_t v) { return check(sqlite3_bind_int64(s_, ++bound_, v)); }

  // Steps once: true when a row is ready.
  bool row() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, path_, op_);
  }
  // Runs a statement that returns no rows.
  void run() { row(); }

  int64_t integer_at(int col) const { return sqlite3_column_int64(s_, col); }
  std::string text_at(int col) const {
    auto p = reinterpret_cast<const char *>(sqlite3_column_text(s_, col));
    return bytes(p, col);
  }
  std::string blob_at(int col) const {
    return bytes(static_cast<const char *>(sqlite3_column_blob(s_, col)), col);
  }

 private:
  Query &check(int rc) {
    if (rc != SQLITE_OK) fail(db_, path_, op_);
    return *this;
  }
  // Zero-length values come back as a null pointer.
  std::string bytes(const char *p, int col) const {
    int n = sqlite3_column_bytes(s_, col);
    return n > 0 ? std::string(p, static_cast<size_t>(n)) : std::string();
  }

  sqlite3 *db_;
  const std::string &path_;
  sqlite3_stmt *s_;
  const char *op_;
  int bound_ = 0;
};

int64_t query_int(sqlite3 *db, const std::string &path, const char *op, const char *sql) {
  Stmt s = prepare(db, path, sql);
  Query q(db, path, s.get(), op);
  return q.row() ? q.integer_at(0) : 0;
}

enum class Found { empty, older, store };

// Tells what the file holds, reading only; throws unless it is a livebot
// store this build can read (or upgrade) or an empty database.
Found identify(sqlite3 *db, const std::string &path) {
  int64_t app = query_int(db, path, "read application_id", "PRAGMA application_id");
  if (app == kApplicationId) {
    int64_t version = query_int(db, path, "read user_version", "PRAGMA user_version");
    if (version > kSchemaVersion)
      throw Error(path, "store schema version " + std::to_string(version) +
                            " is newer than this livebot reads (" + std::to_string(kSchemaVersion) +
                            "); upgrade livebot");
    if (version < 1)
      throw Error(path, "not a livebot store (schema version " + std::to_string(version) + ")");
    return version < kSchemaVersion ? Found::older : Found::store;
  }
  if (app != 0) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08X", static_cast<uint32_t>(app));
    throw Error(path, std::string("not a livebot store (application_id ") + hex + ")");
  }
  if (query_int(db, path, "read schema", "SELECT count(*) FROM sqlite_schema") > 0)
    throw Error(path, "not a livebot store (a SQLite database with other tables)");
  return Found::empty;
}

// One writing process per store: two hosts, or two playbacks, applying
// input to one store would interleave their commits. flock(2) on the
// database file itself, so no lock file is left behind; it does not touch
// the POSIX record locks SQLite takes on the same file. Readers take none.
class WriterLock {
 public:
  explicit WriterLock(const std::string &path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) throw Error(path, std::string("open: ") + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd_);
      if (err == EWOULDBLOCK) throw Error(path, "in use: another livebot process is writing to this store");
      throw Error(path, std::string("lock: ") + std::strerror(err));
    }
  }
  ~WriterLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  WriterLock(WriterLock &&o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  WriterLock(const WriterLock &) = delete;
  WriterLock &operator=(const WriterLock &) = delete;

 private:
  int fd_;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(const std::string &path, const OpenOptions &opts)
      : path_(path), read_only_(opts.read_only) {
    // SQLite would open "" as a private temporary database.
    if (path_.empty()) throw Error("", "open store: no path given");
    std::error_code ec;
    auto status = std::filesystem::status(path_, ec);
    if (ec && status.type() != std::filesystem::file_type::not_found)
      throw Error(path_, "open: " + ec.message());
    bool exists = std::filesystem::exists(status);
    if (std::filesystem::is_directory(status)) throw Error(path_, "open: is a directory");
    if (!exists && (!opts.create || read_only_)) throw Error(path_, "no such store");

    // Look at the file untouched first, so a foreign one is refused exactly
    // as it was found, with no -wal or -shm left beside it. Not when a WAL is
    // there: the main file alone is then not the database (a process killed
    // during a checkpoint leaves pages of it half copied, and only the WAL
    // makes it whole), and SQLite has been writing it in WAL mode already.
    if (exists && !std::filesystem::exists(path_ + "-wal")) {
      Db probe = open_db(path_, immutable_uri(path_), SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
      identify(probe.get(), path_);
    }
    // A reader opens a file it may write as a writer with query_only set:
    // a read-only connection cannot remove the -wal and -shm files it
    // creates, and would leave them beside the store when it closes.
    const bool may_write = exists && ::access(path_.c_str(), W_OK) == 0;
    if (!read_only_ && exists) lock_.emplace(path_);
    db_ = open_db(path_, path_,
                  read_only_ ? (may_write ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY)
                             : SQLITE_OPEN_READWRITE | (exists ? 0 : SQLITE_OPEN_CREATE));
    if (read_only_ && may_write) exec(db_.get(), path_, "set query_only", "PRAGMA query_only = ON");
    // Again for real: the probe saw the main file only, not commits still in
    // the WAL.
    if (!read_only_ && !lock_) lock_.emplace(path_);  // the file SQLite just created
    const Found found = identify(db_.get(), path_);
    if (read_only_) {
      if (found == Found::empty) throw Error(path_, "not a livebot store (an empty database)");
      if (found == Found::older)
        throw Error(path_, "store schema version " + std::to_string(user_version()) + " predates this livebot's (" +
                               std::to_string(kSchemaVersion) +
                               "); open it for writing once (livebot playback --resume, or a host) to upgrade it");
    } else {
      if (sqlite3_db_readonly(db_.get(), "main") == 1)
        throw Error(path_, "open: the file is not writable (open it read-only)");
      set_wal();
      if (found != Found::store) create_schema();
    }
    // WAL + synchronous=NORMAL: a commit is appended to the WAL without an
    // fsync, so it survives a process crash or SIGKILL (the OS has the
    // bytes), which is what we promise. Power loss may lose the last
    // commits, but never corrupts the file: the WAL is fsynced before each
    // checkpoint.
    exec(db_.get(), path_, "set synchronous", "PRAGMA synchronous = NORMAL");
    exec(db_.get(), path_, "enable foreign keys", "PRAGMA foreign_keys = ON");
    // 32 MiB of page cache: a batch of thousands of executions stays in
    // memory until its commit instead of spilling into the WAL halfway.
    exec(db_.get(), path_, "set cache_size", "PRAGMA cache_size = -32768");
    prepare_all();
  }

  ~SqliteStore() override {
    if (in_transaction()) sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    // Members go in reverse order: statements are finalized, then db_ closes.
  }

  void begin() override {
    if (read_only_) throw Error(path_, "begin: the store is open read-only");
    query(st_.begin, "begin").run();
  }

  // A commit that fails is rolled back before the error is thrown, so either
  // every write of the transaction is durable or none is, and no transaction
  // is left open.
  void commit() override {
    sqlite3_stmt *s = st_.commit.get();
    if (sqlite3_step(s) == SQLITE_DONE) {
      sqlite3_reset(s);
      return;
    }
    std::string what = std::string("commit: ") + sqlite3_errmsg(db_.get());
    if (sqlite3_extended_errcode(db_.get()) == SQLITE_CONSTRAINT_FOREIGNKEY)
      what += " (an instance, device or variable names a location that was never put)";
    sqlite3_reset(s);
    if (in_transaction()) sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw Error(path_, what);
  }

  // Without an open transaction this does nothing, so error paths may call
  // it unconditionally (after a failed commit, say).
  void rollback() override {
    if (in_transaction()) query(st_.rollback, "rollback").run();
  }

  // Asks SQLite rather than keeping a flag: SQLite itself ends the
  // transaction on some errors (disk full, I/O).
  bool in_transaction() const override { return sqlite3_get_autocommit(db_.get()) == 0; }

  std::optional<LocationRecord> load_location(const std::string &id) override {
    Query q = query(st_.load_location, "load_location");
    q.text(id);
    if (!q.row()) return std::nullopt;
    return LocationRecord{id, q.text_at(0), q.text_at(1), q.text_at(2)};
  }

  void put_location(const LocationRecord &loc) override {
    write(st_.put_location, "put_location")
        .text(loc.id)
        .text(loc.mode)
        .text(loc.timezone)
        .text(loc.bot_version)
        .run();
  }

  std::vector<std::string> location_ids() override {
    Query q = query(st_.location_ids, "location_ids");
    std::vector<std::string> ids;
    while (q.row()) ids.push_back(q.text_at(0));
    return ids;
  }

  std::vector<std::string> state_schemas(const std::string &microservice) override {
    Query q = query(st_.state_schemas, "state_schemas");
    q.text(microservice);
    std::vector<std::string> out;
    while (q.row()) out.push_back(q.text_at(0));
    return out;
  }

  std::vector<InstanceRecord> load_instances(const std::string &location) override {
    Query q = query(st_.load_instances, "load_instances");
    q.text(location);
    std::vector<InstanceRecord> out;
    while (q.row())
      out.push_back({q.text_at(0), q.text_at(1), q.integer_at(2), q.text_at(3), q.blob_at(4)});
    return out;
  }

  std::optional<InstanceRecord> load_instance(const std::string &location,
                                              const std::string &microservice,
                                              const std::string &device_id) override {
    Query q = query(st_.load_instance, "load_instance");
    q.text(location).text(microservice).text(device_id);
    if (!q.row()) return std::nullopt;
    return InstanceRecord{microservice, device_id, q.integer_at(0), q.text_at(1), q.blob_at(2)};
  }

  // The common put keeps the instance's id, so it leaves the rowid alone;
  // updating the rowid would rewrite the row and its index entry too (about
  // twice the time). A changed id takes a second statement.
  void put_instance(const std::string &location, const InstanceRecord &inst) override {
    write(st_.put_instance, "put_instance")
        .integer(inst.instance_id)
        .text(location)
        .text(inst.microservice)
        .text(inst.device_id)
        .text(inst.schema_hash)
        .blob(inst.state)
        .run();
    if (sqlite3_changes(db_.get()) > 0) return;
    write(st_.put_instance_new_id, "put_instance")
        .integer(inst.instance_id)
        .text(inst.schema_hash)
        .blob(inst.state)
        .text(location)
        .text(inst.microservice)
        .text(inst.device_id)
        .run();
  }

  void delete_instance(const std::string &location, const std::string &microservice,
                       const std::string &device_id) override {
    write(st_.delete_instance, "delete_instance")
        .text(location)
        .text(microservice)
        .text(device_id)
        .run();
  }

  // Ids are durable once committed. A rolled-back id is still never handed
  // out again by this Store (it remembers the highest one); after a crash
  // an uncommitted id may come back, but nothing that used it survived.
  int64_t allocate_instance_id() override {
    Query q = write(st_.allocate_instance_id, "allocate_instance_id");
    q.integer(last_instance_id_);
    if (!q.row()) throw Error(path_, "allocate_instance_id: the instance_id counter is missing");
    last_instance_id_ = q.integer_at(0);
    return last_instance_id_;
  }

  std::vector<DeviceRecord> load_devices(const std::string &location) override {
    Query q = query(st_.load_devices, "load_devices");
    q.text(location);
    std::vector<DeviceRecord> out;
    while (q.row()) out.push_back({q.text_at(0), q.blob_at(1)});
    return out;
  }

  void put_device(const std::string &location, const DeviceRecord &dev) override {
    write(st_.put_device, "put_device").text(location).text(dev.id).blob(dev.record).run();
  }

  void delete_device(const std::string &location, const std::string &device_id) override {
    write(st_.delete_device, "delete_device").text(location).text(device_id).run();
  }

  std::vector<VariableRecord> load_required_variables(const std::string &location) override {
    Query q = query(st_.load_required_variables, "load_required_variables");
    q.text(location);
    std::vector<VariableRecord> out;
    while (q.row())
      out.push_back({q.text_at(0), static_cast<int32_t>(q.integer_at(1)), q.blob_at(2), true});
    return out;
  }

  std::vector<VariableRecord> load_variables(const std::string &location) override {
    Query q = query(st_.load_variables, "load_variables");
    q.text(location);
    std::vector<VariableRecord> out;
    while (q.row())
      out.push_back({q.text_at(0), static_cast<int32_t>(q.integer_at(1)), q.blob_at(2), q.integer_at(3) != 0});
    return out;
  }

  std::optional<VariableRecord> load_variable(const std::string &location,
                                              const std::string &name) override {
    Query q = query(st_.load_variable, "load_variable");
    q.text(location).text(name);
    if (!q.row()) return std::nullopt;
    return VariableRecord{name, static_cast<int32_t>(q.integer_at(0)), q.blob_at(1),
                          q.integer_at(2) != 0};
  }

  void put_variable(const std::string &location, const VariableRecord &var) override {
    write(st_.put_variable, "put_variable")
        .text(location)
        .text(var.name)
        .integer(var.kind)
        .blob(var.value)
        .integer(var.required ? 1 : 0)
        .run();
  }

  void delete_variable(const std::string &location, const std::string &name) override {
    write(st_.delete_variable, "delete_variable").text(location).text(name).run();
  }

  std::vector<TimerRecord> load_timers(const std::string &location) override {
    Query q = query(st_.load_timers, "load_timers");
    q.text(location);
    std::vector<TimerRecord> out;
    while (q.row()) out.push_back({q.integer_at(0), q.text_at(1), q.integer_at(2)});
    return out;
  }

  void put_timer(const std::string &location, const TimerRecord &timer) override {
    write(st_.put_timer, "put_timer")
        .text(location)
        .integer(timer.instance_id)
        .text(timer.reference)
        .integer(timer.due_ms)
        .run();
  }

  void delete_timer(const std::string &location, int64_t instance_id, const std::string &reference) override {
    write(st_.delete_timer, "delete_timer").text(location).integer(instance_id).text(reference).run();
  }

  std::vector<ScheduleRecord> load_schedules(const std::string &location) override {
    Query q = query(st_.load_schedules, "load_schedules");
    q.text(location);
    std::vector<ScheduleRecord> out;
    while (q.row()) out.push_back({q.text_at(0), q.integer_at(1)});
    return out;
  }

  void put_schedule(const std::string &location, const ScheduleRecord &schedule) override {
    write(st_.put_schedule, "put_schedule").text(location).text(schedule.id).integer(schedule.next_ms).run();
  }

  void delete_schedule(const std::string &location, const std::string &id) override {
    write(st_.delete_schedule, "delete_schedule").text(location).text(id).run();
  }

  std::vector<DataStreamRecord> load_datastreams(const std::string &location) override {
    Query q = query(st_.load_datastreams, "load_datastreams");
    q.text(location);
    std::vector<DataStreamRecord> out;
    while (q.row()) out.push_back({q.integer_at(0), q.integer_at(1), q.text_at(2), q.blob_at(3)});
    return out;
  }

  void put_datastream(const std::string &location, const DataStreamRecord &message) override {
    write(st_.put_datastream, "put_datastream")
        .text(location)
        .integer(message.seq)
        .integer(message.due_ms)
        .text(message.address)
        .blob(message.content)
        .run();
  }

  void delete_datastream(const std::string &location, int64_t seq) override {
    write(st_.delete_datastream, "delete_datastream").text(location).integer(seq).run();
  }

  std::vector<std::pair<std::string, int64_t>> due_locations() override {
    Query q = query(st_.due_locations, "due_locations");
    std::vector<std::pair<std::string, int64_t>> out;
    while (q.row()) out.emplace_back(q.text_at(0), q.integer_at(1));
    return out;
  }

  void put_schema(const std::string &hash, const std::string &bfbs) override {
    write(st_.put_schema, "put_schema").text(hash).blob(bfbs).run();
  }

  std::optional<std::string> load_schema(const std::string &hash) override {
    Query q = query(st_.load_schema, "load_schema");
    q.text(hash);
    if (!q.row()) return std::nullopt;
    return q.blob_at(0);
  }

  std::optional<int64_t> load_cursor(const std::string &source) override {
    Query q = query(st_.load_cursor, "load_cursor");
    q.text(source);
    if (!q.row()) return std::nullopt;
    return q.integer_at(0);
  }

  void put_cursor(const std::string &source, int64_t position) override {
    write(st_.put_cursor, "put_cursor").text(source).integer(position).run();
  }

  void add_error(const ErrorRecord &err) override {
    write(st_.add_error, "add_error")
        .integer(err.wall_ms)
        .integer(err.event_ms)
        .text(err.bot)
        .text(err.location)
        .text(err.microservice)
        .text(err.version)
        .text(err.callback)
        .text(err.message)
        .run();
  }

  std::vector<ErrorRecord> list_errors(const std::string &bot, size_t limit) override {
    Query q = bot.empty() ? query(st_.list_errors, "list_errors")
                          : query(st_.list_errors_of_bot, "list_errors");
    if (!bot.empty()) q.text(bot);
    q.integer(static_cast<int64_t>(std::min<size_t>(limit, std::numeric_limits<int64_t>::max())));
    std::vector<ErrorRecord> out;
    while (q.row())
      out.push_back({q.integer_at(0), q.integer_at(1), q.integer_at(2), q.text_at(3), q.text_at(4),
                     q.text_at(5), q.text_at(6), q.text_at(7), q.text_at(8)});
    return out;
  }

  void quarantine_instance(const QuarantineRecord &q) override {
    write(st_.add_quarantine, "quarantine_instance")
        .integer(q.wall_ms)
        .text(q.location)
        .text(q.instance.microservice)
        .text(q.instance.device_id)
        .integer(q.instance.instance_id)
        .text(q.instance.schema_hash)
        .blob(q.instance.state)
        .text(q.reason)
        .run();
    delete_instance(q.location, q.instance.microservice, q.instance.device_id);
  }

  std::vector<QuarantineRecord> list_quarantined(size_t limit) override {
    Query q = query(st_.list_quarantine, "list_quarantined");
    q.integer(static_cast<int64_t>(std::min<size_t>(limit, std::numeric_limits<int64_t>::max())));
    std::vector<QuarantineRecord> out;
    while (q.row())
      out.push_back({q.integer_at(0), q.integer_at(1), q.text_at(2),
                     InstanceRecord{q.text_at(3), q.text_at(4), q.integer_at(5), q.text_at(6), q.blob_at(7)},
                     q.text_at(8)});
    return out;
  }

  int64_t count_quarantined() override {
    Query q = query(st_.count_quarantine, "count_quarantined");
    return q.row() ? q.integer_at(0) : 0;
  }

  void add_bad_version(const BadVersionRecord &bad) override {
    write(st_.add_bad_version, "add_bad_version")
        .text(bad.microservice)
        .text(bad.hash)
        .text(bad.version)
        .integer(bad.wall_ms)
        .text(bad.reason)
        .run();
  }

  std::vector<BadVersionRecord> bad_versions() override {
    Query q = query(st_.bad_versions, "bad_versions");
    std::vector<BadVersionRecord> out;
    while (q.row()) out.push_back({q.text_at(0), q.text_at(1), q.text_at(2), q.integer_at(3), q.text_at(4)});
    return out;
  }

  void add_output(const OutputRecord &out) override {
    write(st_.add_output, "add_output")
        .integer(out.event_ms)
        .text(out.location)
        .text(out.microservice)
        .text(out.kind)
        .text(out.body)
        .run();
  }

  std::vector<RetirementRecord> load_retirements() override {
    Query q = query(st_.load_retirements, "load_retirements");
    std::vector<RetirementRecord> out;
    while (q.row())
      out.push_back({q.text_at(0), q.text_at(1), q.integer_at(2), q.text_at(3), q.text_at(4), q.text_at(5),
                     q.blob_at(6), q.integer_at(7), q.integer_at(8), q.integer_at(9)});
    return out;
  }

  void put_retirement(const RetirementRecord &r) override {
    write(st_.put_retirement, "put_retirement")
        .text(r.microservice)
        .text(r.state)
        .integer(r.started_ms)
        .text(r.bot_version)
        .text(r.file)
        .text(r.version)
        .blob(r.plugin)
        .integer(r.released_ms)
        .integer(r.purged)
        .integer(r.messages_dropped)
        .run();
  }

  void delete_retirement(const std::string &microservice) override {
    write(st_.delete_retirement, "delete_retirement").text(microservice).run();
  }

  void add_purge(const PurgeRecord &p) override {
    write(st_.add_purge, "add_purge")
        .text(p.microservice)
        .text(p.location)
        .integer(p.wall_ms)
        .integer(p.instances)
        .integer(p.messages_dropped)
        .text(p.by)
        .run();
  }

  bool is_purged(const std::string &microservice, const std::string &location) override {
    Query q = query(st_.is_purged, "is_purged");
    q.text(microservice).text(location);
    return q.row();
  }

  int64_t purged_count(const std::string &microservice) override {
    Query q = query(st_.purged_count, "purged_count");
    q.text(microservice);
    return q.row() ? q.integer_at(0) : 0;
  }

  int64_t purged_messages(const std::string &microservice) override {
    Query q = query(st_.purged_messages, "purged_messages");
    q.text(microservice);
    return q.row() ? q.integer_at(0) : 0;
  }

  void delete_purges(const std::string &microservice) override {
    write(st_.delete_purges, "delete_purges").text(microservice).run();
  }

  std::vector<std::string> unpurged_locations(const std::string &microservice, const std::string &after,
                                              size_t limit) override {
    Query q = query(st_.unpurged_locations, "unpurged_locations");
    q.text(after).text(microservice).integer(static_cast<int64_t>(std::min<size_t>(limit, std::numeric_limits<int64_t>::max())));
    std::vector<std::string> out;
    while (q.row()) out.push_back(q.text_at(0));
    return out;
  }

  int64_t location_count() override {
    Query q = query(st_.location_count, "location_count");
    return q.row() ? q.integer_at(0) : 0;
  }

  std::vector<std::string> stored_microservices() override {
    Query q = query(st_.stored_microservices, "stored_microservices");
    std::vector<std::string> out;
    while (q.row()) out.push_back(q.text_at(0));
    return out;
  }

  void rename_microservice(const std::string &from, const std::string &to) override {
    write(st_.rename_instances, "rename_microservice").text(to).text(from).run();
    write(st_.readdress_datastreams, "rename_microservice").text(to).text(from).run();
  }

  std::vector<OutputRecord> list_outputs() override {
    Query q = query(st_.list_outputs, "list_outputs");
    std::vector<OutputRecord> out;
    while (q.row())
      out.push_back({q.integer_at(0), q.integer_at(1), q.text_at(2), q.text_at(3), q.text_at(4),
                     q.text_at(5)});
    return out;
  }

 private:
  void set_wal() {
    Stmt s = prepare(db_.get(), path_, "PRAGMA journal_mode = WAL");
    Query q(db_.get(), path_, s.get(), "set journal_mode");
    if (!q.row() || q.text_at(0) != "wal")
      throw Error(path_, "set journal_mode: WAL is not available for this file");
  }

  int64_t user_version() { return query_int(db_.get(), path_, "read user_version", "PRAGMA user_version"); }

  // Creates the schema in an empty database, or upgrades an older one, in
  // one transaction: a crash leaves the file as it was.
  void create_schema() {
    exec(db_.get(), path_, "create schema", "BEGIN IMMEDIATE");
    // Another process may have created the store since we looked.
    int64_t version = 0;
    if (identify(db_.get(), path_) == Found::empty) {
      exec(db_.get(), path_, "create schema", kSchema);
      const std::string id = "PRAGMA application_id = " + std::to_string(kApplicationId);
      exec(db_.get(), path_, "create schema", id.c_str());
      version = 1;
    } else {
      version = user_version();
    }
    for (; version < kSchemaVersion; ++version) {
      const std::string op = "upgrade schema " + std::to_string(version) + " to " + std::to_string(version + 1);
      exec(db_.get(), path_, op.c_str(), kUpgrades[version - 1]);
      const std::string set = "PRAGMA user_version = " + std::to_string(version + 1);
      exec(db_.get(), path_, op.c_str(), set.c_str());
    }
    exec(db_.get(), path_, "create schema", "COMMIT");
  }

  Query query(const Stmt &s, const char *op) { return Query(db_.get(), path_, s.get(), op); }

  // Writes only inside a transaction: a write outside one is a programming
  // error (it would commit alone and break the engine's batches), so it throws
  // rather than being wrapped.
  Query write(const Stmt &s, const char *op) {
    if (read_only_) throw Error(path_, std::string(op) + ": the store is open read-only");
    if (!in_transaction())
      throw Error(path_, std::string(op) + ": no transaction open (call begin() first)");
    return query(s, op);
  }

  void prepare_all() {
    auto p = [this](const char *sql) { return prepare(db_.get(), path_, sql); };
    st_.begin = p("BEGIN IMMEDIATE");
    st_.commit = p("COMMIT");
    st_.rollback = p("ROLLBACK");
    st_.load_location = p("SELECT mode, timezone, bot_version FROM locations WHERE id = ?");
    st_.put_location =
        p("INSERT INTO locations (id, mode, timezone, bot_version) VALUES (?, ?, ?, ?) "
          "ON CONFLICT (id) DO UPDATE SET mode = excluded.mode, timezone = excluded.timezone, "
          "bot_version = excluded.bot_version");
    st_.location_ids = p("SELECT id FROM locations ORDER BY id");
    st_.state_schemas = p("SELECT DISTINCT schema_hash FROM instances WHERE microservice = ? ORDER BY 1");
    st_.load_instances =
        p("SELECT microservice, device_id, instance_id, schema_hash, state FROM instances "
          "WHERE location = ? ORDER BY microservice, device_id");
    st_.load_instance =
        p("SELECT instance_id, schema_hash, state FROM instances "
          "WHERE location = ? AND microservice = ? AND device_id = ?");
    st_.put_instance =
        p("INSERT INTO instances (instance_id, location, microservice, device_id, schema_hash, "
          "state) VALUES (?, ?, ?, ?, ?, ?) "
          "ON CONFLICT (location, microservice, device_id) DO UPDATE SET "
          "schema_hash = excluded.schema_hash, state = excluded.state "
          "WHERE instance_id = excluded.instance_id");
    st_.put_instance_new_id =
        p("UPDATE instances SET instance_id = ?, schema_hash = ?, state = ? "
          "WHERE location = ? AND microservice = ? AND device_id = ?");
    st_.delete_instance =
        p("DELETE FROM instances WHERE location = ? AND microservice = ? AND device_id = ?");
    st_.allocate_instance_id = p(
        "UPDATE counters SET value = max(value, ?) + 1 WHERE name = 'instance_id' RETURNING value");
    st_.load_devices = p("SELECT id, record FROM devices WHERE location = ? ORDER BY id");
    st_.put_device =
        p("INSERT INTO devices (location, id, record) VALUES (?, ?, ?) "
          "ON CONFLICT (location, id) DO UPDATE SET record = excluded.record");
    st_.delete_device = p("DELETE FROM devices WHERE location = ? AND id = ?");
    st_.load_required_variables =
        p("SELECT name, kind, value FROM variables WHERE location = ? AND required = 1 "
          "ORDER BY name");
    st_.load_variables =
        p("SELECT name, kind, value, required FROM variables WHERE location = ? ORDER BY name");
    st_.load_variable =
        p("SELECT kind, value, required FROM variables WHERE location = ? AND name = ?");
    st_.put_variable = p(
        "INSERT INTO variables (location, name, kind, value, required) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (location, name) DO UPDATE SET kind = excluded.kind, value = excluded.value, "
        "required = excluded.required");
    st_.delete_variable = p("DELETE FROM variables WHERE location = ? AND name = ?");
    st_.load_timers =
        p("SELECT instance_id, reference, due_ms FROM timers WHERE location = ? ORDER BY instance_id, reference");
    st_.put_timer =
        p("INSERT INTO timers (location, instance_id, reference, due_ms) VALUES (?, ?, ?, ?) "
          "ON CONFLICT (location, instance_id, reference) DO UPDATE SET due_ms = excluded.due_ms");
    st_.delete_timer = p("DELETE FROM timers WHERE location = ? AND instance_id = ? AND reference = ?");
    st_.load_schedules = p("SELECT id, next_ms FROM schedules WHERE location = ? ORDER BY id");
    st_.put_schedule =
        p("INSERT INTO schedules (location, id, next_ms) VALUES (?, ?, ?) "
          "ON CONFLICT (location, id) DO UPDATE SET next_ms = excluded.next_ms");
    st_.delete_schedule = p("DELETE FROM schedules WHERE location = ? AND id = ?");
    st_.load_datastreams =
        p("SELECT seq, due_ms, address, content FROM datastreams WHERE location = ? ORDER BY seq");
    st_.put_datastream =
        p("INSERT INTO datastreams (location, seq, due_ms, address, content) VALUES (?, ?, ?, ?, ?) "
          "ON CONFLICT (location, seq) DO UPDATE SET due_ms = excluded.due_ms, address = excluded.address, "
          "content = excluded.content");
    st_.delete_datastream = p("DELETE FROM datastreams WHERE location = ? AND seq = ?");
    st_.due_locations =
        p("SELECT location, min(at) FROM (SELECT location, due_ms AS at FROM timers "
          "UNION ALL SELECT location, next_ms FROM schedules UNION ALL SELECT location, due_ms FROM datastreams) "
          "GROUP BY location ORDER BY location");
    st_.put_schema =
        p("INSERT INTO schemas (hash, bfbs) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING");
    st_.load_schema = p("SELECT bfbs FROM schemas WHERE hash = ?");
    st_.load_cursor = p("SELECT position FROM cursors WHERE source = ?");
    st_.put_cursor =
        p("INSERT INTO cursors (source, position) VALUES (?, ?) "
          "ON CONFLICT (source) DO UPDATE SET position = excluded.position");
    st_.add_error =
        p("INSERT INTO errors (wall_ms, event_ms, bot, location, microservice, version, callback, "
          "message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    constexpr const char *kErrorColumns =
        "SELECT id, wall_ms, event_ms, bot, location, microservice, version, callback, message "
        "FROM errors ";
    st_.list_errors = p((std::string(kErrorColumns) + "ORDER BY id DESC LIMIT ?").c_str());
    st_.list_errors_of_bot =
        p((std::string(kErrorColumns) + "WHERE bot = ? ORDER BY id DESC LIMIT ?").c_str());
    st_.add_quarantine =
        p("INSERT INTO quarantine (wall_ms, location, microservice, device_id, instance_id, schema_hash, state, "
          "reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    st_.list_quarantine =
        p("SELECT id, wall_ms, location, microservice, device_id, instance_id, schema_hash, state, reason "
          "FROM quarantine ORDER BY id DESC LIMIT ?");
    st_.count_quarantine = p("SELECT count(*) FROM quarantine");
    st_.add_bad_version =
        p("INSERT INTO bad_versions (microservice, hash, version, wall_ms, reason) VALUES (?, ?, ?, ?, ?) "
          "ON CONFLICT (microservice, hash) DO NOTHING");
    st_.bad_versions =
        p("SELECT microservice, hash, version, wall_ms, reason FROM bad_versions ORDER BY microservice, wall_ms");
    st_.add_output =
        p("INSERT INTO outputs (event_ms, location, microservice, kind, body) "
          "VALUES (?, ?, ?, ?, ?)");
    st_.list_outputs =
        p("SELECT id, event_ms, location, microservice, kind, body FROM outputs ORDER BY id");
    st_.load_retirements =
        p("SELECT microservice, state, started_ms, bot_version, file, version, plugin, released_ms, purged, "
          "messages_dropped FROM retirements ORDER BY microservice");
    st_.put_retirement =
        p("INSERT INTO retirements (microservice, state, started_ms, bot_version, file, version, plugin, "
          "released_ms, purged, messages_dropped) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
          "ON CONFLICT (microservice) DO UPDATE SET state = excluded.state, started_ms = excluded.started_ms, "
          "bot_version = excluded.bot_version, file = excluded.file, version = excluded.version, "
          "plugin = excluded.plugin, released_ms = excluded.released_ms, purged = excluded.purged, "
          "messages_dropped = excluded.messages_dropped");
    st_.delete_retirement = p("DELETE FROM retirements WHERE microservice = ?");
    st_.add_purge =
        p("INSERT INTO purges (microservice, location, wall_ms, instances, messages_dropped, by) "
          "VALUES (?, ?, ?, ?, ?, ?)");
    st_.is_purged = p("SELECT 1 FROM purges WHERE microservice = ? AND location = ?");
    st_.purged_count = p("SELECT count(*) FROM purges WHERE microservice = ?");
    st_.purged_messages = p("SELECT coalesce(sum(messages_dropped), 0) FROM purges WHERE microservice = ?");
    st_.delete_purges = p("DELETE FROM purges WHERE microservice = ?");
    st_.unpurged_locations =
        p("SELECT id FROM locations l WHERE id > ?1 AND NOT EXISTS "
          "(SELECT 1 FROM purges p WHERE p.microservice = ?2 AND p.location = l.id) ORDER BY id LIMIT ?3");
    st_.location_count = p("SELECT count(*) FROM locations");
    st_.stored_microservices = p("SELECT DISTINCT microservice FROM instances ORDER BY 1");
    st_.rename_instances = p("UPDATE instances SET microservice = ? WHERE microservice = ?");
    st_.readdress_datastreams = p("UPDATE datastreams SET address = ? WHERE address = ?");
  }

  std::string path_;
  bool read_only_;
  int64_t last_instance_id_ = 0;
  std::optional<WriterLock> lock_;  // released after db_ closes
  Db db_;
  // Declared after db_, so they are finalized before it closes.
  struct {
    Stmt begin, commit, rollback;
    Stmt load_location, put_location, location_ids;
    Stmt state_schemas, load_instances, load_instance, put_instance, put_instance_new_id, delete_instance;
    Stmt allocate_instance_id;
    Stmt load_devices, put_device, delete_device;
    Stmt load_required_variables, load_variables, load_variable, put_variable, delete_variable;
    Stmt load_timers, put_timer, delete_timer, load_schedules, put_schedule, delete_schedule;
    Stmt load_datastreams, put_datastream, delete_datastream, due_locations;
    Stmt put_schema, load_schema;
    Stmt load_cursor, put_cursor;
    Stmt add_error, list_errors, list_errors_of_bot;
    Stmt add_quarantine, list_quarantine, count_quarantine;
    Stmt add_bad_version, bad_versions;
    Stmt add_output, list_outputs;
    Stmt load_retirements, put_retirement, delete_retirement, add_purge, is_purged, purged_count, purged_messages,
        delete_purges, unpurged_locations, location_count, stored_microservices, rename_instances,
        readdress_datastreams;
  } st_;
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::string &path, const OpenOptions &opts) {
  return std::make_unique<SqliteStore>(path, opts);
}

void remove_sqlite_store(const std::string &path) {
  std::optional<WriterLock> lock;
  if (std::filesystem::exists(path)) lock.emplace(path);
  for (const char *suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

}  // namespace livebot::store

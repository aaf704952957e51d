// The SQLite store against real files: round trips, transactions, crashes
// of a real child process, and files that are not ours.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>

#include "common/error.hpp"
#include "store/store.hpp"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using namespace livebot::store;

namespace {

// A fresh directory per test, removed afterwards.
struct TempDir {
  fs::path dir;
  TempDir() {
    static int n = 0;
    dir = fs::temp_directory_path() /
          ("livebot-store-test-" + std::to_string(getpid()) + "-" + std::to_string(++n));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string file(const std::string &name = "store.db") const { return (dir / name).string(); }
};

std::string read_bytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string &path, const std::string &bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Runs SQL on a file with SQLite itself; returns the first column of the
// last row, if any.
std::string raw_sql(const std::string &path, const std::string &sql) {
  sqlite3 *db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  std::string result;
  char *err = nullptr;
  int rc = sqlite3_exec(
      db, sql.c_str(),
      [](void *out, int, char **values, char **) {
        *static_cast<std::string *>(out) = values[0] ? values[0] : "";
        return 0;
      },
      &result, &err);
  std::string message = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  INFO(message);
  REQUIRE(rc == SQLITE_OK);
  return result;
}

// Takes a store back to schema version `version`: drops what each later
// upgrade added, newest first, as a store of that version never had it.
void downgrade(const std::string &path, int version) {
  // What upgrade v -> v + 1 added, for v = 1 to 4.
  const char *added[] = {
      "DROP TABLE timers; DROP TABLE schedules; DROP TABLE datastreams;",
      "DROP TABLE quarantine;",
      "DROP TABLE purges; DROP TABLE retirements; DROP INDEX instances_by_microservice;",
      "DROP TABLE bad_versions;",
  };
  std::string sql;
  for (int v = static_cast<int>(std::size(added)); v >= version; --v) sql += added[v - 1];
  raw_sql(path, sql + " PRAGMA user_version = " + std::to_string(version));
}

// Runs body in a forked child and returns its wait status. The child never
// returns into Catch: body ends it, or it exits 3 on an exception and 4 if
// body returns.
int in_child(const std::function<void()> &body) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    try {
      body();
    } catch (...) {
      _exit(3);
    }
    _exit(4);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return status;
}

const std::string kNulBytes("a\0b\0\0c\xff", 7);

LocationRecord location(const std::string &id) { return {id, "live", "Europe/Paris", "1.2.3"}; }

InstanceRecord instance(const std::string &ms, const std::string &device, int64_t id,
                        std::string state) {
  return {ms, device, id, "hash-" + ms, std::move(state)};
}

// Enough state (48 MiB) to overflow the store's page cache (32 MiB), so uncommitted pages are
// spilled into the WAL file before the process dies.
void write_a_lot(Store &store, const std::string &loc) {
  store.put_location(location(loc));
  for (int i = 0; i < 6000; ++i)
    store.put_instance(loc, instance("ms" + std::to_string(i), "", store.allocate_instance_id(),
                                     std::string(8192, 'x')));
}

}  // namespace

TEST_CASE("every record kind round-trips, bytes intact, across a reopen", "[store]") {
  TempDir tmp;
  const std::string path = tmp.file();
  {
    auto store = open_sqlite_store(path);
    store->begin();
    store->put_location(location("home"));
    store->put_location(location("cabin"));
    store->put_instance("home", instance("thermo", "dev1", 7, kNulBytes));
    store->put_instance("home", instance("lights", "", 8, ""));
    store->put_device("home", {"dev1", kNulBytes + "record"});
    store->put_device("home", {"dev0", ""});
    store->put_variable("home", {"target", 3, kNulBytes, true});
    store->put_variable("home", {"note", 5, "plain", false});
    store->put_schema("h1", kNulBytes + "bfbs");
    store->put_cursor("recording", 1234567890123);
    store->add_error({0, 11, 22, "bot", "home", "thermo", "1.0", "on_event", "boom"});
    store->add_output({0, 33, "home", "thermo", "notification", R"({"text":"hi"})"});
    store->commit();
  }
  auto store = open_sqlite_store(path);

  CHECK(store->location_ids() == std::vector<std::string>{"cabin", "home"});
  auto loc = store->load_location("home");
  REQUIRE(loc);
  CHECK(loc->id == "home");
  CHECK(loc->mode == "live");
  CHECK(loc->timezone == "Europe/Paris");
  CHECK(loc->bot_version == "1.2.3");
  CHECK_FALSE(store->load_location("nowhere"));

  auto thermo = store->load_instance("home", "thermo", "dev1");
  REQUIRE(thermo);
  CHECK(thermo->instance_id == 7);
  CHECK(thermo->schema_hash == "hash-thermo");
  CHECK(thermo->state == kNulBytes);
  auto lights = store->load_instance("home", "lights", "");
  REQUIRE(lights);
  CHECK(lights->state.empty());
  CHECK_FALSE(store->load_instance("home", "thermo", ""));
  auto all = store->load_instances("home");
  REQUIRE(all.size() == 2);
  CHECK(all[0].microservice == "lights");  // ordered by microservice
  CHECK(all[1].microservice == "thermo");
  CHECK(all[1].device_id == "dev1");
  CHECK(all[1].state == kNulBytes);
  CHECK(store->load_instances("cabin").empty());

  auto devices = store->load_devices("home");
  REQUIRE(devices.size() == 2);
  CHECK(devices[0].id == "dev0");
  CHECK(devices[0].record.empty());
  CHECK(devices[1].record == kNulBytes + "record");

  auto required = store->load_required_variables("home");
  REQUIRE(required.size() == 1);
  CHECK(required[0].name == "target");
  CHECK(required[0].kind == 3);
  CHECK(required[0].value == kNulBytes);
  CHECK(required[0].required);
  auto note = store->load_variable("home", "note");
  REQUIRE(note);
  CHECK(note->kind == 5);
  CHECK(note->value == "plain");
  CHECK_FALSE(note->required);
  CHECK_FALSE(store->load_variable("cabin", "note"));

  CHECK(store->load_schema("h1") == kNulBytes + "bfbs");
  CHECK_FALSE(store->load_schema("h2"));
  CHECK(store->load_cursor("recording") == 1234567890123);
  CHECK_FALSE(store->load_cursor("other"));

  auto errors = store->list_errors("", 10);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].id > 0);
  CHECK(errors[0].wall_ms == 11);
  CHECK(errors[0].event_ms == 22);
  CHECK(errors[0].bot == "bot");
  CHECK(errors[0].location == "home");
  CHECK(errors[0].microservice == "thermo");
  CHECK(errors[0].version == "1.0");
  CHECK(errors[0].callback == "on_event");
  CHECK(errors[0].message == "boom");

  auto outputs = store->list_outputs();
  REQUIRE(outputs.size() == 1);
  CHECK(outputs[0].id > 0);
  CHECK(outputs[0].event_ms == 33);
  CHECK(outputs[0].location == "home");
  CHECK(outputs[0].microservice == "thermo");
  CHECK(outputs[0].kind == "notification");
  CHECK(outputs[0].body == R"({"text":"hi"})");
}

TEST_CASE("puts replace, deletes remove, put_schema keeps the first bytes", "[store]") {
  TempDir tmp;
  auto store = open_sqlite_store(tmp.file());
  store->begin();
  store->put_location(location("home"));
  store->put_location({"home", "paused", "UTC", "2.0"});
  store->put_instance("home", instance("thermo", "", 1, "old"));
  store->put_instance("home", {"thermo", "", 2, "new-hash", "new"});
  store->put_device("home", {"dev1", "old"});
  store->put_device("home", {"dev1", "new"});
  store->put_variable("home", {"v", 1, "old", true});
  store->put_variable("home", {"v", 2, "new", false});
  store->put_schema("h", "first");
  store->put_schema("h", "first");
  store->put_cursor("src", 1);
  store->put_cursor("src", 2);

  CHECK(store->load_location("home")->mode == "paused");
  auto inst = store->load_instance("home", "thermo", "");
  CHECK(inst->instance_id == 2);
  CHECK(inst->schema_hash == "new-hash");
  CHECK(inst->state == "new");
  CHECK(store->load_devices("home").at(0).record == "new");
  CHECK(store->load_variable("home", "v")->value == "new");
  CHECK(store->load_required_variables("home").empty());
  CHECK(store->load_schema("h") == "first");
  CHECK(store->load_cursor("src") == 2);

  store->delete_instance("home", "thermo", "");
  store->delete_device("home", "dev1");
  store->delete_variable("home", "v");
  store->delete_variable("home", "never-there");
  CHECK_FALSE(store->load_instance("home", "thermo", ""));
  CHECK(store->load_devices("home").empty());
  CHECK_FALSE(store->load_variable("home", "v"));
  store->commit();
}

TEST_CASE("timers: one per instance and reference, gone with their instance", "[store][timers]") {
  TempDir tmp;
  const std::string path = tmp.file();
  {
    auto store = open_sqlite_store(path);
    store->begin();
    store->put_location(location("home"));
    store->put_location(location("cabin"));
    store->put_instance("home", instance("door", "d1", 7, "s"));
    store->put_instance("home", instance("alarm", "", 8, "s"));
    store->put_instance("cabin", instance("alarm", "", 9, "s"));
    store->put_timer("home", {7, "open", 5000});
    store->put_timer("home", {7, "open", 6000});  // replaces
    store->put_timer("home", {7, "", 9000});
    store->put_timer("home", {8, "midnight", 4000});
    store->put_timer("cabin", {9, "midnight", 7000});
    store->commit();
  }
  auto store = open_sqlite_store(path);
  const auto timers = store->load_timers("home");
  REQUIRE(timers.size() == 3);
  CHECK(timers[0].instance_id == 7);
  CHECK(timers[0].reference == "");
  CHECK(timers[0].due_ms == 9000);
  CHECK(timers[1].reference == "open");
  CHECK(timers[1].due_ms == 6000);
  CHECK(timers[2].instance_id == 8);
  CHECK(store->due_locations() == std::vector<std::pair<std::string, int64_t>>{{"cabin", 7000}, {"home", 4000}});

  store->begin();
  store->delete_timer("home", 8, "midnight");
  store->delete_timer("home", 8, "never-set");
  CHECK(store->due_locations() == std::vector<std::pair<std::string, int64_t>>{{"cabin", 7000}, {"home", 6000}});
  // An instance takes its timers with it.
  store->delete_instance("home", "door", "d1");
  CHECK(store->load_timers("home").empty());
  CHECK(store->due_locations() == std::vector<std::pair<std::string, int64_t>>{{"cabin", 7000}});
  store->commit();
}

TEST_CASE("schedules: when each fires next, per location, counted in what is due", "[store][schedules]") {
  TempDir tmp;
  auto store = open_sqlite_store(tmp.file());
  store->begin();
  store->put_location(location("home"));
  store->put_instance("home", instance("alarm", "", 8, "s"));
  store->put_timer("home", {8, "midnight", 9000});
  store->put_schedule("home", {"MIDNIGHT", 8000});
  store->put_schedule("home", {"HOUR", 3000});
  store->put_schedule("home", {"HOUR", 3600});  // replaces
  const auto schedules = store->load_schedules("home");
  REQUIRE(schedules.size() == 2);
  CHECK(schedules[0].id == "HOUR");
  CHECK(schedules[0].next_ms == 3600);
  CHECK(schedules[1].id == "MIDNIGHT");
  CHECK(store->due_locations() == std::vector<std::pair<std::string, int64_t>>{{"home", 3600}});
  store->delete_schedule("home", "HOUR");
  CHECK(store->due_locations() == std::vector<std::pair<std::string, int64_t>>{{"home", 8000}});
  store->commit();
}

TEST_CASE("data stream messages wait in send order, bytes intact", "[store][datastreams]") {
  TempDir tmp;
  auto store = open_sqlite_store(tmp.file());
  store->begin();
  store->put_location(location("home"));
  store->put_datastream("home", {2, 5000, "b", kNulBytes});
  store->put_datastream("home", {1, 6000, "a", "{}"});
  const auto waiting = store->load_datastreams("home");
  REQUIRE(waiting.size() == 2);
  CHECK(waiting[0].seq == 1);
  CHECK(waiting[0].address == "a");
  CHECK(waiting[1].content == kNulBytes);
  CHECK(store->due_locations() == std::vector<std::pair<std::string, int64_t>>{{"home", 5000}});
  store->delete_datastream("home", 2);
  CHECK(store->due_locations() == std::vector<std::pair<std::string, int64_t>>{{"home", 6000}});
  store->commit();
}

TEST_CASE("a store of schema version 1 is upgraded when opened for writing, refused read-only", "[store]") {
  TempDir tmp;
  const std::string path = tmp.file();
  {
    auto store = open_sqlite_store(path);
    store->begin();
    store->put_location(location("home"));
    store->put_instance("home", instance("door", "d1", 7, kNulBytes));
    store->commit();
  }
  downgrade(path, 1);
  const std::string v1 = read_bytes(path);
  CHECK_THROWS_WITH(open_sqlite_store(path, {.read_only = true}),
                    path + ": store schema version 1 predates this livebot's (5); open it for writing once "
                           "(livebot playback --resume, or a host) to upgrade it");
  CHECK(read_bytes(path) == v1);
  {
    auto store = open_sqlite_store(path);
    CHECK(store->load_instance("home", "door", "d1")->state == kNulBytes);
    store->begin();
    store->put_timer("home", {7, "open", 5000});
    store->commit();
  }
  CHECK(raw_sql(path, "PRAGMA user_version") == "5");
  auto reader = open_sqlite_store(path, {.read_only = true});
  CHECK(reader->load_timers("home").size() == 1);
  CHECK(reader->count_quarantined() == 0);
  CHECK(reader->bad_versions().empty());
}

TEST_CASE("a version 4 store gains bad_versions; a bad version is kept once, with its first reason", "[store]") {
  TempDir tmp;
  const std::string path = tmp.file();
  {
    auto store = open_sqlite_store(path);
    store->begin();
    store->put_location(location("home"));
    store->commit();
  }
  downgrade(path, 4);
  auto store = open_sqlite_store(path);
  CHECK(raw_sql(path, "PRAGMA user_version") == "5");
  CHECK(store->load_location("home"));
  store->begin();
  store->add_bad_version({"counter", "abc", "2.0.0", 10, "signal 11 (SIGSEGV) in initialize at home"});
  store->add_bad_version({"counter", "abc", "2.0.0", 20, "again"});
  store->commit();
  const auto bad = store->bad_versions();
  REQUIRE(bad.size() == 1);
  CHECK(bad[0].microservice == "counter");
  CHECK(bad[0].hash == "abc");
  CHECK(bad[0].version == "2.0.0");
  CHECK(bad[0].wall_ms == 10);
  CHECK(bad[0].reason == "signal 11 (SIGSEGV) in initialize at home");
}

TEST_CASE("a version 2 store gains the quarantine table (and what came after), its memory kept", "[store]") {
  TempDir tmp;
  const std::string path = tmp.file();
  {
    auto store = open_sqlite_store(path);
    store->begin();
    store->put_location(location("home"));
    store->put_instance("home", instance("door", "d1", 7, kNulBytes));
    store->put_timer("home", {7, "open", 5000});
    store->commit();
  }
  downgrade(path, 2);
  auto store = open_sqlite_store(path);
  CHECK(raw_sql(path, "PRAGMA user_version") == "5");
  CHECK(store->load_instance("home", "door", "d1")->state == kNulBytes);
  store->begin();
  store->quarantine_instance({0, 42, "home", *store->load_instance("home", "door", "d1"), "does not verify"});
  store->commit();
  CHECK_FALSE(store->load_instance("home", "door", "d1"));
  CHECK(store->load_timers("home").empty());  // they went with their owner
  const auto kept = store->list_quarantined(10);
  REQUIRE(kept.size() == 1);
  CHECK(kept[0].id == 1);
  CHECK(kept[0].wall_ms == 42);
  CHECK(kept[0].location == "home");
  CHECK(kept[0].instance.microservice == "door");
  CHECK(kept[0].instance.device_id == "d1");
  CHECK(kept[0].instance.instance_id == 7);
  CHECK(kept[0].instance.state == kNulBytes);
  CHECK(kept[0].reason == "does not verify");
  CHECK(store->count_quarantined() == 1);
}

TEST_CASE("a store of schema version 3 gains retirements when opened for writing, its memory intact", "[store]") {
  TempDir tmp;
  const std::string path = tmp.file();
  {
    auto store = open_sqlite_store(path);
    store->begin();
    store->put_location(location("home"));
    store->put_instance("home", instance("door", "d1", 7, kNulBytes));
    store->put_timer("home", {7, "open", 5000});
    store->commit();
  }
  downgrade(path, 3);
  {
    auto store = open_sqlite_store(path);
    CHECK(store->load_instance("home", "door", "d1")->state == kNulBytes);
    CHECK(store->load_timers("home").size() == 1);
    CHECK(store->load_retirements().empty());
  }
  CHECK(raw_sql(path, "PRAGMA user_version") == "5");
}

TEST_CASE("retirements: purge records, one per location, gone with their retirement", "[store][retire]") {
  TempDir tmp;
  auto store = open_sqlite_store(tmp.file());
  store->begin();
  for (const char *id : {"a", "b", "c"}) store->put_location(location(id));
  store->put_instance("a", instance("old", "", store->allocate_instance_id(), "x"));
  store->put_instance("b", instance("kept", "", store->allocate_instance_id(), "y"));
  RetirementRecord r{"old", "retiring", 1000, "2.0.0", "/bots/old.so", "1.0.0", kNulBytes, 0, 0, 0};
  store->put_retirement(r);
  store->add_purge({"old", "a", 1001, 1, 2, "execution"});
  store->commit();

  CHECK(store->stored_microservices() == std::vector<std::string>{"kept", "old"});
  REQUIRE(store->load_retirements().size() == 1);
  CHECK(store->load_retirements()[0].plugin == kNulBytes);
  CHECK(store->is_purged("old", "a"));
  CHECK_FALSE(store->is_purged("old", "b"));
  CHECK(store->purged_count("old") == 1);
  CHECK(store->purged_messages("old") == 2);
  CHECK(store->location_count() == 3);
  CHECK(store->unpurged_locations("old", "", 10) == std::vector<std::string>{"b", "c"});
  CHECK(store->unpurged_locations("old", "b", 10) == std::vector<std::string>{"c"});
  CHECK(store->unpurged_locations("old", "", 1) == std::vector<std::string>{"b"});

  // A second purge of one location is refused, and takes nothing with it.
  store->begin();
  CHECK_THROWS_WITH(store->add_purge({"old", "a", 1002, 0, 0, "sweep"}), Contains("UNIQUE constraint failed"));
  store->rollback();
  CHECK(store->purged_count("old") == 1);

  store->begin();
  store->delete_retirement("old");
  store->commit();
  CHECK(store->load_retirements().empty());
  CHECK(store->purged_count("old") == 0);
}

TEST_CASE("commit is durable at once, rollback discards", "[store]") {
  TempDir tmp;
  const std::string path = tmp.file();
  {
    auto store = open_sqlite_store(path);
    CHECK_FALSE(store->in_transaction());
    store->begin();
    CHECK(store->in_transaction());
    store->put_location(location("kept"));
    store->commit();
    CHECK_FALSE(store->in_transaction());

    store->begin();
    store->put_location(location("dropped"));
    store->put_cursor("src", 9);
    CHECK(store->load_location("dropped"));  // a transaction sees its own writes
    store->rollback();
    CHECK_FALSE(store->in_transaction());
    CHECK_FALSE(store->load_location("dropped"));

    // Left open at destruction: rolled back.
    store->begin();
    store->put_location(location("abandoned"));
  }
  auto store = open_sqlite_store(path);
  CHECK(store->location_ids() == std::vector<std::string>{"kept"});
  CHECK_FALSE(store->load_cursor("src"));
}

TEST_CASE("writes need a transaction; misuse is reported", "[store]") {
  TempDir tmp;
  const std::string path = tmp.file();
  auto store = open_sqlite_store(path);
  CHECK_THROWS_WITH(store->put_location(location("x")),
                    Contains(path) && Contains("no transaction"));
  CHECK_THROWS_WITH(store->allocate_instance_id(), Contains("no transaction"));
  CHECK_THROWS_WITH(store->commit(), Contains(path + ": commit: "));
  CHECK_NOTHROW(store->rollback());  // nothing open: a no-op
  store->begin();
  CHECK_THROWS_WITH(store->begin(), Contains(path + ": begin: "));
  CHECK(store->in_transaction());
  CHECK_THROWS_WITH(store->put_instance("home", instance("ms", "", 0, "")),
                    Contains("put_instance: CHECK constraint failed"));
  store->rollback();
}

TEST_CASE("a failed commit writes nothing and leaves no transaction open", "[store]") {
  TempDir tmp;
  const std::string path = tmp.file();
  auto store = open_sqlite_store(path);
  store->begin();
  store->put_cursor("src", 5);
  store->put_instance("unknown", instance("ms", "", 1, "state"));  // no such location
  CHECK_THROWS_WITH(store->commit(), Contains(path + ": commit: FOREIGN KEY constraint failed"));
  CHECK_FALSE(store->in_transaction());
  CHECK_FALSE(store->load_cursor("src"));
  CHECK(store->load_instances("unknown").empty());

  // Within a transaction the order of writes does not matter.
  store->begin();
  store->put_instance("later", instance("ms", "", 1, "state"));
  store->put_location(location("later"));
  CHECK_NOTHROW(store->commit());
}

TEST_CASE("uncommitted writes are lost when the process dies", "[store][crash]") {
  TempDir tmp;
  const std::string path = tmp.file();
  {
    auto store = open_sqlite_store(path);
    store->begin();
    store->put_location(location("before"));
    store->commit();
  }
  int status = 0;
  SECTION("_exit without commit") {
    status = in_child([&] {
      auto store = open_sqlite_store(path);
      store->begin();
      write_a_lot(*store, "lost");
      _exit(0);
    });
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  SECTION("SIGKILL without commit") {
    status = in_child([&] {
      auto store = open_sqlite_store(path);
      store->begin();
      write_a_lot(*store, "lost");
      raise(SIGKILL);
    });
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
  }
  // The uncommitted pages did reach the WAL file; recovery must ignore them.
  REQUIRE(fs::exists(path + "-wal"));
  CHECK(fs::file_size(path + "-wal") > 4 * 1024 * 1024);
  CHECK(raw_sql(path, "PRAGMA integrity_check") == "ok");
  auto store = open_sqlite_store(path);
  CHECK(store->location_ids() == std::vector<std::string>{"before"});
  CHECK(store->load_instances("lost").empty());
}

TEST_CASE("a commit survives SIGKILL right after it", "[store][crash]") {
  TempDir tmp;
  const std::string path = tmp.file();
  int status = in_child([&] {
    auto store = open_sqlite_store(path);
    store->begin();
    store->put_location(location("home"));
    store->put_instance("home", instance("thermo", "", store->allocate_instance_id(), kNulBytes));
    store->commit();
    store->begin();
    write_a_lot(*store, "lost");
    raise(SIGKILL);
  });
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(fs::exists(path + "-wal"));  // the commit lives only in the WAL
  CHECK(raw_sql(path, "PRAGMA integrity_check") == "ok");
  auto store = open_sqlite_store(path);
  CHECK(store->location_ids() == std::vector<std::string>{"home"});
  auto inst = store->load_instance("home", "thermo", "");
  REQUIRE(inst);
  CHECK(inst->state == kNulBytes);
  store->begin();
  CHECK(store->allocate_instance_id() > inst->instance_id);
  store->rollback();
}

TEST_CASE("a file that is not a livebot store is refused untouched", "[store]") {
  TempDir tmp;
  const std::string path = tmp.file("other.db");
  std::string reason;
  SECTION("a text file") {
    write_bytes(path, "just some notes\nnot a database at all\n");
    reason = "not a livebot store (not a SQLite database)";
  }
  SECTION("a SQLite database with its own tables") {
    raw_sql(path, "CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('keep me')");
    reason = "not a livebot store (a SQLite database with other tables)";
  }
  SECTION("a SQLite database of another application") {
    raw_sql(path, "PRAGMA application_id = 1234; CREATE TABLE t (x)");
    reason = "not a livebot store (application_id 0x000004D2)";
  }
  SECTION("a store from a newer livebot") {
    open_sqlite_store(path);
    raw_sql(path, "PRAGMA user_version = 6");
    reason = "store schema version 6 is newer than this livebot reads (5)";
  }
  const std::string before = read_bytes(path);
  REQUIRE_FALSE(before.empty());
  for (bool read_only : {false, true}) {
    INFO("read_only " << read_only);
    CHECK_THROWS_WITH(open_sqlite_store(path, {.create = true, .read_only = read_only}),
                      Contains(path + ": " + reason));
    CHECK(read_bytes(path) == before);
    CHECK_FALSE(fs::exists(path + "-wal"));
    CHECK_FALSE(fs::exists(path + "-journal"));
  }
}

TEST_CASE("a missing store is created only when asked", "[store]") {
  TempDir tmp;
  const std::string path = tmp.file();
  CHECK_THROWS_WITH(open_sqlite_store(path, {.create = false}), path + ": no such store");
  CHECK_THROWS_WITH(open_sqlite_store(path, {.read_only = true}), path + ": no such store");
  CHECK_FALSE(fs::exists(path));
  open_sqlite_store(path);
  CHECK(raw_sql(path, "PRAGMA application_id") == std::to_string(0x4C564254));
  CHECK(raw_sql(path, "PRAGMA user_version") == "5");
  CHECK(raw_sql(path, "PRAGMA journal_mode") == "wal");
  CHECK_NOTHROW(open_sqlite_store(path, {.create = false}));
}

TEST_CASE("an empty file becomes a store", "[store]") {
  TempDir tmp;
  const std::string path = tmp.file();
  write_bytes(path, "");
  CHECK_THROWS_WITH(open_sqlite_store(path, {.read_only = true}), Contains("not a livebot store"));
  auto store = open_sqlite_store(path);
  store->begin();
  store->put_cursor("src", 1);
  store->commit();
}

TEST_CASE("a read-only store reads and never writes", "[store]") {
  TempDir tmp;
  const std::string path = tmp.file();
  {
    auto store = open_sqlite_store(path);
    store->begin();
    store->put_location(location("home"));
    store->commit();
  }
  const std::string before = read_bytes(path);
  {
    auto store = open_sqlite_store(path, {.read_only = true});
    CHECK(store->load_location("home"));
    CHECK_THROWS_WITH(store->begin(), path + ": begin: the store is open read-only");
    CHECK_THROWS_WITH(store->put_location(location("x")), Contains("read-only"));
    CHECK_FALSE(store->in_transaction());
  }
  CHECK(read_bytes(path) == before);
  // A reader leaves nothing beside the store either.
  CHECK_FALSE(std::filesystem::exists(path + "-wal"));
  CHECK_FALSE(std::filesystem::exists(path + "-shm"));
}

TEST_CASE("one writer at a time; readers always get in", "[store]") {
  TempDir tmp;
  const std::string path = tmp.file();
  {
    auto writer = open_sqlite_store(path);
    CHECK_THROWS_WITH(open_sqlite_store(path), path + ": in use: another livebot process is writing to this store");
    CHECK_THROWS_WITH(remove_sqlite_store(path), Contains("in use"));
    CHECK(std::filesystem::exists(path));
    auto reader = open_sqlite_store(path, {.read_only = true});
    CHECK(reader->location_ids().empty());
  }
  // The lock goes with the writer.
  CHECK_NOTHROW(open_sqlite_store(path));
  remove_sqlite_store(path);
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("errors list newest first, by bot, up to a limit; outputs oldest first", "[store]") {
  TempDir tmp;
  auto store = open_sqlite_store(tmp.file());
  store->begin();
  for (int i = 0; i < 6; ++i) {
    store->add_error(
        {0, i, i, i % 2 ? "odd" : "even", "loc", "ms", "1", "cb", "error " + std::to_string(i)});
    store->add_output({0, i, "loc", "ms", "notification", "{\"n\":" + std::to_string(i) + "}"});
  }
  store->commit();

  auto messages = [](const std::vector<ErrorRecord> &errors) {
    std::vector<std::string> out;
    for (auto &e : errors) out.push_back(e.message);
    return out;
  };
  CHECK(messages(store->list_errors("", 100)) ==
        std::vector<std::string>{"error 5", "error 4", "error 3", "error 2", "error 1", "error 0"});
  CHECK(messages(store->list_errors("", 2)) == std::vector<std::string>{"error 5", "error 4"});
  CHECK(messages(store->list_errors("odd", 100)) ==
        std::vector<std::string>{"error 5", "error 3", "error 1"});
  CHECK(messages(store->list_errors("even", 1)) == std::vector<std::string>{"error 4"});
  CHECK(store->list_errors("nobody", 100).empty());
  CHECK(store->list_errors("", 0).empty());
  CHECK(store->list_errors("", SIZE_MAX).size() == 6);

  auto outputs = store->list_outputs();
  REQUIRE(outputs.size() == 6);
  for (size_t i = 0; i < outputs.size(); ++i) {
    CHECK(outputs[i].event_ms == static_cast<int64_t>(i));
    if (i > 0) CHECK(outputs[i].id > outputs[i - 1].id);
  }
}

TEST_CASE("instance ids increase and are never reused", "[store]") {
  TempDir tmp;
  const std::string path = tmp.file();
  std::set<int64_t> seen;
  int64_t last = 0;
  auto take = [&](Store &store) {
    int64_t id = store.allocate_instance_id();
    CHECK(id > last);
    CHECK(seen.insert(id).second);
    last = id;
  };
  {
    auto store = open_sqlite_store(path);
    store->begin();
    for (int i = 0; i < 100; ++i) take(*store);
    store->commit();
    store->begin();
    take(*store);
    store->rollback();  // this Store still won't hand that id out again
    store->begin();
    take(*store);
    store->commit();
  }
  auto store = open_sqlite_store(path);
  store->begin();
  take(*store);
  store->commit();
  CHECK(seen.size() == 103);
}

TEST_CASE("throughput of put_instance in one large transaction", "[store][perf]") {
  TempDir tmp;
  auto store = open_sqlite_store(tmp.file());
  constexpr int kCount = 20000;
  const std::string state(256, '\x01');
  store->begin();
  store->put_location(location("home"));
  std::vector<int64_t> ids;
  for (int i = 0; i < kCount; ++i) ids.push_back(store->allocate_instance_id());
  store->commit();

  using Clock = std::chrono::steady_clock;
  auto rate = [&](const char *what, auto body) {
    auto start = Clock::now();
    store->begin();
    for (int i = 0; i < kCount; ++i) body(i);
    store->commit();
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("store: %s: %.0f puts/s (%.2f us each, commit included)\n", what, kCount / seconds,
                seconds * 1e6 / kCount);
  };
  auto put = [&](int i) {
    store->put_instance("home", instance("ms" + std::to_string(i), "", ids[i], state));
  };
  rate("insert", put);  // new rows
  rate("update", put);  // the same rows again, as executions do
  CHECK(store->load_instances("home").size() == kCount);
}

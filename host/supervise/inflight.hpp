// What the host is doing right now, in a small file beside the store that
// outlives the process: which plugin call is running (microservice, version,
// content hash, callback, location), and which files each microservice's
// serving and standby versions were loaded from. It is a shared mapping of a
// file: a store into it is in the page cache at once, so a process that dies
// by any signal leaves it behind exactly as it was, without an fsync (a
// power cut is not a crash it has to explain: the host then restarts with
// nothing in flight). Writing it costs a few stores per plugin call.
//
// The loop thread writes; the watchdog thread reads the call in progress.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/executor.hpp"

namespace livebot::supervise {

// One microservice as the marker knows it.
struct VersionFiles {
  std::string name, version, hash;
  std::string file;    // what the version serving was loaded from
  std::string staged;  // its private copy, which a crash leaves on disk
  // The version on standby while the serving one is on probation.
  std::string standby_version, standby_hash, standby_file;  // its staged copy
};

// What the previous process left behind.
struct Snapshot {
  int64_t pid = 0;
  std::string staging_dir;  // the previous process's private copies
  bool in_call = false;      // it died inside a plugin call
  bool overrun = false;      // the watchdog ended it
  bool out_of_memory = false;  // an allocation failed (the memory limit)
  int64_t call_ms = -1;        // index into `versions` of the call's microservice
  std::string what, location;  // the callback ("load": a new build loading) and its location
  std::string loading_hash;    // the content hash of the build loading
  std::string loading_file;    // and the file it was loaded from
  int64_t elapsed_ms = 0;      // how long the call had run (overrun)
  std::vector<VersionFiles> versions;
};

class InflightMarker final : public engine::CallObserver {
 public:
  static std::string path_for(const std::string &store_path) { return store_path + ".inflight"; }

  // Reads what a previous process left at `path`; nullopt if nothing usable.
  static std::optional<Snapshot> read(const std::string &path);

  // Creates (or resets) the marker for this process with room for `slots`
  // microservices; a microservice past them is not named by the marker (a
  // crash in its calls blames nothing). Throws livebot::Error naming the file.
  InflightMarker(const std::string &path, size_t slots, const std::string &staging_dir);
  ~InflightMarker() override;
  InflightMarker(const InflightMarker &) = delete;
  InflightMarker &operator=(const InflightMarker &) = delete;

  void set_versions(size_t slot, const VersionFiles &v);

  // Around a plugin call, on the loop thread; `slot` is the microservice's
  // index in the bot.
  void entering(size_t slot, std::string_view location, const char *what) override;
  void left() override;
  // Around the load of a build of microservice `slot` (its static
  // initializers run in dlopen), at start or on reload, with the build's
  // content hash and the file it is loaded from.
  void loading(size_t slot, const std::string &hash, const std::string &file);

  // For the watchdog: the call running now, if any, and since when
  // (CLOCK_MONOTONIC ns); `calls` tells one call from the next.
  struct Running {
    uint64_t calls = 0;
    int64_t since_ns = 0;
  };
  std::optional<Running> running() const;
  // Names the call in progress for a report, and marks why the process is
  // about to end, so the next one can tell.
  std::string describe_call() const;
  void mark_overrun(int64_t elapsed_ms);
  void mark_out_of_memory();

 private:
  struct Layout;
  Layout *map_ = nullptr;
  size_t bytes_ = 0;
  size_t slots_ = 0;
};

int64_t monotonic_ns();

}  // namespace livebot::supervise

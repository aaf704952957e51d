// Hot reload of one bot's microservices, between executions: a new file is
// loaded from a private staged copy, checked (ELF, ABI, the schema gate
// against every schema that wrote stored state), published, and kept on
// probation; the version it replaced stays mapped until probation passes,
// then is unloaded and verified gone.
//
// Promises:
//  - A version that fails to load or fails the gate never serves: the
//    current one carries on and the refusal is recorded.
//  - A version on probation that fails in an execution is rolled back: that
//    whole execution is undone (every instance, outputs too), the previous
//    version is put back, and the same input runs again on it. The file is
//    not tried again until it changes.
//  - At most two versions of one microservice are mapped at any time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/executor.hpp"
#include "loader/plugin.hpp"
#include "loader/staging.hpp"

namespace livebot::reload {

struct ProbationPolicy {
  int64_t executions = 10;  // instance executions the new version must pass
  int64_t millis = 30'000;  // or this long since it was published
};

// One version of a microservice as the host has seen it.
struct VersionRecord {
  std::string version, file, hash, staged_path;
  uint64_t generation = 0;
  int64_t published_ms = 0;
  int64_t executions = 0, errors = 0;  // while it served
  // serving | probation | standby (the previous one, kept mapped while the
  // next is on probation) | retired | rolled back | refused
  std::string state;
  std::string note;  // why refused / rolled back; "pinned: …" if its image stayed mapped
};

struct Offer {
  enum class Outcome { Published, Unchanged, Refused };
  static const char *name(Outcome o) {
    return o == Outcome::Published ? "published" : o == Outcome::Unchanged ? "unchanged" : "refused";
  }
  Outcome outcome = Outcome::Unchanged;
  std::string message;  // one line
};

class Reloader {
 public:
  Reloader(engine::Executor &ex, loader::Staging &staging, ProbationPolicy policy = {});
  ~Reloader();

  // Microservice `ms`, the bot's last, was added after this reloader was
  // made (engine::Executor::add_microservice): it gets a slot, serving, or
  // on probation from `now_ms` with no standby (a suspended one back), so a
  // failure there is recorded as any other and rolls nothing back.
  void added(size_t ms, int64_t now_ms, bool probation);

  // Index of the manifest microservice `name`; throws livebot::Error if none.
  size_t index_of(const std::string &name) const;

  // Loads `file` as the next version of microservice `ms`. Between
  // executions only. Failures are recorded (`livebot errors`) at `now_ms`.
  // `loading`, if given, is told the build's hash just before its code is
  // first run (its static initializers), and only if it is.
  Offer offer(size_t ms, const std::string &file, int64_t now_ms,
              const std::function<void(const std::string &hash)> &loading = {});

  // A build that must never load (it crashed a host): an offer of it is
  // answered as one refused before.
  void forbid(size_t ms, const std::string &hash);
  // Records `file` (content `hash`, if known) as refused for `why`: in the
  // history, in `livebot errors` with the next flush, and not tried again
  // until it changes. The reloader's own refusals, and a build refused as
  // the host started (another served in its place).
  Offer refuse(size_t ms, const std::string &file, const std::string &hash, const std::string &why, int64_t now_ms);


  // Runs one input through the executor with the rollback promise above.
  void execute(const engine::Input &in, int64_t now_ms);
  // Runs the location's next item due by `until_ms` (Executor::run_due) with
  // the same promise: a rolled-back execution puts the item back, and it
  // runs again on the previous version. False if nothing is due.
  bool run_due(std::string_view location, int64_t until_ms, int64_t now_ms);

  // Ends probations whose time is up (call when the clock moves).
  void tick(int64_t now_ms);

  bool on_probation(size_t ms) const;
  // The versions microservice `ms` has been offered in this process (the
  // last 32, and always the serving and standby ones), oldest first,
  // refused ones included; counters up to date.
  const std::vector<VersionRecord> &history(size_t ms);
  // Staged images still mapped (at most two per microservice).
  std::vector<std::string> mapped_images() const;

 private:
  struct Slot;
  Slot &slot(size_t ms);
  void pass(size_t ms, int64_t now_ms);
  // One execution of `location` (what `run` does) with the rollback promise.
  template <class Run>
  void guarded(std::string_view location, int64_t event_ms, int64_t now_ms, Run &&run);
  void roll_back(size_t ms, const std::string &why, std::string_view location, int64_t event_ms, int64_t now_ms);
  void remember(Slot &s, VersionRecord rec);
  void settle(size_t ms);  // adds the active version's new counts to its record
  std::string unload(std::unique_ptr<loader::Plugin> p);

  engine::Executor &ex_;
  loader::Staging &staging_;
  ProbationPolicy policy_;
  std::vector<Slot> slots_;
};

}  // namespace livebot::reload

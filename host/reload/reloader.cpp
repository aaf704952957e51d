#include "reload/reloader.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <set>

#include "common/error.hpp"

namespace livebot::reload {

struct Reloader::Slot {
  std::unique_ptr<loader::Plugin> previous;  // standby while `active` is on probation
  bool probation = false;
  int64_t probation_until_ms = 0;
  size_t active = 0;   // history index of the version the executor runs
  size_t standby = 0;  // history index of `previous`
  int64_t base_executions = 0, base_errors = 0;  // counters already credited
  std::vector<VersionRecord> history;
  std::set<std::string> bad_hashes;  // refused or rolled back: not retried until the file changes
};

namespace {

// Versions remembered per microservice: a host that swaps all day must not
// grow with it. The serving and standby ones are always kept.
constexpr size_t kHistoryKept = 32;

VersionRecord record_of(const loader::Plugin &p, int64_t now_ms, std::string state) {
  VersionRecord r;
  r.version = p.version();
  r.file = p.file();
  r.hash = p.file_hash();
  r.staged_path = p.staged_path();
  r.generation = p.generation();
  r.published_ms = now_ms;
  r.state = std::move(state);
  return r;
}

}  // namespace

Reloader::Reloader(engine::Executor &ex, loader::Staging &staging, ProbationPolicy policy)
    : ex_(ex), staging_(staging), policy_(policy) {
  for (size_t i = 0; i < ex_.bot().microservices().size(); ++i) added(i, 0, false);
}

void Reloader::added(size_t ms, int64_t now_ms, bool probation) {
  const auto &m = ex_.bot().microservices().at(ms);
  Slot s;
  s.history.push_back(record_of(*m.plugin, now_ms, probation ? "probation" : "serving"));
  s.probation = probation;
  s.probation_until_ms = now_ms + policy_.millis;
  s.base_executions = m.stats.executions;
  s.base_errors = m.stats.errors;
  slots_.push_back(std::move(s));
}

Reloader::~Reloader() = default;

size_t Reloader::index_of(const std::string &name) const {
  const auto &all = ex_.bot().microservices();
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i].spec.name == name) return i;
  throw Error(ex_.bot().manifest().path, "no microservice '" + name + "' in the bot");
}

Reloader::Slot &Reloader::slot(size_t ms) { return slots_.at(ms); }

void Reloader::remember(Slot &s, VersionRecord rec) {
  s.history.push_back(std::move(rec));
  const size_t oldest_needed = s.probation ? std::min(s.active, s.standby) : s.active;
  size_t drop = 0;
  while (s.history.size() - drop > kHistoryKept && drop < oldest_needed) ++drop;
  if (drop == 0) return;
  s.history.erase(s.history.begin(), s.history.begin() + static_cast<std::ptrdiff_t>(drop));
  s.active -= drop;
  s.standby = s.standby >= drop ? s.standby - drop : 0;
}
bool Reloader::on_probation(size_t ms) const { return slots_.at(ms).probation; }
const std::vector<VersionRecord> &Reloader::history(size_t ms) {
  settle(ms);
  return slots_.at(ms).history;
}
std::vector<std::string> Reloader::mapped_images() const { return loader::mapped_under(staging_.dir()); }

void Reloader::settle(size_t ms) {
  Slot &s = slot(ms);
  const auto &st = ex_.bot().microservices()[ms].stats;
  auto &rec = s.history[s.active];
  rec.executions += st.executions - s.base_executions;
  rec.errors += st.errors - s.base_errors;
  s.base_executions = st.executions;
  s.base_errors = st.errors;
}

std::string Reloader::unload(std::unique_ptr<loader::Plugin> p) {
  const std::string staged = p->staged_path();
  const auto r = p->unload();
  if (r.gone) return {};
  spdlog::warn("{}: staged image {} is still mapped after unload: {}", p->file(), staged, r.reason);
  return "pinned: " + r.reason;
}

Offer Reloader::offer(size_t ms, const std::string &file, int64_t now_ms,
                      const std::function<void(const std::string &hash)> &loading) {
  Slot &s = slot(ms);
  const auto &name = ex_.bot().microservices()[ms].spec.name;
  loader::PluginFile read;
  try {
    read = loader::read_plugin(file);
  } catch (const Error &e) {
    return refuse(ms, file, "", e.what(), now_ms);
  }
  const std::string &hash = read.hash;
  const auto &current = *ex_.bot().microservices()[ms].plugin;
  if (hash == current.file_hash())
    return {Offer::Outcome::Unchanged, name + ": " + file + " is the version serving (generation " +
                                           std::to_string(current.generation()) + ")"};
  if (s.bad_hashes.count(hash))
    // Refused still, so that a `livebot reload` of it exits 1; not tried or
    // recorded again.
    return {Offer::Outcome::Refused, name + ": " + file + " was refused before; waiting for it to change"};

  std::unique_ptr<loader::Plugin> next;
  try {
    if (loading) loading(hash);
    next = loader::Plugin::load(read, staging_, ex_.bot().microservices()[ms].spec.sha256);
    ex_.check_schema(ms, next->schema(), file);
  } catch (const Error &e) {
    if (next) unload(std::move(next));
    return refuse(ms, file, hash, e.what(), now_ms);
  }

  settle(ms);
  VersionRecord rec = record_of(*next, now_ms, "probation");
  if (s.probation) {
    // A newer build while one is on probation replaces it; the standby stays.
    auto &old = s.history[s.active];
    old.state = "retired";
    old.note = unload(ex_.replace_plugin(ms, std::move(next)));
  } else {
    s.previous = ex_.replace_plugin(ms, std::move(next));
    s.history[s.active].state = "standby";
    s.standby = s.active;
  }
  remember(s, std::move(rec));
  s.active = s.history.size() - 1;
  s.probation = true;
  s.probation_until_ms = now_ms + policy_.millis;
  const auto &now = s.history.back();
  spdlog::info("{}: version {} (generation {}) published, on probation", name, now.version, now.generation);
  return {Offer::Outcome::Published, name + ": version " + now.version + " (generation " +
                                         std::to_string(now.generation) + ") published from " + file};
}

void Reloader::forbid(size_t ms, const std::string &hash) { slot(ms).bad_hashes.insert(hash); }

Offer Reloader::refuse(size_t ms, const std::string &file, const std::string &hash, const std::string &why,
                       int64_t now_ms) {
  Slot &s = slot(ms);
  if (!hash.empty()) s.bad_hashes.insert(hash);
  VersionRecord r;
  r.file = file;
  r.hash = hash;
  r.published_ms = now_ms;
  r.state = "refused";
  r.note = why;
  remember(s, std::move(r));
  ex_.record_failure(ms, "", "", now_ms, "reload", why);
  spdlog::error("reload of {} refused: {}", ex_.bot().microservices()[ms].spec.name, why);
  return {Offer::Outcome::Refused, why};
}

void Reloader::pass(size_t ms, int64_t now_ms) {
  Slot &s = slot(ms);
  settle(ms);
  s.probation = false;
  s.history[s.active].state = "serving";
  const auto &name = ex_.bot().microservices()[ms].spec.name;
  if (!s.previous) {  // a microservice back from suspension: nothing stood by
    spdlog::info("{}: version {} passed probation at {}", name, s.history[s.active].version, now_ms);
    return;
  }
  auto &old = s.history[s.standby];
  old.state = "retired";
  old.note = unload(std::move(s.previous));
  spdlog::info("{}: version {} passed probation at {}; version {} unloaded{}", name, s.history[s.active].version,
               now_ms, old.version, old.note.empty() ? "" : " (" + old.note + ")");
}

void Reloader::roll_back(size_t ms, const std::string &why, std::string_view location, int64_t event_ms,
                         int64_t now_ms) {
  Slot &s = slot(ms);
  settle(ms);
  auto &bad = s.history[s.active];
  auto &good = s.history[s.standby];
  bad.state = "rolled back";
  bad.note = why;
  s.bad_hashes.insert(bad.hash);
  const std::string pin = unload(ex_.replace_plugin(ms, std::move(s.previous)));
  if (!pin.empty()) bad.note += "; " + pin;
  good.state = "serving";
  s.active = s.standby;
  s.probation = false;
  ex_.record_failure(ms, bad.version, std::string(location), event_ms, "probation",
                     "version " + bad.version + " rolled back to " + good.version + ": " + why);
  spdlog::error("{}: version {} failed on probation at {} and was rolled back to {}: {}",
                ex_.bot().microservices()[ms].spec.name, bad.version, now_ms, good.version, why);
}

template <class Run>
void Reloader::guarded(std::string_view location, int64_t event_ms, int64_t now_ms, Run &&run) {
  if (std::none_of(slots_.begin(), slots_.end(), [](const Slot &s) { return s.probation; })) {
    run();
    return;
  }
  // Each pass either succeeds or rolls one version back, so this ends.
  for (;;) {
    auto cp = ex_.checkpoint(location);
    run();
    const auto &failed = ex_.last_failures();
    // Only a version with one standing by can be rolled back.
    const auto it = std::find_if(failed.begin(), failed.end(),
                                 [&](size_t ms) { return slot(ms).probation && slot(ms).previous; });
    if (it == failed.end()) break;
    const size_t ms = *it;
    std::string why = "failed";
    const auto &errors = ex_.pending_errors();
    const auto &name = ex_.bot().microservices()[ms].spec.name;
    for (auto e = errors.rbegin(); e != errors.rend(); ++e)
      if (e->microservice.rfind(name, 0) == 0) {
        why = e->callback + ": " + e->message;
        break;
      }
    ex_.restore(std::move(cp));
    roll_back(ms, why, location, event_ms, now_ms);
  }
  for (size_t ms = 0; ms < slots_.size(); ++ms) {
    Slot &s = slots_[ms];
    if (!s.probation) continue;
    if (ex_.bot().microservices()[ms].stats.executions - s.base_executions +
            s.history[s.active].executions >= policy_.executions)
      pass(ms, now_ms);
  }
}

void Reloader::execute(const engine::Input &in, int64_t now_ms) {
  guarded(in.location, in.timestamp_ms, now_ms, [&] { ex_.execute(in); });
}

bool Reloader::run_due(std::string_view location, int64_t until_ms, int64_t now_ms) {
  const auto due = ex_.next_due(location);
  if (!due || *due > until_ms) return false;
  guarded(location, *due, now_ms, [&] { ex_.run_due(location, until_ms); });
  return true;
}

void Reloader::tick(int64_t now_ms) {
  for (size_t ms = 0; ms < slots_.size(); ++ms)
    if (slots_[ms].probation && now_ms >= slots_[ms].probation_until_ms) pass(ms, now_ms);
}

}  // namespace livebot::reload

#include "retire/retirer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "common/error.hpp"
#include "common/hash.hpp"
#include "loader/plugin.hpp"

namespace livebot::retire {

using nlohmann::json;

namespace {

std::string read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path, "cannot read the staged plugin");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs `write` in a transaction of its own: all of it is committed, or none.
template <class Write>
void in_transaction(store::Store &st, Write &&write) {
  // Inside the caller's transaction it is the caller's to commit: a playback
  // that fails before its first commit leaves no retirement behind.
  if (st.in_transaction()) {
    write();
    return;
  }
  st.begin();
  try {
    write();
    st.commit();
  } catch (...) {
    st.rollback();
    throw;
  }
}

// State kept aside is retired without a library: its record names no file.
bool without_library(const store::RetirementRecord &r) { return r.file.empty(); }

}  // namespace

Retirer::Retirer(store::Store &store, engine::Executor &ex, loader::Staging &staging, RetireOptions opts)
    : store_(store), ex_(ex), staging_(staging), opts_(opts) {}

void Retirer::resume() {
  auto &bot = ex_.bot();
  for (auto &r : store_.load_retirements()) {
    const auto &all = bot.microservices();
    const auto it = std::find_if(all.begin(), all.end(), [&](const auto &m) { return m.spec.name == r.microservice; });
    if (r.state == "retired") {
      // Named again after its retirement: a new microservice of that name.
      if (it != all.end()) forget_retired(r.microservice);
      continue;
    }
    std::optional<size_t> ms;
    if (it != all.end()) {
      // Retired by hand while the manifest still names it.
      ms = static_cast<size_t>(it - all.begin());
      bot.set_retiring(*ms, true);
      spdlog::warn("{}: retiring, though {} still names it; remove it there", r.microservice, bot.manifest().path);
    } else if (!without_library(r)) {
      // The file may be gone: its bytes kept in the store load instead.
      const auto staged = staging_.stage("retiring-" + r.microservice, r.plugin, sha256_hex(r.plugin));
      std::unique_ptr<loader::Plugin> plugin;
      try {
        plugin = loader::Plugin::load(staged.path, staging_);
      } catch (...) {
        staging_.remove(staged.path);
        throw;
      }
      staging_.remove(staged.path);
      engine::MicroserviceSpec spec;
      spec.name = r.microservice;
      spec.plugin = r.file;
      ms = bot.adopt(std::move(spec), std::move(plugin), true);
    }
    draining_.push_back({r.microservice, ms, {}});
    spdlog::info("{}: retirement resumed, {} of {} locations purged", r.microservice,
                 store_.purged_count(r.microservice), store_.location_count());
  }
}

void Retirer::forget_retired(const std::string &name) {
  in_transaction(store_, [&] { store_.delete_retirement(name); });
  spdlog::info("{}: named again after its retirement; it starts afresh", name);
}

bool Retirer::retiring(const std::string &name) const {
  return std::any_of(draining_.begin(), draining_.end(), [&](const Draining &d) { return d.name == name; });
}

void Retirer::begin(Draining d, const store::RetirementRecord &r) {
  in_transaction(store_, [&] {
    store_.delete_retirement(r.microservice);  // an earlier, finished one of the same name
    store_.put_retirement(r);
  });
  draining_.push_back(std::move(d));
}

void Retirer::start(size_t ms, int64_t now_ms) {
  auto &bot = ex_.bot();
  auto &m = bot.microservices().at(ms);
  // Released already, its library gone, it stays marked retiring.
  if (m.retiring || retiring(m.spec.name)) throw Error(m.spec.name, "is retiring already");
  store::RetirementRecord r;
  r.microservice = m.spec.name;
  r.state = "retiring";
  r.started_ms = now_ms;
  r.bot_version = bot.manifest().version;
  r.file = m.spec.plugin;
  r.version = m.plugin->version();
  // The staged copy, not the file: the file may be gone or rebuilt already.
  r.plugin = read_file(m.plugin->staged_path());
  begin({r.microservice, ms, {}}, r);
  bot.set_retiring(ms, true);
  // Cached locations hold its instances; from now on they load without them.
  ex_.forget();
  spdlog::info("{}: retiring (bot version {}): {} locations to purge at {} per second", r.microservice,
               r.bot_version, store_.location_count(), opts_.rate);
}

void Retirer::start_kept_aside(const std::string &name, int64_t now_ms) {
  const auto &all = ex_.bot().microservices();
  if (std::any_of(all.begin(), all.end(), [&](const auto &m) { return m.spec.name == name && !m.retiring; }))
    throw Error(name, "is run by this host, not kept aside");
  if (retiring(name)) throw Error(name, "is retiring already");
  const auto stored = store_.stored_microservices();
  if (std::find(stored.begin(), stored.end(), name) == stored.end())
    throw Error(name, "no microservice of that name in the bot, and no state of it kept aside in the store");
  store::RetirementRecord r;
  r.microservice = name;
  r.state = "retiring";
  r.started_ms = now_ms;
  r.bot_version = ex_.bot().manifest().version;
  // Cached locations never held its state: nothing to forget.
  begin({name, std::nullopt, {}}, r);
  spdlog::info("{}: retiring its state kept aside (no library: destroy is not called): {} locations to purge at "
               "{} per second",
               name, store_.location_count(), opts_.rate);
}

bool Retirer::cancel(const engine::MicroserviceSpec &spec) {
  const std::string &name = spec.name;
  const auto it =
      std::find_if(draining_.begin(), draining_.end(), [&](const Draining &d) { return d.ms && d.name == name; });
  if (it == draining_.end()) return false;
  const int64_t purged = store_.purged_count(name);
  in_transaction(store_, [&] { store_.delete_retirement(name); });
  // A retirement resumed after a restart knew only the name and the file.
  ex_.bot().microservices()[*it->ms].spec = spec;
  ex_.bot().set_retiring(*it->ms, false);
  ex_.forget();
  draining_.erase(it);
  spdlog::info("{}: named again, retirement cancelled; {} locations purged, the others keep their state", name,
               purged);
  return true;
}

void Retirer::purge(Draining &d, const std::string &location, int64_t now_ms, const char *by) {
  const auto done = ex_.purge(location, d.name, d.ms, now_ms);
  store_.add_purge({d.name, location, now_ms, done.instances, done.messages_dropped, by});
}

void Retirer::before_execution(std::string_view location, int64_t now_ms) {
  const std::string id(location);
  for (auto &d : draining_)
    if (!store_.is_purged(d.name, id)) purge(d, id, now_ms, "execution");
}

size_t Retirer::sweep(size_t budget, int64_t now_ms) {
  size_t done = 0;
  for (auto &d : draining_) {
    if (done == budget) break;
    const size_t asked = budget - done;
    const auto ids = store_.unpurged_locations(d.name, d.cursor, asked);
    for (const auto &id : ids) {
      purge(d, id, now_ms, "sweep");
      swept_.push_back(id);
      d.cursor = id;
      ++done;
    }
    if (ids.size() < asked) d.at_end = true;
  }
  return done;
}

void Retirer::evict() {
  for (const auto &id : swept_) ex_.evict(id);
  swept_.clear();
}

void Retirer::release_ready(int64_t now_ms, const std::function<bool(size_t)> &in_flight) {
  for (auto it = draining_.begin(); it != draining_.end();) {
    if (!it->at_end) {
      ++it;
      continue;
    }
    const std::string name = it->name;
    const int64_t purged = store_.purged_count(name);
    if (purged < store_.location_count() || (it->ms && in_flight(*it->ms))) {
      // Sweep again from the start: purged locations are skipped.
      it->at_end = false;
      it->cursor.clear();
      ++it;
      continue;
    }
    const auto records = store_.load_retirements();
    auto r = *std::find_if(records.begin(), records.end(),
                           [&](const store::RetirementRecord &x) { return x.microservice == name; });
    r.state = "retired";
    r.plugin.clear();
    r.released_ms = now_ms;
    r.purged = purged;
    r.messages_dropped = store_.purged_messages(name);
    std::string staged;
    loader::UnloadResult unloaded;
    if (it->ms) {
      auto &m = ex_.bot().microservices()[*it->ms];
      r.messages_dropped += m.stats.messages_dropped;
      staged = m.plugin->staged_path();
      unloaded = m.plugin->unload();
    }
    in_transaction(store_, [&] {
      store_.put_retirement(r);
      store_.delete_purges(name);
    });
    if (!it->ms)
      spdlog::info("{}: retired: {} locations purged of its state kept aside; destroy was not called (no library)",
                   name, purged);
    else if (unloaded.gone)
      spdlog::info("{}: retired: {} locations purged, library unloaded; {} is safe to delete", name, purged, r.file);
    else
      spdlog::warn("{}: retired: {} locations purged, but its staged image {} is still mapped: {}; {} is safe to "
                   "delete",
                   name, purged, staged, unloaded.reason, r.file);
    it = draining_.erase(it);
  }
}

json Retirer::status(int64_t now_ms) {
  json out = json::array();
  const int64_t total = store_.location_count();
  for (const auto &r : store_.load_retirements()) {
    const bool retired = r.state == "retired";
    const int64_t purged = retired ? r.purged : store_.purged_count(r.microservice);
    json x = {{"name", r.microservice},     {"state", r.state},   {"file", r.file},
              {"version", r.version},       {"bot_version", r.bot_version},
              {"started_ms", r.started_ms}, {"purged", purged},   {"locations", retired ? r.purged : total},
              {"safe_to_delete", retired && !without_library(r)}, {"released_ms", r.released_ms},
              {"destroy_called", !without_library(r)}};
    if (retired) {
      x["messages_dropped"] = r.messages_dropped;
    } else {
      const auto &all = ex_.bot().microservices();
      const auto m = std::find_if(all.begin(), all.end(), [&](const auto &y) { return y.spec.name == r.microservice; });
      x["messages_dropped"] = store_.purged_messages(r.microservice) + (m == all.end() ? 0 : m->stats.messages_dropped);
      x["rate_per_s"] = opts_.rate;
      const int64_t left = std::max<int64_t>(0, total - purged);
      const double elapsed_s = static_cast<double>(std::max<int64_t>(1, now_ms - r.started_ms)) / 1000.0;
      // Unlimited: the rate seen since it started stands in for the setting.
      const double rate = opts_.rate > 0 ? opts_.rate : static_cast<double>(purged) / elapsed_s;
      x["seconds_left"] = rate > 0 ? static_cast<double>(left) / rate : 0.0;
    }
    out.push_back(std::move(x));
  }
  return out;
}

}  // namespace livebot::retire

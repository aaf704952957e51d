#include "playback/playback.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "engine/bot.hpp"
#include "engine/executor.hpp"
#include "loader/staging.hpp"
#include "playback/progress.hpp"
#include "playback/recording.hpp"
#include "reload/reloader.hpp"
#include "retire/retirer.hpp"
#include "schedule/due_queue.hpp"
#include "store/store.hpp"

namespace livebot::playback {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

int64_t peak_rss_kb() {
  struct rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

uint32_t trigger_bit(Trigger t) { return static_cast<uint32_t>(t); }

engine::DeviceInput device_input(const Row &r) {
  engine::DeviceInput d;
  d.id = r.device_id;
  d.type = r.device_type;
  d.description = r.description;
  d.params.reserve(r.params.size());
  for (const auto &p : r.params) d.params.push_back({p.name, p.value});
  for (const auto &u : r.updated_params)
    if (std::find(d.updated.begin(), d.updated.end(), u) == d.updated.end()) d.updated.push_back(u);
  return d;
}

// Plugin log lines go to <out>/plugins.log: they are output, not the host's
// own log.
struct PluginLog {
  std::ofstream out;
  static void sink(void *ctx, int level, std::string_view location, std::string_view ms, std::string_view msg) {
    static const char *const names[] = {"?", "debug", "info", "warn", "error"};
    auto &self = *static_cast<PluginLog *>(ctx);
    self.out << names[level >= 1 && level <= 4 ? level : 0] << ' ' << location << ' ' << ms << ": " << msg << '\n';
  }
};

void write_notifications(store::Store &st, const std::string &path) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) throw Error(tmp, "cannot write");
    for (const auto &o : st.list_outputs()) {
      if (o.kind != "notification") continue;
      json line = json::parse(o.body);
      line["timestamp_ms"] = o.event_ms;
      line["location"] = o.location;
      line["microservice"] = o.microservice;
      out << line.dump() << '\n';
    }
  }
  fs::rename(tmp, path);
}

// Retires what the store holds of microservices bot.json no longer names
// (a rename's old name excepted: its state moves), and goes on with
// retirements a killed run or a live host began. Every plugin is loaded
// before anything is written, so a bad one leaves the store as it was.
// Returns the names retiring.
std::set<std::string> retire_dropped(store::Store &st, engine::Bot &bot, retire::Retirer &retirer,
                                     loader::Staging &staging, const std::map<std::string, std::string> &plugins,
                                     int64_t now_ms) {
  std::set<std::string> named;
  for (const auto &spec : bot.manifest().microservices) {
    named.insert(spec.name);
    if (!spec.previous_name.empty()) named.insert(spec.previous_name);
  }
  retirer.resume();
  // The bot decides here, bot.json alone: one it names again is not retired
  // (a run with the wrong --bot must not have started the purge of the
  // right bot's microservices).
  for (const auto &spec : bot.manifest().microservices) retirer.cancel(spec);
  std::set<std::string> out;
  for (const auto &r : st.load_retirements())
    if (r.state == "retiring") out.insert(r.microservice);
  const auto stored = st.stored_microservices();
  for (const auto &[name, file] : plugins)
    if (named.count(name) || out.count(name) || std::find(stored.begin(), stored.end(), name) == stored.end())
      spdlog::warn("--retired-plugin {}={}: no state of it to retire in this store; not used", name, file);
  std::vector<std::pair<engine::MicroserviceSpec, std::unique_ptr<loader::Plugin>>> libraries;
  std::vector<std::string> kept_aside;
  for (const auto &name : stored) {
    if (named.count(name) || out.count(name)) continue;
    out.insert(name);
    const auto it = plugins.find(name);
    if (it == plugins.end()) {
      kept_aside.push_back(name);
      continue;
    }
    engine::MicroserviceSpec spec;
    spec.name = name;
    spec.plugin = fs::absolute(it->second).lexically_normal().string();
    auto plugin = loader::Plugin::load(spec.plugin, staging);
    libraries.emplace_back(std::move(spec), std::move(plugin));
  }
  // Added as serving; start() takes it out of every execution at once.
  for (auto &[spec, plugin] : libraries) retirer.start(bot.adopt(std::move(spec), std::move(plugin), false), now_ms);
  for (const auto &name : kept_aside) {
    spdlog::warn("{}: stored state, but {} no longer names it and no --retired-plugin was given: it is retired "
                 "without destroy() if this run starts",
                 name, bot.manifest().path);
    retirer.start_kept_aside(name, now_ms);
  }
  return out;
}

}  // namespace

PlaybackSummary run_playback(const PlaybackOptions &opts) {
  const auto wall_start = std::chrono::steady_clock::now();
  PlaybackSummary sum;

  const Recording rec = read_recording(opts.recording);
  sum.read_seconds = seconds_since(wall_start);
  sum.recording = opts.recording;
  sum.rows_total = static_cast<int64_t>(rec.rows.size());
  sum.skipped = rec.skipped;

  loader::Staging::remove_stale();
  loader::Staging staging;
  auto bot = engine::Bot::load(engine::load_manifest(opts.bot_dir), staging);
  sum.bot = bot->manifest().bot;
  sum.bot_version = bot->manifest().version;

  fs::create_directories(opts.out_dir);
  sum.out_dir = opts.out_dir;
  const bool own_store = opts.store_path.empty();
  sum.store_path = own_store ? (fs::path(opts.out_dir) / "playback.db").string() : opts.store_path;
  // The playback's own scratch store starts afresh unless resuming; a store
  // the user named is never cleared.
  if (own_store && !opts.resume) store::remove_sqlite_store(sum.store_path);
  auto st = store::open_sqlite_store(sum.store_path);

  const std::string source = "playback:" + rec.content_hash;
  const auto cursor = st->load_cursor(source);
  if (cursor && !opts.resume)
    throw Error(sum.store_path, "already holds a playback of this recording up to row " + std::to_string(*cursor) +
                                    ": pass --resume to go on from there, or use another --store");
  if (!cursor && opts.resume && !st->location_ids().empty())
    throw Error(sum.store_path, "holds no playback of this recording to resume (its memory is from other input); "
                                "run without --resume, or use another --store");
  sum.start_row = cursor.value_or(0);
  const int64_t end = opts.stop_at_row >= 0 ? std::min<int64_t>(opts.stop_at_row, sum.rows_total) : sum.rows_total;

  PluginLog plugin_log;
  const auto log_path = fs::path(opts.out_dir) / "plugins.log";
  plugin_log.out.open(log_path, opts.resume ? std::ios::app : std::ios::trunc);
  if (!plugin_log.out) throw Error(log_path.string(), "cannot write");

  engine::Executor ex(*st, *bot, rec.timezone);
  ex.set_log_sink(&PluginLog::sink, &plugin_log);
  // Virtual time: a retirement starts at the row this run starts from.
  const int64_t start_ms = rec.rows.empty() ? 0 : rec.rows[static_cast<size_t>(std::min(sum.start_row, sum.rows_total - 1))].timestamp_ms;
  // Before the reloader: it keeps a slot per microservice, retiring ones too.
  retire::Retirer retirer(*st, ex, staging, {0});
  // Retirements start in the transaction of the run's first rows, after the
  // schema gate (register_schemas): a run refused there leaves none behind.
  st->begin();
  const auto retired_here = retire_dropped(*st, *bot, retirer, staging, opts.retired_plugins, start_ms);
  // Probation counts executions only: virtual time can jump by hours
  // between two rows.
  reload::Reloader reloader(ex, staging,
                            {opts.probation_executions, std::numeric_limits<int64_t>::max() / 2});
  std::vector<std::pair<size_t, SwapAt>> swaps;  // microservice index, swap; by row
  for (const auto &sw : opts.swaps) swaps.emplace_back(reloader.index_of(sw.microservice), sw);
  std::stable_sort(swaps.begin(), swaps.end(), [](const auto &a, const auto &b) { return a.second.row < b.second.row; });
  size_t next_swap = 0;
  const uint32_t mask = bot->manifest().triggers;

  Progress progress("playback", end - sum.start_row, opts.progress);
  const auto play_start = std::chrono::steady_clock::now();
  ex.register_schemas();
  int64_t in_batch = 0;
  int64_t committed_row = sum.start_row;
  const auto commit = [&](int64_t next_row) {
    // Another process playing into the same store would apply rows twice:
    // the position must still be where this run last left it.
    if (st->load_cursor(source).value_or(sum.start_row) != committed_row) {
      st->rollback();
      throw Error(sum.store_path, "another playback moved this store's position meanwhile; nothing of this run "
                                  "after row " + std::to_string(committed_row) + " was committed");
    }
    ex.flush();
    st->put_cursor(source, next_row);
    st->commit();
    committed_row = next_row;
    ++sum.commits;
  };

  int64_t i = sum.start_row;
  const auto executed = [&] {
    if (++in_batch < opts.commit_every) return;
    commit(i);
    st->begin();
    in_batch = 0;
  };

  // Virtual time: what the locations have due, one entry per location,
  // filled from the store so that a resumed run goes on exactly.
  schedule::DueQueue due;
  for (const auto &[loc, at] : st->due_locations()) due.arm(loc, at);
  const auto rearm = [&](const std::string &loc) {
    const auto want = ex.next_due(loc);
    if (want == due.due(loc)) return;
    if (want) due.arm(loc, *want);
    else due.disarm(loc);
  };
  // Runs everything due at or before `until`, each item its own execution
  // (with the reloader's rollback promise): earliest first; at one time, by
  // location, then as run_due orders them.
  const auto run_due_until = [&](int64_t until) {
    while (const auto t = due.next_due()) {
      if (*t > until) break;
      for (const auto &loc : due.pop_due(*t)) {
        retirer.before_execution(loc, *t);
        while (reloader.run_due(loc, *t, *t)) executed();
        rearm(loc);
      }
    }
  };

  engine::Input in;
  while (i < end) {
    const Row &r = rec.rows[static_cast<size_t>(i)];
    run_due_until(r.timestamp_ms);
    for (; next_swap < swaps.size() && swaps[next_swap].second.row <= i; ++next_swap) {
      const auto &[ms, sw] = swaps[next_swap];
      const auto offer = reloader.offer(ms, sw.file, r.timestamp_ms);
      sum.swaps.push_back({i, sw.microservice, reload::Offer::name(offer.outcome), offer.message});
    }
    if (!(mask & trigger_bit(r.trigger))) {
      ++sum.skipped["trigger not in the bot's trigger mask"];
      ++i;
      continue;
    }
    in.location = r.location_id;
    in.timestamp_ms = r.timestamp_ms;
    in.devices.clear();
    int64_t next = i + 1;
    switch (r.trigger) {
      case Trigger::Measurement:
        in.kind = engine::Input::Kind::Measurement;
        in.devices.push_back(device_input(r));
        // Measurements of one location at one instant are one execution.
        while (next < end) {
          const Row &n = rec.rows[static_cast<size_t>(next)];
          if (n.trigger != Trigger::Measurement || n.timestamp_ms != r.timestamp_ms || n.location_id != r.location_id)
            break;
          in.devices.push_back(device_input(n));
          ++next;
        }
        break;
      case Trigger::Alert:
        in.kind = engine::Input::Kind::Alert;
        in.alert_type = r.alert_type;
        in.devices.push_back(device_input(r));
        break;
      case Trigger::Mode:
        in.kind = engine::Input::Kind::Mode;
        in.mode = r.mode;
        break;
    }
    retirer.before_execution(r.location_id, in.timestamp_ms);
    reloader.execute(in, in.timestamp_ms);
    rearm(r.location_id);
    i = next;
    executed();
    progress.update(i - sum.start_row);
  }
  // Locations that did not execute are purged now, a batch a transaction;
  // then the library goes.
  const int64_t end_ms = i > 0 ? rec.rows[static_cast<size_t>(i - 1)].timestamp_ms : start_ms;
  while (retirer.active()) {
    retirer.sweep(static_cast<size_t>(opts.commit_every), end_ms);
    commit(i);
    retirer.evict();
    retirer.release_ready(end_ms, [&](size_t ms) { return reloader.on_probation(ms); });
    st->begin();
  }
  commit(i);
  progress.finish();
  for (auto &r : retirer.status(end_ms))
    if (retired_here.count(r["name"].get<std::string>())) sum.retirements.push_back(std::move(r));
  sum.play_seconds = seconds_since(play_start);

  write_notifications(*st, (fs::path(opts.out_dir) / "notifications.jsonl").string());

  sum.end_row = i;
  sum.rows_played = i - sum.start_row;
  sum.complete = i >= sum.rows_total;
  sum.executions = ex.stats().executions;
  sum.timer_executions = ex.stats().timer_executions;
  sum.timers_dropped = ex.stats().timers_dropped;
  sum.schedule_executions = ex.stats().schedule_executions;
  sum.datastream_executions = ex.stats().datastream_executions;
  sum.notifications = ex.stats().notifications;
  sum.errors = ex.stats().failed_callbacks;
  for (const auto &m : bot->microservices()) {
    MicroserviceSummary ms;
    ms.name = m.spec.name;
    ms.version = m.plugin->version();
    ms.file = m.spec.plugin;
    ms.executions = m.stats.executions;
    ms.errors = m.stats.errors;
    ms.plugin_seconds = static_cast<double>(m.stats.plugin_ns) / 1e9;
    sum.plugin_seconds += ms.plugin_seconds;
    for (int cb = 1; cb < engine::kCallbackCount; ++cb)
      if (m.stats.callbacks[cb]) ms.callbacks[engine::callback_name(cb)] = m.stats.callbacks[cb];
    for (const auto &v : reloader.history(reloader.index_of(m.spec.name)))
      ms.versions.push_back({v.version, v.state, v.note, v.generation, v.executions, v.errors});
    sum.microservices.push_back(std::move(ms));
  }
  sum.wall_seconds = seconds_since(wall_start);
  sum.peak_rss_kb = peak_rss_kb();

  std::ofstream(fs::path(opts.out_dir) / "summary.json", std::ios::trunc) << sum.to_json().dump(2) << '\n';
  return sum;
}

json PlaybackSummary::to_json() const {
  json ms = json::array();
  for (const auto &m : microservices) {
    json versions = json::array();
    for (const auto &v : m.versions)
      versions.push_back({{"version", v.version},
                          {"generation", v.generation},
                          {"state", v.state},
                          {"note", v.note},
                          {"executions", v.executions},
                          {"errors", v.errors}});
    ms.push_back({{"name", m.name},
                  {"version", m.version},
                  {"executions", m.executions},
                  {"errors", m.errors},
                  {"plugin_seconds", m.plugin_seconds},
                  {"callbacks", m.callbacks},
                  {"versions", versions}});
  }
  json swap_list = json::array();
  for (const auto &w : swaps)
    swap_list.push_back({{"row", w.row}, {"microservice", w.microservice}, {"outcome", w.outcome}, {"message", w.message}});
  const double rate = play_seconds > 0 ? static_cast<double>(rows_played) / play_seconds : 0;
  return {{"recording", recording},
          {"bot", bot},
          {"bot_version", bot_version},
          {"store", store_path},
          {"out_dir", out_dir},
          {"rows_total", rows_total},
          {"start_row", start_row},
          {"end_row", end_row},
          {"rows_played", rows_played},
          {"complete", complete},
          {"executions", executions},
          {"timer_executions", timer_executions},
          {"timers_dropped", timers_dropped},
          {"schedule_executions", schedule_executions},
          {"datastream_executions", datastream_executions},
          {"skipped", skipped},
          {"microservices", ms},
          {"swaps", swap_list},
          {"retirements", retirements},
          {"notifications", notifications},
          {"errors", errors},
          {"commits", commits},
          {"read_seconds", read_seconds},
          {"play_seconds", play_seconds},
          {"wall_seconds", wall_seconds},
          {"plugin_seconds", plugin_seconds},
          {"rows_per_second", rate},
          {"peak_rss_kb", peak_rss_kb}};
}

std::string PlaybackSummary::retirements_text() const {
  std::string s;
  for (const auto &r : retirements) {
    const bool library = r["destroy_called"].get<bool>();
    s += "retired    " + r["name"].get<std::string>() + ": " + std::to_string(r["purged"].get<int64_t>()) +
         " locations purged, " + std::to_string(r["messages_dropped"].get<int64_t>()) + " messages dropped; " +
         (library ? r["file"].get<std::string>() + " is safe to delete"
                  : std::string("destroy was not called (no --retired-plugin)")) +
         '\n';
  }
  return s;
}

std::string PlaybackSummary::to_text() const {
  std::string s;
  char line[512];
  const auto add = [&](const char *fmt, auto... args) {
    std::snprintf(line, sizeof line, fmt, args...);
    s += line;
  };
  add("bot        %s %s\n", bot.c_str(), bot_version.c_str());
  add("recording  %s\n", recording.c_str());
  add("rows       %lld played (rows %lld to %lld of %lld)%s\n", static_cast<long long>(rows_played),
      static_cast<long long>(start_row), static_cast<long long>(end_row), static_cast<long long>(rows_total),
      complete ? "" : ", stopped early");
  for (const auto &[reason, n] : skipped) add("skipped    %lld: %s\n", static_cast<long long>(n), reason.c_str());
  add("executions %lld, committed in %lld transactions\n", static_cast<long long>(executions),
      static_cast<long long>(commits));
  if (timer_executions || timers_dropped || schedule_executions || datastream_executions)
    add("  of which timers %lld (dropped: %lld), schedules %lld, data streams %lld\n",
        static_cast<long long>(timer_executions), static_cast<long long>(timers_dropped),
        static_cast<long long>(schedule_executions), static_cast<long long>(datastream_executions));
  for (const auto &m : microservices) {
    add("  %s %s: %lld executions, %lld errors\n", m.name.c_str(), m.version.c_str(),
        static_cast<long long>(m.executions), static_cast<long long>(m.errors));
    for (const auto &[cb, n] : m.callbacks) add("    %-28s %lld\n", cb.c_str(), static_cast<long long>(n));
    if (m.versions.size() > 1)
      for (const auto &v : m.versions)
        add("    version %s (generation %llu, %s): %lld executions, %lld errors%s%s\n",
            v.version.empty() ? "?" : v.version.c_str(), static_cast<unsigned long long>(v.generation), v.state.c_str(),
            static_cast<long long>(v.executions), static_cast<long long>(v.errors), v.note.empty() ? "" : "; ",
            v.note.c_str());
  }
  for (const auto &w : swaps)
    add("swap       before row %lld: %s %s: %s\n", static_cast<long long>(w.row), w.microservice.c_str(),
        w.outcome.c_str(), w.message.c_str());
  s += retirements_text();
  add("notifications %lld, errors %lld\n", static_cast<long long>(notifications), static_cast<long long>(errors));
  const double rate = play_seconds > 0 ? static_cast<double>(rows_played) / play_seconds : 0;
  add("time       %.3f s wall (read %.3f s, play %.3f s, in plugins %.3f s), %.0f rows/s\n", wall_seconds,
      read_seconds, play_seconds, plugin_seconds, rate);
  add("store      %s\n", store_path.c_str());
  add("output     %s\n", out_dir.c_str());
  return s;
}

}  // namespace livebot::playback

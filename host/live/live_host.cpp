#include "live/live_host.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <deque>
#include <filesystem>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/hash.hpp"
#include "control/protocol.hpp"
#include "control/server.hpp"
#include "engine/bot.hpp"
#include "engine/executor.hpp"
#include "live/joining.hpp"
#include "loader/elf_check.hpp"
#include "loader/staging.hpp"
#include "retire/retirer.hpp"
#include "schedule/due_queue.hpp"
#include "store/store.hpp"
#include "supervise/inflight.hpp"
#include "supervise/kept.hpp"
#include "supervise/recovery.hpp"
#include "supervise/watchdog.hpp"
#include "watch/watcher.hpp"

namespace livebot::live {

using nlohmann::json;

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json error_reply(const std::string &why) { return {{"ok", false}, {"error", why}}; }

// Inputs handled per turn of the loop, so commands and new connections are
// served between them under a steady stream.
constexpr int kInputsPerTurn = 64;
// The retirement sweep: how often it runs, and at most how many locations
// one turn purges (one transaction), so live inputs wait for no longer.
constexpr uint64_t kSweepEveryMs = 20;
constexpr size_t kMaxSweepBatch = 64;

}  // namespace

struct LiveHost::Impl {
  struct Queued {
    control::SendRequest req;
    int64_t timestamp_ms;
    control::Reply reply;
  };

  LiveOptions opts;
  uv_loop_t loop{};
  loader::Staging staging;
  std::unique_ptr<engine::Bot> bot;
  std::unique_ptr<store::Store> st;
  std::unique_ptr<supervise::InflightMarker> marker;
  supervise::KeptBuilds kept;
  std::unique_ptr<supervise::Watchdog> watchdog;
  std::vector<supervise::Suspended> suspended;  // until a new build of each joins
  std::vector<std::pair<uint64_t, bool>> noted;  // per microservice: generation, probation the marker has
  int restarts = 0;
  std::unique_ptr<engine::Executor> ex;
  std::unique_ptr<reload::Reloader> reloader;
  std::unique_ptr<retire::Retirer> retirer;
  uv_timer_t sweeper{};
  // Builds to keep beside the store (keep_serving), after the answers of
  // the execution that made them serve for good are out.
  uv_timer_t keeper{};
  bool keeper_ready = false;
  std::set<size_t> to_keep;
  double sweep_tokens = 0;
  int64_t swept_ms = 0;  // when the sweep last ran
  std::set<std::string> named;  // microservices bot.json named when last read
  // Named by bot.json, but their plugin file is missing: their stored state
  // is kept aside until the file appears (the watcher tells).
  std::vector<engine::MicroserviceSpec> waiting;
  std::map<std::string, std::set<std::string>> refused_arrivals;  // by name: builds not tried again until they change
  std::unique_ptr<control::Server> server;
  std::vector<std::unique_ptr<watch::DirWatcher>> watchers;
  uv_idle_t drain{};
  uv_timer_t ticker{};
  // Timers, alarms, schedules and waiting data-stream messages: one entry
  // per location with something due, one uv_timer armed for the earliest.
  schedule::DueQueue due;
  uv_timer_t wake{};
  uv_signal_t sigterm{}, sigint{};
  std::deque<Queued> queue;
  bool stopping = false;
  int64_t started_ms = wall_ms();
  int64_t executions = 0, failed_commits = 0;

  Impl(const LiveOptions &o, const supervise::PreviousExit &previous)
      : opts(o), kept(supervise::KeptBuilds::dir_for(o.store_path)), restarts(previous.restarts) {
    uv_loop_init(&loop);
    // A bad bot.json or a socket already served is refused before the store
    // is opened, so it creates and changes nothing.
    auto manifest = engine::load_manifest(opts.bot_dir, &waiting);
    control::check_socket_path(opts.socket_path);
    st = store::open_sqlite_store(opts.store_path);
    for (const auto &spec : waiting)
      spdlog::warn("{}: plugin file {} is missing; its stored state is kept aside until the file appears, and the "
                   "other microservices run",
                   spec.name, spec.plugin);
    // The start's choice of builds, until the schema gate has passed them.
    const auto start = load_bot(std::move(manifest), previous);
    if (const size_t n = loader::Staging::remove_stale())
      spdlog::info("removed {} staging directories of hosts that were killed", n);
    ex = std::make_unique<engine::Executor>(*st, *bot, opts.timezone);
    for (const auto &m : bot->microservices()) named.insert(m.spec.name);
    for (const auto &s : suspended) named.insert(s.spec.name);  // named, not run: never retired from here
    for (const auto &spec : waiting) named.insert(spec.name);
    retirer = std::make_unique<retire::Retirer>(*st, *ex, staging, retire::RetireOptions{opts.retire_rate});
    retirer->resume();  // before the reloader: it keeps a slot per microservice
    // Retiring already: drained with the plugin the store holds.
    std::erase_if(waiting, [&](const engine::MicroserviceSpec &w) { return retirer->retiring(w.name); });
    ex->set_call_observer(marker.get());
    st->begin();
    try {
      // A build the gate refuses gives way to the one that served before it,
      // as a refused reload would.
      ex->register_schemas([&](size_t i, const Error &e) {
        ex->replace_plugin(i, start->next(i, e.what()));
        return true;
      });
      st->commit();
    } catch (...) {
      st->rollback();
      throw;
    }
    reloader = std::make_unique<reload::Reloader>(*ex, staging, opts.probation);
    for (const auto &b : st->bad_versions())
      for (size_t i = 0; i < bot->microservices().size(); ++i)
        if (bot->microservices()[i].spec.name == b.microservice) reloader->forbid(i, b.hash);
    if (!start->refused().empty()) {
      for (const auto &r : start->refused())
        reloader->refuse(r.ms, r.file, r.hash,
                         r.why + " (at start; the build that served before it serves, from " +
                             bot->microservices()[r.ms].plugin->file() + ")",
                         wall_ms());
      st->begin();
      ex->flush();
      st->commit();
    }
    note_versions();
    if (opts.memory_limited) supervise::end_process_on_allocation_failure(marker.get());
    server = std::make_unique<control::Server>(&loop, opts.socket_path,
                                               [this](const std::string &line, control::Reply r) { handle(line, r); });
    uv_idle_init(&loop, &drain);
    drain.data = this;
    uv_timer_init(&loop, &ticker);
    ticker.data = this;
    uv_timer_init(&loop, &wake);
    wake.data = this;
    uv_timer_init(&loop, &sweeper);
    sweeper.data = this;
    uv_timer_init(&loop, &keeper);
    keeper.data = this;
    keeper_ready = true;
    if (retirer->active()) start_sweep();
    for (const auto &id : st->location_ids()) arm(id);
    rearm();
    uv_timer_start(
        &ticker, [](uv_timer_t *t) { static_cast<Impl *>(t->data)->reloader->tick(wall_ms()); }, 1000, 1000);
    for (auto *sig : {&sigterm, &sigint}) {
      uv_signal_init(&loop, sig);
      sig->data = this;
      uv_signal_start(
          sig, [](uv_signal_t *s, int signum) {
            spdlog::info("signal {}: draining and stopping", signum);
            static_cast<Impl *>(s->data)->shut_down();
          },
          sig == &sigterm ? SIGTERM : SIGINT);
      // The handlers stay installed until the host is destroyed, so a
      // second SIGTERM during the drain is not fatal, but they do not keep
      // the loop running.
      uv_unref(reinterpret_cast<uv_handle_t *>(sig));
    }
    if (opts.watch) watch_plugins();
    spdlog::info("serving bot {} {} on {} (store {})", bot->manifest().bot, bot->manifest().version, opts.socket_path,
                 opts.store_path);
  }

  // The bot as recovery chose it: a version marked bad is not loaded; an
  // earlier build stands in for it, or the microservice is suspended.
  std::unique_ptr<supervise::BotStart> load_bot(engine::Manifest manifest, const supervise::PreviousExit &previous) {
    const auto marker_path = supervise::InflightMarker::path_for(opts.store_path);
    const auto left = supervise::InflightMarker::read(marker_path);
    supervise::Recovered rec;
    st->begin();
    try {
      rec = supervise::recover(std::move(manifest), *st, left, previous, kept, wall_ms());
      st->commit();
    } catch (...) {
      st->rollback();
      throw;
    }
    suspended = rec.suspended;
    // Room for the microservices that may join: retiring ones, suspended ones
    // back, and those waiting for their file.
    const size_t slots =
        rec.manifest.microservices.size() + suspended.size() + st->load_retirements().size() + waiting.size();
    marker = std::make_unique<supervise::InflightMarker>(marker_path, slots, staging.dir());
    // Loading runs plugin code (static constructors): bounded as a call is.
    if (opts.callback_timeout_ms > 0)
      watchdog = std::make_unique<supervise::Watchdog>(*marker, opts.callback_timeout_ms);
    auto start = std::make_unique<supervise::BotStart>(std::move(rec), staging, *marker);
    bot = start->load();
    return start;
  }

  // Tells the marker which builds serve and stand by, when that changed.
  void note_versions() {
    const auto &all = bot->microservices();
    noted.resize(all.size());
    for (size_t i = 0; i < all.size(); ++i) {
      const std::pair<uint64_t, bool> now{all[i].plugin->generation(), reloader->on_probation(i)};
      if (noted[i] == now) continue;
      noted[i] = now;
      if (!now.second && !all[i].retiring) keep_later(i);
      const auto &p = *all[i].plugin;
      supervise::VersionFiles v{all[i].spec.name, p.version(), p.file_hash(), p.file(), p.staged_path(), {}, {}, {}};
      if (now.second)
        for (const auto &h : reloader->history(i))
          if (h.state == "standby") v.standby_version = h.version, v.standby_hash = h.hash, v.standby_file = h.staged_path;
      marker->set_versions(i, v);
    }
  }

  // Copying a build is file work (about a megabyte read and written): not
  // in the latency of the first input a new build serves.
  void keep_later(size_t i) {
    to_keep.insert(i);
    if (!keeper_ready) return keep_pending();
    uv_timer_start(&keeper, [](uv_timer_t *t) { static_cast<Impl *>(t->data)->keep_pending(); }, 0, 0);
  }
  void keep_pending() {
    for (const size_t i : to_keep) keep_serving(i);
    to_keep.clear();
  }

  // A build serving for good (loaded at start, past its probation, or put
  // back by a rollback) is kept beside the store for a later host to fall
  // back on (supervise/kept.hpp).
  void keep_serving(size_t i) {
    const auto &m = bot->microservices()[i];
    try {
      kept.serving(m.spec.name, m.plugin->staged_path(), m.plugin->file_hash(),
                   supervise::bad_hashes(*st, m.spec.name));
    } catch (const Error &e) {
      spdlog::warn("{}: {}; after a crash it falls back only on what this process staged", m.spec.name, e.what());
    }
  }

  ~Impl() {
    shut_down();
    // The drain is done: a late SIGTERM must not turn a clean exit into a
    // kill, so it stays blocked (pending) from here to the process's end.
    sigset_t late;
    sigemptyset(&late);
    sigaddset(&late, SIGTERM);
    sigaddset(&late, SIGINT);
    pthread_sigmask(SIG_BLOCK, &late, nullptr);
    for (auto *sig : {&sigterm, &sigint}) uv_close(reinterpret_cast<uv_handle_t *>(sig), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);  // let close callbacks run
    uv_loop_close(&loop);
    // The marker goes with this object; a failed allocation after it still
    // ends the process.
    if (opts.memory_limited) supervise::end_process_on_allocation_failure(nullptr);
  }

  void handle(const std::string &line, control::Reply reply) {
    control::Request req;
    try {
      req = control::decode_request(line);
    } catch (const Error &e) {
      return reply(error_reply(e.what()).dump());
    }
    if (auto *send = std::get_if<control::SendRequest>(&req)) {
      if (stopping) return reply(error_reply("host: stopping, input not taken").dump());
      const int64_t ts = send->timestamp_ms.value_or(wall_ms());
      queue.push_back({std::move(*send), ts, reply});
      uv_idle_start(&drain, [](uv_idle_t *h) { static_cast<Impl *>(h->data)->run_some(kInputsPerTurn); });
      return;
    }
    if (std::holds_alternative<control::StatusRequest>(req)) return reply(status().dump());
    if (const auto *r = std::get_if<control::RetireRequest>(&req)) return reply(retire(r->microservice).dump());
    reply(reload(std::get<control::ReloadRequest>(req).microservice).dump());
  }

  void run_some(int budget) {
    control::InputScratch scratch;
    while (!queue.empty() && budget-- != 0) {
      Queued q = std::move(queue.front());
      queue.pop_front();
      const auto in = control::to_input(q.req, q.timestamp_ms, scratch);
      const std::string source = q.req.client.empty() ? std::string() : "client:" + q.req.client;
      json r;
      try {
        if (!source.empty()) {
          if (const auto done = st->load_cursor(source); done && q.req.seq <= *done) {
            q.reply(json{{"ok", true}, {"location", q.req.location}, {"duplicate", true}, {"seq", q.req.seq}}.dump());
            continue;
          }
        }
        st->begin();
        retirer->before_execution(q.req.location, wall_ms());
        reloader->execute(in, wall_ms());
        ex->flush();
        if (!source.empty()) st->put_cursor(source, q.req.seq);
        st->commit();
        note_versions();
        ++executions;
        arm(q.req.location);
        json generations = json::array();  // which build of each microservice served it
        for (const auto &m : bot->microservices()) generations.push_back(m.plugin->generation());
        r = {{"ok", true}, {"location", q.req.location}, {"timestamp_ms", q.timestamp_ms},
             {"failed", ex->last_failures().size()}, {"generations", generations}};
      } catch (const std::exception &e) {
        // The store refused the commit: nothing of this execution is kept.
        if (st->in_transaction()) st->rollback();
        ex->forget();
        ++failed_commits;
        spdlog::error("execution for {} not committed: {}", q.req.location, e.what());
        r = error_reply(std::string("not committed: ") + e.what());
      }
      q.reply(r.dump());
    }
    if (queue.empty()) uv_idle_stop(&drain);
    rearm();
  }

  // Files the location's next due time (or takes it out) of the queue.
  void arm(const std::string &location) {
    if (const auto t = ex->next_due(location)) due.arm(location, *t);
    else due.disarm(location);
  }

  void rearm() {
    if (stopping) return;
    const auto next = due.next_due();
    if (!next) {
      uv_timer_stop(&wake);
      return;
    }
    const int64_t wait = std::max<int64_t>(0, *next - wall_ms());
    uv_timer_start(
        &wake, [](uv_timer_t *t) { static_cast<Impl *>(t->data)->run_due(); }, static_cast<uint64_t>(wait), 0);
  }

  // Everything due by now, each item its own committed execution.
  void run_due() {
    const int64_t now = wall_ms();
    for (const auto &location : due.pop_due(now)) {
      for (;;) {
        try {
          st->begin();
          retirer->before_execution(location, now);
          const bool ran = reloader->run_due(location, now, now);
          ex->flush();
          st->commit();
          note_versions();
          if (!ran) break;
          ++executions;
        } catch (const std::exception &e) {
          if (st->in_transaction()) st->rollback();
          ex->forget();
          ++failed_commits;
          spdlog::error("due execution for {} not committed: {}", location, e.what());
          break;
        }
      }
      arm(location);
    }
    rearm();
  }

  // One watcher per directory holding plugin files or bot.json, reporting
  // only those files.
  void watch_plugins() {
    std::map<std::string, std::set<std::string>> dirs;
    const auto watch = [&](const std::filesystem::path &p) {
      dirs[p.parent_path().string()].insert(p.filename().string());
    };
    for (const auto &m : bot->microservices()) watch(m.spec.plugin);
    for (const auto &s : suspended) watch(s.spec.plugin);
    for (const auto &spec : waiting) watch(spec.plugin);
    const std::filesystem::path manifest(bot->manifest().path);
    dirs[manifest.parent_path().string()].insert(manifest.filename().string());
    for (auto &[dir, names] : dirs) {
      watch::WatchOptions wo;
      wo.accept = [names](std::string_view n) { return names.count(std::string(n)) > 0; };
      wo.complete = [manifest = bot->manifest().path](const std::string &path, std::string_view bytes) {
        if (path == manifest) return true;  // read whole, and refused whole if malformed
        try {
          loader::check_elf(bytes, path);
          return true;
        } catch (const Error &) {
          return false;
        }
      };
      wo.debounce = std::chrono::milliseconds(opts.debounce_ms);
      wo.poll_only = opts.poll_only;
      watchers.push_back(std::make_unique<watch::DirWatcher>(
          &loop, dir, std::move(wo), [this](const std::vector<watch::Change> &changes) { on_files(changes); }));
      watchers.back()->start();
    }
  }

  void on_files(const std::vector<watch::Change> &changes) {
    const auto &all = bot->microservices();
    for (const auto &c : changes) {
      if (c.path == bot->manifest().path && c.kind != watch::Change::Kind::Removed) on_manifest();
      for (size_t i = 0; i < all.size(); ++i) {
        if (all[i].spec.plugin != c.path || all[i].retiring) continue;
        if (c.kind == watch::Change::Kind::Removed) {
          spdlog::warn("{}: {} is gone; its staged copy keeps serving, and nothing of its memory is lost",
                       all[i].spec.name, c.path);
          continue;
        }
        offer(i);
      }
      if (c.kind == watch::Change::Kind::Removed) continue;
      for (size_t j = 0; j < waiting.size(); ++j)
        if (waiting[j].plugin == c.path) {
          arrive(j);
          break;
        }
      for (size_t k = 0; k < suspended.size(); ++k)
        if (suspended[k].spec.plugin == c.path) {
          resume(k);
          break;
        }
    }
  }

  // The plugin file of a microservice waiting for it appeared: it is loaded
  // and gets its stored state back, or goes on waiting, with the reason.
  void arrive(size_t j) {
    const engine::MicroserviceSpec spec = waiting[j];
    if (retirer->retiring(spec.name)) {
      // Its state is going by hand (livebot retire): a restart runs it afresh.
      spdlog::warn("{}: {} appeared, but its state is being retired; restart the host to run it", spec.name,
                   spec.plugin);
      return;
    }
    if (join(spec, refused_arrivals[spec.name], false).outcome == reload::Offer::Outcome::Published)
      waiting.erase(waiting.begin() + static_cast<std::ptrdiff_t>(j));
  }

  // A microservice joins the running bot (live/joining.hpp); on probation if
  // it is back from suspension.
  reload::Offer join(const engine::MicroserviceSpec &spec, std::set<std::string> &refused, bool probation) {
    const auto r = live::join(spec, refused, {*st, *ex, *reloader, staging, *marker}, wall_ms(), probation);
    if (r.outcome == reload::Offer::Outcome::Published) {
      note_versions();
      // Its stored timers and schedules are due again, as at start.
      for (const auto &id : st->location_ids()) arm(id);
      rearm();
    }
    return r;
  }

  // bot.json changed: microservices it dropped are retired, retiring ones it
  // names again have their retirement cancelled.
  void on_manifest() {
    engine::Manifest next;
    std::vector<engine::MicroserviceSpec> listed;  // with those whose file is missing
    try {
      next = engine::load_manifest(opts.bot_dir, &listed);
    } catch (const Error &e) {
      spdlog::error("{}; the bot runs on as it was", e.what());
      return;
    }
    listed.insert(listed.end(), next.microservices.begin(), next.microservices.end());
    std::map<std::string, const engine::MicroserviceSpec *> names;
    std::set<std::string> renamed;
    for (const auto &spec : listed) {
      names.emplace(spec.name, &spec);
      if (!spec.previous_name.empty()) renamed.insert(spec.previous_name);
    }
    const auto &all = bot->microservices();
    for (size_t i = 0; i < all.size(); ++i) {
      const std::string name = all[i].spec.name;
      const auto now = names.find(name);
      const bool was = named.count(name) > 0, is = now != names.end();
      // A rename moves the state at the next start; retiring would purge it.
      if (was && !is && renamed.count(name))
        spdlog::warn("{}: renamed in {}; restart the host to move its state to the new name", name, next.path);
      else if (was && !is && !all[i].retiring)
        start_retiring(i);
      if (!was && is && all[i].retiring && !retirer->cancel(*now->second))
        spdlog::warn("{}: named again after its retirement ended; restart the host to run it", name);
    }
    // No longer named while waiting: its state stays kept aside.
    std::erase_if(waiting, [&](const engine::MicroserviceSpec &w) { return !names.count(w.name); });
    named.clear();
    for (const auto &[name, spec] : names) {
      if (std::none_of(all.begin(), all.end(), [&](const auto &m) { return m.spec.name == name; }) &&
          std::none_of(waiting.begin(), waiting.end(), [&](const auto &w) { return w.name == name; }))
        spdlog::warn("{}: new in {}; restart the host to run it", name, next.path);
      named.insert(name);
    }
  }

  void start_retiring(size_t i) {
    // A location armed only for its timers wakes once more, finds nothing
    // due and is disarmed.
    retirer->start(i, wall_ms());
    start_sweep();
  }

  json retire(const std::string &name) {
    try {
      const auto &all = bot->microservices();
      if (std::any_of(all.begin(), all.end(), [&](const auto &m) { return m.spec.name == name; })) {
        start_retiring(reloader->index_of(name));
      } else {
        // Its state is kept aside: no library to drain it with.
        retirer->start_kept_aside(name, wall_ms());
        start_sweep();
        // Retired, it is no longer waiting for its file: one that appears
        // now runs, afresh, from the host's next start.
        std::erase_if(waiting, [&](const engine::MicroserviceSpec &w) { return w.name == name; });
      }
    } catch (const Error &e) {
      return error_reply(e.what());
    }
    for (auto &r : retirer->status(wall_ms()))
      if (r["name"] == name) return {{"ok", true}, {"retirement", r}};
    return error_reply(name + ": retirement not recorded");
  }

  void start_sweep() {
    swept_ms = wall_ms();
    sweep_tokens = 0;
    uv_timer_start(
        &sweeper, [](uv_timer_t *t) { static_cast<Impl *>(t->data)->sweep(); }, kSweepEveryMs, kSweepEveryMs);
  }

  // One turn of the sweep: as many locations as the rate allows since the
  // last, in one transaction; then whatever is drained is released.
  void sweep() {
    const int64_t now = wall_ms();
    const double rate = retirer->rate();
    sweep_tokens = rate > 0 ? std::min<double>(sweep_tokens + rate * static_cast<double>(now - swept_ms) / 1000.0,
                                               static_cast<double>(kMaxSweepBatch))
                            : static_cast<double>(kMaxSweepBatch);
    swept_ms = now;
    try {
      if (const auto budget = static_cast<size_t>(sweep_tokens); budget > 0) {
        st->begin();
        const size_t n = retirer->sweep(budget, now);
        ex->flush();
        st->commit();
        retirer->evict();
        sweep_tokens -= static_cast<double>(n);
      }
      retirer->release_ready(now, [this](size_t i) { return reloader->on_probation(i); });
    } catch (const std::exception &e) {
      if (st->in_transaction()) st->rollback();
      ex->forget();
      spdlog::error("retirement sweep not committed: {}", e.what());
    }
    if (!retirer->active()) uv_timer_stop(&sweeper);
  }

  // Offers microservice `i`'s plugin file, in a transaction of its own (a
  // refusal is recorded, a published schema stored).
  json offer(size_t i) {
    const auto &m = bot->microservices()[i];
    st->begin();
    reload::Offer r;
    try {
      // A build's static initializers run as it loads: a crash there is its own.
      r = reloader->offer(i, m.spec.plugin, wall_ms(), [&](const std::string &hash) { marker->loading(i, hash, m.spec.plugin); });
    } catch (...) {
      marker->left();
      throw;
    }
    marker->left();
    ex->flush();
    st->commit();
    note_versions();
    return {{"microservice", m.spec.name}, {"outcome", reload::Offer::name(r.outcome)}, {"message", r.message}};
  }

  json reload(const std::string &only) {
    json results = json::array();
    const auto &all = bot->microservices();
    const auto is_suspended = [&](const std::string &name) {
      return std::any_of(suspended.begin(), suspended.end(), [&](const auto &s) { return s.spec.name == name; });
    };
    try {
      if (!only.empty() && !is_suspended(only)) reloader->index_of(only);
    } catch (const Error &e) {
      return error_reply(e.what());
    }
    for (size_t i = 0; i < all.size(); ++i)
      if (!all[i].retiring && (only.empty() || all[i].spec.name == only)) results.push_back(offer(i));
    // Backwards, since one that joins leaves the list.
    for (size_t k = suspended.size(); k-- > 0;)
      if (only.empty() || suspended[k].spec.name == only) results.push_back(resume(k));
    return {{"ok", true}, {"results", results}};
  }

  json waiting_json() const {
    json out = json::array();
    for (const auto &spec : waiting) out.push_back({{"name", spec.name}, {"file", spec.plugin}});
    return out;
  }

  json resume(size_t k) {
    const auto name = suspended[k].spec.name;
    const auto r = join(suspended[k].spec, suspended[k].refused, true);
    if (r.outcome == reload::Offer::Outcome::Published)
      suspended.erase(suspended.begin() + static_cast<std::ptrdiff_t>(k));
    return {{"microservice", name}, {"outcome", reload::Offer::name(r.outcome)}, {"message", r.message}};
  }

  json suspended_json() const {
    json out = json::array();
    for (const auto &s : suspended) out.push_back({{"name", s.spec.name}, {"why", s.why}});
    return out;
  }

  json watched_dirs() const {
    json dirs = json::array();
    for (const auto &w : watchers) dirs.push_back(w->dir());
    return dirs;
  }

  json status() {
    json ms = json::array();
    const auto &all = bot->microservices();
    for (size_t i = 0; i < all.size(); ++i) {
      const auto &m = all[i];
      json versions = json::array();
      for (const auto &v : reloader->history(i))
        versions.push_back({{"version", v.version}, {"generation", v.generation}, {"state", v.state},
                            {"note", v.note}, {"executions", v.executions}, {"errors", v.errors},
                            {"staged", v.staged_path}, {"published_ms", v.published_ms}, {"hash", v.hash}});
      ms.push_back({{"name", m.spec.name},
                    {"file", m.spec.plugin},
                    {"version", m.plugin->version()},
                    {"generation", m.plugin->generation()},
                    {"staged", m.plugin->staged_path()},
                    {"state", m.retiring                  ? (m.plugin->loaded() ? "retiring" : "retired")
                              : reloader->on_probation(i) ? "probation"
                                                          : "serving"},
                    {"executions", m.stats.executions},
                    {"errors", m.stats.errors},
                    {"versions", versions}});
    }
    return {{"ok", true},
            {"bot", bot->manifest().bot},
            {"bot_version", bot->manifest().version},
            {"store", opts.store_path},
            {"socket", opts.socket_path},
            {"uptime_ms", wall_ms() - started_ms},
            {"queued", queue.size()},
            {"locations_with_due_items", due.size()},
            {"executions", executions},
            {"failed_commits", failed_commits},
            {"quarantined", st->count_quarantined()},
            {"microservices", ms},
            {"retirements", retirer->status(wall_ms())},
            {"kept_aside", kept_aside()},
            {"waiting", waiting_json()},
            {"suspended", suspended_json()},
            {"pid", ::getpid()},
            {"restarts", restarts},
            {"watching", watched_dirs()},
            {"mapped_images", reloader->mapped_images()}};
  }

  // Stored state of microservices this host neither runs nor retires: kept
  // aside, untouched, until the microservice returns or is retired (one
  // waiting for its file too). A suspended one is listed as that instead:
  // the host runs it as soon as a build of it loads.
  json kept_aside() {
    json out = json::array();
    const auto &all = bot->microservices();
    for (const auto &name : st->stored_microservices())
      if (!retirer->retiring(name) &&
          std::none_of(all.begin(), all.end(), [&](const auto &m) { return m.spec.name == name; }) &&
          std::none_of(suspended.begin(), suspended.end(), [&](const auto &s) { return s.spec.name == name; }))
        out.push_back(name);
    return out;
  }

  void shut_down() {
    if (stopping) return;
    stopping = true;
    watchers.clear();
    if (server) server->stop_listening();
    run_some(-1);  // everything queued is still served, and answered
    if (server) server->close();
    keep_pending();
    for (uv_handle_t *h : {reinterpret_cast<uv_handle_t *>(&drain), reinterpret_cast<uv_handle_t *>(&ticker),
                           reinterpret_cast<uv_handle_t *>(&wake), reinterpret_cast<uv_handle_t *>(&sweeper),
                           reinterpret_cast<uv_handle_t *>(&keeper)})
      uv_close(h, nullptr);
  }
};

LiveHost::LiveHost(const LiveOptions &opts, const supervise::PreviousExit &previous,
                   const std::function<void()> &serving)
    : impl_(std::make_unique<Impl>(opts, previous)) {
  if (serving) serving();
}
LiveHost::~LiveHost() = default;

int LiveHost::run() {
  uv_run(&impl_->loop, UV_RUN_DEFAULT);
  spdlog::info("stopped after {} executions", impl_->executions);
  return 0;
}

void LiveHost::stop() { impl_->shut_down(); }

}  // namespace livebot::live

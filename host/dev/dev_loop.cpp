#include "dev/dev_loop.hpp"

#include <spdlog/spdlog.h>
#include <uv.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <system_error>

#include "common/error.hpp"
#include "playback/playback.hpp"
#include "watch/watcher.hpp"

namespace livebot::dev {

namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

bool is_source(std::string_view name) {
  for (const char *ext : {".cpp", ".cc", ".cxx", ".hpp", ".h", ".fbs"})
    if (name.ends_with(ext)) return true;
  return name == "meson.build";
}

std::vector<std::string> lines_of(const std::string &path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string l; std::getline(in, l);) out.push_back(std::move(l));
  return out;
}

void print_count(const char *what, int64_t before, int64_t after) {
  if (before == after) std::printf("    %-28s %lld\n", what, static_cast<long long>(after));
  else std::printf("    %-28s %lld -> %lld\n", what, static_cast<long long>(before), static_cast<long long>(after));
}

// What a replay left for the next comparison.
struct Replay {
  playback::PlaybackSummary summary;
  std::vector<std::string> notifications;  // notifications.jsonl lines
  std::string out_dir;
};

// Per microservice: its version (and the one before), executions, errors
// and callbacks, with the counts of `before` beside them when `compare`.
void print_microservices(const playback::PlaybackSummary *before, const playback::PlaybackSummary &s, bool compare) {
  for (const auto &m : s.microservices) {
    const playback::MicroserviceSummary *old = nullptr;
    if (before)
      for (const auto &o : before->microservices)
        if (o.name == m.name) old = &o;
    if (old && old->version != m.version) std::printf("  %s %s -> %s\n", m.name.c_str(), old->version.c_str(), m.version.c_str());
    else std::printf("  %s %s%s\n", m.name.c_str(), m.version.c_str(), before && !old ? " (new)" : "");
    const auto *base = compare ? old : nullptr;
    print_count("executions", base ? base->executions : m.executions, m.executions);
    print_count("errors", base ? base->errors : m.errors, m.errors);
    std::set<std::string> names;
    for (const auto &[cb, n] : m.callbacks) names.insert(cb);
    if (base)
      for (const auto &[cb, n] : base->callbacks) names.insert(cb);
    for (const auto &cb : names) {
      const auto count = [&](const playback::MicroserviceSummary &x) {
        const auto it = x.callbacks.find(cb);
        return it == x.callbacks.end() ? int64_t{0} : it->second;
      };
      print_count(cb.c_str(), base ? count(*base) : count(m), count(m));
    }
  }
}

void print_diff(const Replay *before, const Replay &now) {
  const auto &s = now.summary;
  std::printf("replayed %lld rows in %.3f s: %lld executions, %lld notifications, %lld errors\n",
              static_cast<long long>(s.rows_played), s.wall_seconds, static_cast<long long>(s.executions),
              static_cast<long long>(s.notifications), static_cast<long long>(s.errors));
  print_microservices(before ? &before->summary : nullptr, s, true);
  if (!before) return;
  // Notifications: how many changed, and the first that differs.
  const auto &a = before->notifications, &b = now.notifications;
  size_t first = 0;
  while (first < a.size() && first < b.size() && a[first] == b[first]) ++first;
  if (first == a.size() && first == b.size()) {
    std::printf("  notifications: the same %zu\n", b.size());
  } else {
    std::printf("  notifications: %zu -> %zu, first difference at #%zu\n", a.size(), b.size(), first + 1);
    if (first < a.size()) std::printf("    - %s\n", a[first].c_str());
    if (first < b.size()) std::printf("    + %s\n", b[first].c_str());
  }
  if (now.summary.errors != before->summary.errors)
    std::printf("  errors: %lld -> %lld (livebot errors --store %s/playback.db)\n",
                static_cast<long long>(before->summary.errors), static_cast<long long>(now.summary.errors),
                now.out_dir.c_str());
}

class Loop {
 public:
  explicit Loop(const DevOptions &o) : opts_(o) {
    uv_loop_init(&loop_);
    for (auto *sig : {&sigint_, &sigterm_}) {
      uv_signal_init(&loop_, sig);
      sig->data = this;
      uv_signal_start(
          sig, [](uv_signal_t *s, int) { static_cast<Loop *>(s->data)->stop(); }, sig == &sigint_ ? SIGINT : SIGTERM);
      uv_unref(reinterpret_cast<uv_handle_t *>(sig));
    }
    for (const auto &dir : opts_.sources) {
      watch::WatchOptions wo;
      wo.accept = is_source;
      wo.debounce = std::chrono::milliseconds(opts_.debounce_ms);
      watchers_.push_back(std::make_unique<watch::DirWatcher>(&loop_, dir, std::move(wo),
                                                              [this](const std::vector<watch::Change> &c) {
                                                                std::printf("changed: %s\n", c.front().path.c_str());
                                                                build();
                                                              }));
      watchers_.back()->start();
    }
  }
  ~Loop() {
    for (auto *sig : {&sigint_, &sigterm_}) uv_close(reinterpret_cast<uv_handle_t *>(sig), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
  }

  int run() {
    replay();  // the baseline, from the bot as it is now
    std::printf("watching %zu source director%s; Ctrl-C stops\n", opts_.sources.size(),
                opts_.sources.size() == 1 ? "y" : "ies");
    std::fflush(stdout);
    if (opts_.sources.empty()) return status_;
    uv_run(&loop_, UV_RUN_DEFAULT);
    return status_;
  }

 private:
  void stop() {
    watchers_.clear();
    if (building_) uv_process_kill(&proc_, SIGTERM);
  }

  void build() {
    if (building_) {
      again_ = true;  // an edit during a build: build once more after it
      return;
    }
    building_ = true;
    build_start_ = std::chrono::steady_clock::now();
    std::printf("building: %s\n", opts_.build_command.c_str());
    std::fflush(stdout);
    const char *args[] = {"/bin/sh", "-c", opts_.build_command.c_str(), nullptr};
    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_IGNORE;
    for (int fd : {1, 2}) stdio[fd].flags = UV_INHERIT_FD, stdio[fd].data.fd = fd;
    uv_process_options_t po{};
    po.file = args[0];
    po.args = const_cast<char **>(args);
    po.stdio_count = 3;
    po.stdio = stdio;
    po.exit_cb = [](uv_process_t *p, int64_t exit_status, int term_signal) {
      auto *self = static_cast<Loop *>(p->data);
      uv_close(reinterpret_cast<uv_handle_t *>(p), nullptr);
      self->built(exit_status == 0 && term_signal == 0);
    };
    proc_.data = this;
    if (const int rc = uv_spawn(&loop_, &proc_, &po); rc != 0) {
      std::printf("build failed to start: %s\n", uv_strerror(rc));
      building_ = false;
      status_ = 1;
    }
  }

  void built(bool ok) {
    building_ = false;
    ++cycles_;
    std::printf("build %s in %.2f s\n", ok ? "succeeded" : "FAILED", seconds_since(build_start_));
    if (ok) replay();
    else {
      std::printf("the last good build stays in place\n");
      status_ = 1;
    }
    std::fflush(stdout);
    if (opts_.cycles > 0 && cycles_ >= opts_.cycles) return stop();
    if (again_) {
      again_ = false;
      build();
    }
  }

  void replay() {
    if (opts_.recording.empty()) return;
    if (opts_.feed_rows > 0) return feed();
    playback::PlaybackOptions po;
    po.recording = opts_.recording;
    po.bot_dir = opts_.bot_dir;
    po.out_dir = (fs::path(opts_.out_dir) / ("replay-" + std::to_string(replays_ % 2))).string();
    ++replays_;
    try {
      Replay now;
      now.summary = playback::run_playback(po);
      now.notifications = lines_of((fs::path(po.out_dir) / "notifications.jsonl").string());
      now.out_dir = po.out_dir;
      print_diff(last_ ? &*last_ : nullptr, now);
      last_ = std::move(now);
      status_ = 0;
    } catch (const Error &e) {
      std::printf("replay refused: %s\n", e.what());
      status_ = 1;
    }
    std::fflush(stdout);
  }

  // The next rows on the memory the builds before left; the counts shown are
  // this build's rows only, so they are not compared with the last ones.
  void feed() {
    playback::PlaybackOptions po;
    po.recording = opts_.recording;
    po.bot_dir = opts_.bot_dir;
    po.out_dir = (fs::path(opts_.out_dir) / "feed").string();
    po.resume = fed_to_ > 0;
    po.stop_at_row = fed_to_ + opts_.feed_rows;
    // A microservice this build's bot.json dropped is retired with the
    // last build's library, if its file is still there, so that its
    // destroy() runs.
    if (po.resume && last_fed_)
      for (const auto &m : last_fed_->microservices)
        if (std::error_code ec; fs::is_regular_file(m.file, ec)) po.retired_plugins.emplace(m.name, m.file);
    try {
      auto s = playback::run_playback(po);
      const std::string on = s.start_row == 0 ? "a fresh store" : "the memory rows 0 to " + std::to_string(s.start_row) + " left";
      std::printf("fed rows %lld to %lld of %lld in %.3f s, on %s: %lld executions, %lld errors\n",
                  static_cast<long long>(s.start_row), static_cast<long long>(s.end_row),
                  static_cast<long long>(s.rows_total), s.wall_seconds, on.c_str(),
                  static_cast<long long>(s.executions), static_cast<long long>(s.errors));
      print_microservices(last_fed_ ? &*last_fed_ : nullptr, s, false);
      std::fputs(s.retirements_text().c_str(), stdout);
      fed_to_ = s.end_row;
      if (fed_to_ >= s.rows_total) {
        std::printf("the recording is fed to its end; the next build starts it again on a fresh store\n");
        fed_to_ = 0;
      }
      std::printf("memory: %s\n", s.store_path.c_str());
      last_fed_ = std::move(s);
      status_ = 0;
    } catch (const Error &e) {
      std::printf("feed refused: %s\n", e.what());
      status_ = 1;
    }
    std::fflush(stdout);
  }

  DevOptions opts_;
  uv_loop_t loop_{};
  uv_signal_t sigint_{}, sigterm_{};
  uv_process_t proc_{};
  std::vector<std::unique_ptr<watch::DirWatcher>> watchers_;
  std::optional<Replay> last_;
  std::optional<playback::PlaybackSummary> last_fed_;
  int64_t fed_to_ = 0;  // the row the feed's store has reached
  std::chrono::steady_clock::time_point build_start_;
  bool building_ = false, again_ = false;
  int64_t cycles_ = 0, replays_ = 0;
  int status_ = 0;
};

}  // namespace

int run_dev_loop(const DevOptions &opts) {
  if (opts.sources.empty() && opts.recording.empty())
    throw Error("dev", "nothing to do: give --source DIR to watch and/or --recording FILE to replay");
  if (!opts.sources.empty() && opts.build_command.empty())
    throw Error("dev", "--source needs a build: --build DIR (runs ninja) or --build-cmd CMD");
  Loop loop(opts);
  return loop.run();
}

}  // namespace livebot::dev

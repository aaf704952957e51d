// Playback: a recording run through a bot in virtual time, the way the
// local dev loop and the benchmarks use it.
//
// Virtual time: before a row is applied, everything due at or before its
// time (timers, alarms, schedules, data stream messages the bot sent itself)
// runs, each item as its own execution, earliest first. A location's
// schedules start at its first execution, in its time zone (location_info's).
// The clock is the recording's: nothing due after its last row runs.
// Recordings carry no data stream rows; messages from outside are the live
// host's to deliver (engine::Input::Kind::DataStream).
//
// Retirement (docs/RETIREMENT.md): stored state of a microservice bot.json
// no longer names is retired as a live host retires it — each location is
// purged at its next execution, the rest at the end of the run — so a run
// never ends with a retirement half done.
//
// Promises: executions are committed in batches together with the row they
// reached, so a playback killed at any moment resumes (`resume`) at its last
// commit and ends in the same state as one that was never interrupted: no
// execution is applied twice or lost, nor any timer.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace livebot::playback {

// A new build of a microservice offered mid-stream, before row `row`, the
// way a live host is offered one by its plugin watcher.
struct SwapAt {
  int64_t row = 0;
  std::string microservice;
  std::string file;
};

struct PlaybackOptions {
  std::string recording;
  std::string bot_dir;
  std::string store_path;  // empty: <out_dir>/playback.db, started afresh
  std::string out_dir = "playback-out";
  bool resume = false;
  int64_t stop_at_row = -1;        // stop before this row (-1: play to the end)
  int64_t commit_every = 4096;     // executions per transaction
  bool progress = false;           // draw a progress bar on stderr
  std::vector<SwapAt> swaps;
  // Plugin files of microservices bot.json no longer names, by name: their
  // stored state is retired with their destroy(). Without one, the state is
  // retired all the same, and nothing hears destroy().
  std::map<std::string, std::string> retired_plugins;
  int64_t probation_executions = 10;  // see reload::ProbationPolicy
};

struct VersionSummary {
  std::string version, state, note;
  uint64_t generation = 0;
  int64_t executions = 0, errors = 0;
};

struct SwapSummary {
  int64_t row = 0;
  std::string microservice, outcome, message;
};

struct MicroserviceSummary {
  std::string name, version, file;
  int64_t executions = 0, errors = 0;
  double plugin_seconds = 0;
  std::map<std::string, int64_t> callbacks;
  std::vector<VersionSummary> versions;  // more than one when a swap happened
};

struct PlaybackSummary {
  std::string recording, bot, bot_version, store_path, out_dir;
  int64_t rows_total = 0;    // rows in the recording
  int64_t start_row = 0;     // where this run started (resume)
  int64_t end_row = 0;       // where it stopped
  int64_t rows_played = 0;   // rows applied by this run
  int64_t executions = 0;        // every execution, those below included
  int64_t timer_executions = 0;  // timers and alarms that fired
  int64_t timers_dropped = 0;    // due, but their owner was gone
  int64_t schedule_executions = 0;
  int64_t datastream_executions = 0;  // messages the bot sent itself
  std::map<std::string, int64_t> skipped;  // reason -> rows
  std::vector<MicroserviceSummary> microservices;
  std::vector<SwapSummary> swaps;
  // Microservices this run retired, as `livebot status --json` lists them.
  nlohmann::json retirements = nlohmann::json::array();
  int64_t notifications = 0;
  int64_t errors = 0;
  int64_t commits = 0;
  double read_seconds = 0, play_seconds = 0, wall_seconds = 0;
  double plugin_seconds = 0;
  int64_t peak_rss_kb = 0;
  bool complete = false;

  nlohmann::json to_json() const;
  std::string to_text() const;
  // One line per retirement, as to_text() has them.
  std::string retirements_text() const;
};

PlaybackSummary run_playback(const PlaybackOptions &opts);

}  // namespace livebot::playback

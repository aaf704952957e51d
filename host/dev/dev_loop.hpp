// The dev loop: edit, rebuild, reload, replay. Watches the plugins' source
// directories; on a change it runs the build, and when the build succeeds
// either
//  - replays the recording from the start through the bot as built, and
//    prints what this build did differently from the last one (per
//    microservice: version, executions and callbacks; notifications;
//    errors), or
//  - with `feed_rows`, keeps feeding it: each build plays the next rows on
//    top of the memory the earlier builds left in the store, so the new
//    version starts from the state the old one committed (its new fields
//    at their defaults) the way a swap in a live host does. At the
//    recording's end the next build starts it again on a fresh store.
//
// A live host watching the same bot directory (`livebot run`) swaps the new
// build in on its own; the dev loop is what rebuilds it and shows, on real
// recorded input, what the change does.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace livebot::dev {

struct DevOptions {
  std::string bot_dir;
  std::string recording;             // empty: rebuild only
  std::vector<std::string> sources;  // directories watched for edits
  std::string build_command;         // run with /bin/sh -c; e.g. "ninja -C build"
  std::string out_dir = "dev-out";   // each replay's output, kept for the next diff
  int64_t debounce_ms = 300;
  int64_t cycles = 0;  // stop after this many rebuilds (0: until SIGINT/SIGTERM)
  int64_t feed_rows = 0;  // rows played per build, memory kept (0: replay from the start)
};

// Runs until stopped; returns the exit code (0, or 1 when the last build or
// replay failed).
int run_dev_loop(const DevOptions &opts);

}  // namespace livebot::dev

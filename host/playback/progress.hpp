// A progress bar for long work, drawn on stderr only when it is a terminal
// (and never under --json), at most ~10 times a second.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace livebot::playback {

class Progress {
 public:
  Progress(std::string label, int64_t total, bool enabled);
  ~Progress();
  void update(int64_t done);
  void finish();

 private:
  std::string label_;
  int64_t total_;
  int64_t done_ = 0;  // last update(), so finish() shows where work stopped
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

// Whether stderr is a terminal.
bool stderr_is_tty();

}  // namespace livebot::playback

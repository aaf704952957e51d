// Reads botengine recordings: the JSON format of the published recordings,
// either as a .json file or as the .zip that holds one (and its CSV files).
//
// Promises: every row of `data` is either returned or counted in `skipped`
// with a reason; a malformed file is a livebot::Error naming the file and,
// where it applies, the row and column ("x.json: row 12: timestamp_ms 'abc'
// is not a number").
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace livebot::playback {

// The triggers a recording's rows carry (schedules and timers fire from the
// bot itself, not from rows).
enum class Trigger : int { Mode = 2, Alert = 4, Measurement = 8 };

struct Param {
  std::string_view name;  // interned in Recording::names
  std::string value;
};

struct Row {
  int64_t index = 0;  // position in the recording's `data` list
  Trigger trigger = Trigger::Measurement;
  int64_t timestamp_ms = 0;
  std::string location_id;  // the row's own, else location_info.id
  // Device rows (measurement, alert).
  std::string device_id;
  int32_t device_type = 0;
  std::string description;
  std::vector<std::string_view> updated_params;  // interned; may repeat
  std::vector<Param> params;  // every parameter column the row carries
  // Mode rows: the mode, with any extra quotes removed.
  std::string mode;
  // Alert rows: `alert_type` column if present.
  std::string alert_type;
};

struct Recording {
  // Rows point into `names`: moving keeps them valid, copying would not.
  Recording() = default;
  Recording(Recording &&) = default;
  Recording &operator=(Recording &&) = default;
  Recording(const Recording &) = delete;
  Recording &operator=(const Recording &) = delete;

  std::string path;
  std::string content_hash;  // of the JSON text: identifies it for --resume
  std::string location_id;   // location_info.id
  std::string timezone;      // location_info.timezone.id ("" if absent)
  std::string initial_mode;  // location_info.event, unquoted
  std::vector<Row> rows;     // in recording order (time-ordered)
  std::map<std::string, int64_t> skipped;  // reason -> rows
  std::deque<std::string> names;           // storage of interned names
};

Recording read_recording(const std::string &path);

// Parses recording JSON already in memory; `where` names it in errors.
Recording parse_recording(std::string_view json, const std::string &where);

}  // namespace livebot::playback

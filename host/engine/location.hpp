// A location's memory while the host holds it: its record, its devices, its
// microservice instances, the variables fetched so far, its timers, when its
// schedules fire next and the data stream messages waiting. The store has the
// committed copy; `dirty` marks what the next flush must write.
#pragma once

#include <compare>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/store.hpp"

namespace date {
class time_zone;
}

namespace livebot::engine {

// How far back a device's history reaches (botengine keeps about an hour).
constexpr int64_t kHistoryMs = 60 * 60 * 1000;

struct Sample {
  int64_t timestamp_ms;
  std::string name;
  std::string value;
};

struct DeviceState {
  std::string id;
  int32_t type = 0;
  std::string description;
  std::map<std::string, std::string, std::less<>> params;  // latest values
  std::vector<std::string> updated;  // changed by the current measurement
  int64_t last_measured_ms = 0;
  std::deque<Sample> history;
  bool dirty = false;

  std::string encode() const;
  static DeviceState decode(const store::DeviceRecord &rec, const std::string &where);
};

struct Instance {
  size_t microservice = 0;  // index into Bot::microservices()
  std::string device_id;    // empty for location microservices
  int64_t instance_id = 0;
  std::string schema_hash;
  std::string state;  // FlatBuffers bytes, empty until first saved
  bool constructed = true;  // false until its construct() has succeeded
  bool dirty = false;
};

// A variable as cached: `var` empty means known to be absent (a cached miss,
// or deleted when `dirty`).
struct VarSlot {
  std::optional<store::VariableRecord> var;
  bool dirty = false;
};

// A timer is owned by one instance and named by its reference.
struct TimerKey {
  int64_t instance_id = 0;
  std::string reference;
  auto operator<=>(const TimerKey &) const = default;
};

// A data stream message waiting for its execution, in send order.
struct DataStreamMessage {
  int64_t seq = 0;  // increasing along the waiting queue
  int64_t due_ms = 0;
  std::string address, content;
};

struct Location {
  store::LocationRecord rec;
  bool fresh = false;  // never executed before
  std::map<std::string, DeviceState, std::less<>> devices;
  std::vector<Instance> instances;
  std::unordered_map<std::string, VarSlot> vars;
  std::map<TimerKey, int64_t> timers;  // due time, ms
  std::set<TimerKey> timers_changed;   // set or cancelled since the last flush
  std::map<std::string, int64_t, std::less<>> schedules;  // id -> next firing, ms
  std::set<std::string> schedules_changed;
  bool schedules_started = false;         // every listed one has a firing
  const date::time_zone *zone = nullptr;  // rec.timezone, once looked up
  // Removed since the last flush: (microservice, device id) of instances,
  // and device ids.
  std::vector<std::pair<std::string, std::string>> removed_instances;
  std::vector<std::string> removed_devices;
  std::vector<store::QuarantineRecord> quarantined;  // found unreadable at load, to set aside
  std::deque<DataStreamMessage> streams;   // waiting, oldest first
  std::set<int64_t> streams_changed;       // queued or delivered since the last flush
  bool dirty = false;
};

}  // namespace livebot::engine

// The host-wide wake-up queue for timers: each key (a location id) holds its
// earliest due time, so a live host arms ONE libuv timer for next_due() and
// no handle per timer, and a location with many timers costs one entry.
//
// Promises: O(log n) per key armed, disarmed or popped; pop_due returns keys
// by due time, ties in key order, so runs are reproducible; a key is in the
// queue once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace livebot::schedule {

class DueQueue {
 public:
  // Sets the key's due time, replacing any earlier or later one.
  void arm(const std::string &key, int64_t due_ms);
  // No-op for a key that is not armed.
  void disarm(const std::string &key);

  std::optional<int64_t> next_due() const;
  std::optional<int64_t> due(const std::string &key) const;
  size_t size() const { return by_key_.size(); }

  // Removes and returns the keys due at or before `now_ms`.
  std::vector<std::string> pop_due(int64_t now_ms);

 private:
  std::set<std::pair<int64_t, std::string>> by_time_;
  std::unordered_map<std::string, int64_t> by_key_;
};

}  // namespace livebot::schedule

// The wake-up queue (see due_queue.hpp): an ordered set for "what is next"
// and a map for "where is this key", kept in step.
#include "schedule/due_queue.hpp"

namespace livebot::schedule {

void DueQueue::arm(const std::string &key, int64_t due_ms) {
  const auto [it, added] = by_key_.try_emplace(key, due_ms);
  if (!added) {
    by_time_.erase({it->second, key});
    it->second = due_ms;
  }
  by_time_.emplace(due_ms, key);
}

void DueQueue::disarm(const std::string &key) {
  const auto it = by_key_.find(key);
  if (it == by_key_.end()) return;
  by_time_.erase({it->second, key});
  by_key_.erase(it);
}

std::optional<int64_t> DueQueue::next_due() const {
  if (by_time_.empty()) return std::nullopt;
  return by_time_.begin()->first;
}

std::optional<int64_t> DueQueue::due(const std::string &key) const {
  const auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> DueQueue::pop_due(int64_t now_ms) {
  std::vector<std::string> out;
  while (!by_time_.empty() && by_time_.begin()->first <= now_ms) {
    auto node = by_time_.extract(by_time_.begin());
    by_key_.erase(node.value().second);
    out.push_back(std::move(node.value().second));
  }
  return out;
}

}  // namespace livebot::schedule

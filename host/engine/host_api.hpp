// The host side of livebot_host_api: what `livebot_exec` is, and the table
// handed to every plugin. Calls arrive on the loop thread while one
// instance is open; every byte a plugin passes in is copied before return.
#pragma once

#include <livebot/livebot.h>

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/executor.hpp"
#include "engine/location.hpp"

namespace livebot::engine {

// Limits on what a plugin may hand the host in one call.
constexpr size_t kMaxNameBytes = 1024;
constexpr size_t kMaxVariableBytes = 16u << 20;  // the Python framework caps at 8 MB
constexpr size_t kMaxStateBytes = 64u << 20;
constexpr size_t kMaxNotificationBytes = 1u << 20;
// Timers run from 0 ms to this long; alarms may be this far from the
// execution's time, either way.
constexpr int64_t kMaxTimerMs = int64_t{366} * 24 * 3600 * 1000;
constexpr size_t kMaxTimersPerInstance = 1024;
constexpr size_t kMaxDataStreamBytes = 1u << 20;
constexpr size_t kMaxQueuedDataStreams = 1024;  // per location

const livebot_host_api *host_api();

}  // namespace livebot::engine

struct livebot_exec {
  livebot::engine::Executor *executor = nullptr;
  livebot::engine::Location *location = nullptr;
  livebot::engine::Instance *instance = nullptr;
  int64_t timestamp_ms = 0;
  std::string error;                     // set_error, copied
  std::optional<std::string> new_state;  // set_state, copied and verified
  // What this instance's variable writes replaced: put back if any of its
  // callbacks fails, so a failed execution leaves variables as they were.
  std::unordered_map<std::string, livebot::engine::VarSlot> undo;
  // Likewise for timers: each one's due time before this instance touched it.
  std::map<livebot::engine::TimerKey, std::optional<int64_t>> timer_undo;
  std::string refusal;  // why the last refused call was refused
  std::deque<std::string> loaded;  // bytes handed out by load_variable
  std::vector<livebot::engine::Notification> notifications;
  std::vector<livebot::engine::DataStreamMessage> streams;  // sent, queued at close
};

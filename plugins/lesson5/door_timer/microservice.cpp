// Lesson 5, timers: a device microservice for entry sensors. When the door
// opens it starts a 10-second timer, named by a reference so that it can be
// found again; when the door closes in time, it cancels it. A timer that
// fires means the door stayed open: the location's people are told for how
// long.
#include <livebot/sdk.hpp>

#include "state_bfbs_generated.h"
#include "state_generated.h"

namespace {

constexpr std::string_view kReference = "door_open";
constexpr int64_t kOpenSeconds = 10;

class DoorTimer : public livebot::Microservice<lesson5::DoorTimerT> {
 public:
  void device_measurements_updated(const livebot::Device &d) override {
    if (!d.is_updated("doorStatus")) return;
    if (d.param("doorStatus") == "1") {
      // Opening again restarts it: one timer per reference.
      host().start_timer_s(kOpenSeconds, kReference);
      ++state().timers_started;
      state().opened_at_ms = timestamp_ms();
    } else if (host().cancel_timers(kReference)) {
      ++state().timers_cancelled;
    }
  }

  void timer_fired(std::string_view reference) override {
    if (reference != kReference) return;
    ++state().timers_fired;
    const int64_t open_ms = timestamp_ms() - state().opened_at_ms;
    host().notify("Door left open", std::string(device().description()) + " has been open for " +
                                        std::to_string(open_ms / 1000) + "." + std::to_string(open_ms % 1000 / 100) +
                                        " seconds");
  }
};

}  // namespace

LIVEBOT_MICROSERVICE(DoorTimer, "door_timer", "1.0.0", lesson5::DoorTimerBinarySchema)

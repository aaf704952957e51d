// Lesson 5, alarms: a location microservice. On every mode change it sets an
// alarm for the next midnight in the location's own time zone (setting it
// again replaces it, so several changes in one day leave one alarm); when
// the alarm fires, the location's people get a good-night message.
#include <livebot/sdk.hpp>

#include "state_bfbs_generated.h"
#include "state_generated.h"

namespace {

constexpr std::string_view kReference = "midnight";

class MidnightAlarm : public livebot::Microservice<lesson5::MidnightAlarmT> {
 public:
  void mode_updated(std::string_view) override {
    state().next_alarm_ms = host().next_local_midnight_ms(timestamp_ms());
    host().set_alarm(state().next_alarm_ms, kReference);
    ++state().alarms_set;
  }

  void timer_fired(std::string_view reference) override {
    if (reference != kReference) return;
    ++state().alarms_fired;
    host().notify("Midnight", "It is midnight at location " + std::string(location_id()) + "; the mode is " +
                                  std::string(mode()));
  }
};

}  // namespace

LIVEBOT_MICROSERVICE(MidnightAlarm, "midnight_alarm", "1.0.0", lesson5::MidnightAlarmBinarySchema)

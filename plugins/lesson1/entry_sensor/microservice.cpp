// Lesson 1, a device microservice: one instance per entry sensor (a door or
// a window). It hears its own device only, and logs each change of the
// sensor's `doorStatus` ("1" open, "0" closed).
#include <livebot/sdk.hpp>

#include "state_bfbs_generated.h"
#include "state_generated.h"

namespace {

class EntrySensor : public livebot::Microservice<lesson1::EntrySensorT> {
 public:
  void device_measurements_updated(const livebot::Device &d) override {
    if (!d.is_updated("doorStatus")) return;
    const bool open = d.param("doorStatus") == "1";
    ++(open ? state().opened : state().closed);
    state().last_change_ms = timestamp_ms();
    log_info(std::string(d.description()) + (open ? " opened" : " closed"));
  }
};

}  // namespace

LIVEBOT_MICROSERVICE(EntrySensor, "entry_sensor", "1.0.0", lesson1::EntrySensorBinarySchema)

// Lesson 1, a device microservice: one instance per motion sensor. It hears
// its own device only, and logs each change of `motionStatus` ("1" motion,
// "0" none); the sensor's other reports (temperature, light, its alarm
// status) are not motion and leave it quiet.
#include <livebot/sdk.hpp>

#include "state_bfbs_generated.h"
#include "state_generated.h"

namespace {

class MotionSensor : public livebot::Microservice<lesson1::MotionSensorT> {
 public:
  void device_measurements_updated(const livebot::Device &d) override {
    if (!d.is_updated("motionStatus")) return;
    const bool motion = d.param("motionStatus") == "1";
    ++(motion ? state().motion_started : state().motion_stopped);
    state().last_change_ms = timestamp_ms();
    log_info(std::string(d.description()) + (motion ? ": motion" : ": no motion"));
  }
};

}  // namespace

LIVEBOT_MICROSERVICE(MotionSensor, "motion_sensor", "1.0.0", lesson1::MotionSensorBinarySchema)

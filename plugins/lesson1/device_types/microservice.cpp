// Lesson 1, a location microservice: one instance per location, hearing
// every device. It tells devices apart by their type, the way botengine's
// location microservices check which class a device is.
#include <livebot/sdk.hpp>

#include "state_bfbs_generated.h"
#include "state_generated.h"

namespace {

// Device types as the platform numbers them.
constexpr int32_t kEntrySensor = 9114;
constexpr int32_t kMotionSensor = 9138;

class DeviceTypes : public livebot::Microservice<lesson1::DeviceTypesT> {
 public:
  void device_added(const livebot::Device &d) override {
    ++state().devices_added;
    log_info("new device " + std::string(d.id()) + " (" + std::string(d.description()) + ", type " +
             std::to_string(d.type()) + ")");
  }

  void device_measurements_updated(const livebot::Device &d) override {
    switch (d.type()) {
      case kEntrySensor:
        ++state().entry_measurements;
        if (d.is_updated("doorStatus"))
          log_info("location sees " + std::string(d.description()) + (d.param("doorStatus") == "1" ? " open" : " closed"));
        break;
      case kMotionSensor:
        ++state().motion_measurements;
        break;
      default:
        ++state().other_measurements;
        break;
    }
  }
};

}  // namespace

LIVEBOT_MICROSERVICE(DeviceTypes, "device_types", "1.0.0", lesson1::DeviceTypesBinarySchema)

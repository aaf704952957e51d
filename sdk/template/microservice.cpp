@location@// @NAME@: a location microservice. One instance per location hears every
@location@// device there and every mode change.
@device@// @NAME@: a device microservice. One instance per device of type
@device@// @DEVICE_TYPE@ (bot.json) hears that device and every mode change.
//
// The class lives for one execution, around the instance's stored state:
// keep nothing in it but state(), which is saved when every callback
// succeeded (docs/SDK.md). MICROSERVICE_VERSION is the project's version.
#include <livebot/sdk.hpp>

#include <string>
#include <string_view>

#include "state_bfbs_generated.h"
#include "state_generated.h"

namespace {

class @CLASS@ : public livebot::Microservice<@NAME@::StateT> {
 public:
@location@  // A device at the location reported; device.is_updated(name) tells
@device@  // The instance's device reported; device.is_updated(name) tells
  // which parameters changed.
  void device_measurements_updated(const livebot::Device &) override { ++state().measurements; }
@location@
@location@  void mode_updated(std::string_view mode) override {
@location@    ++state().mode_changes;
@location@    state().last_mode = std::string(mode);
@location@  }
@device@
@device@  void device_alert(const livebot::Device &, std::string_view alert_type,
@device@                    const flatbuffers::Vector<flatbuffers::Offset<livebot::event::Param>> *) override {
@device@    ++state().alerts;
@device@    state().last_alert = std::string(alert_type);
@device@  }
};

}  // namespace

LIVEBOT_MICROSERVICE(@CLASS@, "@NAME@", MICROSERVICE_VERSION, @NAME@::StateBinarySchema)

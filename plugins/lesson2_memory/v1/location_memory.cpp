// Lesson 2, version 1: counts the location's mode changes.
#include <livebot/sdk.hpp>

#include "state_bfbs_generated.h"
#include "state_generated.h"

namespace {

class LocationMemory : public livebot::Microservice<lesson2::LocationMemoryT> {
 public:
  void construct() override { state().legacy_note = "kept by v1; v2 retires this field"; }

  void mode_updated(std::string_view mode) override {
    ++state().mode_updates;
    state().last_mode = std::string(mode);
  }
};

}  // namespace

LIVEBOT_MICROSERVICE(LocationMemory, "location_memory", "1.0.0", lesson2::LocationMemoryBinarySchema)

// Lesson 2, version 2: also counts measurements, in its state (a new field,
// initialised once for locations that ran v1) and in the protected variable
// `measurements`, which survives even a reset of the microservice's memory.
#include <livebot/sdk.hpp>

#include "state_bfbs_generated.h"
#include "state_generated.h"

namespace {

class LocationMemory : public livebot::Microservice<lesson2::LocationMemoryT> {
 public:
  void construct() override { state().counting_since_ms = timestamp_ms(); }

  void initialize() override {
    // The counterpart of `if not hasattr(self, ...)`: only state written by
    // v1 lacks the field, and only its first execution under v2 sees this.
    if (is_new_field("measurement_count")) {
      state().measurement_count = 0;
      state().counting_since_ms = timestamp_ms();
      log_info("v2: initialised measurement_count for state written by an older version");
    }
  }

  void new_version() override { log_info("location memory now at v2"); }

  void mode_updated(std::string_view mode) override {
    ++state().mode_updates;
    state().last_mode = std::string(mode);
  }

  void device_measurements_updated(const livebot::Device &) override {
    ++state().measurement_count;
    const auto stored = host().load_variable("measurements");
    const int64_t count = stored ? stored->as_int().value_or(0) : 0;
    host().save_variable("measurements", count + 1, /*required_for_each_execution=*/true);
  }
};

}  // namespace

LIVEBOT_MICROSERVICE(LocationMemory, "location_memory", "2.0.0", lesson2::LocationMemoryBinarySchema)

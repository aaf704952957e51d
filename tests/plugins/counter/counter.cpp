// A microservice for hot-reload tests: it counts the measurements it hears,
// so "every event applied exactly once" can be read off its state. Built in
// several versions from this one source (see meson.build): the version
// string, a field added in the second schema, and a build that throws in
// initialize().
#include <livebot/sdk.hpp>

#include COUNTER_BFBS_HEADER
#include COUNTER_HEADER

namespace {

class Counter : public livebot::Microservice<counter::CounterT> {
 public:
  void initialize() override {
#ifdef COUNTER_THROWS
    throw std::runtime_error("this build always fails in initialize");
#endif
#ifdef COUNTER_HAS_SINCE
    if (is_new_field("since_ms")) state().since_ms = timestamp_ms();
#endif
  }
  void device_measurements_updated(const livebot::Device &) override {
    ++state().count;
    state().last_version = COUNTER_VERSION;
  }
};

}  // namespace

LIVEBOT_MICROSERVICE(Counter, "counter", COUNTER_VERSION, counter::CounterBinarySchema)

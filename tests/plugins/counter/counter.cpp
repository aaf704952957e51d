// A microservice for hot-reload tests: it counts the measurements it hears,
// so "every event applied exactly once" can be read off its state. Built in
// several versions from this one source (see meson.build): the version
// string, a field added in the second schema, a build that throws in
// initialize(), and one that makes an STB_GNU_UNIQUE symbol.
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
#ifdef COUNTER_UNIQUE
    // std::to_string's digit table is an inline static of the standard
    // library's: built without -fno-gnu-unique it is STB_GNU_UNIQUE.
    log_debug("count " + std::to_string(state().count));
#endif
  }
};

}  // namespace

LIVEBOT_MICROSERVICE(Counter, "counter", COUNTER_VERSION, counter::CounterBinarySchema)

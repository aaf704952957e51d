// A microservice for hot-reload tests: it counts the measurements it hears,
// so "every event applied exactly once" can be read off its state. Built in
// several versions from this one source (see meson.build): the version
// string, a field added in the second schema, a build that throws in
// initialize(), one that makes an STB_GNU_UNIQUE symbol, and builds that
// kill the host when a measurement comes from a device named "boom"
// (COUNTER_CRASH: segfault, abort, an endless loop, allocation without
// bound), or as soon as it is loaded: a segfault (5), an abort (6), a
// SIGKILL (7), which by the host's rules is nobody's fault, an endless loop
// (8), allocation without bound (9).
#include <livebot/sdk.hpp>

#ifdef COUNTER_CRASH
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>
#endif

#include COUNTER_BFBS_HEADER
#include COUNTER_HEADER

namespace {

#ifdef COUNTER_CRASH
// volatile throughout: the compiler may not prove the faults away.
void crash() {
  if constexpr (COUNTER_CRASH == 1) {
    volatile int *nowhere = nullptr;
    *nowhere = 1;
  } else if constexpr (COUNTER_CRASH == 2) {
    std::abort();
  } else if constexpr (COUNTER_CRASH == 3) {
    for (;;) asm volatile("" ::: "memory");
  } else {
    static std::vector<std::unique_ptr<char[]>> hoard;
    for (;;) {
      hoard.emplace_back(new char[1 << 20]);
      std::memset(hoard.back().get(), 1, 1 << 20);
    }
  }
}
#endif

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
  void device_measurements_updated(const livebot::Device &device) override {
#ifdef COUNTER_CRASH
    if (device.id() == "boom") crash();
#else
    (void)device;
#endif
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

#if defined(COUNTER_CRASH) && COUNTER_CRASH >= 5
// raise, not a null store: gcc drops the registration of a constructor whose
// body it proves undefined.
__attribute__((constructor)) static void crash_on_load() {
  if constexpr (COUNTER_CRASH == 5) std::raise(SIGSEGV);
  else if constexpr (COUNTER_CRASH == 6) std::abort();
  else if constexpr (COUNTER_CRASH == 7) std::raise(SIGKILL);
  else if constexpr (COUNTER_CRASH == 8) for (;;) asm volatile("" ::: "memory");
  else crash();
}
#endif

LIVEBOT_MICROSERVICE(Counter, "counter", COUNTER_VERSION, counter::CounterBinarySchema)

// A microservice broken on purpose, in the way its location's id names
// (tests/faults/test_faults.cpp), so one plugin serves every fault and each
// location of a test is one fault:
//   throw:CALLBACK      throws a std::runtime_error in that callback
//   throw-int:CALLBACK  throws an int, which is no std::exception
//   throw-binary:CALLBACK  throws a message that is not valid UTF-8
//   api:CASE            makes one host call with bad arguments, straight
//                       through the C table (the SDK's wrappers would not
//                       pass them), in device_measurements_updated
//   timers              sets one more timer in every measurement
// Anywhere else, and at "ok:CALLBACK", it behaves; at "*:timer_fired" it
// owns a timer, so that the callback comes. A bot lists it twice: as a
// location and as a device microservice (destroy comes to those only).
#include <livebot/sdk.hpp>

#include <algorithm>
#include <iterator>
#include <limits>

#include "probe_bfbs_generated.h"
#include "probe_generated.h"

namespace {

constexpr size_t kHuge = std::numeric_limits<size_t>::max();
constexpr int64_t kDayMs = 24 * 3600 * 1000;
const uint8_t *bytes(const char *s) { return reinterpret_cast<const uint8_t *>(s); }
std::string mib() { return std::string(1u << 20, 'x'); }

// One bad call: it returns the host's status. No static object with a
// destructor (docs/SDK.md): a table of plain function pointers.
struct BadCall {
  std::string_view name;
  int32_t (*call)(const livebot_host_api &, livebot_exec *);
};
constexpr BadCall kBadCalls[] = {
    {"null-name", [](auto &h, auto *x) { return h.save_variable(x, nullptr, 5, LIVEBOT_VALUE_STRING, nullptr, 0, 0); }},
    {"name-1mb", [](auto &h, auto *x) { const auto n = mib(); return h.save_variable(x, n.data(), n.size(), 1, nullptr, 0, 0); }},
    {"name-size-max", [](auto &h, auto *x) { return h.save_variable(x, "n", kHuge, 1, nullptr, 0, 0); }},
    {"name-invalid-utf8", [](auto &h, auto *x) { return h.save_variable(x, "\xff\xfe", 2, 1, nullptr, 0, 0); }},
    {"value-100mb",
     [](auto &h, auto *x) {
       const std::string big(100u << 20, 'v');
       return h.save_variable(x, "big", 3, LIVEBOT_VALUE_BYTES, bytes(big.data()), big.size(), 0);
     }},
    {"value-size-max", [](auto &h, auto *x) { return h.save_variable(x, "v", 1, 0, bytes("v"), kHuge, 0); }},
    {"value-null", [](auto &h, auto *x) { return h.save_variable(x, "v", 1, LIVEBOT_VALUE_BYTES, nullptr, 8, 0); }},
    {"text-invalid-utf8",
     [](auto &h, auto *x) { return h.save_variable(x, "t", 1, LIVEBOT_VALUE_STRING, bytes("\xc3\x28"), 2, 0); }},
    {"kind-unknown", [](auto &h, auto *x) { return h.save_variable(x, "k", 1, 99, bytes("k"), 1, 0); }},
    {"load-nowhere", [](auto &h, auto *x) { return h.load_variable(x, "order", 5, nullptr, nullptr, nullptr); }},
    {"delete-null", [](auto &h, auto *x) { return h.delete_variable(x, nullptr, 3); }},
    {"timer-negative", [](auto &h, auto *x) { return h.start_timer_ms(x, "t", 1, -1); }},
    {"timer-absurd", [](auto &h, auto *x) { return h.start_timer_ms(x, "t", 1, std::numeric_limits<int64_t>::max()); }},
    {"alarm-absurd", [](auto &h, auto *x) { return h.set_alarm(x, "a", 1, std::numeric_limits<int64_t>::min()); }},
    {"reference-1mb", [](auto &h, auto *x) { const auto r = mib(); return h.start_timer_ms(x, r.data(), r.size(), 1000); }},
    {"reference-null", [](auto &h, auto *x) { return h.cancel_timer(x, nullptr, 4); }},
    {"due-nowhere", [](auto &h, auto *x) { return h.timer_due(x, "t", 1, nullptr); }},
    {"notify-wrapping-size", [](auto &h, auto *x) { return h.notify(x, "s", kHuge, "b", 2); }},
    {"notify-invalid-utf8", [](auto &h, auto *x) { return h.notify(x, "\xe2\x82", 2, "body", 4); }},
    {"history-null", [](auto &h, auto *x) { return h.device_history(x, nullptr, 2, "p", 1, nullptr, nullptr); }},
    {"offset-nowhere", [](auto &h, auto *x) { return h.utc_offset_ms(x, 0, nullptr); }},
    {"stream-2mb",
     [](auto &h, auto *x) {
       const std::string big(2u << 20, 's');
       return h.send_datastream(x, "a", 1, big.data(), big.size());
     }},
    {"state-garbage-mid-callback", [](auto &h, auto *x) { return h.set_state(x, bytes("\x01\x02\x03\x04\x05"), 5); }},
    {"state-size-max", [](auto &h, auto *x) { return h.set_state(x, bytes("s"), kHuge); }},
    // Calls that cannot refuse: the host must just survive them.
    {"log-null", [](auto &h, auto *x) { return h.log(x, LIVEBOT_LOG_WARN, nullptr, 100), int32_t{LIVEBOT_OK}; }},
    {"log-1mb", [](auto &h, auto *x) { const auto m = mib(); return h.log(x, LIVEBOT_LOG_INFO, m.data(), m.size()), int32_t{LIVEBOT_OK}; }},
    {"log-bad-level", [](auto &h, auto *x) { return h.log(x, -7, "odd level", 9), int32_t{LIVEBOT_OK}; }},
    {"error-null", [](auto &h, auto *x) { return h.set_error(x, nullptr, 100), int32_t{LIVEBOT_OK}; }},
    {"refusal-nowhere", [](auto &h, auto *x) { return h.last_refusal(x, nullptr, nullptr), int32_t{LIVEBOT_OK}; }},
};

class Fault : public livebot::Microservice<probe::ProbeStateT> {
 public:
  void construct() override { at("construct"); }
  void initialize() override {
    ++state().executions;
    at("initialize");
  }
  void new_version() override { at("new_version"); }
  void destroy() override { at("destroy"); }
  void device_measurements_updated(const livebot::Device &) override {
    ++state().measurements;
    if (fault_case() == "timer_fired") host().start_timer_ms(1000, "fault");
    if (kind() == "api") bad_call();
    if (kind() == "timers") host().start_timer_ms(kDayMs, "t" + std::to_string(state().measurements));
    at("device_measurements_updated");
  }
  void mode_updated(std::string_view) override { at("mode_updated"); }
  void device_alert(const livebot::Device &, std::string_view,
                    const flatbuffers::Vector<flatbuffers::Offset<livebot::event::Param>> *) override {
    at("device_alert");
  }
  void schedule_fired(std::string_view) override { at("schedule_fired"); }
  void timer_fired(std::string_view) override { at("timer_fired"); }
  void datastream_updated(std::string_view, std::string_view) override { at("datastream_updated"); }
  void device_added(const livebot::Device &) override { at("device_added"); }
  void device_deleted(const livebot::Device &) override { at("device_deleted"); }

 private:
  std::string_view kind() const { return location_id().substr(0, location_id().find(':')); }
  std::string_view fault_case() const {
    const auto colon = location_id().find(':');
    return colon == std::string_view::npos ? std::string_view() : location_id().substr(colon + 1);
  }

  void at(std::string_view callback) const {
    if (fault_case() != callback) return;
    if (kind() == "throw") throw std::runtime_error("fault injected in " + std::string(callback));
    if (kind() == "throw-int") throw 42;
    if (kind() == "throw-binary") throw std::runtime_error("fault \xff in " + std::string(callback));
  }

  void bad_call() const {
    const auto call = std::find_if(std::begin(kBadCalls), std::end(kBadCalls),
                                   [&](const BadCall &c) { return c.name == fault_case(); });
    if (call == std::end(kBadCalls)) throw std::runtime_error("no such bad call: " + std::string(fault_case()));
    if (call->call(*host().api(), host().exec()) == LIVEBOT_OK) return;
    const char *why = nullptr;
    size_t len = 0;
    host().api()->last_refusal(host().exec(), &why, &len);
    throw std::runtime_error(std::string(fault_case()) + " refused: " + std::string(why, len));
  }
};

}  // namespace

LIVEBOT_MICROSERVICE(Fault, "fault", "1.0.0", probe::ProbeStateBinarySchema)

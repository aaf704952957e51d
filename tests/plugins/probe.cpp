// A microservice for tests: it writes down every callback it hears, and
// does what a measurement's parameters ask (throw, save a variable), so a
// test can drive every path of the execution model with real inputs.
// PROBE_NAME is set by the build: one source, several plugins.
#include <livebot/sdk.hpp>

#include "probe_bfbs_generated.h"
#include "probe_generated.h"

namespace {

class Probe : public livebot::Microservice<probe::ProbeStateT> {
 public:
  void construct() override {
    state().constructed_at_ms = timestamp_ms();
    hear("construct");
  }
  void initialize() override {
    ++state().executions;
    hear("initialize");
    // Every instance appends its name, so a test can read the order of
    // initialize calls across microservices within one execution.
    const auto order = host().load_variable("order");
    host().save_variable("order", (order ? order->as_string() : std::string()) + PROBE_NAME ",");
  }
  void new_version() override { hear("new_version"); }
  void mode_updated(std::string_view mode) override { hear("mode:" + std::string(mode)); }
  void device_alert(const livebot::Device &d, std::string_view type,
                    const flatbuffers::Vector<flatbuffers::Offset<livebot::event::Param>> *) override {
    hear("alert:" + std::string(d.id()) + ":" + std::string(type));
  }
  void device_measurements_updated(const livebot::Device &d) override {
    ++state().measurements;
    hear("measure:" + std::string(d.id()));
    if (const auto v = d.param("save"); v && d.is_updated("save")) host().save_variable(PROBE_NAME, *v);
    if (const auto t = d.param("throw_in"); t && *t == PROBE_NAME && d.is_updated("throw_in"))
      throw std::runtime_error("asked to throw by " + std::string(d.id()));
    if (const auto p = d.param("history"); p && d.is_updated("history")) {
      const auto samples = host().device_history(d.id(), *p);
      hear("history:" + std::to_string(samples.size()) + ":" + (samples.empty() ? "" : samples.back().second));
    }
    if (const auto n = d.param("notify"); n && d.is_updated("notify")) host().notify(*n, "from " PROBE_NAME);
  }

 private:
  void hear(std::string what) { state().heard.push_back(std::move(what)); }
};

}  // namespace

LIVEBOT_MICROSERVICE(Probe, PROBE_NAME, "1.0.0", probe::ProbeStateBinarySchema)

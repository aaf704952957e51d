// A microservice for tests: it writes down every callback it hears, and
// does what a measurement's parameters ask (throw, save a variable, set or
// cancel a timer, send a data stream), so a test can drive every path of
// the execution model with real inputs. PROBE_NAME is set by the build: one
// source, several plugins.
#include <livebot/sdk.hpp>

#include <charconv>

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
  void device_added(const livebot::Device &d) override { hear("added:" + std::string(d.id())); }
  void device_deleted(const livebot::Device &d) override { hear("deleted:" + std::string(d.id())); }
  void destroy() override {
    // A measurement's `save` of "throw_in_destroy" makes a later destroy fail.
    if (const auto mine = host().load_variable(PROBE_NAME); mine && mine->as_string() == "throw_in_destroy")
      throw std::runtime_error("asked to throw in destroy");
    // The instance's state goes with it: what it did is told in a variable.
    const auto gone = host().load_variable("destroyed");
    host().save_variable("destroyed", (gone ? gone->as_string() : std::string()) + PROBE_NAME "[" +
                                          std::string(device().id()) + "],");
  }
  void mode_updated(std::string_view mode) override { hear("mode:" + std::string(mode)); }
  void device_alert(const livebot::Device &d, std::string_view type,
                    const flatbuffers::Vector<flatbuffers::Offset<livebot::event::Param>> *) override {
    hear("alert:" + std::string(d.id()) + ":" + std::string(type));
  }
  void device_measurements_updated(const livebot::Device &d) override {
    ++state().measurements;
    hear("measure:" + std::string(d.id()));
    if (const auto v = d.param("save"); v && d.is_updated("save")) host().save_variable(PROBE_NAME, *v);
    // Requests "WHO|NAME|ARGUMENT": WHO is a probe's name or "*".
    if (const auto a = addressed(d, "stream")) host().send_datastream(a->reference, a->argument);
    if (const auto a = addressed(d, "timer")) host().start_timer_ms(a->number, a->reference);
    if (const auto a = addressed(d, "alarm")) host().set_alarm(a->number, a->reference);
    if (const auto a = addressed(d, "cancel"))
      hear("cancel:" + a->reference + ":" + (host().cancel_timers(a->reference) ? "yes" : "no"));
    if (d.is_updated("midnight")) hear("midnight:" + std::to_string(host().next_local_midnight_ms(timestamp_ms())));
    if (const auto a = addressed(d, "due")) {
      const auto due = host().timer_due(a->reference);
      hear("due:" + a->reference + ":" + (due ? std::to_string(*due) : "none"));
    }
    if (const auto t = d.param("throw_in"); t && *t == PROBE_NAME && d.is_updated("throw_in"))
      throw std::runtime_error("asked to throw by " + std::string(d.id()));
    if (const auto p = d.param("history"); p && d.is_updated("history")) {
      const auto samples = host().device_history(d.id(), *p);
      hear("history:" + std::to_string(samples.size()) + ":" + (samples.empty() ? "" : samples.back().second));
    }
    if (const auto n = d.param("notify"); n && d.is_updated("notify")) host().notify(*n, "from " PROBE_NAME);
  }
  void datastream_updated(std::string_view address, std::string_view content) override {
    hear("stream:" + std::string(address) + "=" + std::string(content) + "@" + std::to_string(timestamp_ms()));
  }
  void schedule_fired(std::string_view id) override {
    hear("schedule:" + std::string(id) + "@" + std::to_string(timestamp_ms()));
  }
  void timer_fired(std::string_view reference) override {
    hear("timer:" + std::string(reference) + "@" + std::to_string(timestamp_ms()));
    // Across instances, in firing order.
    const auto fired = host().load_variable("fired");
    host().save_variable("fired", (fired ? fired->as_string() : std::string()) + PROBE_NAME ":" +
                                      std::string(reference) + ",");
    // Across locations, in firing order: outputs keep theirs.
    host().notify("timer:" + std::string(reference), PROBE_NAME);
  }

 private:
  struct Request {
    std::string reference, argument;
    int64_t number = 0;  // the argument as a number
  };
  static std::optional<Request> addressed(const livebot::Device &d, std::string_view param) {
    const auto v = d.param(param);
    if (!v || !d.is_updated(param)) return std::nullopt;
    const auto bar = v->find('|');
    const std::string_view who = v->substr(0, bar);
    if (bar == std::string_view::npos || (who != "*" && who != PROBE_NAME)) return std::nullopt;
    const std::string_view rest = v->substr(bar + 1);
    const auto bar2 = rest.find('|');
    Request r{std::string(rest.substr(0, bar2)), {}, 0};
    if (bar2 != std::string_view::npos) {
      r.argument = rest.substr(bar2 + 1);
      std::from_chars(r.argument.data(), r.argument.data() + r.argument.size(), r.number);
    }
    return r;
  }
  void hear(std::string what) { state().heard.push_back(std::move(what)); }
};

}  // namespace

LIVEBOT_MICROSERVICE(Probe, PROBE_NAME, "1.0.0", probe::ProbeStateBinarySchema)

// What the fault-injection tests share: the bots (the probes alone, and the
// probes beside the plugins broken on purpose, tests/plugins/faults/), the
// inputs that reach every callback, and a location's memory as the probes
// left it, for comparing two stores byte for byte.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "support/probe_host.hpp"

namespace livebot::test::faults {

using nlohmann::json;
using probe::Host;

constexpr int64_t kT0 = 1750000000000;  // 2025-06-15T15:06:40Z
// The probes and the faulty plugins both take every trigger; a schedule
// fires each minute.
inline const json kTriggers = {{"triggers", 1 | 2 | 4 | 8 | 64 | 256}, {"schedules", {{"MINUTE", "0 * * * * ? *"}}}};
// Microservices that fault on purpose: their own memory is theirs to lose.
inline bool faulty(const std::string &microservice) {
  return microservice.rfind("fault", 0) == 0 || microservice == "raw_fault";
}

inline std::string probes_bot(const TempDir &dir, const std::string &version) {
  return probe::probe_bot(dir, version, kTriggers);
}

// The probes, and beside them the fault plugin as a location and a device
// microservice, and the C-ABI one.
inline std::string fault_bot(const TempDir &dir, const std::string &version) {
  const std::string &p = probe::plugins;
  json extra = kTriggers;
  extra["microservices"] = {
      {"location",
       {{{"name", "probe_a"}, {"plugin", p + "/probe_a.so"}},
        {{"name", "probe_b"}, {"plugin", p + "/probe_b.so"}, {"priority", 10}},
        {{"name", "fault"}, {"plugin", p + "/fault.so"}},
        {{"name", "raw_fault"}, {"plugin", p + "/raw_fault.so"}}}},
      {"device",
       {{{"name", "probe_dev"}, {"plugin", p + "/probe_dev.so"}, {"device_types", {9138}}},
        {{"name", "fault_dev"}, {"plugin", p + "/fault.so"}, {"device_types", {9138}}}}}};
  return probe::probe_bot(dir, version, extra);
}

// `loc` is viewed, not copied: a literal or a string that outlives the input.
inline engine::Input input(engine::Input::Kind kind, std::string_view loc, int64_t ts) {
  engine::Input in;
  in.kind = kind;
  in.location = loc;
  in.timestamp_ms = ts;
  return in;
}

// Everything due up to `ts`, then the input, each committed.
inline void at(Host &h, const engine::Input &in) {
  h.run_due(std::string(in.location), in.timestamp_ms);
  h.run(in);
}

// One measurement of the motion sensor m1, every parameter updated.
inline void measure(Host &h, const std::string &loc, int64_t ts, std::vector<engine::ParamValue> params) {
  auto in = input(engine::Input::Kind::Measurement, loc, ts);
  std::vector<std::string_view> updated;
  for (const auto &p : params) updated.push_back(p.name);
  in.devices = {probe::motion("m1", std::move(params), std::move(updated))};
  at(h, in);
}

// Under bot version 1: construct, initialize, device_added, a measurement
// (probe_a sends a data stream message, probe_b sets a timer), the message,
// a mode change, an alert, the timers, a schedule, the device removed
// (destroy, device_deleted).
inline void first_version(Host &h, const std::string &loc) {
  measure(h, loc, kT0, {{"stream", "probe_a|addr|hello"}, {"timer", "probe_b|pt|5000"}});
  auto mode = input(engine::Input::Kind::Mode, loc, kT0 + 1000);
  mode.mode = "AWAY";
  at(h, mode);
  auto alert = input(engine::Input::Kind::Alert, loc, kT0 + 2000);
  alert.devices = {probe::motion("m1", {}, {})};
  alert.alert_type = "tamper";
  at(h, alert);
  auto removed = input(engine::Input::Kind::DeviceRemoved, loc, kT0 + 80000);
  removed.devices = {probe::motion("m1", {}, {})};
  at(h, removed);
}

// Under bot version 2: new_version.
inline void second_version(Host &h, const std::string &loc) {
  auto mode = input(engine::Input::Kind::Mode, loc, kT0 + 90000);
  mode.mode = "HOME";
  at(h, mode);
}

// A location's memory that is not the faulty microservices': the probes'
// states (with the schema each was written with), timers and notifications,
// and every variable but what raw_fault leaves itself. Keys name the thing;
// values are the stored bytes.
inline std::map<std::string, std::string> others_memory(store::Store &st, const std::string &loc) {
  std::map<std::string, std::string> out;
  std::map<int64_t, std::string> owner;
  for (const auto &i : st.load_instances(loc)) {
    const std::string who = i.microservice + "[" + i.device_id + "]";
    owner[i.instance_id] = who;
    if (!faulty(i.microservice)) out["state " + who] = i.schema_hash + ":" + i.state;
  }
  for (const auto &t : st.load_timers(loc))
    if (!faulty(owner[t.instance_id])) out["timer " + owner[t.instance_id] + " " + t.reference] = std::to_string(t.due_ms);
  for (const auto &v : st.load_variables(loc))
    if (v.name != "raw_open")
      out["variable " + v.name] = std::to_string(v.kind) + ":" + std::to_string(v.required) + ":" + v.value;
  int n = 0;
  for (const auto &o : st.list_outputs())
    if (o.location == loc && !faulty(o.microservice))
      out["output " + std::to_string(n++)] = o.microservice + ":" + std::to_string(o.event_ms) + ":" + o.body;
  return out;
}

}  // namespace livebot::test::faults

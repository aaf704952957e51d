#include "control/protocol.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <optional>
#include <string_view>

#include "common/error.hpp"

namespace livebot::control {

using nlohmann::json;

namespace {

[[noreturn]] void bad(const std::string &why) { throw Error("request", why); }

// Ids and names end up in the store, in logs and in the plugins' C
// strings: a control character there is a mistake, and a NUL would cut the
// name short where it is read as one.
std::optional<std::string> control_character(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i)
    if (const auto c = static_cast<unsigned char>(s[i]); c < 0x20 || c == 0x7f) {
      char code[8];
      std::snprintf(code, sizeof code, "0x%02x", c);
      return std::string("has a control character (") + code + ") at byte " + std::to_string(i);
    }
  return std::nullopt;
}

std::string text(const json &obj, const char *key, bool required, size_t max = 4096) {
  const auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) bad(std::string("'") + key + "' is missing");
    return {};
  }
  if (!it->is_string()) bad(std::string("'") + key + "' must be a string");
  auto s = it->get<std::string>();
  if (required && s.empty()) bad(std::string("'") + key + "' must not be empty");
  if (s.size() > max) bad(std::string("'") + key + "' is longer than " + std::to_string(max) + " bytes");
  if (const auto at = control_character(s)) bad(std::string("'") + key + "' " + *at);
  return s;
}

DeviceEvent device_of(const json &d, size_t i) {
  const std::string where = "devices[" + std::to_string(i) + "]";
  if (!d.is_object()) bad(where + " must be an object");
  DeviceEvent ev;
  ev.id = text(d, "id", true);
  ev.description = text(d, "description", false);
  const auto t = d.find("type");
  if (t == d.end() || !t->is_number_integer() || t->get<int64_t>() <= 0 || t->get<int64_t>() > INT32_MAX)
    bad(where + ": 'type' must be a positive device type number");
  ev.type = t->get<int32_t>();
  if (const auto p = d.find("params"); p != d.end()) {
    if (!p->is_object()) bad(where + ": 'params' must be an object of strings");
    if (p->size() > kMaxParams) bad(where + ": more than " + std::to_string(kMaxParams) + " params");
    for (const auto &[k, v] : p->items()) {
      if (k.empty()) bad(where + ": a param name is empty");
      if (const auto at = control_character(k)) bad(where + ": a param name " + *at);
      // Recordings carry every value as a string; numbers are accepted and kept as text.
      if (v.is_string()) ev.params.emplace_back(k, v.get<std::string>());
      else if (v.is_number() || v.is_boolean()) ev.params.emplace_back(k, v.dump());
      else bad(where + ": param '" + k + "' must be a string or a number");
    }
  }
  if (const auto u = d.find("updated"); u != d.end()) {
    if (!u->is_array()) bad(where + ": 'updated' must be a list of param names");
    for (const auto &n : *u) {
      if (!n.is_string()) bad(where + ": 'updated' must be a list of param names");
      if (const auto at = control_character(n.get_ref<const std::string &>()))
        bad(where + ": a name in 'updated' " + *at);
      ev.updated.push_back(n.get<std::string>());
    }
  } else {
    for (const auto &[k, v] : ev.params) ev.updated.push_back(k);
  }
  return ev;
}

SendRequest send_of(const json &doc) {
  SendRequest r;
  r.location = text(doc, "location", true);
  const std::string kind = text(doc, "kind", true);
  if (const auto ts = doc.find("timestamp_ms"); ts != doc.end()) {
    if (!ts->is_number_integer() || ts->get<int64_t>() < 0) bad("'timestamp_ms' must be a non-negative integer");
    r.timestamp_ms = ts->get<int64_t>();
  }
  r.client = text(doc, "client", false, kMaxClientBytes);
  if (const auto seq = doc.find("seq"); seq != doc.end()) {
    if (!seq->is_number_integer() || seq->get<int64_t>() <= 0) bad("'seq' must be a positive integer");
    r.seq = seq->get<int64_t>();
  }
  if (r.client.empty() != (r.seq == 0)) bad("'client' and 'seq' go together");
  const auto devs = doc.find("devices");
  if (devs != doc.end()) {
    if (!devs->is_array()) bad("'devices' must be a list");
    if (devs->size() > kMaxDevices) bad("more than " + std::to_string(kMaxDevices) + " devices");
    for (size_t i = 0; i < devs->size(); ++i) r.devices.push_back(device_of((*devs)[i], i));
  }
  if (kind == "measurement") {
    r.kind = engine::Input::Kind::Measurement;
    if (r.devices.empty()) bad("a measurement needs at least one device");
  } else if (kind == "mode") {
    r.kind = engine::Input::Kind::Mode;
    r.mode = text(doc, "mode", true);
    if (!r.devices.empty()) bad("a mode change takes no devices");
  } else if (kind == "alert") {
    r.kind = engine::Input::Kind::Alert;
    r.alert_type = text(doc, "alert_type", true);
    if (r.devices.size() != 1) bad("an alert needs exactly one device");
  } else if (kind == "datastream") {
    r.kind = engine::Input::Kind::DataStream;
    r.address = text(doc, "address", true);
    const auto c = doc.find("content");
    if (c == doc.end()) bad("'content' is missing");
    r.content = c->is_string() ? c->get<std::string>() : c->dump();
    if (r.content.size() > kMaxLineBytes) bad("'content' is too large");
  } else if (kind == "device_removed") {
    r.kind = engine::Input::Kind::DeviceRemoved;
    if (!r.devices.empty()) bad("a device removal names its device with 'device', not 'devices'");
    r.devices.push_back(DeviceEvent{text(doc, "device", true), 0, {}, {}, {}});
  } else {
    bad("unknown kind '" + kind + "' (measurement, mode, alert, datastream, device_removed)");
  }
  return r;
}

}  // namespace

Request decode_request(std::string_view line) {
  if (line.size() > kMaxLineBytes) bad("longer than " + std::to_string(kMaxLineBytes) + " bytes");
  json doc = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) bad("not valid JSON");
  if (!doc.is_object()) bad("must be a JSON object");
  const std::string cmd = text(doc, "cmd", true);
  if (cmd == "send") return send_of(doc);
  if (cmd == "status") return StatusRequest{};
  if (cmd == "reload") return ReloadRequest{text(doc, "microservice", false)};
  if (cmd == "retire") return RetireRequest{text(doc, "microservice", true)};
  bad("unknown cmd '" + cmd + "' (send, status, reload, retire)");
}

engine::Input to_input(const SendRequest &req, int64_t timestamp_ms, InputScratch &scratch) {
  engine::Input in;
  in.kind = req.kind;
  in.location = req.location;
  in.timestamp_ms = timestamp_ms;
  in.mode = req.mode;
  in.alert_type = req.alert_type;
  in.address = req.address;
  in.content = req.content;
  scratch.devices.clear();
  for (const auto &d : req.devices) {
    engine::DeviceInput di{d.id, d.type, d.description, {}, {}};
    for (const auto &[k, v] : d.params) di.params.push_back({k, v});
    for (const auto &u : d.updated) di.updated.push_back(u);
    scratch.devices.push_back(std::move(di));
  }
  in.devices = scratch.devices;
  return in;
}

std::string encode_send(const SendRequest &req) {
  const char *kind = "measurement";
  if (req.kind == engine::Input::Kind::Mode) kind = "mode";
  if (req.kind == engine::Input::Kind::Alert) kind = "alert";
  if (req.kind == engine::Input::Kind::DataStream) kind = "datastream";
  json doc{{"cmd", "send"}, {"location", req.location}, {"kind", kind}};
  if (!req.client.empty()) doc["client"] = req.client, doc["seq"] = req.seq;
  if (req.kind == engine::Input::Kind::DeviceRemoved) {
    doc["kind"] = "device_removed";
    doc["device"] = req.devices.at(0).id;
    if (req.timestamp_ms) doc["timestamp_ms"] = *req.timestamp_ms;
    return doc.dump();
  }
  if (!req.address.empty()) doc["address"] = req.address, doc["content"] = req.content;
  if (req.timestamp_ms) doc["timestamp_ms"] = *req.timestamp_ms;
  if (!req.mode.empty()) doc["mode"] = req.mode;
  if (!req.alert_type.empty()) doc["alert_type"] = req.alert_type;
  if (!req.devices.empty()) {
    json devs = json::array();
    for (const auto &d : req.devices) {
      json params = json::object();
      for (const auto &[k, v] : d.params) params[k] = v;
      json dev{{"id", d.id}, {"type", d.type}, {"params", params}};
      if (!d.description.empty()) dev["description"] = d.description;
      devs.push_back(std::move(dev));
    }
    doc["devices"] = std::move(devs);
  }
  return doc.dump();
}

}  // namespace livebot::control

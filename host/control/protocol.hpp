// The control protocol: one JSON object per line over a Unix socket, one
// JSON response line per request, in order. Decoding never trusts its
// input: anything malformed becomes a one-line reason, never a crash.
//
//   {"cmd":"send","location":"home","kind":"measurement","timestamp_ms":1700000000000,
//    "devices":[{"id":"door","type":10014,"params":{"doorStatus":"OPEN"}}]}
//   {"cmd":"send","location":"home","kind":"mode","mode":"AWAY"}
//   {"cmd":"send","location":"home","kind":"alert","alert_type":"motion",
//    "devices":[{"id":"cam","type":9138,"params":{"x":"1"}}]}
//   {"cmd":"send","location":"home","kind":"datastream","address":"alarm","content":{"on":true}}
//   {"cmd":"send","location":"home","kind":"device_removed","device":"door"}
//   any send may carry {"client":"c1","seq":7}: a host executes each client's
//   seq once, so a client that resends after a hang-up cannot apply twice
//   what the host committed but never got to acknowledge
//   {"cmd":"status"}
//   {"cmd":"reload"}  or  {"cmd":"reload","microservice":"counter"}
//   {"cmd":"retire","microservice":"counter"}
//
// A response is {"ok":true,...} or {"ok":false,"error":"..."}.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "engine/executor.hpp"

namespace livebot::control {

// Limits on one request, so a peer cannot make the host hold unbounded memory.
constexpr size_t kMaxLineBytes = 1u << 20;
constexpr size_t kMaxDevices = 256;
constexpr size_t kMaxParams = 256;
constexpr size_t kMaxClientBytes = 128;

struct DeviceEvent {
  std::string id;
  int32_t type = 0;
  std::string description;
  std::vector<std::pair<std::string, std::string>> params;
  std::vector<std::string> updated;  // default: every param given
};

// An input for one location, owning its bytes (engine::Input only views).
struct SendRequest {
  engine::Input::Kind kind = engine::Input::Kind::Measurement;
  std::string location;
  std::optional<int64_t> timestamp_ms;  // default: the host's clock on arrival
  std::string mode, alert_type;
  std::string address, content;  // datastream; content is JSON text or a plain string
  std::vector<DeviceEvent> devices;
  // Exactly-once on resend: both or neither; seq increases per client.
  std::string client;
  int64_t seq = 0;
};

struct StatusRequest {};
struct ReloadRequest {
  std::string microservice;  // empty: every microservice
};

struct RetireRequest {
  std::string microservice;
};

using Request = std::variant<SendRequest, StatusRequest, ReloadRequest, RetireRequest>;

// Throws livebot::Error("request", reason) for anything malformed.
Request decode_request(std::string_view line);

// The executor's view of a send; valid while `req` and `scratch` live.
struct InputScratch {
  std::vector<engine::DeviceInput> devices;
};
engine::Input to_input(const SendRequest &req, int64_t timestamp_ms, InputScratch &scratch);

// Encodes a send request as a protocol line (used by `livebot send`).
std::string encode_send(const SendRequest &req);

}  // namespace livebot::control

// Fuzz target: the control protocol's decoder on arbitrary lines. What it
// accepts, `livebot send` must be able to send: the request is encoded again
// and must decode to the same input (but for `updated`, which encode_send
// leaves to its default, as the requests `livebot send` makes have it).
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "common/error.hpp"
#include "control/protocol.hpp"
#include "targets.hpp"

namespace livebot::fuzz {

namespace {

// A send request as comparable values, `updated` aside.
struct Seen {
  engine::Input::Kind kind;
  std::string location, mode, alert_type, client;
  int64_t seq;
  std::vector<std::tuple<std::string, int32_t, std::string, std::vector<std::pair<std::string, std::string>>>>
      devices;
  bool operator==(const Seen &) const = default;
};

Seen seen(const control::SendRequest &req) {
  Seen s{req.kind, req.location, req.mode, req.alert_type, req.client, req.seq, {}};
  for (const control::DeviceEvent &d : req.devices) s.devices.emplace_back(d.id, d.type, d.description, d.params);
  return s;
}

}  // namespace

void control(std::string_view bytes) {
  control::Request req;
  try {
    req = control::decode_request(bytes);
  } catch (const Error &) {
    return;
  }
  const auto *send = std::get_if<control::SendRequest>(&req);
  if (!send) return;
  control::InputScratch scratch;
  control::to_input(*send, send->timestamp_ms.value_or(0), scratch);
  const std::string line = control::encode_send(*send);
  // Throws livebot::Error, which the caller takes for a bug here.
  const auto again = std::get<control::SendRequest>(control::decode_request(line));
  if (!(seen(again) == seen(*send)) || again.timestamp_ms != send->timestamp_ms)
    throw std::logic_error("a sent request decodes to another input: " + line);
}

}  // namespace livebot::fuzz

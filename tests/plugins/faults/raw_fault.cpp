// A microservice written to the C ABI alone, without the SDK, to do what the
// SDK never does: return errors through the ABI and hand back malformed
// state. Like fault.cpp, the location's id names the fault:
//   raw:error-silent    a callback returns LIVEBOT_ERROR and says nothing
//   raw:status-77       a callback returns a status the ABI does not define
//   raw:open-null       open returns NULL without a message (from the
//                       location's second execution: the first leaves a
//                       variable saying so, since open sees no event)
//   raw:close-error     close fails with a message
//   raw:no-state        close succeeds without handing back any state
//   state:CASE          close hands back a malformed state buffer
// Anywhere else it keeps a valid probe.ProbeState counting its executions.
#include <flatbuffers/flatbuffers.h>
#include <livebot/livebot.h>
#include <livebot/livebot_event_generated.h>

#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include "probe_bfbs_generated.h"
#include "probe_generated.h"

namespace {

struct Instance {
  const livebot_host_api *host;
  livebot_exec *exec;
  uint32_t executions = 0;
  std::string fault;  // the location's id, from the first event
};

const uint8_t *bytes(std::string_view s) { return reinterpret_cast<const uint8_t *>(s.data()); }

void *raw_open(const livebot_host_api *host, livebot_exec *exec, const uint8_t *state, size_t state_len,
           const livebot_string *, size_t) {
  int32_t kind = 0;
  const uint8_t *data = nullptr;
  size_t len = 0;
  if (host->load_variable(exec, "raw_open", 8, &kind, &data, &len) == LIVEBOT_OK) return nullptr;
  auto *inst = new Instance{host, exec, 0, {}};
  flatbuffers::Verifier v(state, state_len);
  if (state_len > 0 && v.VerifyBuffer<probe::ProbeState>(nullptr))
    inst->executions = flatbuffers::GetRoot<probe::ProbeState>(state)->executions();
  return inst;
}

int32_t raw_call(void *instance, int32_t callback, const uint8_t *event, size_t event_len) {
  auto &inst = *static_cast<Instance *>(instance);
  flatbuffers::Verifier v(event, event_len);
  if (!v.VerifyBuffer<livebot::event::Event>(nullptr)) return LIVEBOT_BAD_INPUT;
  if (callback != LIVEBOT_CB_INITIALIZE) return LIVEBOT_OK;
  const auto *loc = flatbuffers::GetRoot<livebot::event::Event>(event)->location();
  inst.fault = loc && loc->id() ? loc->id()->str() : std::string();
  ++inst.executions;
  if (inst.fault == "raw:error-silent") return LIVEBOT_ERROR;
  if (inst.fault == "raw:status-77") return 77;
  if (inst.fault == "raw:open-null") inst.host->save_variable(inst.exec, "raw_open", 8, 1, bytes("null"), 4, 0);
  return LIVEBOT_OK;
}

// A valid state, or the malformed one the fault asks for.
std::string state_of(const Instance &inst) {
  flatbuffers::FlatBufferBuilder fbb;
  probe::ProbeStateBuilder b(fbb);
  b.add_executions(inst.executions);
  fbb.Finish(b.Finish());
  std::string valid(reinterpret_cast<const char *>(fbb.GetBufferPointer()), fbb.GetSize());
  if (inst.fault == "state:garbage") return std::string("\x13\x37\xde\xad\xbe\xef\x00\x01\x02\x03\x04\x05", 12);
  if (inst.fault == "state:truncated") return valid.substr(0, valid.size() / 2);
  if (inst.fault == "state:wrong-root") {
    // The root offset points far past the buffer's end.
    const uint32_t off = 0x7fffff00;
    std::memcpy(valid.data(), &off, sizeof off);
    return valid;
  }
  if (inst.fault == "state:wrong-schema") {
    // A well-formed table of another schema: field 0 is a uint there, a
    // vector of strings (heard) in probe.ProbeState.
    flatbuffers::FlatBufferBuilder other;
    const auto start = other.StartTable();
    other.AddElement<uint32_t>(flatbuffers::FieldIndexToOffset(0), 0xfffffff0u, 0);
    other.Finish(flatbuffers::Offset<flatbuffers::Table>(other.EndTable(start)));
    return std::string(reinterpret_cast<const char *>(other.GetBufferPointer()), other.GetSize());
  }
  return valid;
}

int32_t raw_close(void *instance, int32_t save) {
  auto *inst = static_cast<Instance *>(instance);
  const Instance copy = *inst;
  delete inst;
  if (!save) return LIVEBOT_OK;
  if (copy.fault == "raw:close-error") {
    copy.host->set_error(copy.exec, "close failed on purpose", 23);
    return LIVEBOT_ERROR;
  }
  if (copy.fault == "raw:no-state") return LIVEBOT_OK;
  if (copy.fault == "state:empty") return copy.host->set_state(copy.exec, nullptr, 0);
  if (copy.fault == "state:size-max")
    return copy.host->set_state(copy.exec, bytes("s"), std::numeric_limits<size_t>::max());
  const std::string state = state_of(copy);
  return copy.host->set_state(copy.exec, bytes(state), state.size());
}

}  // namespace

extern "C" LIVEBOT_EXPORT const livebot_plugin *livebot_entry(uint32_t) {
  static const livebot_plugin table = {LIVEBOT_ABI_VERSION, sizeof(livebot_plugin), "raw_fault", "0.0.1-raw",
                                       "none", "probe.ProbeState", probe::ProbeStateBinarySchema::data(),
                                       probe::ProbeStateBinarySchema::size(), raw_open, raw_call, raw_close};
  return &table;
}

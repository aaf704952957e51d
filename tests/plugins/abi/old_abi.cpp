// A plugin as an author built it against the first layout of ABI 1
// (livebot_abi1_first.h), with no SDK: straight on the C table, the way a
// plugin in another language would be. It counts the measurements it hears
// in its state, keeps the last one's time in a variable, and says how much
// of the host table it was given; every callback it does not know (those
// appended since, such as timers) it leaves alone, as the contract says.
// FUTURE_ABI builds the same plugin claiming ABI 2, which this host must
// refuse by name.
#include <cstring>
#include <new>
#include <string>

#include "counter_v1_bfbs_generated.h"
#include "counter_v1_generated.h"
#include "livebot_abi1_first.h"

namespace {

struct Instance {
  const livebot_host_api *host;
  livebot_exec *exec;
  uint64_t count = 0;
};

void *open_instance(const livebot_host_api *host, livebot_exec *exec, const uint8_t *state, size_t state_len,
                    const livebot_string *, size_t) {
  auto *in = new (std::nothrow) Instance{host, exec};
  if (!in) return nullptr;
  if (state_len > 0) in->count = flatbuffers::GetRoot<counter::Counter>(state)->count();
  return in;
}

int32_t call(void *instance, int32_t callback, const uint8_t *, size_t) {
  auto *in = static_cast<Instance *>(instance);
  if (callback == LIVEBOT_CB_CONSTRUCT) {
    const std::string line = "given a host table of " + std::to_string(in->host->struct_size) + " bytes";
    in->host->log(in->exec, 2, line.data(), line.size());
  }
  if (callback != LIVEBOT_CB_MEASUREMENTS) return LIVEBOT_OK;
  ++in->count;
  const int64_t at = in->host->timestamp_ms(in->exec);
  uint8_t bytes[sizeof at];
  std::memcpy(bytes, &at, sizeof at);
  return in->host->save_variable(in->exec, "last_measured", 13, LIVEBOT_VALUE_INT, bytes, sizeof bytes, 0);
}

int32_t close_instance(void *instance, int32_t save) {
  auto *in = static_cast<Instance *>(instance);
  int32_t rc = LIVEBOT_OK;
  if (save) {
    flatbuffers::FlatBufferBuilder fbb;
    fbb.Finish(counter::CreateCounterDirect(fbb, in->count, "old-abi"));
    rc = in->host->set_state(in->exec, fbb.GetBufferPointer(), fbb.GetSize());
  }
  delete in;
  return rc;
}

#ifdef FUTURE_ABI
constexpr uint32_t kBuiltFor = 2;
#else
constexpr uint32_t kBuiltFor = LIVEBOT_ABI_VERSION;
#endif

const livebot_plugin table = {kBuiltFor,
                              sizeof(livebot_plugin),
                              "old_abi",
                              "1.0.0-abi1",
                              "none",
                              "counter.Counter",
                              counter::CounterBinarySchema::data(),
                              counter::CounterBinarySchema::size(),
                              open_instance,
                              call,
                              close_instance};

}  // namespace

extern "C" LIVEBOT_EXPORT const livebot_plugin *livebot_entry(uint32_t) { return &table; }

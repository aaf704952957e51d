// Plugins that are wrong on purpose, one per BAD_VARIANT, for the loader's
// refusals: each must be refused with its own one-line reason.
#include <livebot/livebot.h>

#include "probe_bfbs_generated.h"

namespace {
void *no_open(const livebot_host_api *, livebot_exec *, const uint8_t *, size_t, const livebot_string *, size_t) {
  return nullptr;
}
int32_t no_call(void *, int32_t, const uint8_t *, size_t) { return LIVEBOT_ERROR; }
int32_t no_close(void *, int32_t) { return LIVEBOT_ERROR; }
const uint8_t garbage[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

[[maybe_unused]] livebot_plugin make() {
  livebot_plugin t = {LIVEBOT_ABI_VERSION, sizeof(livebot_plugin), "bad", "0.0.1", "0.1.0", "probe.ProbeState",
                      probe::ProbeStateBinarySchema::data(), probe::ProbeStateBinarySchema::size(),
                      no_open, no_call, no_close};
#if BAD_VARIANT == 3
  t.abi_version = 99;
#elif BAD_VARIANT == 4
  t.struct_size = 8;
#elif BAD_VARIANT == 5
  t.schema = garbage;
  t.schema_size = sizeof garbage;
#elif BAD_VARIANT == 6
  t.state_root_type = "probe.Other";
#endif
  return t;
}
}  // namespace

#if BAD_VARIANT == 1
extern "C" LIVEBOT_EXPORT int not_livebot_entry(void) { return 1; }
#else
extern "C" LIVEBOT_EXPORT const livebot_plugin *livebot_entry(uint32_t) {
#if BAD_VARIANT == 2
  return nullptr;
#else
  static const livebot_plugin table = make();
  return &table;
#endif
}
#endif

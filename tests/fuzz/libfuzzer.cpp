// libFuzzer's entry for one target, chosen when this file is compiled
// (-DLIVEBOT_FUZZ_TARGET=recording, ...; tests/fuzz/meson.build).
#include <cstddef>
#include <cstdint>

#include "targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  livebot::fuzz::LIVEBOT_FUZZ_TARGET(std::string_view(reinterpret_cast<const char *>(data), size));
  return 0;
}

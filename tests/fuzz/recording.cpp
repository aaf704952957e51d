// Fuzz target: the recording reader on arbitrary text. Rows view their names
// in the recording's own storage, so every view is read once: a dangling one
// is a use after free for the sanitizers to see.
#include <functional>

#include "common/error.hpp"
#include "playback/recording.hpp"
#include "targets.hpp"

namespace livebot::fuzz {

void recording(std::string_view bytes) {
  playback::Recording rec;
  try {
    rec = playback::parse_recording(bytes, "fuzz.json");
  } catch (const Error &) {
    return;
  }
  size_t sum = 0;
  for (const playback::Row &row : rec.rows) {
    for (std::string_view name : row.updated_params) sum += std::hash<std::string_view>()(name);
    for (const playback::Param &param : row.params) sum += std::hash<std::string_view>()(param.name);
  }
  // Not optimised away: the reads above are the check.
  asm volatile("" : : "r"(sum));
}

}  // namespace livebot::fuzz

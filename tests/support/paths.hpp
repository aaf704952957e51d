// Where tests find the source tree, the build tree and the shared recording.
// Paths come from the build (tests/meson.build) so a test never guesses.
#pragma once

#include <string>

namespace livebot::test {

inline const std::string source_root = LIVEBOT_SOURCE_ROOT;
inline const std::string build_root = LIVEBOT_BUILD_ROOT;
// The real 14-day recording, beside the project (never inside it).
inline const std::string shared_recording =
    std::string(LIVEBOT_SOURCE_ROOT) + "/../shared/recordings/14_days_of_data.zip";

}  // namespace livebot::test

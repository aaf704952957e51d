// Times in messages and listings: ms since the epoch as ISO 8601 UTC,
// "2025-06-10T22:47:20Z", with ".490" added when the milliseconds are not 0.
// Times gmtime cannot render (before year 0 or past 9999) come out as the
// number of ms.
#pragma once

#include <cstdint>
#include <string>

namespace livebot {

std::string iso_time(int64_t ms);

}  // namespace livebot

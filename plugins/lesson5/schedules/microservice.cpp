// Lesson 5, schedules: a location microservice on the bot's MIDNIGHT and
// HOUR schedules (bot.json). A server may deliver one firing twice; the
// microservice keeps when each schedule last fired and ignores a firing
// within 30 minutes of the one before.
#include <livebot/sdk.hpp>

#include "state_bfbs_generated.h"
#include "state_generated.h"

namespace {

constexpr int64_t kDuplicateMs = 30 * 60 * 1000;

class Schedules : public livebot::Microservice<lesson5::SchedulesT> {
 public:
  void schedule_fired(std::string_view id) override {
    auto *slot = id == "MIDNIGHT" ? &state().midnight : id == "HOUR" ? &state().hour : nullptr;
    if (!slot) return log_warn("unknown schedule " + std::string(id));
    auto &firings = *slot;
    if (!firings) firings = std::make_unique<lesson5::FiringsT>();
    if (firings->kept > 0 && timestamp_ms() - firings->last_ms < kDuplicateMs) {
      ++firings->ignored;
      return log_warn("schedule " + std::string(id) + " fired again within 30 minutes; ignored");
    }
    ++firings->kept;
    firings->last_ms = timestamp_ms();
    if (id == "MIDNIGHT") log_info("a new day begins");
  }
};

}  // namespace

LIVEBOT_MICROSERVICE(Schedules, "schedules", "1.0.0", lesson5::SchedulesBinarySchema)

// Logging: every part of the host logs through spdlog's default logger.
// The CLI sets the level once (--log-level / LIVEBOT_LOG) before any work.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace livebot {

// Sends logs to stderr at `level` ("trace".."off"); an unknown name is an
// error naming it.
void setup_logging(const std::string &level);

}  // namespace livebot

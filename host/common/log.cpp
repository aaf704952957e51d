#include "common/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include "common/error.hpp"

namespace livebot {

void setup_logging(const std::string &level) {
  const auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off")
    throw Error("--log-level", "unknown level '" + level + "' (trace, debug, info, warn, error, off)");
  auto logger = spdlog::stderr_color_mt("livebot");
  logger->set_pattern("%^%l%$ %v");
  logger->set_level(lvl);
  spdlog::set_default_logger(logger);
}

}  // namespace livebot

// A bot of probe plugins (tests/plugins/probe.cpp) in a test's directory: two
// location probes (probe_b first: priority 10) and a device probe for motion
// sensors (9138), taking modes, alerts, measurements and timers.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "support/temp_dir.hpp"

namespace livebot::test::probe {

using nlohmann::json;

inline const std::string plugins = LIVEBOT_TEST_PLUGIN_DIR;

// `extra` adds or replaces manifest keys; the bot's directory is named after
// its version.
inline std::string probe_bot(const TempDir &dir, const std::string &version = "1.0.0",
                             const json &extra = json::object()) {
  json manifest = {
      {"bot", "probes"},
      {"version", version},
      {"triggers", 2 | 4 | 8 | 64},
      {"microservices",
       {{"location",
         {{{"name", "probe_a"}, {"plugin", plugins + "/probe_a.so"}},
          {{"name", "probe_b"}, {"plugin", plugins + "/probe_b.so"}, {"priority", 10}}}},
        {"device", {{{"name", "probe_dev"}, {"plugin", plugins + "/probe_dev.so"}, {"device_types", {9138}}}}}}}};
  manifest.update(extra);
  const std::string bot = dir / ("bot-" + version);
  std::filesystem::create_directories(bot);
  write_file(bot + "/bot.json", manifest.dump(2));
  return bot;
}

}  // namespace livebot::test::probe

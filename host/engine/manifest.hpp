// A bot's manifest: `bot.json` in the bot directory (docs/MANIFEST.md).
// It names the bot and its version, the triggers it takes, its schedules,
// its location microservices and its device microservices per device type.
// Plugin files are resolved relative to the bot directory; cron expressions
// are parsed here, so a bad one stops the bot from loading.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "schedule/cron.hpp"

namespace livebot::engine {

// Trigger bits, as in botengine manifests.
enum TriggerBit : uint32_t {
  kTriggerSchedule = 1,
  kTriggerMode = 2,
  kTriggerAlert = 4,
  kTriggerMeasurement = 8,
  kTriggerTimer = 64,
  kTriggerDataStream = 256,
};

struct MicroserviceSpec {
  std::string name;      // identity of the microservice (its state's key)
  std::string plugin;    // absolute path of its .so
  int32_t priority = 0;  // execution_priority: higher runs first
  std::vector<int32_t> device_types;  // device microservices only
  std::string sha256;    // when set, the only plugin content that may load
  std::string previous_name;  // its name before a rename: stored state moves to `name`
  bool is_device() const { return !device_types.empty(); }
};

// A named cron expression: the location's instances hear schedule_fired(id)
// at each of its firings, in the location's time zone.
struct ScheduleSpec {
  std::string id;
  schedule::Cron cron;
};

struct Manifest {
  std::string dir;      // the bot directory, absolute
  std::string path;     // its bot.json
  std::string bot;      // bot name
  std::string version;  // bot version: a change calls new_version once
  uint32_t triggers = kTriggerMode | kTriggerAlert | kTriggerMeasurement;
  std::vector<MicroserviceSpec> microservices;  // location ones, then device ones
  std::vector<ScheduleSpec> schedules;          // by id
};

// Reads `<dir>/bot.json`. Throws livebot::Error naming the file and the key
// for anything malformed or unknown, and for a plugin file that is missing —
// unless `missing` is given: such a microservice is put there instead, and
// left out of the manifest.
Manifest load_manifest(const std::string &dir, std::vector<MicroserviceSpec> *missing = nullptr);

}  // namespace livebot::engine

// A bot as loaded: its manifest and one loaded plugin per microservice, in
// the order executions call them.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "engine/manifest.hpp"
#include "loader/plugin.hpp"

namespace livebot::engine {

constexpr int kCallbackCount = 13;  // livebot_callback values 1..12
const char *callback_name(int32_t callback);

struct MicroserviceStats {
  int64_t executions = 0;  // instance executions
  int64_t errors = 0;
  int64_t plugin_ns = 0;   // time spent inside the plugin
  int64_t messages_dropped = 0;  // retiring: data stream messages to it dropped at delivery
  std::array<int64_t, kCallbackCount> callbacks{};
};

struct LoadedMicroservice {
  MicroserviceSpec spec;
  std::unique_ptr<loader::Plugin> plugin;
  MicroserviceStats stats;
  // Removed from the bot and being drained (docs/RETIREMENT.md): it hears
  // no events, gets no new instances, and its stored state is not loaded.
  bool retiring = false;
};

class Bot {
 public:
  // Loads every microservice's plugin from its file; throws livebot::Error
  // (naming the manifest entry and file) and unloads what it had loaded on
  // failure.
  static std::unique_ptr<Bot> load(Manifest manifest, loader::Staging &staging);
  // The same, with microservice i's plugin from `load_one(i, spec)`: a host
  // recovering chooses the build, and watches its static constructors run.
  using LoadOne = std::function<std::unique_ptr<loader::Plugin>(size_t, const MicroserviceSpec &)>;
  static std::unique_ptr<Bot> load(Manifest manifest, const LoadOne &load_one);

  const Manifest &manifest() const { return manifest_; }
  std::vector<LoadedMicroservice> &microservices() { return ms_; }
  const std::vector<LoadedMicroservice> &microservices() const { return ms_; }
  // Location microservices in initialize order: priority high to low, then name.
  const std::vector<size_t> &location_order() const { return location_order_; }
  // Device microservices for a device type, in manifest order.
  const std::vector<size_t> &for_device_type(int32_t type) const;

  // Takes microservice `ms` out of (or, with false, back into) every
  // execution's order. Its index stays valid either way.
  void set_retiring(size_t ms, bool retiring);
  // Adds a microservice after the load, at the end: one the manifest no
  // longer names, retiring from the start (a host restarted mid-retirement
  // drains it with its own code), or one whose plugin file appeared late.
  // Returns its index.
  size_t adopt(MicroserviceSpec spec, std::unique_ptr<loader::Plugin> plugin, bool retiring);

 private:
  void index();

  Manifest manifest_;
  std::vector<LoadedMicroservice> ms_;
  std::vector<size_t> location_order_;
  std::map<int32_t, std::vector<size_t>> by_type_;
};

}  // namespace livebot::engine

#include "engine/bot.hpp"

#include <algorithm>

#include "common/error.hpp"

namespace livebot::engine {

const char *callback_name(int32_t callback) {
  static const char *const names[kCallbackCount] = {
      "?", "construct", "initialize", "new_version", "destroy", "device_measurements_updated",
      "mode_updated", "device_alert", "schedule_fired", "timer_fired", "datastream_updated",
      "device_added", "device_deleted"};
  return callback > 0 && callback < kCallbackCount ? names[callback] : "?";
}

std::unique_ptr<Bot> Bot::load(Manifest manifest, loader::Staging &staging) {
  auto bot = std::unique_ptr<Bot>(new Bot());
  bot->manifest_ = std::move(manifest);
  for (const auto &spec : bot->manifest_.microservices) {
    LoadedMicroservice m;
    m.spec = spec;
    m.plugin = loader::Plugin::load(spec.plugin, staging, spec.sha256);
    bot->ms_.push_back(std::move(m));
  }
  for (size_t i = 0; i < bot->ms_.size(); ++i) {
    const auto &spec = bot->ms_[i].spec;
    if (spec.is_device()) {
      for (const int32_t t : spec.device_types) bot->by_type_[t].push_back(i);
    } else {
      bot->location_order_.push_back(i);
    }
  }
  std::stable_sort(bot->location_order_.begin(), bot->location_order_.end(), [&](size_t a, size_t b) {
    const auto &x = bot->ms_[a].spec, &y = bot->ms_[b].spec;
    return x.priority != y.priority ? x.priority > y.priority : x.name < y.name;
  });
  return bot;
}

const std::vector<size_t> &Bot::for_device_type(int32_t type) const {
  static const std::vector<size_t> none;
  const auto it = by_type_.find(type);
  return it == by_type_.end() ? none : it->second;
}

}  // namespace livebot::engine

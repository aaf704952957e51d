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
  return load(std::move(manifest), [&](size_t, const MicroserviceSpec &spec) {
    return loader::Plugin::load(spec.plugin, staging, spec.sha256);
  });
}

std::unique_ptr<Bot> Bot::load(Manifest manifest, const LoadOne &load_one) {
  auto bot = std::unique_ptr<Bot>(new Bot());
  bot->manifest_ = std::move(manifest);
  for (const auto &spec : bot->manifest_.microservices) {
    LoadedMicroservice m;
    m.spec = spec;
    m.plugin = load_one(bot->ms_.size(), spec);
    bot->ms_.push_back(std::move(m));
  }
  bot->index();
  return bot;
}

void Bot::index() {
  location_order_.clear();
  by_type_.clear();
  for (size_t i = 0; i < ms_.size(); ++i) {
    const auto &spec = ms_[i].spec;
    if (ms_[i].retiring) continue;
    if (spec.is_device()) {
      for (const int32_t t : spec.device_types) by_type_[t].push_back(i);
    } else {
      location_order_.push_back(i);
    }
  }
  std::stable_sort(location_order_.begin(), location_order_.end(), [&](size_t a, size_t b) {
    const auto &x = ms_[a].spec, &y = ms_[b].spec;
    return x.priority != y.priority ? x.priority > y.priority : x.name < y.name;
  });
}

void Bot::set_retiring(size_t ms, bool retiring) {
  ms_.at(ms).retiring = retiring;
  index();
}

size_t Bot::adopt(MicroserviceSpec spec, std::unique_ptr<loader::Plugin> plugin, bool retiring) {
  LoadedMicroservice m;
  m.spec = std::move(spec);
  m.plugin = std::move(plugin);
  m.retiring = retiring;
  ms_.push_back(std::move(m));
  index();
  return ms_.size() - 1;
}

const std::vector<size_t> &Bot::for_device_type(int32_t type) const {
  static const std::vector<size_t> none;
  const auto it = by_type_.find(type);
  return it == by_type_.end() ? none : it->second;
}

}  // namespace livebot::engine

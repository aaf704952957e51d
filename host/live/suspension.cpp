#include "live/suspension.hpp"

#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "common/hash.hpp"

namespace livebot::live {

reload::Offer resume(supervise::Suspended &s, const RunningHost &host, int64_t now_ms) {
  using Outcome = reload::Offer::Outcome;
  const auto &spec = s.spec;
  std::string hash;
  try {
    hash = file_hash(spec.plugin);
  } catch (const Error &e) {
    return {Outcome::Refused, e.what()};
  }
  const auto bad = supervise::bad_hashes(host.st, spec.name);
  if (s.refused.count(hash) || bad.count(hash))
    return {Outcome::Refused, spec.name + ": " + spec.plugin + " was refused before; waiting for it to change"};

  auto &bot = host.ex.bot();
  const size_t ms = bot.microservices().size();
  host.st.begin();
  std::unique_ptr<loader::Plugin> next;
  try {
    // A build's static initializers run as it loads: a crash there is its own.
    host.marker.set_versions(ms, {spec.name, {}, hash, spec.plugin, {}, {}, {}, {}});
    host.marker.loading(ms, hash, spec.plugin);
    try {
      next = loader::Plugin::load(spec.plugin, host.staging, spec.sha256);
    } catch (...) {
      host.marker.left();
      throw;
    }
    host.marker.left();
    host.ex.check_joining(spec.name, next->schema(), spec.plugin);
  } catch (const std::exception &e) {
    next.reset();
    s.refused.insert(hash);
    store::ErrorRecord err;
    err.wall_ms = err.event_ms = now_ms;
    err.bot = bot.manifest().bot;
    err.microservice = spec.name;
    err.callback = "reload";
    err.message = e.what();
    host.st.add_error(err);
    host.st.commit();
    spdlog::error("{}: still suspended; the build is refused: {}", spec.name, e.what());
    return {Outcome::Refused, e.what()};
  }
  bot.add(spec, std::move(next));
  host.ex.joined(ms);
  host.reloader.adopt(ms, now_ms);
  for (const auto &h : bad) host.reloader.forbid(ms, h);
  host.ex.flush();
  host.st.commit();
  const auto &p = *bot.microservices()[ms].plugin;
  const std::string message = spec.name + ": version " + p.version() + " (generation " +
                              std::to_string(p.generation()) + ") back from suspension, on probation, from " +
                              spec.plugin;
  spdlog::info("{}", message);
  return {Outcome::Published, message};
}

}  // namespace livebot::live

#include "live/joining.hpp"

#include <spdlog/spdlog.h>

#include "common/error.hpp"
#include "supervise/recovery.hpp"

namespace livebot::live {

reload::Offer join(const engine::MicroserviceSpec &spec, std::set<std::string> &refused, const RunningHost &host,
                   int64_t now_ms, bool probation) {
  using Outcome = reload::Offer::Outcome;
  loader::PluginFile file;
  try {
    file = loader::read_plugin(spec.plugin);
  } catch (const Error &e) {
    return {Outcome::Refused, e.what()};
  }
  const auto bad = supervise::bad_hashes(host.st, spec.name);
  if (refused.count(file.hash) || bad.count(file.hash))
    return {Outcome::Refused, spec.name + ": " + spec.plugin + " was refused before; waiting for it to change"};

  auto &bot = host.ex.bot();
  const size_t ms = bot.microservices().size();
  host.st.begin();
  try {
    std::unique_ptr<loader::Plugin> next;
    // A build's static initializers run as it loads: a crash there is its own.
    host.marker.set_versions(ms, {spec.name, {}, file.hash, spec.plugin, {}, {}, {}, {}});
    host.marker.loading(ms, file.hash, spec.plugin);
    try {
      next = loader::Plugin::load(file, host.staging, spec.sha256);
    } catch (...) {
      host.marker.left();
      throw;
    }
    host.marker.left();
    // Gated before it is added: a refusal adds nothing.
    host.ex.add_microservice(spec, std::move(next));
  } catch (const std::exception &e) {
    refused.insert(file.hash);
    store::ErrorRecord err;
    err.wall_ms = err.event_ms = now_ms;
    err.bot = bot.manifest().bot;
    err.microservice = spec.name;
    err.callback = "reload";
    err.message = e.what();
    host.st.add_error(err);
    host.st.commit();
    spdlog::error("{}: not joined; the build is refused: {}", spec.name, e.what());
    return {Outcome::Refused, e.what()};
  }
  host.reloader.added(ms, now_ms, probation);
  for (const auto &h : bad) host.reloader.forbid(ms, h);
  host.ex.flush();
  host.st.commit();
  const auto &p = *bot.microservices()[ms].plugin;
  const std::string message = spec.name + ": version " + p.version() + " (generation " +
                              std::to_string(p.generation()) + ") " +
                              (probation ? "back from suspension, on probation" : "joined with its stored state") +
                              ", from " + spec.plugin;
  spdlog::info("{}", message);
  return {Outcome::Published, message};
}

}  // namespace livebot::live

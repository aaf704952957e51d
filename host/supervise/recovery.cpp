#include "supervise/recovery.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <set>

#include "common/error.hpp"
#include "common/hash.hpp"
#include "loader/trust.hpp"
#include "supervise/watchdog.hpp"

namespace livebot::supervise {

namespace fs = std::filesystem;

namespace {

// A staging directory of an earlier process (loader/staging.cpp's name),
// removed once what is needed from it is kept.
bool is_staging_dir(const std::string &dir) {
  return fs::path(dir).filename().string().rfind("livebot-stage-", 0) == 0 && fs::is_directory(dir);
}

// Records the crash the marker and the exit status describe.
void record_crash(const engine::Manifest &manifest, store::Store &st, const Snapshot &prev, const PreviousExit &how,
                  int64_t now_ms) {
  const std::string ended = how.abnormal() ? how.describe() : "an unknown cause (not supervised)";
  store::ErrorRecord err;
  err.wall_ms = now_ms;
  err.event_ms = now_ms;  // the input in flight is not known here, only that it is resent
  err.bot = manifest.bot;
  err.callback = "crash";
  if (!prev.in_call || prev.call_ms < 0) {
    err.message = "the host ended by " + ended + " outside any plugin call; nothing marked bad";
    st.add_error(err);
    spdlog::error("previous host: {}", err.message);
    return;
  }
  const VersionFiles &v = prev.versions[static_cast<size_t>(prev.call_ms)];
  // A build loading is not the version serving: it is known by its bytes
  // (its table, with the version, was not read yet).
  const bool load = prev.what == "load";
  const std::string hash = load ? prev.loading_hash : v.hash;
  const std::string version = load ? "" : v.version;
  err.location = prev.location;
  err.microservice = v.name;
  err.version = version;
  std::string what;
  // An allocation failing before the host named its marker to the new
  // handler (a plugin loading at start) ends the process unmarked, in the call.
  const bool out_of_memory = prev.out_of_memory || how.exit_code == kExitOutOfMemory;
  if (prev.overrun)
    what = "ran over the watchdog's bound (" + std::to_string(prev.elapsed_ms) + " ms)";
  else if (out_of_memory)
    what = "failed to allocate at the memory limit";
  else
    what = "crashed the host with " + ended;
  const std::string where = load ? " while it was loaded" : " in " + prev.what + " at location " + prev.location;
  const bool blamed = prev.overrun || out_of_memory || is_fault_signal(how.signal);
  err.message = (load ? "the build " + hash.substr(0, 16) + " (" + prev.loading_file + ")" : "version " + version) +
                " " + what + where +
                (blamed ? "; marked bad, not loaded again" : "; not the plugin's doing, nothing marked bad");
  st.add_error(err);
  if (blamed) st.add_bad_version({v.name, hash, version, now_ms, what + where});
  spdlog::error("previous host: {}: {}", v.name, err.message);
}

// The first build of `name` whose content is not bad: the manifest's file,
// the one serving before (where it came from, or its staged copy: the file
// may have been overwritten by the build that crashed), the standby, the
// kept copies from the newest. A file the marker names counts only while it
// holds the bytes that served: the marker travels with a copied store, and
// its paths may name another deployment's files, changed since. A pinned
// microservice has only the manifest's file: no other build has its pin.
// Whether a build loads (a whole ELF, the ABI) and passes the schema gate is
// BotStart's to find, with the kept copies behind it.
std::optional<Build> choose(const engine::MicroserviceSpec &spec, const std::optional<Snapshot> &prev,
                            const KeptBuilds &kept, const std::set<std::pair<std::string, std::string>> &bad) {
  std::vector<std::pair<std::string, std::string>> files{{spec.plugin, ""}};  // file, the hash it must have
  if (prev && spec.sha256.empty())
    for (const auto &v : prev->versions)
      if (v.name == spec.name)
        files.insert(files.end(), {{v.file, v.hash}, {v.staged, v.hash}, {v.standby_file, v.standby_hash}});
  for (const auto &[file, served] : files) {
    if (file.empty()) continue;
    try {
      auto hash = file_hash(file);
      if (bad.count({spec.name, hash}) || (!served.empty() && hash != served)) continue;
      return Build{file, std::move(hash)};
    } catch (const Error &) {
      // Gone: a staging directory removed, a file deleted.
    }
  }
  if (spec.sha256.empty())
    for (auto &copy : kept.newest_first(spec.name))
      if (!bad.count({spec.name, copy.hash})) return Build{std::move(copy.path), std::move(copy.hash)};
  return std::nullopt;
}

}  // namespace

std::set<std::string> bad_hashes(store::Store &st, const std::string &name) {
  std::set<std::string> out;
  for (const auto &b : st.bad_versions())
    if (b.microservice == name) out.insert(b.hash);
  return out;
}

std::unique_ptr<engine::Bot> BotStart::load() {
  current_.clear();
  for (const auto &spec : rec_.manifest.microservices) current_.push_back(rec_.builds.at(spec.name));
  return engine::Bot::load(rec_.manifest, [this](size_t ms, const engine::MicroserviceSpec &) { return load_one(ms); });
}

std::unique_ptr<loader::Plugin> BotStart::next(size_t ms, const std::string &why) {
  const auto &spec = rec_.manifest.microservices[ms];
  refused_.push_back({ms, current_[ms].file, current_[ms].hash, why});
  auto &left = rec_.fallbacks[spec.name];
  if (left.empty())
    throw Error("", std::find_if(refused_.begin(), refused_.end(), [&](const StartRefusal &r) { return r.ms == ms; })->why);
  current_[ms] = std::move(left.front());
  left.erase(left.begin());
  spdlog::warn("{}: {}; loading the build that served before it ({})", spec.name, why, current_[ms].file);
  return load_one(ms);
}

std::unique_ptr<loader::Plugin> BotStart::load_one(size_t ms) {
  const auto &spec = rec_.manifest.microservices[ms];
  const Build &b = current_[ms];
  // Where a build lies is the operator's to fix: no earlier build hides it.
  loader::check_trusted(b.file);
  marker_.set_versions(ms, {spec.name, {}, b.hash, b.file, {}, {}, {}, {}});
  marker_.loading(ms, b.hash, b.file);
  std::unique_ptr<loader::Plugin> plugin;
  try {
    plugin = loader::Plugin::load(b.file, staging_, spec.sha256);
  } catch (const Error &e) {
    marker_.left();
    return next(ms, e.what());
  } catch (...) {
    marker_.left();
    throw;
  }
  marker_.left();
  return plugin;
}

bool is_fault_signal(int signal) {
  switch (signal) {
    case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGABRT: case SIGTRAP: case SIGSYS:
      return true;
    default:
      return false;
  }
}

Recovered recover(engine::Manifest manifest, store::Store &st, const std::optional<Snapshot> &previous,
                  const PreviousExit &how, KeptBuilds &kept, int64_t now_ms) {
  if (previous && (previous->in_call || how.abnormal())) record_crash(manifest, st, *previous, how, now_ms);
  std::set<std::pair<std::string, std::string>> bad;
  for (const auto &b : st.bad_versions()) bad.emplace(b.microservice, b.hash);

  Recovered r;
  std::vector<engine::MicroserviceSpec> loaded;
  for (auto &spec : manifest.microservices) {
    auto chosen = choose(spec, previous, kept, bad);
    if (!chosen) {
      const std::string why = "every build known is marked bad (livebot errors); a new build at " +
                              spec.plugin +
                              " brings it back, as the watcher sees it or on `livebot reload " + spec.name + "`";
      spdlog::error("{}: suspended: {}", spec.name, why);
      r.suspended.push_back({spec, why, {}});
      continue;
    }
    if (chosen->file != spec.plugin) {
      // A copy that outlives the staging directory it may come from.
      chosen->file = kept.serving(spec.name, chosen->file, chosen->hash, bad_hashes(st, spec.name));
      spdlog::warn("{}: {} is marked bad; loading the build that served before it ({})", spec.name, spec.plugin,
                   chosen->file);
    }
    if (spec.sha256.empty())
      for (auto &copy : kept.newest_first(spec.name))
        if (copy.hash != chosen->hash && !bad.count({spec.name, copy.hash}))
          r.fallbacks[spec.name].push_back({std::move(copy.path), std::move(copy.hash)});
    r.builds.emplace(spec.name, std::move(*chosen));
    loaded.push_back(std::move(spec));
  }
  manifest.microservices = std::move(loaded);
  r.manifest = std::move(manifest);
  if (previous && previous->pid != ::getpid() && is_staging_dir(previous->staging_dir)) {
    std::error_code ec;
    fs::remove_all(previous->staging_dir, ec);
  }
  return r;
}

}  // namespace livebot::supervise

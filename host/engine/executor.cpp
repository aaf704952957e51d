#include "engine/executor.hpp"

#include <flatbuffers/flatbuffers.h>
#include <livebot/livebot_event_generated.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/utf8.hpp"
#include "engine/host_api.hpp"
#include "schedule/zone.hpp"
#include "schema/gate.hpp"

namespace livebot::engine {

namespace ev = livebot::event;

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

flatbuffers::Offset<ev::Device> build_device(flatbuffers::FlatBufferBuilder &fbb, const DeviceState &d) {
  std::vector<flatbuffers::Offset<ev::Param>> ps;
  ps.reserve(d.params.size());
  for (const auto &[k, v] : d.params) ps.push_back(ev::CreateParamDirect(fbb, k.c_str(), v.c_str()));
  std::vector<flatbuffers::Offset<flatbuffers::String>> up;
  up.reserve(d.updated.size());
  for (const auto &u : d.updated) up.push_back(fbb.CreateString(u));
  // params come from a sorted map, so the vector is sorted by key already.
  return ev::CreateDevice(fbb, fbb.CreateString(d.id), d.type, fbb.CreateString(d.description),
                          fbb.CreateVector(ps), fbb.CreateVector(up), d.last_measured_ms);
}

// The event's common part: when, where, the bot version, and the instance's
// own device for a device microservice.
void finish_event(flatbuffers::FlatBufferBuilder &fbb, int64_t ts, const Location &loc, const DeviceState *own,
                  const std::string &version, ev::Payload type, flatbuffers::Offset<void> payload) {
  const auto location =
      ev::CreateLocationDirect(fbb, loc.rec.id.c_str(), loc.rec.mode.c_str(), loc.rec.timezone.c_str());
  const auto own_off = own ? build_device(fbb, *own) : flatbuffers::Offset<ev::Device>();
  fbb.Finish(ev::CreateEvent(fbb, ts, location, own_off, fbb.CreateString(version), type, payload));
}

// A failed instance's writes are put back: variables, then timers.
void undo_writes(Location &loc, livebot_exec &exec) {
  for (auto &[name, old] : exec.undo) loc.vars[name] = std::move(old);
  for (auto &[key, old] : exec.timer_undo) {
    if (old) loc.timers.insert_or_assign(key, *old);
    else loc.timers.erase(key);
  }
}

// What a trigger callback carries, independent of which instance hears it.
struct Trigger {
  int32_t callback = 0;
  const DeviceState *device = nullptr;  // measurement, alert
  const Input *input = nullptr;
};

}  // namespace

// One instance's part of one execution.
// Tells the observer, if any, that a plugin call is running while it lives.
class Observed {
 public:
  Observed(CallObserver *o, size_t ms, std::string_view location, const char *what) : o_(o) {
    if (o_) o_->entering(ms, location, what);
  }
  ~Observed() {
    if (o_) o_->left();
  }
  Observed(const Observed &) = delete;
  Observed &operator=(const Observed &) = delete;

 private:
  CallObserver *o_;
};

struct Executor::Call {
  Instance *inst;
  LoadedMicroservice *ms;
  const DeviceState *own_device;  // device microservices
  livebot_exec exec;
  void *handle = nullptr;
  bool failed = false;
};

Executor::Executor(store::Store &store, Bot &bot, std::string default_timezone)
    : store_(store), bot_(bot), default_timezone_(std::move(default_timezone)) {}

Executor::~Executor() = default;

void Executor::register_schemas(const Refused &refused) {
  for (const auto &m : bot_.microservices()) {
    const auto &from = m.spec.previous_name;
    if (from.empty() || store_.state_schemas(from).empty()) continue;
    if (!store_.state_schemas(m.spec.name).empty()) {
      spdlog::warn("{}: previous_name '{}' has stored state, but so has '{}'; nothing moved", m.spec.name, from,
                   m.spec.name);
      continue;
    }
    store_.rename_microservice(from, m.spec.name);
    spdlog::info("{}: renamed from '{}': its state, timers and waiting messages moved", m.spec.name, from);
  }
  for (size_t i = 0; i < bot_.microservices().size(); ++i) {
    const auto &m = bot_.microservices()[i];
    for (;;) {
      try {
        // Against the stored state alone: a build put in place of a refused
        // one need not read what the refused one would have written.
        gate(m.spec.name, nullptr, m.plugin->schema(), m.plugin->file());
        break;
      } catch (const Error &e) {
        if (!refused || !refused(i, e)) throw;
      }
    }
    const auto &s = m.plugin->schema();
    store_.put_schema(s.hash(), s.bytes());
    schemas_.emplace(s.hash(), s);
  }
}

void Executor::check_schema(size_t ms, const schema::BinarySchema &candidate, const std::string &file) {
  const auto &m = bot_.microservices()[ms];
  gate(m.spec.name, &m.plugin->schema(), candidate, file);
}

void Executor::gate(const std::string &name, const schema::BinarySchema *current,
                    const schema::BinarySchema &candidate, const std::string &file) {
  auto hashes = store_.state_schemas(name);
  if (current) hashes.push_back(current->hash());
  for (const auto &hash : hashes) {
    if (hash == candidate.hash()) continue;
    const auto *stored = current && hash == current->hash() ? current : find_schema(hash);
    if (!stored) {
      // Nothing can be gated against it, and nothing tagged with it reaches a
      // plugin: such state is quarantined when its location is loaded.
      spdlog::warn("{}: stored state of '{}' was written by schema {}, which the store does not hold; it will be "
                   "quarantined",
                   file, name, hash);
      continue;
    }
    const auto problems = schema::check_compatible(*stored, candidate);
    if (!problems.empty())
      throw Error(file, "schema cannot read the stored state of '" + name + "': " + schema::refusal_line(problems));
  }
}

void Executor::add_schema(const schema::BinarySchema &s) {
  if (schemas_.emplace(s.hash(), s).second) pending_schemas_.emplace_back(s.hash(), s.bytes());
}

std::unique_ptr<loader::Plugin> Executor::replace_plugin(size_t ms, std::unique_ptr<loader::Plugin> next) {
  add_schema(next->schema());
  std::swap(bot_.microservices()[ms].plugin, next);
  return next;
}

size_t Executor::add_microservice(MicroserviceSpec spec, std::unique_ptr<loader::Plugin> plugin) {
  gate(spec.name, nullptr, plugin->schema(), spec.plugin);
  add_schema(plugin->schema());
  const size_t ms = bot_.adopt(std::move(spec), std::move(plugin), false);
  // Cached locations were loaded without its state.
  forget();
  return ms;
}

Executor::Checkpoint Executor::checkpoint(std::string_view location) const {
  Checkpoint cp;
  cp.location = std::string(location);
  if (const auto it = locations_.find(location); it != locations_.end()) cp.memory = it->second;
  cp.errors = pending_errors_.size();
  cp.outputs = pending_outputs_.size();
  cp.stats = stats_;
  for (const auto &m : bot_.microservices()) cp.ms_stats.push_back(m.stats);
  return cp;
}

void Executor::restore(Checkpoint cp) {
  if (cp.memory && cp.memory->dirty) dirty_.insert(cp.location);
  if (cp.memory) locations_.insert_or_assign(cp.location, std::move(*cp.memory));
  else if (const auto it = locations_.find(cp.location); it != locations_.end()) locations_.erase(it);
  pending_outputs_.resize(std::min(pending_outputs_.size(), cp.outputs));
  // Counters go back too, failures excepted: they happened.
  const int64_t failed = stats_.failed_callbacks;
  stats_ = cp.stats;
  stats_.failed_callbacks = failed;
  auto &all = bot_.microservices();
  for (size_t i = 0; i < all.size() && i < cp.ms_stats.size(); ++i) {
    const int64_t errors = all[i].stats.errors;
    all[i].stats = cp.ms_stats[i];
    all[i].stats.errors = errors;
  }
}

const schema::BinarySchema *Executor::find_schema(const std::string &hash) {
  if (const auto it = schemas_.find(hash); it != schemas_.end()) return &it->second;
  const auto bytes = store_.load_schema(hash);
  if (!bytes) return nullptr;
  return &schemas_.emplace(hash, schema::BinarySchema::parse(*bytes, "stored schema " + hash)).first->second;
}

std::string Executor::unreadable(const Instance &inst) {
  if (inst.state.empty()) return "its state is empty";
  const schema::BinarySchema *writer = nullptr;
  try {
    writer = find_schema(inst.schema_hash);
  } catch (const Error &e) {
    return e.what();
  }
  if (!writer) return "it was written by schema " + inst.schema_hash + ", which the store does not hold";
  if (!writer->verify(inst.state))
    return "its " + std::to_string(inst.state.size()) + " bytes do not verify as " + writer->root_type() +
           " (schema " + inst.schema_hash + ")";
  // The gate says the reader's schema reads what the writer's wrote; a
  // buffer both verify is one the plugin's own verifier accepts too.
  const auto &reader = schema_of(inst);
  if (reader.hash() != writer->hash() && !reader.verify(inst.state))
    return "its " + std::to_string(inst.state.size()) + " bytes do not verify as " + reader.root_type() +
           " (schema " + reader.hash() + ", the plugin's)";
  return {};
}

void Executor::quarantine(Location &loc, Instance &inst, std::string reason) {
  const auto &ms = bot_.microservices()[inst.microservice];
  store::QuarantineRecord q{0, wall_ms(), loc.rec.id,
                            {ms.spec.name, inst.device_id, inst.instance_id, inst.schema_hash, inst.state}, reason};
  const std::string who = inst.device_id.empty() ? ms.spec.name : ms.spec.name + "[" + inst.device_id + "]";
  spdlog::warn("location {}: stored state of {} quarantined: {}; the instance starts afresh", loc.rec.id, who,
               reason);
  record_failure(inst.microservice, ms.plugin->version(), loc.rec.id, q.wall_ms, "load",
                 "stored state quarantined: " + reason + "; the instance starts afresh from construct()");
  pending_errors_.back().microservice = who;
  loc.quarantined.push_back(std::move(q));
  ++stats_.quarantined;
  // Same id: the fresh instance takes the row back once its construct()
  // succeeds. Nothing of the old one is kept in memory.
  inst.state.clear();
  inst.schema_hash.clear();
  inst.constructed = false;
  mark_dirty(loc);
}

const schema::BinarySchema &Executor::schema_of(const Instance &inst) const {
  return bot_.microservices()[inst.microservice].plugin->schema();
}

Location &Executor::location(std::string_view id) {
  if (const auto it = locations_.find(id); it != locations_.end()) return it->second;
  Location loc;
  const std::string key(id);
  if (auto rec = store_.load_location(key)) {
    loc.rec = std::move(*rec);
    for (const auto &d : store_.load_devices(key)) loc.devices.emplace(d.id, DeviceState::decode(d, key));
    for (auto &r : store_.load_instances(key)) {
      // State of a microservice this bot does not run (or is retiring)
      // stays in the store, untouched, until its purge.
      const auto &all = bot_.microservices();
      const auto m = std::find_if(all.begin(), all.end(),
                                  [&](const auto &x) { return x.spec.name == r.microservice && !x.retiring; });
      if (m == all.end()) continue;
      Instance inst;
      inst.microservice = static_cast<size_t>(m - all.begin());
      inst.device_id = std::move(r.device_id);
      inst.instance_id = r.instance_id;
      inst.schema_hash = std::move(r.schema_hash);
      inst.state = std::move(r.state);
      if (auto why = unreadable(inst); !why.empty()) quarantine(loc, inst, std::move(why));
      loc.instances.push_back(std::move(inst));
    }
    order_instances(loc);  // the store lists them by name
    for (auto &v : store_.load_required_variables(key)) {
      std::string name = v.name;
      loc.vars.emplace(std::move(name), VarSlot{std::move(v), false});
    }
    const auto &specs = bot_.manifest().schedules;
    for (auto &m : store_.load_datastreams(key))
      loc.streams.push_back({m.seq, m.due_ms, std::move(m.address), std::move(m.content)});
    for (auto &sch : store_.load_schedules(key)) {
      if (std::any_of(specs.begin(), specs.end(), [&](const ScheduleSpec &s) { return s.id == sch.id; })) {
        loc.schedules.emplace(std::move(sch.id), sch.next_ms);
      } else {  // the manifest no longer names it
        loc.schedules_changed.insert(std::move(sch.id));
        mark_dirty(loc);
      }
    }
    // Timers of instances not loaded (a microservice this bot does not run)
    // stay in the store with their owner's state.
    // A quarantined instance's timers go with its state (the store deletes
    // them with its row).
    for (auto &t : store_.load_timers(key)) {
      const auto owner = std::find_if(loc.instances.begin(), loc.instances.end(),
                                      [&](const Instance &i) { return i.instance_id == t.instance_id; });
      if (owner == loc.instances.end()) continue;
      if (owner->constructed) loc.timers.emplace(TimerKey{t.instance_id, std::move(t.reference)}, t.due_ms);
      else ++stats_.timers_dropped;
    }
  } else {
    loc.fresh = true;
    loc.rec.id = key;
    loc.rec.timezone = default_timezone_;
  }
  return locations_.emplace(key, std::move(loc)).first->second;
}

const store::VariableRecord *Executor::fetch_variable(Location &loc, const std::string &name) {
  auto it = loc.vars.find(name);
  if (it == loc.vars.end()) it = loc.vars.emplace(name, VarSlot{store_.load_variable(loc.rec.id, name), false}).first;
  return it->second.var ? &*it->second.var : nullptr;
}

void Executor::write_variable(livebot_exec &exec, std::string name, std::optional<store::VariableRecord> var) {
  Location &loc = *exec.location;
  fetch_variable(loc, name);  // so that `undo` holds what was really there
  VarSlot &slot = loc.vars[name];
  exec.undo.try_emplace(name, slot);
  slot = VarSlot{std::move(var), true};
}

void Executor::write_timer(livebot_exec &exec, TimerKey key, std::optional<int64_t> due_ms) {
  Location &loc = *exec.location;
  const auto it = loc.timers.find(key);
  exec.timer_undo.try_emplace(key, it == loc.timers.end() ? std::nullopt : std::optional<int64_t>(it->second));
  if (due_ms) loc.timers.insert_or_assign(key, *due_ms);
  else if (it != loc.timers.end()) loc.timers.erase(it);
  loc.timers_changed.insert(std::move(key));
}

const date::time_zone *Executor::zone_of(Location &loc) {
  if (!loc.zone) {
    auto found = schedule::resolve_zone(loc.rec.timezone);
    if (!found.warning.empty() && warned_zones_.insert(loc.rec.timezone).second)
      spdlog::warn("location {}: {}", loc.rec.id, found.warning);
    loc.zone = found.zone;
  }
  return loc.zone;
}

int64_t Executor::utc_offset_ms(Location &loc, int64_t at_ms) { return schedule::utc_offset_ms(zone_of(loc), at_ms); }

void Executor::start_schedules(Location &loc, int64_t now_ms) {
  for (const auto &s : bot_.manifest().schedules) {
    if (loc.schedules.count(s.id)) continue;
    if (const auto next = schedule::next_fire(s.cron, now_ms, zone_of(loc))) {
      loc.schedules.emplace(s.id, *next);
      loc.schedules_changed.insert(s.id);
    }
  }
  loc.schedules_started = true;
}

std::optional<Executor::Due> Executor::first_due(const Location &loc) const {
  std::optional<Due> best;
  // At one time: data streams, schedules by id (the map's order), timers.
  if (!loc.streams.empty()) best = Due{Input::Kind::DataStream, loc.streams.front().due_ms, {}, {}};
  for (const auto &[id, at] : loc.schedules)
    if (!best || at < best->at) best = Due{Input::Kind::Schedule, at, {}, id};
  const auto position = [&](int64_t id) {
    return std::find_if(loc.instances.begin(), loc.instances.end(), [&](const Instance &i) { return i.instance_id == id; }) -
           loc.instances.begin();
  };
  for (const auto &[key, at] : loc.timers) {
    if (best && (at > best->at || (at == best->at && (best->kind != Input::Kind::Timer ||
                                                      position(key.instance_id) >= position(best->timer.instance_id)))))
      continue;
    best = Due{Input::Kind::Timer, at, key, {}};
  }
  return best;
}

std::optional<int64_t> Executor::next_due(std::string_view id) {
  const auto due = first_due(location(id));
  if (!due) return std::nullopt;
  return due->at;
}

bool Executor::run_due(std::string_view id, int64_t now_ms) {
  last_failures_.clear();  // also when the item runs no execution
  Location &loc = location(id);
  const auto due = first_due(loc);
  if (!due || due->at > now_ms) return false;
  mark_dirty(loc);
  Input in;
  in.kind = due->kind;
  in.location = id;
  in.timestamp_ms = due->at;
  if (due->kind == Input::Kind::DataStream) {
    const DataStreamMessage msg = std::move(loc.streams.front());
    loc.streams.pop_front();
    loc.streams_changed.insert(msg.seq);
    if (!(bot_.manifest().triggers & kTriggerDataStream)) return true;  // no longer taken
    if (LoadedMicroservice *to = retiring_addressee(msg.address)) {
      ++to->stats.messages_dropped;
      return true;
    }
    in.address = msg.address;
    in.content = msg.content;
    execute(in);
    ++stats_.datastream_executions;
    return true;
  }
  if (due->kind == Input::Kind::Schedule) {
    const auto &specs = bot_.manifest().schedules;
    const auto spec = std::find_if(specs.begin(), specs.end(), [&](const ScheduleSpec &s) { return s.id == due->schedule; });
    const auto next = schedule::next_fire(spec->cron, due->at, zone_of(loc));
    if (next) loc.schedules[due->schedule] = *next;
    else loc.schedules.erase(due->schedule);
    loc.schedules_changed.insert(due->schedule);
    in.schedule = due->schedule;
    execute(in);
    ++stats_.schedule_executions;
    return true;
  }
  loc.timers.erase(due->timer);
  loc.timers_changed.insert(due->timer);
  const bool owned = std::any_of(loc.instances.begin(), loc.instances.end(),
                                 [&](const Instance &i) { return i.instance_id == due->timer.instance_id; });
  if (!owned || !(bot_.manifest().triggers & kTriggerTimer)) {
    ++stats_.timers_dropped;
    return true;
  }
  in.instance_id = due->timer.instance_id;
  in.reference = due->timer.reference;
  execute(in);
  ++stats_.timer_executions;
  return true;
}

std::vector<std::string> Executor::apply_devices(Location &loc, const Input &in) {
  std::vector<std::string> added;
  for (const auto &d : in.devices) {
    auto it = loc.devices.find(d.id);
    if (it == loc.devices.end()) {
      DeviceState fresh;
      fresh.id = std::string(d.id);
      it = loc.devices.emplace(fresh.id, std::move(fresh)).first;
      added.push_back(it->first);
    }
    DeviceState &dev = it->second;
    dev.type = d.type;
    dev.description.assign(d.description);
    dev.dirty = true;
    if (in.kind != Input::Kind::Measurement) continue;
    for (const auto &p : d.params) {
      const auto pit = dev.params.find(p.name);
      if (pit == dev.params.end()) dev.params.emplace(std::string(p.name), std::string(p.value));
      else pit->second.assign(p.value);
    }
    dev.updated.assign(d.updated.begin(), d.updated.end());
    dev.last_measured_ms = in.timestamp_ms;
    for (const auto &u : dev.updated) {
      const auto pit = dev.params.find(u);
      dev.history.push_back({in.timestamp_ms, u, pit == dev.params.end() ? std::string() : pit->second});
    }
    while (!dev.history.empty() && in.timestamp_ms - dev.history.front().timestamp_ms > kHistoryMs)
      dev.history.pop_front();
  }
  return added;
}

void Executor::remove_device(Location &loc, const std::string &device_id) {
  const auto &all = bot_.microservices();
  for (const auto &inst : loc.instances) {
    if (inst.device_id != device_id) continue;
    loc.removed_instances.emplace_back(all[inst.microservice].spec.name, device_id);
    // Its timers go with it, unfired.
    for (auto t = loc.timers.lower_bound(TimerKey{inst.instance_id, {}});
         t != loc.timers.end() && t->first.instance_id == inst.instance_id;) {
      loc.timers_changed.insert(t->first);
      t = loc.timers.erase(t);
      ++stats_.timers_dropped;
    }
  }
  loc.instances.erase(std::remove_if(loc.instances.begin(), loc.instances.end(),
                                     [&](const Instance &i) { return i.device_id == device_id; }),
                      loc.instances.end());
  loc.devices.erase(device_id);
  loc.removed_devices.push_back(device_id);
}

void Executor::sync_instances(Location &loc) {
  bool added = false;
  const auto ensure = [&](size_t ms, const std::string &device_id) {
    for (const auto &i : loc.instances)
      if (i.microservice == ms && i.device_id == device_id) return;
    Instance inst;
    inst.microservice = ms;
    inst.device_id = device_id;
    inst.instance_id = store_.allocate_instance_id();
    inst.constructed = false;
    loc.instances.push_back(std::move(inst));
    ++stats_.instances_created;
    added = true;
  };
  for (const auto &[id, dev] : loc.devices)
    for (const size_t ms : bot_.for_device_type(dev.type)) ensure(ms, id);
  for (const size_t ms : bot_.location_order()) ensure(ms, "");
  if (added || loc.fresh) order_instances(loc);
}

void Executor::order_instances(Location &loc) {
  const auto &all = bot_.microservices();
  // Initialize order: device microservices (by device, then manifest
  // order), then location microservices by priority and name.
  const auto rank = [&](const Instance &i) {
    const auto &lo = bot_.location_order();
    const size_t pos = static_cast<size_t>(std::find(lo.begin(), lo.end(), i.microservice) - lo.begin());
    return std::make_tuple(!all[i.microservice].spec.is_device(), i.device_id, pos, i.microservice);
  };
  std::stable_sort(loc.instances.begin(), loc.instances.end(),
                   [&](const Instance &a, const Instance &b) { return rank(a) < rank(b); });
}

std::vector<std::string> Executor::new_fields_for(const Instance &inst) {
  const auto &now = schema_of(inst);
  if (inst.state.empty() || inst.schema_hash == now.hash()) return {};
  const auto key = std::make_pair(inst.schema_hash, now.hash());
  if (const auto it = new_fields_cache_.find(key); it != new_fields_cache_.end()) return it->second;
  // Loaded state's schema is known: unreadable() quarantines the rest.
  return new_fields_cache_[key] = schema::new_fields(*find_schema(inst.schema_hash), now);
}

void Executor::record_error(const Location &loc, const Instance &inst, int64_t ts, std::string what,
                            std::string message) {
  auto &ms = bot_.microservices()[inst.microservice];
  ++ms.stats.errors;
  ++stats_.failed_callbacks;
  if (std::find(last_failures_.begin(), last_failures_.end(), inst.microservice) == last_failures_.end())
    last_failures_.push_back(inst.microservice);
  record_failure(inst.microservice, ms.plugin->version(), loc.rec.id, ts, std::move(what), std::move(message));
  auto &e = pending_errors_.back();
  if (!inst.device_id.empty()) e.microservice += "[" + inst.device_id + "]";
}

void Executor::record_failure(size_t ms, const std::string &version, std::string location, int64_t event_ms,
                              std::string what, std::string message) {
  store::ErrorRecord e;
  e.wall_ms = wall_ms();
  e.event_ms = event_ms;
  e.bot = bot_.manifest().bot;
  e.location = std::move(location);
  e.microservice = bot_.microservices()[ms].spec.name;
  e.version = version;
  e.callback = std::move(what);
  // Plugins' messages may hold any bytes; the record is shown as JSON.
  e.message = to_valid_utf8(message);
  spdlog::debug("{} {} {}: {}", e.location, e.microservice, e.callback, e.message);
  pending_errors_.push_back(std::move(e));
}

void Executor::log_from_plugin(int level, const Location &loc, const Instance &inst, std::string_view msg) {
  const auto &name = bot_.microservices()[inst.microservice].spec.name;
  if (log_sink_) return log_sink_(log_ctx_, level, loc.rec.id, name, msg);
  const auto lvl = level >= LIVEBOT_LOG_ERROR  ? spdlog::level::err
                   : level == LIVEBOT_LOG_WARN ? spdlog::level::warn
                   : level == LIVEBOT_LOG_INFO ? spdlog::level::info
                                               : spdlog::level::debug;
  spdlog::log(lvl, "[{} {}] {}", loc.rec.id, name, msg);
}

void Executor::add_notification(Notification n) {
  ++stats_.notifications;
  pending_outputs_.push_back(std::move(n));
}

void Executor::execute(const Input &in) {
  last_failures_.clear();
  Location &loc = location(in.location);
  const bool removal = in.kind == Input::Kind::DeviceRemoved;
  if (removal && !loc.devices.count(in.devices.front().id)) return;  // never known, or gone already
  if (!loc.schedules_started) start_schedules(loc, in.timestamp_ms);
  if (in.kind == Input::Kind::Mode) loc.rec.mode.assign(in.mode);
  const auto added = removal ? std::vector<std::string>() : apply_devices(loc, in);
  sync_instances(loc);
  const std::string &version = bot_.manifest().version;
  const bool new_version = !loc.fresh && loc.rec.bot_version != version;

  // Events: one builder reused for every call of this execution.
  flatbuffers::FlatBufferBuilder fbb(1024);
  const auto build = [&](const DeviceState *own, const Trigger &t) {
    fbb.Clear();
    ev::Payload type = ev::Payload::NONE;
    flatbuffers::Offset<void> payload;
    switch (t.callback) {
      case LIVEBOT_CB_MEASUREMENTS:
        type = ev::Payload::Measurements;
        payload = ev::CreateMeasurements(fbb, build_device(fbb, *t.device)).Union();
        break;
      case LIVEBOT_CB_MODE:
        type = ev::Payload::ModeChange;
        payload = ev::CreateModeChange(fbb, fbb.CreateString(t.input->mode.data(), t.input->mode.size())).Union();
        break;
      case LIVEBOT_CB_ALERT: {
        type = ev::Payload::Alert;
        const auto dev = build_device(fbb, *t.device);
        std::vector<flatbuffers::Offset<ev::Param>> ps;
        for (const auto &p : t.input->devices.front().params)
          ps.push_back(ev::CreateParam(fbb, fbb.CreateString(p.name.data(), p.name.size()),
                                       fbb.CreateString(p.value.data(), p.value.size())));
        const auto at = fbb.CreateString(t.input->alert_type.data(), t.input->alert_type.size());
        payload = ev::CreateAlert(fbb, dev, at, fbb.CreateVectorOfSortedTables(&ps)).Union();
        break;
      }
      case LIVEBOT_CB_DEVICE_ADDED:
      case LIVEBOT_CB_DEVICE_DELETED:
        type = ev::Payload::DeviceChange;
        payload = ev::CreateDeviceChange(fbb, build_device(fbb, *t.device)).Union();
        break;
      case LIVEBOT_CB_TIMER:
        type = ev::Payload::Timer;
        payload = ev::CreateTimer(fbb, fbb.CreateString(t.input->reference.data(), t.input->reference.size())).Union();
        break;
      case LIVEBOT_CB_DATASTREAM:
        type = ev::Payload::DataStream;
        payload = ev::CreateDataStream(fbb, fbb.CreateString(t.input->address.data(), t.input->address.size()),
                                       fbb.CreateString(t.input->content.data(), t.input->content.size()))
                      .Union();
        break;
      case LIVEBOT_CB_SCHEDULE:
        type = ev::Payload::Schedule;
        payload = ev::CreateSchedule(fbb, fbb.CreateString(t.input->schedule.data(), t.input->schedule.size())).Union();
        break;
      default:
        break;
    }
    finish_event(fbb, in.timestamp_ms, loc, own, version, type, payload);
  };

  std::vector<Call> calls;
  calls.reserve(loc.instances.size());
  for (auto &inst : loc.instances) {
    auto &ms = bot_.microservices()[inst.microservice];
    const DeviceState *own = nullptr;
    if (!inst.device_id.empty()) {
      const auto it = loc.devices.find(inst.device_id);
      own = it == loc.devices.end() ? nullptr : &it->second;
    }
    Call c{&inst, &ms, own, {}, nullptr, false};
    calls.push_back(std::move(c));
  }

  const auto invoke = [&](Call &c, int32_t callback, const Trigger &t) {
    if (c.failed) return;
    build(c.own_device, t);
    const auto start = now_ns();
    const Observed watched(observer_, c.inst->microservice, loc.rec.id, callback_name(callback));
    const int32_t rc = c.ms->plugin->table().call(c.handle, callback, fbb.GetBufferPointer(), fbb.GetSize());
    c.ms->stats.plugin_ns += now_ns() - start;
    ++c.ms->stats.callbacks[callback];
    if (rc != LIVEBOT_OK) {
      c.failed = true;
      record_error(loc, *c.inst, in.timestamp_ms, callback_name(callback),
                   c.exec.error.empty() ? "failed with status " + std::to_string(rc) + " and no message"
                                        : std::move(c.exec.error));
    }
  };

  // Open every instance around its stored state.
  for (auto &c : calls) {
    c.exec.executor = this;
    c.exec.location = &loc;
    c.exec.instance = c.inst;
    c.exec.timestamp_ms = in.timestamp_ms;
    const auto fields = new_fields_for(*c.inst);
    std::vector<livebot_string> names;
    names.reserve(fields.size());
    for (const auto &f : fields) names.push_back({f.data(), f.size()});
    const auto start = now_ns();
    const Observed watched(observer_, c.inst->microservice, loc.rec.id, "open");
    c.handle = c.ms->plugin->table().open(host_api(), &c.exec, reinterpret_cast<const uint8_t *>(c.inst->state.data()),
                                          c.inst->state.size(), names.data(), names.size());
    c.ms->stats.plugin_ns += now_ns() - start;
    ++c.ms->stats.executions;
    if (!c.handle) {
      c.failed = true;
      record_error(loc, *c.inst, in.timestamp_ms, "open",
                   c.exec.error.empty() ? std::string("no instance and no message") : c.exec.error);
    }
  }

  const Trigger none;
  for (auto &c : calls) {
    if (!c.inst->constructed) invoke(c, LIVEBOT_CB_CONSTRUCT, none);
    if (new_version) invoke(c, LIVEBOT_CB_NEW_VERSION, none);
    invoke(c, LIVEBOT_CB_INITIALIZE, none);
  }

  // Devices first seen: the location microservices hear of them first.
  for (const auto &id : added) {
    const Trigger t{LIVEBOT_CB_DEVICE_ADDED, &loc.devices.find(id)->second, &in};
    for (auto &c : calls)
      if (c.inst->device_id.empty()) invoke(c, LIVEBOT_CB_DEVICE_ADDED, t);
  }

  // Dispatch the trigger.
  const auto for_device = [&](const DeviceState &dev, int32_t callback) {
    const Trigger t{callback, &dev, &in};
    for (auto &c : calls)
      if (c.inst->device_id.empty() || c.inst->device_id == dev.id) invoke(c, callback, t);
  };
  switch (in.kind) {
    case Input::Kind::Measurement:
      for (const auto &d : in.devices) for_device(loc.devices.find(d.id)->second, LIVEBOT_CB_MEASUREMENTS);
      break;
    case Input::Kind::Alert:
      for_device(loc.devices.find(in.devices.front().id)->second, LIVEBOT_CB_ALERT);
      break;
    case Input::Kind::Mode: {
      const Trigger t{LIVEBOT_CB_MODE, nullptr, &in};
      for (auto &c : calls) invoke(c, LIVEBOT_CB_MODE, t);
      break;
    }
    case Input::Kind::Timer: {
      const Trigger t{LIVEBOT_CB_TIMER, nullptr, &in};
      for (auto &c : calls)
        if (c.inst->instance_id == in.instance_id) invoke(c, LIVEBOT_CB_TIMER, t);
      break;
    }
    case Input::Kind::Schedule: {
      const Trigger t{LIVEBOT_CB_SCHEDULE, nullptr, &in};
      for (auto &c : calls) invoke(c, LIVEBOT_CB_SCHEDULE, t);
      break;
    }
    case Input::Kind::DataStream: {
      const Trigger t{LIVEBOT_CB_DATASTREAM, nullptr, &in};
      for (auto &c : calls) invoke(c, LIVEBOT_CB_DATASTREAM, t);
      break;
    }
    case Input::Kind::DeviceRemoved: {
      // The device's own instances are destroyed; location ones hear of it.
      const DeviceState &dev = loc.devices.find(in.devices.front().id)->second;
      const Trigger t{LIVEBOT_CB_DEVICE_DELETED, &dev, &in};
      for (auto &c : calls) {
        if (c.inst->device_id == dev.id) invoke(c, LIVEBOT_CB_DESTROY, none);
        else if (c.inst->device_id.empty()) invoke(c, LIVEBOT_CB_DEVICE_DELETED, t);
      }
      break;
    }
  }

  // Close: keep what succeeded, drop what failed.
  for (auto &c : calls) {
    int32_t rc = LIVEBOT_OK;
    if (c.handle) {
      const auto start = now_ns();
      const Observed watched(observer_, c.inst->microservice, loc.rec.id, "close");
      rc = c.ms->plugin->table().close(c.handle, c.failed ? 0 : 1);
      c.ms->stats.plugin_ns += now_ns() - start;
    }
    if (!c.failed && (rc != LIVEBOT_OK || !c.exec.new_state)) {
      c.failed = true;
      // The plugin's own message, else why the host refused its state.
      record_error(loc, *c.inst, in.timestamp_ms, "close",
                   !c.exec.error.empty()    ? c.exec.error
                   : !c.exec.refusal.empty() ? "set_state refused by the host: " + c.exec.refusal
                                             : "no state handed back (status " + std::to_string(rc) + ")");
    }
    if (c.failed) {
      undo_writes(loc, c.exec);
      continue;
    }
    Instance &inst = *c.inst;
    const auto &hash = c.ms->plugin->schema().hash();
    if (inst.state != *c.exec.new_state || inst.schema_hash != hash || !inst.constructed) {
      inst.state = std::move(*c.exec.new_state);
      inst.schema_hash = hash;
      inst.dirty = true;
    }
    inst.constructed = true;
    for (auto &n : c.exec.notifications) {
      n.microservice = c.ms->spec.name;
      add_notification(std::move(n));
    }
    for (auto &m : c.exec.streams) {
      // A delivered message's row is gone, or replaced at this flush.
      m.seq = loc.streams.empty() ? 1 : loc.streams.back().seq + 1;
      loc.streams_changed.insert(m.seq);
      loc.streams.push_back(std::move(m));
    }
  }

  // Instances whose construct() failed are not kept: they are created anew
  // next time.
  loc.instances.erase(std::remove_if(loc.instances.begin(), loc.instances.end(),
                                     [](const Instance &i) { return !i.constructed; }),
                      loc.instances.end());
  if (removal) remove_device(loc, std::string(in.devices.front().id));
  for (auto &[id, dev] : loc.devices) dev.updated.clear();
  loc.rec.bot_version = version;
  loc.fresh = false;
  mark_dirty(loc);
  ++stats_.executions;
}

LoadedMicroservice *Executor::retiring_addressee(std::string_view address) {
  for (auto &m : bot_.microservices())
    if (m.retiring && m.spec.name == address) return &m;
  return nullptr;
}

Executor::Purged Executor::purge(std::string_view location_id, const std::string &name, std::optional<size_t> ms,
                                 int64_t now_ms) {
  last_failures_.clear();
  Location &loc = location(location_id);
  Purged out;
  // A location never stored has nothing of it.
  for (auto &r : loc.fresh ? std::vector<store::InstanceRecord>() : store_.load_instances(loc.rec.id)) {
    if (r.microservice != name) continue;
    if (ms) {
      Instance inst;
      inst.microservice = *ms;
      inst.device_id = r.device_id;
      inst.instance_id = r.instance_id;
      inst.schema_hash = std::move(r.schema_hash);
      inst.state = std::move(r.state);
      destroy(loc, inst, now_ms);
    }
    // Deleting the row deletes its timers; the cache never held them.
    loc.removed_instances.emplace_back(name, std::move(r.device_id));
    ++out.instances;
  }
  for (auto it = loc.streams.begin(); it != loc.streams.end();) {
    if (it->address != name) {
      ++it;
      continue;
    }
    loc.streams_changed.insert(it->seq);
    it = loc.streams.erase(it);
    ++out.messages_dropped;
  }
  if (out.instances || out.messages_dropped) mark_dirty(loc);
  return out;
}

void Executor::destroy(Location &loc, Instance &inst, int64_t now_ms) {
  auto &m = bot_.microservices()[inst.microservice];
  const DeviceState *own = nullptr;
  if (const auto d = loc.devices.find(inst.device_id); d != loc.devices.end()) own = &d->second;
  livebot_exec exec;
  exec.executor = this;
  exec.location = &loc;
  exec.instance = &inst;
  exec.timestamp_ms = now_ms;
  const auto &table = m.plugin->table();
  const auto start = now_ns();
  void *handle = table.open(host_api(), &exec, reinterpret_cast<const uint8_t *>(inst.state.data()),
                            inst.state.size(), nullptr, 0);
  bool ok = handle != nullptr;
  if (!ok) {
    record_error(loc, inst, now_ms, callback_name(LIVEBOT_CB_DESTROY), "open: " + exec.error);
  } else {
    flatbuffers::FlatBufferBuilder fbb(256);
    finish_event(fbb, now_ms, loc, own, bot_.manifest().version, ev::Payload::NONE, {});
    ok = table.call(handle, LIVEBOT_CB_DESTROY, fbb.GetBufferPointer(), fbb.GetSize()) == LIVEBOT_OK;
    ++m.stats.callbacks[LIVEBOT_CB_DESTROY];
    if (!ok) record_error(loc, inst, now_ms, callback_name(LIVEBOT_CB_DESTROY), std::move(exec.error));
    // Its state is dropped, whatever destroy did with it.
    table.close(handle, 0);
  }
  m.stats.plugin_ns += now_ns() - start;
  if (!ok) return undo_writes(loc, exec);
  // A good destroy's variable writes and notifications are kept; timers it
  // set die with it.
  for (const auto &entry : exec.timer_undo) loc.timers.erase(entry.first);
  for (auto &n : exec.notifications) {
    n.microservice = m.spec.name;
    add_notification(std::move(n));
  }
}

void Executor::flush() {
  // Schemas first: stored state names the schema that wrote it.
  for (const auto &[hash, bytes] : pending_schemas_) store_.put_schema(hash, bytes);
  pending_schemas_.clear();
  // Only what changed: a host holding many locations walks those alone.
  for (const auto &id : dirty_) {
    const auto held = locations_.find(id);
    // Restored to before it was cached, or forgotten since.
    if (held == locations_.end() || !held->second.dirty) continue;
    Location &loc = held->second;
    // Removals first: a device may come back in the same batch. Deleting an
    // instance deletes its stored timers.
    for (const auto &[ms, device] : loc.removed_instances) store_.delete_instance(id, ms, device);
    loc.removed_instances.clear();
    for (const auto &device : loc.removed_devices) store_.delete_device(id, device);
    loc.removed_devices.clear();
    // Before the instances: a fresh one takes its quarantined row's place.
    for (const auto &q : loc.quarantined) store_.quarantine_instance(q);
    loc.quarantined.clear();
    store_.put_location(loc.rec);
    for (auto &[did, dev] : loc.devices) {
      if (!dev.dirty) continue;
      store_.put_device(id, {did, dev.encode()});
      dev.dirty = false;
    }
    const auto &all = bot_.microservices();
    for (auto &inst : loc.instances) {
      if (!inst.dirty) continue;
      store_.put_instance(id, {all[inst.microservice].spec.name, inst.device_id, inst.instance_id, inst.schema_hash,
                               inst.state});
      inst.dirty = false;
    }
    for (auto &[name, slot] : loc.vars) {
      if (!slot.dirty) continue;
      if (slot.var) store_.put_variable(id, *slot.var);
      else store_.delete_variable(id, name);
      slot.dirty = false;
    }
    for (const auto &key : loc.timers_changed) {
      if (const auto t = loc.timers.find(key); t != loc.timers.end())
        store_.put_timer(id, {key.instance_id, key.reference, t->second});
      else
        store_.delete_timer(id, key.instance_id, key.reference);
    }
    loc.timers_changed.clear();
    for (const auto &sid : loc.schedules_changed) {
      if (const auto sch = loc.schedules.find(sid); sch != loc.schedules.end())
        store_.put_schedule(id, {sid, sch->second});
      else
        store_.delete_schedule(id, sid);
    }
    loc.schedules_changed.clear();
    for (const int64_t seq : loc.streams_changed) {
      const auto m = std::find_if(loc.streams.begin(), loc.streams.end(),
                                  [&](const DataStreamMessage &x) { return x.seq == seq; });
      if (m != loc.streams.end()) store_.put_datastream(id, {seq, m->due_ms, m->address, m->content});
      else store_.delete_datastream(id, seq);
    }
    loc.streams_changed.clear();
    loc.dirty = false;
  }
  dirty_.clear();
  for (const auto &e : pending_errors_) store_.add_error(e);
  pending_errors_.clear();
  for (const auto &n : pending_outputs_) {
    store::OutputRecord o;
    o.event_ms = n.timestamp_ms;
    o.location = n.location;
    o.microservice = n.microservice;
    o.kind = "notification";
    o.body = nlohmann::json{{"subject", n.subject}, {"body", n.body}}.dump();
    store_.add_output(o);
  }
  pending_outputs_.clear();
}

void Executor::forget() {
  locations_.clear();
  dirty_.clear();
  pending_errors_.clear();
  pending_outputs_.clear();
}

void Executor::evict(std::string_view location) {
  if (const auto it = locations_.find(location); it != locations_.end()) locations_.erase(it);
  if (const auto it = dirty_.find(location); it != dirty_.end()) dirty_.erase(it);
}

void Executor::mark_dirty(Location &loc) {
  loc.dirty = true;
  dirty_.insert(loc.rec.id);
}

}  // namespace livebot::engine

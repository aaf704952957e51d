#include "engine/manifest.hpp"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "common/error.hpp"

namespace livebot::engine {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void only_keys(const json &obj, const std::set<std::string> &allowed, const std::string &where,
               const std::string &ctx) {
  for (const auto &[k, v] : obj.items())
    if (!allowed.count(k)) throw Error(where, ctx + "unknown key '" + k + "'");
}

std::string need_string(const json &obj, const char *key, const std::string &where, const std::string &ctx) {
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_string() || it->get<std::string>().empty())
    throw Error(where, ctx + "'" + key + "' must be a non-empty string");
  return it->get<std::string>();
}

// nlohmann keeps the last of two equal keys; in a manifest that silently
// drops a microservice list or a priority, so a repeated key is refused.
json parse_refusing_duplicates(std::istream &in, const std::string &where) {
  std::vector<std::set<std::string>> open;  // keys seen, per enclosing object
  const json::parser_callback_t cb = [&](int, json::parse_event_t ev, json &parsed) {
    if (ev == json::parse_event_t::object_start) open.emplace_back();
    else if (ev == json::parse_event_t::object_end) open.pop_back();
    else if (ev == json::parse_event_t::key && !open.back().insert(parsed.get<std::string>()).second)
      throw Error(where, "key '" + parsed.get<std::string>() + "' appears twice in one object");
    return true;
  };
  try {
    return json::parse(in, cb);
  } catch (const json::parse_error &e) {
    throw Error(where, std::string("not valid JSON: ") + e.what());
  }
}

bool valid_name(const std::string &n) {
  for (const char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  return !n.empty();
}

MicroserviceSpec read_microservice(const json &m, bool device, const fs::path &dir, const std::string &where,
                                   const std::string &ctx, bool file_needed) {
  if (!m.is_object()) throw Error(where, ctx + "must be an object");
  only_keys(m, device ? std::set<std::string>{"name", "plugin", "priority", "sha256", "previous_name", "device_types"}
                      : std::set<std::string>{"name", "plugin", "priority", "sha256", "previous_name"},
            where, ctx);
  MicroserviceSpec s;
  s.name = need_string(m, "name", where, ctx);
  if (!valid_name(s.name)) throw Error(where, ctx + "name '" + s.name + "' may hold only letters, digits, '_', '-', '.'");
  if (m.contains("previous_name")) {
    s.previous_name = need_string(m, "previous_name", where, ctx);
    if (!valid_name(s.previous_name) || s.previous_name == s.name)
      throw Error(where, ctx + "previous_name '" + s.previous_name + "' must be another valid name");
  }
  const fs::path plugin = need_string(m, "plugin", where, ctx);
  s.plugin = (plugin.is_absolute() ? plugin : dir / plugin).lexically_normal().string();
  if (file_needed && !fs::is_regular_file(s.plugin))
    throw Error(where, ctx + "plugin '" + plugin.string() + "' not found (looked for " + s.plugin + ")");
  if (m.contains("sha256")) {
    s.sha256 = need_string(m, "sha256", where, ctx);
    if (s.sha256.size() != 64 || s.sha256.find_first_not_of("0123456789abcdef") != std::string::npos)
      throw Error(where, ctx + "'sha256' must be 64 lowercase hex digits (as sha256sum prints)");
  }
  if (m.contains("priority")) {
    if (!m["priority"].is_number_integer()) throw Error(where, ctx + "'priority' must be an integer");
    s.priority = m["priority"].get<int32_t>();
  }
  if (device) {
    const auto it = m.find("device_types");
    if (it == m.end() || !it->is_array() || it->empty())
      throw Error(where, ctx + "'device_types' must be a non-empty list of device type numbers");
    for (const auto &t : *it) {
      if (!t.is_number_integer() || t.get<int64_t>() <= 0)
        throw Error(where, ctx + "device type " + t.dump() + " is not a positive integer");
      s.device_types.push_back(t.get<int32_t>());
    }
  }
  return s;
}

}  // namespace

Manifest load_manifest(const std::string &dir_arg, std::vector<MicroserviceSpec> *missing) {
  const fs::path dir = fs::absolute(dir_arg).lexically_normal();
  const std::string where = (dir / "bot.json").string();
  if (!fs::is_directory(dir)) throw Error(dir_arg, "bot directory not found");
  if (!fs::is_regular_file(where)) throw Error(where, "no bot manifest (a bot directory holds a bot.json file)");
  std::ifstream in(where);
  if (!in) throw Error(where, "cannot read the bot manifest");
  const json doc = parse_refusing_duplicates(in, where);
  if (!doc.is_object()) throw Error(where, "manifest must be a JSON object");
  only_keys(doc, {"bot", "version", "triggers", "schedules", "microservices"}, where, "");

  Manifest m;
  m.dir = dir.string();
  m.path = where;
  m.bot = need_string(doc, "bot", where, "");
  m.version = need_string(doc, "version", where, "");
  if (doc.contains("triggers")) {
    if (!doc["triggers"].is_number_unsigned()) throw Error(where, "'triggers' must be a bitmask (e.g. 10 = mode + measurement)");
    const uint64_t t = doc["triggers"].get<uint64_t>();
    constexpr uint64_t known = kTriggerSchedule | kTriggerMode | kTriggerAlert | kTriggerMeasurement |
                               kTriggerTimer | kTriggerDataStream;
    if (t == 0) throw Error(where, "'triggers' is 0: the bot would take no input at all");
    if (t & ~known) throw Error(where, "'triggers' has unknown bits (" + std::to_string(t & ~known) +
                                           "); known: 1 schedule, 2 mode, 4 alert, 8 measurement, 64 timer, 256 data stream");
    m.triggers = static_cast<uint32_t>(t);
  }
  if (const auto sch = doc.find("schedules"); sch != doc.end()) {
    if (!sch->is_object()) throw Error(where, "'schedules' must be an object of names and cron expressions");
    for (const auto &[id, text] : sch->items()) {
      const std::string ctx = "schedule '" + id + "': ";
      if (!valid_name(id)) throw Error(where, ctx + "a name may hold only letters, digits, '_', '-', '.'");
      if (!text.is_string()) throw Error(where, ctx + "must be a cron expression in a string");
      try {
        m.schedules.push_back({id, schedule::parse_cron(text.get<std::string>())});
      } catch (const Error &e) {
        throw Error(where, ctx + e.what());
      }
    }
    if (!m.schedules.empty() && !(m.triggers & kTriggerSchedule))
      throw Error(where, "'schedules' are given but 'triggers' lacks 1 (schedule): add it, or the schedules never fire");
  }
  const auto ms = doc.find("microservices");
  if (ms == doc.end() || !ms->is_object()) throw Error(where, "'microservices' must be an object with 'location' and/or 'device' lists");
  only_keys(*ms, {"location", "device"}, where, "microservices: ");
  std::set<std::string> names;
  for (const char *kind : {"location", "device"}) {
    if (!ms->contains(kind)) continue;
    const auto &list = (*ms)[kind];
    if (!list.is_array()) throw Error(where, std::string("microservices.") + kind + " must be a list");
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string ctx = std::string("microservices.") + kind + "[" + std::to_string(i) + "]: ";
      auto spec = read_microservice(list[i], std::string(kind) == "device", dir, where, ctx, !missing);
      if (!names.insert(spec.name).second) throw Error(where, ctx + "microservice '" + spec.name + "' is listed twice");
      if (missing && !fs::is_regular_file(spec.plugin)) missing->push_back(std::move(spec));
      else m.microservices.push_back(std::move(spec));
    }
  }
  if (names.empty()) throw Error(where, "the bot has no microservices");
  return m;
}

}  // namespace livebot::engine

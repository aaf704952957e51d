// livebot state LOCATION [MICROSERVICE]: stored memory rendered as JSON
// through the binary schema that wrote it — no plugin code involved.
// livebot state --deprecated [MICROSERVICE]: where deprecated fields' data
// still lives.
#include <algorithm>
#include <iostream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "common/iso_time.hpp"
#include "schema/schema.hpp"
#include "store/store.hpp"

namespace livebot::cli {

namespace {

nlohmann::json variable_json(const store::VariableRecord &v) {
  nlohmann::json j{{"name", v.name}, {"required", v.required}};
  switch (v.kind) {
    case 1: j["kind"] = "string", j["value"] = v.value; break;
    case 2: {
      int64_t n = 0;
      if (v.value.size() == 8) std::memcpy(&n, v.value.data(), 8);
      j["kind"] = "int", j["value"] = n;
      break;
    }
    case 3: {
      double d = 0;
      if (v.value.size() == 8) std::memcpy(&d, v.value.data(), 8);
      j["kind"] = "double", j["value"] = d;
      break;
    }
    case 4: j["kind"] = "json", j["value"] = nlohmann::json::parse(v.value, nullptr, false); break;
    default: j["kind"] = v.kind == 5 ? "flatbuffer" : "bytes", j["bytes"] = v.value.size(); break;
  }
  return j;
}

// How many locations still hold data of a field that a schema of the same
// microservice deprecates: once a field's count is 0, its data is gone
// everywhere. A field counts as deprecated once some stored state was
// written by a schema that marks it so (a version that ran somewhere).
int report_deprecated(store::Store &st, const std::string &path, const std::string &only, bool as_json) {
  std::map<std::string, schema::BinarySchema> by_hash;
  std::map<std::string, std::vector<const schema::BinarySchema *>> writers;  // by microservice
  std::map<std::string, std::set<std::string>> with_state;                  // microservice -> locations
  std::vector<std::pair<std::string, store::InstanceRecord>> all;
  for (const auto &location : st.location_ids())
    for (auto &inst : st.load_instances(location)) {
      if (!only.empty() && inst.microservice != only) continue;
      if (!by_hash.count(inst.schema_hash)) {
        const auto bfbs = st.load_schema(inst.schema_hash);
        if (!bfbs) throw Error(path, "schema " + inst.schema_hash + " of " + inst.microservice + " is missing");
        by_hash.emplace(inst.schema_hash, schema::BinarySchema::parse(*bfbs, path + ": schema " + inst.schema_hash));
      }
      auto &w = writers[inst.microservice];
      const auto *s = &by_hash.at(inst.schema_hash);
      if (std::find(w.begin(), w.end(), s) == w.end()) w.push_back(s);
      with_state[inst.microservice].insert(location);
      all.emplace_back(location, std::move(inst));
    }
  if (!only.empty() && !with_state.count(only)) {
    std::cerr << "livebot: " << path << ": no state of a microservice '" << only << "'\n";
    return kExitNotFound;
  }
  // (microservice, field) -> the locations still holding it
  std::map<std::pair<std::string, std::string>, std::set<std::string>> held;
  for (const auto &[ms, schemas] : writers)
    for (const auto *marking : schemas)
      for (const reflection::Field *f : *marking->reflection().root_table()->fields())
        if (f->deprecated()) held[{ms, f->name()->str()}];
  for (const auto &[location, inst] : all) {
    if (!by_hash.at(inst.schema_hash).verify(inst.state)) continue;  // `livebot state LOCATION` says why
    for (const auto *marking : writers[inst.microservice])
      for (const auto &f : schema::deprecated_present(*marking, inst.state)) held[{inst.microservice, f}].insert(location);
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto &[key, locations] : held)
    out.push_back({{"microservice", key.first}, {"field", key.second}, {"locations", locations.size()},
                   {"of", with_state[key.first].size()}});
  if (as_json) {
    std::cout << out.dump(2) << '\n';
    return kExitOk;
  }
  if (out.empty()) std::cout << "no stored state was written by a schema that deprecates a field\n";
  for (const auto &x : out)
    std::cout << x["microservice"].get<std::string>() << '.' << x["field"].get<std::string>()
              << ": deprecated, still held by " << x["locations"].get<size_t>() << " of " << x["of"].get<size_t>()
              << " locations" << (x["locations"].get<size_t>() == 0 ? " (its data is gone everywhere)" : "") << '\n';
  return kExitOk;
}

}  // namespace

void add_state(CLI::App &app, std::vector<Command> &out) {
  struct Opts {
    std::string store = "livebot.db", location, microservice;
    bool json = false, deprecated = false;
  };
  auto o = std::make_shared<Opts>();
  auto *sub = app.add_subcommand("state", "Show a location's stored memory as JSON");
  sub->add_option("location", o->location, "Location id (with --deprecated: only this microservice)");
  sub->add_option("microservice", o->microservice, "Only this microservice");
  sub->add_option("--store,-s", o->store, "Store file")->capture_default_str()->check(CLI::ExistingFile);
  sub->add_flag("--json", o->json, "Print one JSON document");
  sub->add_flag("--deprecated", o->deprecated,
                "Instead: per deprecated state field, how many locations still hold its data");
  out.push_back({sub, [o]() {
                   if (o->deprecated) {
                     auto st = store::open_sqlite_store(o->store, {.create = false, .read_only = true});
                     return report_deprecated(*st, o->store, o->location, o->json);
                   }
                   if (o->location.empty()) throw UsageError("a location is required (or --deprecated)");
                   auto st = store::open_sqlite_store(o->store, {.create = false, .read_only = true});
                   const auto loc = st->load_location(o->location);
                   if (!loc) {
                     std::cerr << "livebot: " << o->store << ": no location '" << o->location << "'\n";
                     return kExitNotFound;
                   }
                   nlohmann::json doc{{"location", loc->id},
                                      {"mode", loc->mode},
                                      {"timezone", loc->timezone},
                                      {"bot_version", loc->bot_version}};
                   nlohmann::json instances = nlohmann::json::array();
                   std::map<int64_t, const store::InstanceRecord *> by_id;
                   const auto all = st->load_instances(o->location);
                   for (const auto &inst : all) {
                     if (!o->microservice.empty() && inst.microservice != o->microservice) continue;
                     by_id[inst.instance_id] = &inst;
                     const auto bfbs = st->load_schema(inst.schema_hash);
                     if (!bfbs) throw Error(o->store, "schema " + inst.schema_hash + " of " + inst.microservice + " is missing");
                     const auto schema = schema::BinarySchema::parse(*bfbs, o->store + ": schema " + inst.schema_hash);
                     instances.push_back({{"microservice", inst.microservice},
                                          {"device", inst.device_id},
                                          {"instance_id", inst.instance_id},
                                          {"schema", inst.schema_hash},
                                          {"root_type", schema.root_type()},
                                          {"state", nlohmann::json::parse(schema.to_json(inst.state))}});
                   }
                   if (!o->microservice.empty() && instances.empty()) {
                     std::cerr << "livebot: " << o->store << ": location '" << o->location << "' has no microservice '"
                               << o->microservice << "'\n";
                     return kExitNotFound;
                   }
                   doc["instances"] = instances;
                   nlohmann::json timers = nlohmann::json::array();
                   for (const auto &t : st->load_timers(o->location)) {
                     const auto owner = by_id.find(t.instance_id);
                     if (owner == by_id.end()) continue;
                     timers.push_back({{"microservice", owner->second->microservice},
                                       {"device", owner->second->device_id},
                                       {"instance_id", t.instance_id},
                                       {"reference", t.reference},
                                       {"due_ms", t.due_ms},
                                       {"due", iso_time(t.due_ms)}});
                   }
                   doc["timers"] = timers;
                   nlohmann::json schedules = nlohmann::json::array();
                   for (const auto &sch : st->load_schedules(o->location))
                     schedules.push_back({{"id", sch.id}, {"next_ms", sch.next_ms}, {"next", iso_time(sch.next_ms)}});
                   doc["schedules"] = schedules;
                   nlohmann::json vars = nlohmann::json::array();
                   for (const auto &v : st->load_variables(o->location)) vars.push_back(variable_json(v));
                   doc["variables"] = vars;
                   if (o->json) {
                     std::cout << doc.dump(2) << '\n';
                     return kExitOk;
                   }
                   std::cout << "location " << loc->id << "  mode " << loc->mode << "  bot version " << loc->bot_version
                             << '\n';
                   for (const auto &i : doc["instances"])
                     std::cout << "  " << i["microservice"].get<std::string>()
                               << (i["device"].get<std::string>().empty() ? "" : " [" + i["device"].get<std::string>() + "]")
                               << " (" << i["root_type"].get<std::string>() << "): " << i["state"].dump() << '\n';
                   for (const auto &t : doc["timers"])
                     std::cout << "  timer " << t["microservice"].get<std::string>()
                               << (t["device"].get<std::string>().empty() ? "" : " [" + t["device"].get<std::string>() + "]")
                               << " '" << t["reference"].get<std::string>() << "' due " << t["due"].get<std::string>()
                               << '\n';
                   for (const auto &sch : doc["schedules"])
                     std::cout << "  schedule " << sch["id"].get<std::string>() << " next " << sch["next"].get<std::string>()
                               << '\n';
                   for (const auto &v : doc["variables"]) std::cout << "  variable " << v.dump() << '\n';
                   return kExitOk;
                 }});
}

}  // namespace livebot::cli

// What the engine tests share: one host around a bot (probe_bot.hpp) with a
// real store, and inputs to feed it.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "engine/bot.hpp"
#include "engine/executor.hpp"
#include "loader/staging.hpp"
#include "schema/schema.hpp"
#include "store/store.hpp"
#include "support/probe_bot.hpp"
#include "support/temp_dir.hpp"

namespace livebot::test::probe {

using nlohmann::json;

// One host: staging, bot, store, executor; each execution committed.
struct Host {
  loader::Staging staging;
  std::unique_ptr<engine::Bot> bot;
  std::unique_ptr<store::Store> st;
  std::unique_ptr<engine::Executor> ex;

  // New locations get `timezone`.
  Host(const std::string &bot_dir, const std::string &store_path, const std::string &timezone = "UTC")
      : Host(bot_dir, store::open_sqlite_store(store_path), timezone) {}
  Host(const std::string &bot_dir, std::unique_ptr<store::Store> store, const std::string &timezone = "UTC")
      : st(std::move(store)) {
    bot = engine::Bot::load(engine::load_manifest(bot_dir), staging);
    ex = std::make_unique<engine::Executor>(*st, *bot, timezone);
    st->begin();
    ex->register_schemas();
    st->commit();
  }
  void run(const engine::Input &in) {
    st->begin();
    ex->execute(in);
    ex->flush();
    st->commit();
  }
  // Runs everything of `loc` due at or before `now`, committed; returns how
  // many items ran.
  int run_due(const std::string &loc, int64_t now) {
    st->begin();
    int n = 0;
    while (ex->run_due(loc, now)) ++n;
    ex->flush();
    st->commit();
    return n;
  }
  json state(const std::string &loc, const std::string &ms, const std::string &device = "") {
    const auto inst = st->load_instance(loc, ms, device);
    REQUIRE(inst);
    const auto bfbs = st->load_schema(inst->schema_hash);
    REQUIRE(bfbs);
    return json::parse(schema::BinarySchema::parse(*bfbs, "test").to_json(inst->state));
  }
  std::string var(const std::string &loc, const std::string &name) {
    const auto v = st->load_variable(loc, name);
    return v ? v->value : "<none>";
  }
};

inline engine::Input measurement(int64_t ts, std::vector<engine::DeviceInput> devices) {
  engine::Input in;
  in.kind = engine::Input::Kind::Measurement;
  in.location = "home";
  in.timestamp_ms = ts;
  in.devices = std::move(devices);
  return in;
}

inline engine::DeviceInput motion(std::string_view id, std::vector<engine::ParamValue> params,
                                  std::vector<std::string_view> updated) {
  return engine::DeviceInput{id, 9138, "Motion", std::move(params), std::move(updated)};
}

inline engine::Input mode(int64_t ts, std::string_view m) {
  engine::Input in;
  in.kind = engine::Input::Kind::Mode;
  in.location = "home";
  in.timestamp_ms = ts;
  in.mode = m;
  return in;
}

inline std::vector<std::string> heard(const json &state) {
  return state.value("heard", std::vector<std::string>{});
}

}  // namespace livebot::test::probe

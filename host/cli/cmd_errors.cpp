// livebot errors: recorded callback failures, newest first.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "common/iso_time.hpp"
#include "store/store.hpp"

namespace livebot::cli {

void add_errors(CLI::App &app, std::vector<Command> &out) {
  struct Opts {
    std::string store = "livebot.db", bot;
    size_t limit = 50;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto *sub = app.add_subcommand("errors", "List recorded callback failures, newest first");
  sub->add_option("--store,-s", o->store, "Store file")->capture_default_str()->check(CLI::ExistingFile);
  sub->add_option("--bot,-b", o->bot, "Only this bot's failures");
  sub->add_option("--limit,-n", o->limit, "At most this many")->capture_default_str()->check(CLI::Range(size_t{1}, size_t{1'000'000}));
  sub->add_flag("--json", o->json, "Print as JSON");
  out.push_back({sub, [o]() {
                   auto st = store::open_sqlite_store(o->store, {.create = false, .read_only = true});
                   const auto errors = st->list_errors(o->bot, o->limit);
                   if (o->json) {
                     nlohmann::json arr = nlohmann::json::array();
                     for (const auto &e : errors)
                       arr.push_back({{"id", e.id},
                                      {"time", iso_time(e.wall_ms)},
                                      {"event_time", iso_time(e.event_ms)},
                                      {"event_ms", e.event_ms},
                                      {"bot", e.bot},
                                      {"location", e.location},
                                      {"microservice", e.microservice},
                                      {"version", e.version},
                                      {"callback", e.callback},
                                      {"message", e.message}});
                     std::cout << arr.dump(2) << '\n';
                     return kExitOk;
                   }
                   if (errors.empty()) std::cout << "no recorded errors\n";
                   for (const auto &e : errors)
                     std::cout << iso_time(e.event_ms) << "  " << e.location << "  " << e.microservice << " "
                               << e.version << "  " << e.callback << ": " << e.message << '\n';
                   return kExitOk;
                 }});
}

}  // namespace livebot::cli

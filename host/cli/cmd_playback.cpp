// livebot playback RECORDING --bot DIR: a recording through a bot in
// virtual time.
#include <filesystem>
#include <iostream>
#include <limits>
#include <system_error>
#include <tuple>
#include <utility>

#include "cli/commands.hpp"
#include "playback/playback.hpp"
#include "playback/progress.hpp"

namespace livebot::cli {

namespace {

// "MICROSERVICE=FILE" from position `from` of `v` (`form`, the whole of it),
// the file named on the command line: a typo is a usage error, not a refused
// build. `why` gets the reason it is not one.
std::pair<std::string, std::string> parse_name_file(const std::string &v, size_t from, const char *form,
                                                    std::string *why) {
  const auto eq = v.find('=', from);
  if (eq == std::string::npos || eq == from || eq + 1 == v.size()) {
    if (why) *why = "'" + v + "' is not " + form;
    return {};
  }
  std::string file = v.substr(eq + 1);
  if (std::error_code ec; !std::filesystem::is_regular_file(file, ec) && why) *why = "'" + file + "' is not a file";
  return {v.substr(from, eq - from), std::move(file)};
}

// "ROW:MICROSERVICE=FILE"; `why` gets the reason it is not one.
playback::SwapAt parse_swap(const std::string &v, std::string *why) {
  playback::SwapAt sw;
  const auto colon = v.find(':');
  if (colon == std::string::npos || colon == 0) {
    if (why) *why = "'" + v + "' is not ROW:MICROSERVICE=FILE";
    return sw;
  }
  const std::string row = v.substr(0, colon);
  if (row.find_first_not_of("0123456789") != std::string::npos || row.size() > 15) {
    if (why) *why = "'" + row + "' is not a row number";
    return sw;
  }
  sw.row = std::stoll(row);
  std::tie(sw.microservice, sw.file) = parse_name_file(v, colon + 1, "ROW:MICROSERVICE=FILE", why);
  return sw;
}

}  // namespace

void add_playback(CLI::App &app, std::vector<Command> &out) {
  auto opts = std::make_shared<playback::PlaybackOptions>();
  auto json = std::make_shared<bool>(false);
  auto quiet = std::make_shared<bool>(false);
  auto swaps = std::make_shared<std::vector<std::string>>();
  auto retired = std::make_shared<std::vector<std::string>>();
  auto *sub = app.add_subcommand("playback", "Play a botengine recording (.json or .zip) through a bot in virtual time");
  sub->add_option("recording", opts->recording, "Recording file (.json, or the .zip that holds one)")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--bot,-b", opts->bot_dir, "Bot directory (bot.json and its plugins)")->required();
  sub->add_option("--store,-s", opts->store_path,
                  "Store file to keep memory in (default: OUT/playback.db, started afresh each run)");
  sub->add_option("--out,-o", opts->out_dir, "Output directory: summary, notifications, plugin log")
      ->capture_default_str();
  sub->add_flag("--resume", opts->resume, "Go on from where the last commit in the store left this recording");
  sub->add_option("--stop-at-row", opts->stop_at_row, "Stop before this row (play part of a recording)")
      ->check(CLI::Range(int64_t{0}, std::numeric_limits<int64_t>::max()));
  sub->add_option("--commit-every", opts->commit_every, "Executions per committed transaction")
      ->check(CLI::Range(int64_t{1}, int64_t{10'000'000}))
      ->capture_default_str();
  sub->add_option("--swap", *swaps,
                  "Offer a new build of a microservice before a row, as a live host's watcher would: "
                  "ROW:MICROSERVICE=FILE (repeatable)")
      ->type_name("ROW:NAME=FILE")
      ->check([](const std::string &v) {
        std::string why;
        parse_swap(v, &why);
        return why;
      });
  sub->add_option("--retired-plugin", *retired,
                  "The plugin of a microservice bot.json no longer names, so that retiring its stored state calls "
                  "its destroy() (without it, the state is purged and destroy is not called): "
                  "MICROSERVICE=FILE (repeatable)")
      ->type_name("NAME=FILE")
      ->check([](const std::string &v) {
        std::string why;
        parse_name_file(v, 0, "MICROSERVICE=FILE", &why);
        return why;
      });
  sub->add_option("--probation", opts->probation_executions,
                  "Executions a swapped-in version must pass before the old one is unloaded")
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000}))
      ->capture_default_str();
  sub->add_flag("--json", *json, "Print the summary as JSON");
  sub->add_flag("--quiet,-q", *quiet, "No progress bar");
  out.push_back({sub, [opts, json, quiet, swaps, retired]() {
                   for (const auto &v : *swaps) opts->swaps.push_back(parse_swap(v, nullptr));
                   for (const auto &v : *retired) opts->retired_plugins.insert(parse_name_file(v, 0, "", nullptr));
                   opts->progress = !*json && !*quiet && playback::stderr_is_tty();
                   const auto sum = playback::run_playback(*opts);
                   if (*json) std::cout << sum.to_json().dump(2) << '\n';
                   else std::cout << sum.to_text();
                   return kExitOk;
                 }});
}

}  // namespace livebot::cli

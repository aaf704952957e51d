// livebot — the command line. Each subcommand lives in its own file
// (cmd_*.cpp) and registers itself here; exit codes mean the same
// everywhere (see exit_codes.hpp).
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <set>
#include <string>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "common/log.hpp"

namespace {

// CLI11 gives an option that wants a value the next word, whatever it is:
// `send home --remove-device --json` would remove a device named "--json".
// A value that is one of the command's own options is refused instead.
void refuse_options_as_values(CLI::App &app, const std::vector<livebot::cli::Command> &commands) {
  for (const auto &c : commands) {
    auto names = std::make_shared<std::set<std::string>>();
    for (const CLI::App *scope : {static_cast<const CLI::App *>(&app), static_cast<const CLI::App *>(c.sub)})
      for (const auto *opt : scope->get_options()) {
        for (const auto &l : opt->get_lnames()) names->insert("--" + l);
        for (const auto &s : opt->get_snames()) names->insert("-" + s);
      }
    const CLI::Validator not_an_option(
        [names](std::string &value) {
          // "--json", "--socket=x", or a short one with its value attached ("-t10014").
          const auto name = value.rfind("--", 0) == 0 ? value.substr(0, value.find('=')) : value.substr(0, 2);
          return names->count(name) ? "'" + value + "' reads as the option " + name + ", not a value: the value is missing"
                                    : std::string();
        },
        "");
    for (auto *opt : c.sub->get_options())
      if (opt->nonpositional() && opt->get_items_expected_min() > 0) opt->check(not_an_option);
  }
}

}  // namespace

int main(int argc, char **argv) {
  using namespace livebot::cli;
  CLI::App app{"livebot — a host for live bots: hot-reloadable C++ microservices with their memory in a store",
               "livebot"};
  app.set_version_flag("--version", std::string("livebot ") + LIVEBOT_VERSION);
  app.require_subcommand(1);
  // Subcommands pass options they do not know up to here, so `--log-level`
  // works before or after the subcommand.
  app.fallthrough();
  std::string level = std::getenv("LIVEBOT_LOG") ? std::getenv("LIVEBOT_LOG") : "warn";
  app.add_option("--log-level", level, "Host log level: trace, debug, info, warn, error, off (env LIVEBOT_LOG)")
      ->capture_default_str();

  std::vector<Command> commands;
  add_playback(app, commands);
  add_errors(app, commands);
  add_state(app, commands);
  add_live(app, commands);
  add_dev(app, commands);
  add_new(app, commands);
  add_gate(app, commands);
  add_check_plugin(app, commands);
  refuse_options_as_values(app, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success &e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError &e) {
    // One line, like every other refusal, naming the subcommand at fault.
    std::string where = "livebot";
    for (const auto *sub = &app; !sub->get_subcommands().empty();) {
      sub = sub->get_subcommands().front();
      where += " " + sub->get_name();
    }
    // A word that names no command is an extra argument to CLI11, which
    // then only says that a command is missing.
    const auto extra = app.remaining();
    if (where == "livebot" && !extra.empty() && extra.front().rfind('-', 0) != 0)
      std::cerr << "livebot: unknown command '" << extra.front() << "' (see livebot --help)\n";
    else
      std::cerr << where << ": " << e.what() << " (see " << where << " --help)\n";
    return kExitUsage;
  }
  try {
    livebot::setup_logging(level);
  } catch (const livebot::Error &e) {
    std::cerr << "livebot: " << e.what() << " (see livebot --help)\n";
    return kExitUsage;
  }
  try {
    for (auto &c : commands)
      if (*c.sub) {
        try {
          return c.run();
        } catch (const UsageError &e) {
          const std::string where = "livebot " + c.sub->get_name();
          std::cerr << where << ": " << e.what() << " (see " << where << " --help)\n";
          return kExitUsage;
        }
      }
  } catch (const livebot::Error &e) {
    std::cerr << "livebot: " << e.what() << '\n';
    return kExitFailure;
  } catch (const std::exception &e) {
    std::cerr << "livebot: unexpected error: " << e.what() << '\n';
    return kExitFailure;
  }
  return kExitUsage;
}

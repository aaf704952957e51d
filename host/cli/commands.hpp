// The subcommands of `livebot`. Each add_* registers its options on the app
// and appends the function that runs it.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <stdexcept>
#include <vector>

namespace livebot::cli {

// Exit codes, the same for every subcommand.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;  // bad input, a refused plugin, a store error: one line on stderr
constexpr int kExitUsage = 2;    // the command line itself is wrong
constexpr int kExitNotFound = 3; // the thing asked for is not in the store
// livebot run only (supervise/): 4 the host crashed in a loop and the
// supervisor gave up; a host process (--no-supervise) exits 5 when the
// watchdog ended it and 6 when an allocation failed at --memory-limit.

// A command line that parses but makes no sense (a needed argument left out,
// a value of the wrong shape): exits kExitUsage, printed as
// "livebot SUB: what (see livebot SUB --help)".
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Command {
  CLI::App *sub;
  std::function<int()> run;
};

void add_playback(CLI::App &app, std::vector<Command> &out);
void add_errors(CLI::App &app, std::vector<Command> &out);
void add_state(CLI::App &app, std::vector<Command> &out);
void add_live(CLI::App &app, std::vector<Command> &out);  // run, send, status, reload
void add_dev(CLI::App &app, std::vector<Command> &out);
void add_new(CLI::App &app, std::vector<Command> &out);           // new microservice
void add_gate(CLI::App &app, std::vector<Command> &out);
void add_check_plugin(CLI::App &app, std::vector<Command> &out);

}  // namespace livebot::cli

// livebot dev: edit, rebuild, replay, and see what changed.
#include "cli/commands.hpp"
#include "dev/dev_loop.hpp"

namespace livebot::cli {

void add_dev(CLI::App &app, std::vector<Command> &out) {
  auto o = std::make_shared<dev::DevOptions>();
  auto build_dir = std::make_shared<std::string>();
  auto *sub = app.add_subcommand(
      "dev", "The dev loop: watch plugin sources, rebuild, replay a recording, show what the new build did differently");
  sub->add_option("--bot,-b", o->bot_dir, "Bot directory, as the build leaves it")->required();
  sub->add_option("--recording,-r", o->recording, "Recording to replay after each build (from the start, or --feed)")
      ->check(CLI::ExistingFile);
  sub->add_option("--source", o->sources, "Source directory to watch (repeatable)")->check(CLI::ExistingDirectory);
  sub->add_option("--build", *build_dir, "Build directory: rebuild with `ninja -C DIR`")->check(CLI::ExistingDirectory);
  sub->add_option("--build-cmd", o->build_command, "Or any shell command that rebuilds the bot's plugins");
  sub->add_option("--out,-o", o->out_dir, "Where replays keep their output")->capture_default_str();
  sub->add_option("--debounce-ms", o->debounce_ms, "Quiet time after an edit before building")
      ->check(CLI::Range(int64_t{0}, int64_t{60'000}))
      ->capture_default_str();
  sub->add_option("--feed", o->feed_rows,
                  "Keep feeding the recording: play this many more rows after each build, on the memory the "
                  "earlier builds left (0: replay from the start)")
      ->check(CLI::Range(int64_t{0}, int64_t{1'000'000'000}))
      ->capture_default_str();
  sub->add_option("--cycles", o->cycles, "Stop after this many builds (0: until Ctrl-C)")
      ->check(CLI::Range(int64_t{0}, int64_t{1'000'000}))
      ->capture_default_str();
  out.push_back({sub, [o, build_dir]() {
                   if (!build_dir->empty() && o->build_command.empty()) o->build_command = "ninja -C '" + *build_dir + "'";
                   return dev::run_dev_loop(*o);
                 }});
}

}  // namespace livebot::cli

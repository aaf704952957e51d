// livebot gate OLD NEW: the host's schema gate on two files, without a
// store or a plugin: may state written under OLD be read under NEW? A
// plugin's build runs it on state.previous.fbs and state.fbs, so an
// incompatible change fails the build with the line a reload would refuse it
// with (docs/SDK.md, "Build-time checks").
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "schema/gate.hpp"
#include "schema/schema_file.hpp"

namespace livebot::cli {

void add_gate(CLI::App &app, std::vector<Command> &out) {
  struct Opts {
    std::string stored, next;
  };
  auto o = std::make_shared<Opts>();
  auto *sub = app.add_subcommand("gate", "Check that a state schema can read what an older one wrote, as the host's "
                                         "schema gate does before a plugin runs on stored state");
  sub->add_option("old", o->stored, "The schema that wrote the state: .fbs, or .bfbs as flatc writes it")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("new", o->next, "The schema that is to read it: .fbs or .bfbs")->required()->check(CLI::ExistingFile);
  out.push_back({sub, [o]() {
                   // As a build passes them ("../livebot/../state.fbs"), but without the detour.
                   const auto stored = std::filesystem::path(o->stored).lexically_normal().string();
                   const auto next = std::filesystem::path(o->next).lexically_normal().string();
                   const auto problems =
                       schema::check_compatible(schema::read_schema_file(stored), schema::read_schema_file(next));
                   if (!problems.empty())
                     throw Error(next, "schema cannot read state written under " + stored + ": " +
                                           schema::refusal_line(problems));
                   std::cout << next << ": can read state written under " << stored << '\n';
                   return kExitOk;
                 }});
}

}  // namespace livebot::cli

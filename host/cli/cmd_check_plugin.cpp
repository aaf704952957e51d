// livebot check-plugin FILE...: the checks the loader makes of a plugin file
// before it maps it, without mapping it: a complete ELF shared object for
// this machine, and no STB_GNU_UNIQUE symbols (a library with one is never
// unloaded, so a reload could not replace it). A plugin's build runs it on
// the .so it links (docs/SDK.md, "Build-time checks").
#include <iostream>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "common/read_file.hpp"
#include "loader/elf_check.hpp"

namespace livebot::cli {

void add_check_plugin(CLI::App &app, std::vector<Command> &out) {
  auto files = std::make_shared<std::vector<std::string>>();
  auto *sub = app.add_subcommand("check-plugin", "Check plugin files as the loader does before loading them: "
                                                 "complete ELF, no STB_GNU_UNIQUE symbols (nothing is loaded)");
  sub->add_option("files", *files, "Plugin .so files")->required()->check(CLI::ExistingFile);
  out.push_back({sub, [files]() {
                   for (const auto &file : *files) {
                     const std::string bytes = read_whole_file(file);
                     loader::check_elf(bytes, file);
                     if (const auto unique = loader::gnu_unique_symbols(bytes); !unique.empty())
                       throw Error(file, loader::gnu_unique_problem(unique));
                     std::cout << file << ": a complete shared object, no STB_GNU_UNIQUE symbols\n";
                   }
                   return kExitOk;
                 }});
}

}  // namespace livebot::cli

// livebot new microservice NAME: a microservice project of one's own, outside
// this tree, that builds, tests and plays a recording against the installed
// SDK as generated (docs/SDK.md, "Start a microservice").
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <limits>

#include "cli/commands.hpp"
#include "scaffold/scaffold.hpp"

namespace livebot::cli {

void add_new(CLI::App &app, std::vector<Command> &out) {
  struct Opts {
    std::string name, dir = ".";
    int32_t device_type = 0;
  };
  auto o = std::make_shared<Opts>();
  auto *group = app.add_subcommand("new", "Start a project of your own from the SDK's templates");
  group->require_subcommand(1);
  auto *sub = group->add_subcommand(
      "microservice", "A microservice project in DIR/NAME: meson.build against the installed SDK, the class, its "
                      "state schema, a bot.json, and a test that plays a small recording through it");
  sub->add_option("name", o->name, "The microservice's name: lower-case letters, digits and _ (its namespace and .so)")
      ->required()
      ->check([](const std::string &v) { return scaffold::name_problem(v); });
  sub->add_option("--device-type", o->device_type,
                  "A device microservice, one instance per device of this type (default: a location microservice)")
      ->check(CLI::Range(int32_t{1}, std::numeric_limits<int32_t>::max()));
  sub->add_option("--dir", o->dir, "The directory to create NAME in")
      ->capture_default_str()
      ->check(CLI::ExistingDirectory);
  out.push_back({sub, [o]() {
                   const auto kind = o->device_type > 0 ? scaffold::Kind::Device : scaffold::Kind::Location;
                   const std::string templates = scaffold::template_dir();
                   const std::string project = (std::filesystem::path(o->dir) / o->name).lexically_normal().string();
                   const auto files = scaffold::write_project({o->name, kind, o->device_type}, templates, project);
                   std::cout << "created " << project << ": a "
                             << (kind == scaffold::Kind::Device
                                     ? "device microservice for devices of type " + std::to_string(o->device_type)
                                     : std::string("location microservice"))
                             << ", from " << templates << '\n';
                   for (const auto &f : files) std::cout << "  " << f << '\n';
                   std::cout << "build it and run its test:\n  cd " << project
                             << " && meson setup build && ninja -C build && meson test -C build\n";
                   return kExitOk;
                 }});
}

}  // namespace livebot::cli

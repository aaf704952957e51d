// The SDK as an author outside this tree gets it (sdk_install.hpp): the
// install's layout and livebot-sdk.pc, and a plugin project of its own set up
// by hand with the installed plugin rules (template/livebot/meson.build),
// built with meson and ninja against that install only, played through the
// sample recording by the installed `livebot`.
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "integration/sdk_install.hpp"
#include "playback/recording.hpp"

using namespace livebot;
using livebot::test::Cli;
using livebot::test::installed;
using livebot::test::missing_tool;
using livebot::test::output_of;
using livebot::test::TempDir;
using livebot::test::trimmed;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string sample = LIVEBOT_SAMPLE_RECORDING;
const std::string bot_v1 = LIVEBOT_BOT_DIR "/lesson2-v1";

// The flags docs/SDK.md promises a plugin's schema is compiled with.
const std::string flatc_flags = "--cpp --gen-object-api --gen-name-strings --scoped-enums --bfbs-gen-embed";

bool has_word(const std::string &line, const std::string &word) {
  return (" " + trimmed(line) + " ").find(" " + word + " ") != std::string::npos;
}

json state_of(const std::string &livebot, const std::string &store, const std::string &location) {
  const auto r = Cli(livebot).run({"state", location, "--json", "--store", store});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

const json &only_instance(const json &st) {
  REQUIRE(st["instances"].size() == 1);
  return st["instances"][0];
}

// The author's microservice: lesson 2 v1's schema (so its hash can be
// compared with the in-tree build's), a class of its own.
const char *const microservice_cpp = R"(#include <livebot/sdk.hpp>

#include "state_bfbs_generated.h"
#include "state_generated.h"

namespace {

class OutOfTree : public livebot::Microservice<lesson2::LocationMemoryT> {
 public:
  void construct() override { state().legacy_note = "built out of tree"; }

  void mode_updated(std::string_view mode) override {
    ++state().mode_updates;
    state().last_mode = std::string(mode);
  }

  void device_measurements_updated(const livebot::Device &) override {
    const auto stored = host().load_variable("measurements_seen");
    host().save_variable("measurements_seen", (stored ? stored->as_int().value_or(0) : 0) + 1);
  }
};

}  // namespace

LIVEBOT_MICROSERVICE(OutOfTree, "out_of_tree", "1.0.0", lesson2::LocationMemoryBinarySchema)
)";

const char *const project_meson_build = R"(project('my_microservice', 'cpp',
  default_options: ['cpp_std=c++20', 'warning_level=2', 'werror=true'])
sdk = dependency('livebot-sdk')
subdir('livebot')
)";

const char *const bot_json = R"({
  "bot": "out-of-tree",
  "version": "1.0.0",
  "microservices": {
    "location": [ { "name": "out_of_tree", "plugin": "my_microservice.so" } ]
  }
}
)";

}  // namespace

TEST_CASE("meson install puts the SDK under the prefix: headers, schema, livebot-sdk.pc, the template",
          "[sdk]") {
  if (const auto why = missing_tool(); !why.empty()) {
    WARN("skipped: " << why);
    return;
  }
  const auto &in = installed();
  INFO(output_of(in.result));
  REQUIRE(in.result.exit_code == 0);

  CHECK(fs::is_regular_file(in.livebot()));
  for (const auto *h : {"livebot.h", "sdk.hpp", "livebot_event_generated.h"})
    CHECK(fs::is_regular_file(in.includedir + "/livebot/" + h));
  CHECK(fs::is_regular_file(in.datadir + "/livebot/schemas/livebot_event.fbs"));
  CHECK(fs::is_regular_file(in.templates() + "/livebot/meson.build"));
  REQUIRE(fs::is_regular_file(in.pkgconfig_dir() + "/livebot-sdk.pc"));
  REQUIRE(in.relocatable());

  // Relocatable: the installed .pc is the one found, and it points into the
  // destdir, not at the configured prefix.
  const auto inc = in.pkg({"--variable=includedir", "livebot-sdk"});
  REQUIRE(inc.exit_code == 0);
  CHECK(fs::equivalent(trimmed(inc.out), in.includedir));
  for (const auto *var : {"schemadir", "templatedir"}) {
    const auto dir = in.pkg({std::string("--variable=") + var, "livebot-sdk"});
    CHECK(fs::is_directory(trimmed(dir.out)));
  }
  CHECK(fs::equivalent(trimmed(in.pkg({"--variable=livebot", "livebot-sdk"}).out), in.livebot()));

  const auto cflags = in.pkg({"--cflags", "livebot-sdk"});
  REQUIRE(cflags.exit_code == 0);
  INFO("cflags: " << cflags.out);
  for (const auto *f : {"-std=c++20", "-fPIC", "-fno-gnu-unique", "-fvisibility=hidden"})
    CHECK(has_word(cflags.out, f));

  // Headers are all a plugin needs of flatbuffers: it is required (version
  // checked) but links nothing.
  const auto libs = in.pkg({"--libs", "livebot-sdk"});
  REQUIRE(libs.exit_code == 0);
  INFO("libs: " << libs.out);
  CHECK(has_word(libs.out, "-shared"));
  CHECK(has_word(libs.out, "-Wl,--no-undefined"));
  CHECK(libs.out.find("flatbuffers") == std::string::npos);

  const auto flatc = in.pkg({"--variable=flatc", "livebot-sdk"});
  CHECK(fs::is_regular_file(trimmed(flatc.out)));
  CHECK(trimmed(in.pkg({"--variable=flatc_flags", "livebot-sdk"}).out) == flatc_flags);

  // The guide shows the installed plugin rules as they are.
  const auto helper = test::read_file(in.templates() + "/livebot/meson.build");
  CHECK(!helper.empty());
  CHECK(test::read_file(test::source_root + "/docs/SDK.md").find(helper) != std::string::npos);
}

TEST_CASE("a plugin built out of tree against the installed SDK plays the sample, its schema hashed as in the tree",
          "[sdk][playback]") {
  if (const auto why = missing_tool(); !why.empty()) {
    WARN("skipped: " << why);
    return;
  }
  const auto &in = installed();
  INFO(output_of(in.result));
  REQUIRE(in.result.exit_code == 0);
  REQUIRE(in.relocatable());

  // The author's project, by hand: a meson.build of its own, the installed
  // plugin rules, a state schema, one class, a bot.json.
  TempDir project;
  fs::create_directories(project / "src/livebot");
  test::write_file(project / "src/meson.build", project_meson_build);
  fs::copy_file(in.templates() + "/livebot/meson.build", project / "src/livebot/meson.build");
  fs::copy_file(test::source_root + "/plugins/lesson2_memory/v1/state.fbs", project / "src/state.fbs");
  test::write_file(project / "src/microservice.cpp", microservice_cpp);
  test::write_file(project / "src/bot.json", bot_json);

  const auto setup = in.run({test::meson, "setup", "build", "src"}, project.path());
  INFO(output_of(setup));
  REQUIRE(setup.exit_code == 0);
  const auto build = in.run({test::ninja, "-C", "build"}, project.path());
  INFO(output_of(build));
  REQUIRE(build.exit_code == 0);

  // The build leaves a bot directory: bot.json beside the checked plugin.
  const std::string bot = project / "build/livebot";
  const std::string so = bot + "/my_microservice.so";
  CHECK(fs::is_regular_file(bot + "/bot.json"));
  CHECK(fs::is_regular_file(bot + "/my_microservice.so.checked"));
  REQUIRE(fs::is_regular_file(so));
  // Built with the SDK's flags, the schema through the SDK's flatc rule, and
  // with no flatbuffers library to load.
  const auto commands = test::read_file(project / "build/compile_commands.json");
  CHECK(commands.find("-fno-gnu-unique") != std::string::npos);
  const auto rules = test::read_file(project / "build/build.ninja");
  CHECK(rules.find("-Wl,--no-undefined") != std::string::npos);
  CHECK(rules.find(flatc_flags) != std::string::npos);
  CHECK(test::read_file(so).find("libflatbuffers") == std::string::npos);

  // Played by the installed host.
  const Cli livebot(in.livebot());
  const auto played = livebot.run({"playback", "--json", "-q", sample, "--bot", bot, "--out", project / "out"});
  INFO(played.err);
  REQUIRE(played.exit_code == 0);
  const auto sum = json::parse(played.out);
  CHECK(sum["complete"] == true);
  CHECK(sum["errors"] == 0);
  REQUIRE(sum["microservices"].size() == 1);
  const auto &ms = sum["microservices"][0];
  CHECK(ms["name"] == "out_of_tree");
  CHECK(ms["errors"] == 0);
  const auto &cbs = ms["callbacks"];
  CHECK(cbs["construct"] == 1);
  CHECK(cbs["mode_updated"].get<int64_t>() > 0);
  CHECK(cbs["device_measurements_updated"].get<int64_t>() > 0);

  const auto location = playback::read_recording(sample).location_id;
  const auto st = state_of(in.livebot(), sum["store"], location);
  const auto &inst = only_instance(st);
  CHECK(inst["microservice"] == "out_of_tree");
  CHECK(inst["state"]["legacy_note"] == "built out of tree");
  CHECK(inst["state"]["mode_updates"] == cbs["mode_updated"]);
  REQUIRE(st["variables"].size() == 1);
  CHECK(st["variables"][0]["name"] == "measurements_seen");
  CHECK(st["variables"][0]["value"] == cbs["device_measurements_updated"]);

  // The same schema built in the tree (lesson 2 v1) embeds the same binary
  // schema: the stored state is tagged with the same hash.
  const auto in_tree = Cli(LIVEBOT_CLI).run({"playback", "--json", "-q", sample, "--bot", bot_v1, "--out",
                                             project / "in-tree"});
  INFO(in_tree.err);
  REQUIRE(in_tree.exit_code == 0);
  const auto v1 = state_of(LIVEBOT_CLI, json::parse(in_tree.out)["store"], location);
  CHECK(only_instance(v1)["schema"] == inst["schema"]);
  CHECK(only_instance(v1)["root_type"] == inst["root_type"]);
}

// A microservice of an author's own, from `livebot new` to a build that
// refuses what the host would refuse. The project is written by the
// installed livebot from the installed template and built with meson and
// ninja against that install only (sdk_install.hpp); it runs its own
// generated test and plays its recording. An incompatible state schema, and
// a plugin built without -fno-gnu-unique, each fail its build with the
// host's one-line reason. The commands behind those checks (`livebot gate`,
// `livebot check-plugin`) and the refusals of `livebot new` are tested on
// this tree's own build.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>

#include "integration/sdk_install.hpp"

using livebot::test::Cli;
using livebot::test::CliResult;
using livebot::test::installed;
using livebot::test::missing_tool;
using livebot::test::output_of;
using livebot::test::read_file;
using livebot::test::TempDir;
using livebot::test::write_file;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const Cli cli(LIVEBOT_CLI);
const std::string plugins = LIVEBOT_TEST_PLUGIN_DIR;
const std::string counter_schemas = livebot::test::source_root + "/tests/plugins/counter/";

const std::vector<std::string> project_files = {
    "bot.json",           "livebot/meson.build", "meson.build",          "microservice.cpp",
    "state.fbs",          "state.previous.fbs",  "tests/main.cpp",       "tests/meson.build",
    "tests/recording.json", "tests/test_door_watch.cpp"};

bool contains(const std::string &text, const std::string &part) { return text.find(part) != std::string::npos; }

bool one_line(const std::string &text) { return !text.empty() && text.find('\n') == text.size() - 1; }

// The template directory `livebot new` says it wrote from.
std::string templates_used(const CliResult &created) {
  const std::string from = ", from ";
  const auto at = created.out.find(from);
  if (at == std::string::npos) return "";
  return created.out.substr(at + from.size(), created.out.find('\n') - at - from.size());
}

// A project written by `livebot new` from the installed SDK and built, once
// per test binary.
struct Project {
  TempDir dir;
  std::string root;
  CliResult created, setup, built;

  Project(const std::string &name, const std::vector<std::string> &options, const std::vector<std::string> &targets) {
    const auto &in = installed();
    std::vector<std::string> args = {"new", "microservice", name, "--dir", dir.path()};
    args.insert(args.end(), options.begin(), options.end());
    created = Cli(in.livebot()).run(args);
    root = dir / name;
    if (created.exit_code != 0) return;
    setup = in.run({livebot::test::meson, "setup", "build"}, root);
    if (setup.exit_code == 0) built = ninja(targets);
  }

  std::string operator/(const std::string &relative) const { return root + "/" + relative; }

  CliResult ninja(const std::vector<std::string> &args = {}) const {
    std::vector<std::string> argv = {livebot::test::ninja, "-C", "build"};
    argv.insert(argv.end(), args.begin(), args.end());
    return installed().run(argv, root);
  }

  // The recording the project ships, played through the bot its build left.
  CliResult play(const std::vector<std::string> &args) const {
    std::vector<std::string> argv = {"playback", "-q", *this / "tests/recording.json", "--bot",
                                     *this / "build/livebot"};
    argv.insert(argv.end(), args.begin(), args.end());
    return Cli(installed().livebot()).run(argv);
  }
};

// door_watch, a location microservice, with everything built.
const Project &location_project() {
  static const Project project("door_watch", {}, {});
  return project;
}

// Every test that builds needs the install and the tools; REQUIREs a project.
#define REQUIRE_BUILT(project)                \
  INFO(output_of(installed().result));        \
  REQUIRE(installed().result.exit_code == 0); \
  REQUIRE(installed().relocatable());         \
  INFO(output_of((project).created));         \
  REQUIRE((project).created.exit_code == 0);  \
  INFO(output_of((project).setup));           \
  REQUIRE((project).setup.exit_code == 0);    \
  INFO(output_of((project).built));           \
  REQUIRE((project).built.exit_code == 0)

#define SKIP_WITHOUT_TOOLS()                           \
  if (const auto why = missing_tool(); !why.empty()) { \
    WARN("skipped: " << why);                          \
    return;                                            \
  }

// Rewrites part of a file for one test, and puts the file back after it.
class Edit {
 public:
  Edit(std::string path, const std::string &from, const std::string &to)
      : path_(std::move(path)), original_(read_file(path_)) {
    std::string text = original_;
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    write_file(path_, text.replace(at, from.size(), to));
  }
  ~Edit() { write_file(path_, original_); }
  Edit(const Edit &) = delete;
  Edit &operator=(const Edit &) = delete;

 private:
  std::string path_, original_;
};

json state_of(const std::string &store) {
  const auto r = Cli(installed().livebot()).run({"state", "home", "--json", "--store", store});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

}  // namespace

TEST_CASE("livebot new writes a project that builds against the installed SDK, runs its own test, plays its recording",
          "[author]") {
  SKIP_WITHOUT_TOOLS();
  const auto &p = location_project();
  REQUIRE_BUILT(p);

  // Written from the installed template, each file listed.
  CHECK(contains(p.created.out, "a location microservice"));
  CHECK(fs::equivalent(templates_used(p.created), installed().templates()));
  for (const auto &file : project_files) {
    INFO(file);
    CHECK(contains(p.created.out, "\n  " + file + "\n"));
    const auto text = read_file(p / file);
    CHECK(!text.empty());
    for (const auto *left : {"@NAME@", "@CLASS@", "@KIND@", "@DEVICE_TYPE@", "@location@", "@device@"})
      CHECK(!contains(text, left));
  }
  // Its own meson.build is a few lines: the SDK and the installed rules, which
  // are copied as they are.
  const auto meson_build = read_file(p / "meson.build");
  CHECK(std::count(meson_build.begin(), meson_build.end(), '\n') <= 5);
  CHECK(contains(meson_build, "dependency('livebot-sdk')"));
  CHECK(read_file(p / "livebot/meson.build") == read_file(installed().templates() + "/livebot/meson.build"));

  // The build leaves a bot directory, its plugin checked and its schema
  // gated; a build with nothing changed runs no check again.
  for (const auto *file : {"bot.json", "door_watch.so", "door_watch.so.checked", "state.gate"})
    CHECK(fs::is_regular_file(p / ("build/livebot/" + std::string(file))));
  CHECK(contains(p.ninja().out, "no work to do"));

  const auto tested = installed().run({livebot::test::meson, "test", "-C", "build"}, p.root);
  INFO(output_of(tested));
  CHECK(tested.exit_code == 0);

  TempDir out;
  const auto played = p.play({"--json", "--out", out.path()});
  INFO(played.err);
  REQUIRE(played.exit_code == 0);
  const auto sum = json::parse(played.out);
  CHECK(sum["complete"] == true);
  CHECK(sum["rows_played"] == 5);
  CHECK(sum["errors"] == 0);
  REQUIRE(sum["microservices"].size() == 1);
  const auto &ms = sum["microservices"][0];
  CHECK(ms["name"] == "door_watch");
  CHECK(ms["version"] == "0.1.0");  // the project's
  CHECK(ms["callbacks"]["mode_updated"] == 1);
  CHECK(ms["callbacks"]["device_measurements_updated"] == 3);
  const auto st = state_of(sum["store"]);
  CHECK(st["instances"][0]["state"]["mode_changes"] == 1);
}

TEST_CASE("livebot dev --feed rebuilds an edit of the project and plays on, the memory of the last build kept",
          "[author][dev]") {
  SKIP_WITHOUT_TOOLS();
  const auto &p = location_project();
  REQUIRE_BUILT(p);
  TempDir out, scratch;
  // The author's shell: the installed livebot, the installed SDK first on
  // PKG_CONFIG_PATH for the build it runs.
  const std::string build = "PKG_CONFIG_PATH='" + installed().with_pkgconfig_path() + "' " + livebot::test::ninja +
                            " -C '" + (p / "build") + "'";
  const pid_t pid = Cli(installed().livebot())
                        .start({"dev", "--bot", p / "build/livebot", "--recording", p / "tests/recording.json",
                                "--source", p.root, "--build-cmd", build, "--feed", "3", "--out", out.path(),
                                "--debounce-ms", "50", "--cycles", "1"},
                               scratch.path());
  for (int i = 0; i < 3000 && read_file(scratch / "out").find("watching") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CliResult fed;
  {
    // Rows 0 to 3 on the build as it is (two measurements, one mode
    // change); the edit counts a measurement as ten, fed rows 3 to 5 (one
    // measurement) on top of that memory.
    const Edit edit(p / "microservice.cpp", "++state().measurements;", "state().measurements += 10;");
    fed = Cli::wait(pid, scratch.path());
  }
  INFO(fed.out << fed.err);
  REQUIRE(fed.exit_code == 0);
  CHECK(contains(fed.out, "fed rows 0 to 3 of 5"));
  CHECK(contains(fed.out, "on the memory rows 0 to 3 left"));
  CHECK(contains(fed.out, "changed: " + (p / "microservice.cpp")));
  CHECK(contains(fed.out, "build succeeded"));
  CHECK(contains(fed.out, "fed rows 3 to 5 of 5"));
  CHECK(contains(fed.out, "the recording is fed to its end"));
  const auto st = state_of(out / "feed/playback.db");
  CHECK(st["instances"][0]["state"]["measurements"] == 12);
  CHECK(st["instances"][0]["state"]["mode_changes"] == 1);
  CHECK(st["instances"][0]["state"]["last_mode"] == "HOME.DEFAULT.:.AWAY.AI");
  CHECK(p.ninja().exit_code == 0);  // the project as generated, for the tests after
}

TEST_CASE("the build refuses a state schema that cannot read the stored state, with the host's line",
          "[author][gate]") {
  SKIP_WITHOUT_TOOLS();
  const auto &p = location_project();
  REQUIRE_BUILT(p);
  TempDir out;
  const std::string store = out / "door_watch.db";
  const std::vector<std::string> into_store = {"--store", store, "--out", out.path()};
  // The first rows stored as the project was generated; the rest, later.
  auto first_rows = into_store;
  first_rows.insert(first_rows.end(), {"--stop-at-row", "2"});
  REQUIRE(p.play(first_rows).exit_code == 0);

  // A field's type changed; the released schema is state.previous.fbs.
  const Edit edit(p / "state.fbs", "measurements:ulong;", "measurements:int;");
  const std::string line = "door_watch.State.measurements: type changed from ulong to int";
  const auto built = p.ninja({"-k", "0"});  // and build the plugin too
  INFO(output_of(built));
  CHECK(built.exit_code != 0);
  const std::string refusal = "schema cannot read state written under ../state.previous.fbs: " + line;
  CHECK(contains(output_of(built), "livebot: ../state.fbs: " + refusal + "\n"));

  // The host refuses that build on the stored state with the same line.
  auto the_rest = into_store;
  the_rest.push_back("--resume");
  const auto refused = p.play(the_rest);
  INFO(refused.err);
  CHECK(refused.exit_code == 1);
  CHECK(one_line(refused.err));
  CHECK(contains(refused.err, "schema cannot read the stored state of 'door_watch': " + line + "\n"));
}

TEST_CASE("the build refuses a plugin built without -fno-gnu-unique, with the loader's line", "[author][unique]") {
  SKIP_WITHOUT_TOOLS();
  const auto &p = location_project();
  REQUIRE_BUILT(p);
  // livebot-sdk.pc's -fno-gnu-unique comes after any cpp_args option, so
  // only a target's own arguments can turn it off: a copy of the rules that
  // does.
  const Edit edit(p / "livebot/meson.build", "cpp_args: [", "cpp_args: ['-fgnu-unique', ");
  // And code that makes such a symbol: std::to_string's digit table is an
  // inline static of the standard library's, of default visibility whatever
  // the plugin's own (its own inline statics are hidden, so never unique).
  const Edit used(p / "microservice.cpp", "state().last_mode = std::string(mode);",
                  "state().last_mode = std::string(mode) + std::to_string(state().mode_changes);");
  const auto built = p.ninja();
  INFO(output_of(built));
  CHECK(built.exit_code != 0);
  CHECK(contains(output_of(built), "livebot: livebot/door_watch.so: has STB_GNU_UNIQUE symbol '"));
  CHECK(contains(output_of(built), "; build with -fno-gnu-unique\n"));
}

TEST_CASE("livebot new --device-type writes a device microservice that builds and plays its recording", "[author]") {
  SKIP_WITHOUT_TOOLS();
  // Its plugin only: the generated test is the location one's program.
  const Project p("door_sensor", {"--device-type", "10014"}, {"livebot/door_sensor.so.checked", "livebot/state.gate"});
  REQUIRE_BUILT(p);
  CHECK(contains(p.created.out, "a device microservice for devices of type 10014"));
  CHECK(contains(read_file(p / "bot.json"), R"("device_types": [10014])"));
  CHECK(!contains(read_file(p / "bot.json"), R"("location")"));
  CHECK(contains(read_file(p / "microservice.cpp"), "void device_alert("));
  CHECK(!contains(read_file(p / "microservice.cpp"), "void mode_updated("));

  TempDir out;
  const auto played = p.play({"--json", "--out", out.path()});
  INFO(played.err);
  REQUIRE(played.exit_code == 0);
  const auto sum = json::parse(played.out);
  CHECK(sum["errors"] == 0);
  CHECK(sum["microservices"][0]["callbacks"]["device_alert"] == 1);
  const auto st = state_of(sum["store"]);
  REQUIRE(st["instances"].size() == 1);
  CHECK(st["instances"][0]["device"] == "sensor");
  CHECK(st["instances"][0]["state"]["alerts"] == 1);
  CHECK(st["instances"][0]["state"]["last_alert"] == "tamper");
}

TEST_CASE("livebot new refuses a bad name, and a directory in use, in one line", "[author][cli]") {
  TempDir dir;
  for (const auto *name : {"Door", "door-watch", "2door", "door__watch", "class", "livebot"}) {
    INFO(name);
    const auto r = cli.run({"new", "microservice", name, "--dir", dir.path()});
    CHECK(r.exit_code == 2);
    CHECK(one_line(r.err));
    CHECK(contains(r.err, "livebot new microservice: "));
  }
  CHECK(fs::is_empty(dir.path()));

  fs::create_directories(dir / "door_watch");
  write_file(dir / "door_watch/notes.txt", "mine");
  const auto in_use = cli.run({"new", "microservice", "door_watch", "--dir", dir.path()});
  CHECK(in_use.exit_code == 1);
  CHECK(in_use.err ==
        "livebot: " + (dir / "door_watch") + ": exists and is not empty; livebot new writes a new project\n");
  CHECK(std::distance(fs::directory_iterator(dir / "door_watch"), fs::directory_iterator()) == 1);

  // An empty directory is taken; run from the build tree, the templates are
  // the source tree's.
  fs::create_directories(dir / "empty");
  const auto made = cli.run({"new", "microservice", "empty", "--dir", dir.path()});
  INFO(made.err);
  CHECK(made.exit_code == 0);
  CHECK(templates_used(made) == livebot::test::source_root + "/sdk/template");
  CHECK(fs::is_regular_file(dir / "empty/state.fbs"));
}

TEST_CASE("livebot new, gate and check-plugin each have --help", "[author][cli]") {
  for (const auto &args : std::vector<std::vector<std::string>>{
           {"new", "--help"}, {"new", "microservice", "--help"}, {"gate", "--help"}, {"check-plugin", "--help"}}) {
    INFO(args[0]);
    const auto r = cli.run(args);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "Usage"));
  }
}

TEST_CASE("livebot check-plugin passes a complete plugin and refuses STB_GNU_UNIQUE or a truncated file in one line",
          "[author][cli]") {
  const auto ok = cli.run({"check-plugin", plugins + "/probe_a.so"});
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out == plugins + "/probe_a.so: a complete shared object, no STB_GNU_UNIQUE symbols\n");

  const auto unique = cli.run({"check-plugin", plugins + "/probe_unique.so"});
  CHECK(unique.exit_code == 1);
  CHECK(one_line(unique.err));
  CHECK(contains(unique.err, "livebot: " + plugins + "/probe_unique.so: has STB_GNU_UNIQUE symbol '"));

  TempDir dir;
  const auto bytes = read_file(plugins + "/probe_a.so");
  write_file(dir / "half.so", bytes.substr(0, bytes.size() / 2));
  const auto half = cli.run({"check-plugin", dir / "half.so"});
  CHECK(half.exit_code == 1);
  CHECK(one_line(half.err));
  CHECK(contains(half.err, "livebot: " + (dir / "half.so") + ": truncated"));
}

TEST_CASE("livebot gate: the host's gate on two schema files, in one line", "[author][cli]") {
  const auto v1 = counter_schemas + "counter_v1.fbs", v2 = counter_schemas + "counter_v2.fbs",
             bad = counter_schemas + "counter_bad.fbs";
  const auto ok = cli.run({"gate", v1, v2});
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out == v2 + ": can read state written under " + v1 + "\n");

  const auto refused = cli.run({"gate", v1, bad});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err == "livebot: " + bad + ": schema cannot read state written under " + v1 +
                           ": counter.Counter.count: type changed from ulong to int\n");

  TempDir dir;
  write_file(dir / "broken.fbs", "namespace counter;\ntable Counter { count: ulong }\n");
  const auto broken = cli.run({"gate", v1, dir / "broken.fbs"});
  CHECK(broken.exit_code == 1);
  CHECK(one_line(broken.err));
  CHECK(contains(broken.err, "livebot: " + (dir / "broken.fbs") + ": "));
}

// Replays every fuzz target's seed corpus through the target's entry, so
// each CI run exercises the inputs fuzzing started from and the ones it
// found crashes with (docs/RELIABILITY.md). A target's seeds are the files
// committed in seeds/<target>/ and those the build made in its own
// seeds/<target>/ (state buffers by flatc, schema pairs of the fixtures).
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "support/temp_dir.hpp"
#include "targets.hpp"

namespace fs = std::filesystem;

namespace {

void replay(const std::string &target, void (*entry)(std::string_view)) {
  size_t seeds = 0;
  for (const std::string root : {FUZZ_SEEDS_SOURCE_DIR, FUZZ_SEEDS_BUILD_DIR}) {
    const fs::path dir = fs::path(root) / target;
    if (!fs::is_directory(dir)) continue;
    for (const fs::directory_entry &file : fs::directory_iterator(dir)) {
      INFO(file.path().string());
      const std::string bytes = livebot::test::read_file(file.path().string());
      REQUIRE_NOTHROW(entry(bytes));
      ++seeds;
    }
  }
  INFO(target << ": no seeds");
  CHECK(seeds > 0);
}

}  // namespace

TEST_CASE("the recording reader's seeds", "[fuzz]") { replay("recording", livebot::fuzz::recording); }
TEST_CASE("the control decoder's seeds", "[fuzz]") { replay("control", livebot::fuzz::control); }
TEST_CASE("the state verifier's seeds", "[fuzz]") { replay("state", livebot::fuzz::state); }
TEST_CASE("the schema gate's seeds", "[fuzz]") { replay("gate", livebot::fuzz::gate); }

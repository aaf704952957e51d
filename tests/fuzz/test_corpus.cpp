// Replays every fuzz target's seed corpus through the target's entry, so
// each CI run exercises the inputs fuzzing started from and the ones it
// found crashes with (docs/RELIABILITY.md). A target's seeds are the files
// committed in tests/fuzz/seeds/<target>/ and those the build made in
// tests/fuzz/<target>/ (state buffers by flatc, pairs of schemas).
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "support/temp_dir.hpp"
#include "targets.hpp"

namespace fs = std::filesystem;

namespace {

// Replays the committed seeds, then the build's; `built`: the build makes
// seeds for this target, and there must be some.
void replay(const std::string &target, void (*entry)(std::string_view), bool built = false) {
  size_t seeds[2] = {0, 0};
  const std::string roots[2] = {FUZZ_SEEDS_SOURCE_DIR, FUZZ_SEEDS_BUILD_DIR};
  for (size_t r = 0; r < 2; ++r) {
    const fs::path dir = fs::path(roots[r]) / target;
    if (!fs::is_directory(dir)) continue;
    for (const fs::directory_entry &file : fs::directory_iterator(dir)) {
      INFO(file.path().string());
      const std::string bytes = livebot::test::read_file(file.path().string());
      REQUIRE_NOTHROW(entry(bytes));
      ++seeds[r];
    }
  }
  INFO(target << ": seeds committed " << seeds[0] << ", made by the build " << seeds[1]);
  CHECK(seeds[0] + seeds[1] > 0);
  if (built) CHECK(seeds[1] > 0);
}

}  // namespace

TEST_CASE("the recording reader's seeds", "[fuzz]") { replay("recording", livebot::fuzz::recording); }
TEST_CASE("the control decoder's seeds", "[fuzz]") { replay("control", livebot::fuzz::control); }
TEST_CASE("the state verifier's seeds", "[fuzz]") { replay("state", livebot::fuzz::state, true); }
TEST_CASE("the schema gate's seeds", "[fuzz]") { replay("gate", livebot::fuzz::gate, true); }

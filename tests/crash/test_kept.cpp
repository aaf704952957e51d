// The kept copies of earlier builds beside a store (supervise/kept.hpp), on
// real files: which copy is the build serving, which one rollback still
// needs, and what is pruned.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "common/hash.hpp"
#include "supervise/kept.hpp"
#include "support/temp_dir.hpp"

using namespace livebot;
using namespace livebot::test;
namespace fs = std::filesystem;

namespace {

const std::string plugins = LIVEBOT_TEST_PLUGIN_DIR;

// Build `n` of the counter: its bytes with a trailer of its own.
std::string build(const TempDir &dir, int n) {
  const std::string file = dir / ("build" + std::to_string(n) + ".so");
  write_file(file, read_file(plugins + "/counter_a.so") + "build " + std::to_string(n));
  return file;
}

std::vector<std::string> paths(const std::vector<supervise::KeptBuilds::Copy> &copies) {
  std::vector<std::string> out;
  for (const auto &c : copies) out.push_back(c.path);
  return out;
}

}  // namespace

TEST_CASE("kept builds: the build serving and the newest good one before it are kept, the rest pruned",
          "[crash][kept]") {
  TempDir dir;
  supervise::KeptBuilds kept(dir / "store.db.kept");
  CHECK(kept.newest_first("victim").empty());  // no directory yet

  std::vector<std::string> copies, hashes;
  for (int n = 1; n <= 4; ++n) {
    const auto file = build(dir, n);
    hashes.push_back(file_hash(file));
    copies.push_back(kept.serving("victim", file, hashes.back(), {}));
    CHECK(copies.back() == dir / ("store.db.kept/victim-" + hashes.back().substr(0, 16) + ".so"));
    CHECK(file_hash(copies.back()) == hashes.back());
  }
  CHECK(fs::status(dir / "store.db.kept").permissions() == fs::perms::owner_all);
  CHECK(paths(kept.newest_first("victim")) == std::vector<std::string>{copies[3], copies[2]});

  // Serving again, an older build is the newest; the one it replaced is the one before.
  kept.serving("victim", copies[2], hashes[2], {});
  CHECK(paths(kept.newest_first("victim")) == std::vector<std::string>{copies[2], copies[3]});

  // A build marked bad is no fallback: the newest good one before stays.
  kept.serving("victim", build(dir, 1), hashes[0], {});
  CHECK(paths(kept.newest_first("victim")) == std::vector<std::string>{copies[0], copies[2]});
  kept.serving("victim", build(dir, 4), hashes[3], {hashes[0]});
  CHECK(paths(kept.newest_first("victim")) == std::vector<std::string>{copies[3], copies[2]});
}

TEST_CASE("kept builds: a damaged copy is never offered and is pruned; another microservice's are left alone",
          "[crash][kept]") {
  TempDir dir;
  supervise::KeptBuilds kept(dir / "kept");
  const auto one = build(dir, 1), two = build(dir, 2);
  const auto h1 = file_hash(one), h2 = file_hash(two);
  const auto c1 = kept.serving("victim", one, h1, {});
  // "victim-2" starts with "victim-": its copies are its own.
  const auto other = kept.serving("victim-2", one, h1, {});
  fs::permissions(c1, fs::perms::owner_write, fs::perm_options::add);
  write_file(c1, "not the build its name says");
  write_file(dir / "kept/victim-0123456789abcdef.so.tmp", "cut short by a crash");
  CHECK(kept.newest_first("victim").empty());

  const auto c2 = kept.serving("victim", two, h2, {});
  CHECK(paths(kept.newest_first("victim")) == std::vector<std::string>{c2});
  CHECK_FALSE(fs::exists(c1));
  CHECK_FALSE(fs::exists(dir / "kept/victim-0123456789abcdef.so.tmp"));
  CHECK(paths(kept.newest_first("victim-2")) == std::vector<std::string>{other});

  // A copy damaged under the name of the build serving is written again.
  fs::permissions(c2, fs::perms::owner_write, fs::perm_options::add);
  write_file(c2, "damaged");
  CHECK(kept.serving("victim", two, h2, {}) == c2);
  CHECK(file_hash(c2) == h2);
}

// The loader against real plugin files: good ones load from a private copy
// and leave memory when unloaded; bad ones are refused with one line that
// names the file and the reason, before anything runs.
#include <elf.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <catch2/catch.hpp>
#include <filesystem>

#include "common/error.hpp"
#include "common/hash.hpp"
#include "loader/elf_check.hpp"
#include "loader/plugin.hpp"
#include "support/paths.hpp"
#include "support/temp_dir.hpp"

using namespace livebot;
using livebot::test::read_file;
using livebot::test::TempDir;
using livebot::test::write_file;

namespace {
const std::string plugins = LIVEBOT_TEST_PLUGIN_DIR;
const std::string lesson2_v1 = std::string(LIVEBOT_PLUGIN_BUILD_DIR) + "/lesson2_memory/lesson2_memory_v1.so";

std::string refusal(const std::string &file) {
  loader::Staging staging;
  try {
    loader::Plugin::load(file, staging);
  } catch (const Error &e) {
    // Nothing may be left staged after a refusal.
    CHECK(std::filesystem::is_empty(staging.dir()));
    return e.what();
  }
  return "loaded";
}
}  // namespace

TEST_CASE("a real plugin loads from a private read-only copy and unloads for real", "[loader]") {
  loader::Staging staging;
  auto p = loader::Plugin::load(lesson2_v1, staging);
  CHECK(p->name() == "location_memory");
  CHECK(p->version() == "1.0.0");
  CHECK(p->schema().root_type() == "lesson2.LocationMemory");
  CHECK(p->unique_symbols().empty());
  CHECK(p->staged_path() != lesson2_v1);
  CHECK(p->staged_path().rfind(staging.dir(), 0) == 0);
  struct stat st{};
  REQUIRE(stat(p->staged_path().c_str(), &st) == 0);
  CHECK((st.st_mode & 0222) == 0);
  CHECK(loader::is_mapped(p->staged_path()));
  CHECK_FALSE(loader::is_mapped(lesson2_v1));
  const std::string staged = p->staged_path();
  const auto r = p->unload();
  CHECK(r.gone);
  CHECK_FALSE(loader::is_mapped(staged));
  CHECK_FALSE(std::filesystem::exists(staged));
}

TEST_CASE("staging directories of killed processes are removed, no others", "[loader]") {
  TempDir tmp;
  const char *was = std::getenv("TMPDIR");
  const std::string saved = was ? was : "";
  ::setenv("TMPDIR", tmp.path().c_str(), 1);
  {
    // A pid that ran and is gone: a child killed before it could clean up.
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    REQUIRE(::waitpid(child, nullptr, 0) == child);
    const std::string dead = "livebot-stage-" + std::to_string(child) + "-AbC123";
    std::filesystem::create_directories(tmp / dead);
    write_file((std::filesystem::path(tmp / dead) / "counter-g1-0123456789abcdef.so").string(), "staged");
    write_file(tmp / ("livebot-stage-" + std::to_string(child) + "-file"), "not a directory");
    std::filesystem::create_directories(tmp / "livebot-stage-XyZ789");  // no pid in its name
    std::filesystem::create_directories(tmp / "other-stage-1-x");
    loader::Staging mine;  // this process runs: kept
    CHECK(loader::Staging::remove_stale() == 1);
    CHECK_FALSE(std::filesystem::exists(tmp / dead));
    CHECK(std::filesystem::exists(mine.dir()));
    CHECK(std::filesystem::exists(tmp / ("livebot-stage-" + std::to_string(child) + "-file")));
    CHECK(std::filesystem::exists(tmp / "livebot-stage-XyZ789"));
    CHECK(std::filesystem::exists(tmp / "other-stage-1-x"));
    CHECK(loader::Staging::remove_stale() == 0);
  }
  if (saved.empty()) ::unsetenv("TMPDIR");
  else ::setenv("TMPDIR", saved.c_str(), 1);
}

TEST_CASE("loading one file twice gives two independent images", "[loader]") {
  loader::Staging staging;
  auto a = loader::Plugin::load(lesson2_v1, staging);
  auto b = loader::Plugin::load(lesson2_v1, staging);
  CHECK(a->staged_path() != b->staged_path());
  CHECK(&a->table() != &b->table());
  CHECK(a->unload().gone);
  CHECK(loader::is_mapped(b->staged_path()));
  CHECK(b->unload().gone);
}

TEST_CASE("plugins with a broken entry table are refused with their reason", "[loader]") {
  CHECK_THAT(refusal(plugins + "/bad1.so"), Catch::Contains("bad1.so: not a livebot plugin: no 'livebot_entry' symbol"));
  CHECK_THAT(refusal(plugins + "/bad2.so"), Catch::Contains("returned no table"));
  CHECK_THAT(refusal(plugins + "/bad3.so"), Catch::Contains("built for ABI version 99; this host serves ABI versions 1 to 1"));
  CHECK_THAT(refusal(plugins + "/bad4.so"), Catch::Contains("plugin table is 8 bytes"));
  CHECK_THAT(refusal(plugins + "/bad5.so"), Catch::Contains("embedded schema"));
  CHECK_THAT(refusal(plugins + "/bad6.so"), Catch::Contains("declares state root type 'probe.Other'"));
}

TEST_CASE("files that are not complete shared objects never reach dlopen", "[loader]") {
  TempDir dir;
  const std::string good = read_file(lesson2_v1);
  REQUIRE(good.size() > 16384);

  write_file(dir / "text.so", std::string(100, 'x'));
  CHECK_THAT(refusal(dir / "text.so"), Catch::Contains("not an ELF file"));
  CHECK_THAT(refusal(dir / "missing.so"), Catch::Contains("missing.so: cannot read: No such file or directory"));

  // Prefixes a linker leaves while it writes (field lesson 3).
  for (const size_t n : {size_t(0), size_t(64), size_t(1024), size_t(8192)}) {
    write_file(dir / "half.so", good.substr(0, n));
    INFO("prefix of " << n << " bytes");
    CHECK_THAT(refusal(dir / "half.so"), Catch::Contains("half.so:"));
    CHECK_THROWS_AS(loader::check_elf(good.substr(0, n), "half"), Error);
  }
  // Everything but the section header table, which comes last.
  Elf64_Ehdr eh;
  std::memcpy(&eh, good.data(), sizeof eh);
  REQUIRE(eh.e_shoff > 0);
  write_file(dir / "nosh.so", good.substr(0, eh.e_shoff));
  CHECK_THAT(refusal(dir / "nosh.so"), Catch::Contains("section headers end past the file"));
  loader::check_elf(good, "good");
}

TEST_CASE("a library pinned by STB_GNU_UNIQUE is found before loading and reported after unloading", "[loader]") {
  CHECK(loader::gnu_unique_symbols(read_file(lesson2_v1)).empty());
  const auto unique = loader::gnu_unique_symbols(read_file(plugins + "/probe_unique.so"));
  REQUIRE_FALSE(unique.empty());
  loader::Staging staging;
  auto p = loader::Plugin::load(plugins + "/probe_unique.so", staging);
  CHECK(p->unique_symbols() == unique);
  const std::string staged = p->staged_path();
  const auto r = p->unload();
  // glibc keeps it mapped: the host says so instead of assuming it left.
  CHECK_FALSE(r.gone);
  CHECK_THAT(r.reason, Catch::Contains("STB_GNU_UNIQUE"));
  CHECK(loader::is_mapped(staged));
}

TEST_CASE("a plugin others could have written is refused; a SHA-256 pin admits only its bytes", "[loader][security]") {
  TempDir dir;
  const std::string file = dir / "p.so";
  std::filesystem::copy_file(lesson2_v1, file);
  ::chmod(file.c_str(), 0644);
  CHECK(refusal(file) == "loaded");

  ::chmod(file.c_str(), 0666);
  CHECK_THAT(refusal(file), Catch::Contains("p.so: refused: plugin file is writable by other users (mode 0666)"));
  ::chmod(file.c_str(), 0644);

  ::chmod(dir.path().c_str(), 0777);
  CHECK_THAT(refusal(file), Catch::Contains("refused: directory " + dir.path() + " is writable by other users"));
  ::chmod(dir.path().c_str(), 01777);  // sticky, as /tmp: others cannot replace our entries
  CHECK(refusal(file) == "loaded");
  ::chmod(dir.path().c_str(), 0755);

  if (::geteuid() == 0) {
    REQUIRE(::chown(file.c_str(), 65534, 65534) == 0);
    CHECK_THAT(refusal(file), Catch::Contains("refused: plugin file belongs to uid 65534"));
    REQUIRE(::chown(file.c_str(), 0, 0) == 0);
  } else {
    WARN("not root: the foreign-owner case is skipped");
  }

  const std::string sha = sha256_hex(read_file(file));
  loader::Staging staging;
  CHECK_NOTHROW(loader::Plugin::load(file, staging, sha));
  CHECK_THROWS_WITH(loader::Plugin::load(file, staging, std::string(64, '0')),
                    Catch::Contains("refused: its SHA-256 is " + sha + ", the manifest pins 0000"));
}

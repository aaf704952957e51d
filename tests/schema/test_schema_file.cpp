// read_schema_file: a .fbs compiled in process gates exactly as the .bfbs
// flatc made of it, on every evolution the gate is tested on, so
// `livebot gate` on .fbs files refuses what the host refuses.
#include <catch2/catch.hpp>
#include <string>

#include "common/error.hpp"
#include "evolutions.hpp"
#include "fixtures.hpp"
#include "schema/gate.hpp"
#include "schema/schema_file.hpp"
#include "support/temp_dir.hpp"

using livebot::schema::check_compatible;
using livebot::schema::read_schema_file;
using livebot::test::Evolution;
using livebot::test::Strings;

namespace {

Strings gate_fbs(const std::string &stored, const std::string &next) {
  Strings lines;
  for (const auto &p : check_compatible(read_schema_file(livebot::test::fbs_path(stored)),
                                        read_schema_file(livebot::test::fbs_path(next))))
    lines.push_back(p.line());
  return lines;
}

}  // namespace

TEST_CASE("schema file: a .fbs gates as flatc's .bfbs of it, on every evolution", "[schema_file]") {
  auto all = livebot::test::accepted_evolutions();
  const auto &refused = livebot::test::refused_evolutions();
  all.insert(all.end(), refused.begin(), refused.end());
  const Evolution evolution = GENERATE_COPY(from_range(all));
  INFO(evolution.name());
  CHECK(gate_fbs(evolution.stored, evolution.next) == evolution.refusal);
}

TEST_CASE("schema file: a .bfbs is read as it is", "[schema_file]") {
  const auto path = livebot::test::bfbs_path("base");
  CHECK(read_schema_file(path).bytes() == livebot::test::read_bytes(path));
}

TEST_CASE("schema file: an IDL error is one line naming the file and the place", "[schema_file]") {
  livebot::test::TempDir dir;
  livebot::test::write_file(dir / "broken.fbs", "namespace a;\ntable T { n: ulong }\n");
  try {
    read_schema_file(dir / "broken.fbs");
    FAIL("a broken schema was read");
  } catch (const livebot::Error &e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(what == dir / "broken.fbs" + ": line 2, column 20: expecting: ; instead got: }");
    CHECK(what.find('\n') == std::string::npos);
  }
  livebot::test::write_file(dir / "rootless.fbs", "namespace a;\ntable T { n: ulong; }\n");
  CHECK_THROWS_WITH(read_schema_file(dir / "rootless.fbs"), Catch::Contains("rootless.fbs"));
}

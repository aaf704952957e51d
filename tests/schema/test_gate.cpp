// The schema gate on pairs of real schemas: every evolution in
// evolutions.cpp gets exactly its lines, and the lines are usable as
// messages.
#include <catch2/catch.hpp>

#include "evolutions.hpp"
#include "fixtures.hpp"
#include "schema/gate.hpp"

using livebot::schema::check_compatible;
using livebot::test::Evolution;
using livebot::test::gate;
using livebot::test::load_schema;
using livebot::test::Strings;

TEST_CASE("gate accepts a schema unchanged", "[gate]") {
  CHECK(gate("base", "base").empty());
}

TEST_CASE("gate accepts compatible evolutions", "[gate]") {
  const Evolution evolution = GENERATE(from_range(livebot::test::accepted_evolutions()));
  INFO(evolution.name());
  CHECK(gate(evolution.stored, evolution.next).empty());
}

TEST_CASE("gate refuses each breaking change with a line naming it", "[gate]") {
  const Evolution evolution = GENERATE(from_range(livebot::test::refused_evolutions()));
  INFO(evolution.name());
  CHECK(gate(evolution.stored, evolution.next) == evolution.refusal);
}

TEST_CASE("gate reports one line per problem", "[gate]") {
  const auto lines = gate("base", "refuse_struct_field_added");
  REQUIRE(lines.size() == 2);
  for (const auto &line : lines) CHECK(line.find('\n') == std::string::npos);
}

TEST_CASE("gate refuses going back to a schema with fewer fields", "[gate]") {
  CHECK(gate("accept_add_field", "base") ==
        Strings{"lesson.State.gone: deprecated field removed (keep it, so its id is not reused)",
                "lesson.State.extra: field removed (mark it deprecated instead)",
                "lesson.State.more_type: field removed (mark it deprecated instead)",
                "lesson.State.more: field removed (mark it deprecated instead)",
                "lesson.Sub.c: field removed (mark it deprecated instead)"});
}

TEST_CASE("gate names types as the stored schema does, renamed or not", "[gate]") {
  CHECK(gate("accept_rename_types", "refuse_nested_type") ==
        Strings{"lesson.Part.a: type changed from int to long"});
}

TEST_CASE("gate: an incompatibility names its table and field apart", "[gate]") {
  const auto problems = check_compatible(load_schema("base"), load_schema("refuse_type_scalar"));
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].where == "lesson.State.count");
  CHECK(problems[0].what == "type changed from uint to long");
}

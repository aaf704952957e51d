// The schema gate on pairs of real schemas: base.fbs against one file per
// evolution case (fixtures/), and against `flatc --conform` (field lesson 12).
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "schema/gate.hpp"

using livebot::schema::BinarySchema;
using livebot::schema::check_compatible;
using Strings = std::vector<std::string>;

namespace {

BinarySchema load(const std::string &name) {
  const std::string path = std::string(SCHEMA_BFBS_DIR) + "/" + name + ".bfbs";
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return BinarySchema::parse(std::string(std::istreambuf_iterator<char>(in), {}), path);
}

Strings gate(const std::string &stored, const std::string &next) {
  Strings lines;
  for (const auto &problem : check_compatible(load(stored), load(next))) lines.push_back(problem.line());
  return lines;
}

// Exit status of `flatc --conform base.fbs <name>.fbs`: 0 means flatc calls
// it a valid evolution.
int flatc_conform(const std::string &name) {
  const std::string dir = SCHEMA_FIXTURES_DIR;
  const std::string command = std::string("'") + SCHEMA_FLATC + "' --conform '" + dir + "/base.fbs' '" +
                              dir + "/" + name + ".fbs' >/dev/null 2>&1";
  const int status = std::system(command.c_str());
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

}  // namespace

TEST_CASE("gate accepts a schema unchanged", "[gate]") {
  CHECK(gate("base", "base").empty());
}

TEST_CASE("gate accepts compatible evolutions", "[gate]") {
  const auto name = GENERATE(as<std::string>{}, "accept_add_field", "accept_deprecate", "accept_rename",
                             "accept_enum_add", "accept_enum_rename", "accept_union_add",
                             "accept_new_types", "accept_default_spelling");
  INFO(name);
  CHECK(gate("base", name).empty());
}

TEST_CASE("gate refuses each breaking change with a line naming it", "[gate]") {
  using Case = std::pair<std::string, Strings>;
  const auto [name, expected] = GENERATE(values<Case>({
      {"refuse_id_swap",
       {"lesson.State.hits: id changed from 10 to 11", "lesson.State.misses: id changed from 11 to 10"}},
      {"refuse_type_scalar", {"lesson.State.count: type changed from uint to long"}},
      {"refuse_type_vector", {"lesson.State.tags: type changed from [string] to [int]"}},
      {"refuse_type_table", {"lesson.State.sub: type changed from lesson.Sub to lesson.Other"}},
      {"refuse_type_enum", {"lesson.State.mode: type changed from lesson.Mode to lesson.Level"}},
      {"refuse_type_struct", {"lesson.State.pos: type changed from lesson.Point to lesson.Size"}},
      {"refuse_default_int", {"lesson.State.count: default changed from 0 to 5"}},
      {"refuse_default_real", {"lesson.State.ratio: default changed from 0.5 to 0.75"}},
      {"refuse_default_optional", {"lesson.State.limit: default changed from null to 0"}},
      {"refuse_removed_last", {"lesson.State.last: field removed (mark it deprecated instead)"}},
      {"refuse_enum_value_removed", {"lesson.Mode.Stop: value removed (state may hold it)"}},
      {"refuse_enum_value_changed", {"lesson.Mode.Stop: value changed from 2 to 5"}},
      {"refuse_enum_underlying",
       {"lesson.State.mode: type changed from lesson.Mode (byte) to lesson.Mode (short)",
        "lesson.Mode: underlying type changed from byte to short"}},
      {"refuse_union_replaced", {"lesson.Payload.Other: member changed from lesson.Other to lesson.Third"}},
      {"refuse_union_removed", {"lesson.Payload.Other: union member removed"}},
      {"refuse_union_member_field", {"lesson.Other.n: type changed from int to string"}},
      {"refuse_nested_type", {"lesson.Sub.a: type changed from int to long"}},
      {"refuse_required_added", {"lesson.State.name: made required (state written before may lack it)"}},
      {"refuse_required_removed",
       {"lesson.Sub.b: no longer required (state it writes fails the previous version's verifier)"}},
      {"refuse_required_new", {"lesson.State.extra: new field is required (state written before lacks it)"}},
      {"refuse_struct_field_added",
       {"lesson.Point: struct size changed from 8 to 12",
        "lesson.Point.z: field added to struct (a struct cannot grow)"}},
      {"refuse_struct_field_type", {"lesson.Point.y: type changed from int to float"}},
      {"refuse_struct_to_table", {"lesson.Point: changed from struct to table"}},
      {"refuse_struct_align", {"lesson.Point: struct alignment changed from 4 to 8"}},
      {"refuse_root_type", {"root_type: changed from lesson.State to lesson.Other"}},
      {"refuse_file_identifier", {"file_identifier: changed from \"LBST\" to \"LBS2\""}},
  }));
  INFO(name);
  CHECK(gate("base", name) == expected);
}

TEST_CASE("gate ends on a table that holds itself", "[gate]") {
  CHECK(gate("tree", "tree_grown").empty());
  CHECK(gate("tree_grown", "tree") == Strings{"lesson.Node.label: field removed (mark it deprecated instead)"});
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

TEST_CASE("gate: an incompatibility names its table and field apart", "[gate]") {
  const auto problems = check_compatible(load("base"), load("refuse_type_scalar"));
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].where == "lesson.State.count");
  CHECK(problems[0].what == "type changed from uint to long");
}

// Field lesson 12, measured on flatc 2.0.8: each of these passes --conform.
TEST_CASE("flatc --conform passes breaking changes the gate refuses", "[gate][flatc]") {
  const auto name = GENERATE(as<std::string>{}, "refuse_removed_last", "refuse_struct_field_added",
                             "refuse_struct_align", "refuse_enum_value_removed", "refuse_union_replaced",
                             "refuse_union_removed", "refuse_required_added", "refuse_required_removed",
                             "refuse_required_new", "refuse_root_type", "refuse_file_identifier");
  INFO(name);
  CHECK(flatc_conform(name) == 0);
  CHECK_FALSE(gate("base", name).empty());
}

// The rest flatc does catch: the harness can tell a refusal from a pass.
TEST_CASE("flatc --conform catches type, default, id and enum value changes", "[gate][flatc]") {
  const auto name = GENERATE(as<std::string>{}, "refuse_type_scalar", "refuse_type_vector", "refuse_type_table",
                             "refuse_type_enum", "refuse_type_struct", "refuse_default_int",
                             "refuse_default_real", "refuse_default_optional", "refuse_enum_value_changed",
                             "refuse_enum_underlying", "refuse_id_swap", "refuse_nested_type",
                             "refuse_union_member_field", "refuse_struct_field_type",
                             "refuse_struct_to_table");
  INFO(name);
  CHECK(flatc_conform(name) != 0);
  CHECK_FALSE(gate("base", name).empty());
}

// flatc compares defaults as text: 5e-1 is not 0.5 to it.
TEST_CASE("flatc --conform refuses a default respelled, which the gate accepts", "[gate][flatc]") {
  CHECK(flatc_conform("accept_default_spelling") != 0);
  CHECK(gate("base", "accept_default_spelling").empty());
}

TEST_CASE("flatc --conform and the gate agree on compatible evolutions", "[gate][flatc]") {
  const auto name = GENERATE(as<std::string>{}, "accept_add_field", "accept_deprecate", "accept_rename",
                             "accept_enum_add", "accept_enum_rename", "accept_union_add",
                             "accept_new_types");
  INFO(name);
  CHECK(flatc_conform(name) == 0);
  CHECK(gate("base", name).empty());
}

// What the gate adds to `flatc --conform` (field lesson 12): every evolution
// of evolutions.cpp is put to the real flatc 2.0.8, as
// `flatc --conform STORED.fbs NEXT.fbs` (the schema given to --conform is
// the one the others must be an evolution of). The sets it gets wrong are
// measured and pinned here, and listed in docs/SDK.md.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <iostream>

#include "evolutions.hpp"
#include "fixtures.hpp"

using livebot::test::Evolution;
using livebot::test::Strings;

namespace {

// Whether flatc calls `next` a valid evolution of `stored` (exit status 0).
bool flatc_conforms(const Evolution &evolution) {
  const std::string command = std::string("'") + SCHEMA_FLATC + "' --conform '" +
                              livebot::test::fbs_path(evolution.stored) + "' '" +
                              livebot::test::fbs_path(evolution.next) + "' >/dev/null 2>&1";
  const int status = std::system(command.c_str());
  INFO(command);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) <= 1);
  return WEXITSTATUS(status) == 0;
}

struct Verdicts {
  Strings passed, refused;  // Evolution::name()s, in the order given
};

Verdicts ask_flatc(const std::vector<Evolution> &evolutions) {
  Verdicts verdicts;
  for (const Evolution &evolution : evolutions)
    (flatc_conforms(evolution) ? verdicts.passed : verdicts.refused).push_back(evolution.name());
  return verdicts;
}

}  // namespace

TEST_CASE("flatc --conform passes breaking changes the gate refuses", "[conform]") {
  const Verdicts flatc = ask_flatc(livebot::test::refused_evolutions());
  std::cout << "flatc --conform passes " << flatc.passed.size() << " of "
            << livebot::test::refused_evolutions().size() << " changes the gate refuses:\n";
  for (const auto &name : flatc.passed) std::cout << "  " << name << '\n';
  CHECK(flatc.passed == Strings{"base -> refuse_removed_last", "base -> refuse_enum_value_removed",
                                "base -> refuse_union_replaced", "base -> refuse_union_removed",
                                "base -> refuse_required_added", "base -> refuse_required_removed",
                                "base -> refuse_required_new", "base -> refuse_struct_field_added",
                                "base -> refuse_struct_field_removed", "base -> refuse_struct_align",
                                "base -> refuse_root_type", "base -> refuse_file_identifier",
                                "nest -> nest_refuse_union_enum", "tree_grown -> tree"});
  // Sanity: flatc refuses the rest, so the harness tells a refusal from a pass.
  CHECK_FALSE(flatc.refused.empty());
}

// flatc compares defaults as text and types by name.
TEST_CASE("flatc --conform refuses compatible evolutions the gate accepts", "[conform]") {
  const Verdicts flatc = ask_flatc(livebot::test::accepted_evolutions());
  CHECK(flatc.refused == Strings{"base -> accept_rename_types", "base -> accept_default_spelling",
                                 "defaults -> defaults_accept_same_number", "nest -> nest_accept_renames"});
  CHECK_FALSE(flatc.passed.empty());
}

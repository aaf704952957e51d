#include "evolutions.hpp"

#include "fixtures.hpp"
#include "schema/gate.hpp"

namespace livebot::test {

const std::vector<Evolution> &accepted_evolutions() {
  static const std::vector<Evolution> cases = {
      {"base", "accept_add_field", {}},
      {"base", "accept_deprecate", {}},
      {"base", "accept_rename", {}},
      {"base", "accept_rename_types", {}},
      {"base", "accept_rename_root", {}},
      {"base", "accept_enum_add", {}},
      {"base", "accept_enum_rename", {}},
      {"base", "accept_union_add", {}},
      {"base", "accept_new_types", {}},
      {"base", "accept_default_spelling", {}},
      {"defaults", "defaults_accept_respelled", {}},
      {"defaults", "defaults_accept_same_number", {}},
      {"nest", "nest_accept_grown", {}},
      {"nest", "nest_accept_renames", {}},
      // A table that holds itself: the walk ends.
      {"tree", "tree_grown", {}},
  };
  return cases;
}

const std::vector<Evolution> &refused_evolutions() {
  static const std::vector<Evolution> cases = {
      {"base", "refuse_id_swap",
       {"lesson.State.hits: id changed from 10 to 11", "lesson.State.misses: id changed from 11 to 10"}},
      {"base", "refuse_type_scalar", {"lesson.State.count: type changed from uint to long"}},
      {"base", "refuse_type_vector", {"lesson.State.tags: type changed from [string] to [int]"}},
      {"base", "refuse_type_table", {"lesson.State.sub: type changed from lesson.Sub to lesson.Other"}},
      {"base", "refuse_type_enum", {"lesson.State.mode: type changed from lesson.Mode to lesson.Level"}},
      {"base", "refuse_type_struct", {"lesson.State.pos: type changed from lesson.Point to lesson.Size"}},
      {"base", "refuse_default_int", {"lesson.State.count: default changed from 0 to 5"}},
      {"base", "refuse_default_real", {"lesson.State.ratio: default changed from 0.5 to 0.75"}},
      {"base", "refuse_default_optional", {"lesson.State.limit: default changed from null to 0"}},
      {"defaults", "defaults_refuse_integer",
       {"dflt.Settings.exact: default changed from 9007199254740993 to 9007199254740992"}},
      {"base", "refuse_removed_last", {"lesson.State.last: field removed (mark it deprecated instead)"}},
      {"base", "refuse_enum_value_removed", {"lesson.Mode.Stop: value removed (state may hold it)"}},
      {"base", "refuse_enum_value_changed", {"lesson.Mode.Stop: value changed from 2 to 5"}},
      {"base", "refuse_enum_underlying",
       {"lesson.State.mode: type changed from lesson.Mode (byte) to lesson.Mode (short)",
        "lesson.Mode: underlying type changed from byte to short"}},
      {"base", "refuse_union_replaced", {"lesson.Payload.Other: member changed from lesson.Other to lesson.Third"}},
      {"base", "refuse_union_reordered",
       {"lesson.Payload.Sub: member changed from lesson.Sub to lesson.Other",
        "lesson.Payload.Other: member changed from lesson.Other to lesson.Sub"}},
      {"base", "refuse_union_removed", {"lesson.Payload.Other: union member removed"}},
      {"base", "refuse_required_added", {"lesson.State.name: made required (state written before may lack it)"}},
      {"base", "refuse_required_removed",
       {"lesson.Sub.b: no longer required (state it writes fails the previous version's verifier)"}},
      {"base", "refuse_required_new",
       {"lesson.State.extra: new field is required (state written before lacks it)"}},
      {"base", "refuse_struct_field_type", {"lesson.Point.y: type changed from int to float"}},
      {"base", "refuse_struct_order",
       {"lesson.Point.x: position changed from 0 to 1", "lesson.Point.y: position changed from 1 to 0"}},
      {"base", "refuse_struct_field_added",
       {"lesson.Point: struct size changed from 8 to 12",
        "lesson.Point.z: field added to struct (a struct cannot grow)"}},
      {"base", "refuse_struct_field_removed",
       {"lesson.Point: struct size changed from 8 to 4", "lesson.Point.y: field removed from struct"}},
      {"base", "refuse_struct_align", {"lesson.Point: struct alignment changed from 4 to 8"}},
      {"base", "refuse_struct_to_table", {"lesson.Point: changed from struct to table"}},
      {"base", "refuse_root_type", {"root_type: changed from lesson.State to lesson.Other"}},
      {"base", "refuse_file_identifier", {"file_identifier: changed from \"LBST\" to \"LBS2\""}},
      // Types below the root, however state reaches them.
      {"base", "refuse_nested_type", {"lesson.Sub.a: type changed from int to long"}},
      {"base", "refuse_union_member_field", {"lesson.Other.n: type changed from int to string"}},
      {"base", "refuse_renamed_then_changed", {"lesson.Sub.a: type changed from int to long"}},
      {"nest", "nest_refuse_table", {"deep.Holder.items: type changed from [deep.Item] to [deep.Leaf]"}},
      {"nest", "nest_refuse_vector_table", {"deep.Item.id: type changed from uint to int"}},
      {"nest", "nest_refuse_vector_struct",
       {"deep.Vec2: struct size changed from 8 to 16", "deep.Vec2: struct alignment changed from 4 to 8",
        "deep.Vec2.y: type changed from float to double", "deep.Box: struct size changed from 16 to 32",
        "deep.Box: struct alignment changed from 4 to 8", "deep.Box.max: offset changed from 8 to 16"}},
      {"nest", "nest_refuse_union_table", {"deep.Leaf.v: type changed from int to long"}},
      {"nest", "nest_refuse_union_enum", {"deep.Kind.Fancy: value removed (state may hold it)"}},
      {"nest", "nest_refuse_renamed_changed", {"deep.Item.id: type changed from uint to ulong"}},
      {"tree_grown", "tree", {"lesson.Node.label: field removed (mark it deprecated instead)"}},
  };
  return cases;
}

Strings gate(const std::string &stored, const std::string &next) {
  Strings lines;
  for (const auto &problem : schema::check_compatible(load_schema(stored), load_schema(next)))
    lines.push_back(problem.line());
  return lines;
}

}  // namespace livebot::test

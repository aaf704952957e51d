#include "schema/union_types.hpp"

namespace livebot::schema::detail {

namespace {

using flatbuffers::Table;
using Tables = flatbuffers::Vector<flatbuffers::Offset<Table>>;

class Walk {
 public:
  explicit Walk(const reflection::Schema &s) : s_(s) {}

  // The verifier has walked this buffer within its limits on depth and
  // tables, so this walk, which follows the same references, stays in them.
  std::string table(const reflection::Object &object, const Table &t) {
    for (const reflection::Field *field : *object.fields()) {
      const reflection::Type &type = *field->type();
      if (!t.CheckField(field->offset())) continue;
      std::string found;
      if (type.base_type() == reflection::Union) {
        found = union_value(object, *field, t);
      } else if (const reflection::Object *child = table_at(type); child && type.base_type() == reflection::Obj) {
        found = table(*child, *flatbuffers::GetFieldT(t, *field));
      } else if (child && type.base_type() == reflection::Vector) {
        for (const Table *element : *t.GetPointer<const Tables *>(field->offset())) {
          if (found.empty()) found = table(*child, *element);
        }
      }
      if (!found.empty()) return found;
    }
    return {};
  }

 private:
  // The table a type holds, itself or as a vector's elements; null for
  // anything else (a struct holds no unions).
  const reflection::Object *table_at(const reflection::Type &type) const {
    const bool holds = type.base_type() == reflection::Obj ||
                       (type.base_type() == reflection::Vector && type.element() == reflection::Obj);
    if (!holds) return nullptr;
    const reflection::Object *object = s_.objects()->Get(static_cast<flatbuffers::uoffset_t>(type.index()));
    return object->is_struct() ? nullptr : object;
  }

  // A union field's type is the field just before it (its id less one).
  std::string union_value(const reflection::Object &object, const reflection::Field &field, const Table &t) {
    const auto type_offset = static_cast<flatbuffers::voffset_t>(field.offset() - sizeof(flatbuffers::voffset_t));
    const uint8_t member_type = t.GetField<uint8_t>(type_offset, 0);
    const reflection::Enum &e = *s_.enums()->Get(static_cast<flatbuffers::uoffset_t>(field.type()->index()));
    const reflection::EnumVal *member = member_type ? e.values()->LookupByKey(member_type) : nullptr;
    if (!member) return object.name()->str() + "." + field.name()->str();
    const reflection::Object *child = table_at(*member->union_type());
    return child ? table(*child, *flatbuffers::GetFieldT(t, field)) : std::string();
  }

  const reflection::Schema &s_;
};

}  // namespace

std::string untyped_union(const reflection::Schema &schema, const uint8_t *buffer) {
  return Walk(schema).table(*schema.root_table(), *flatbuffers::GetAnyRoot(buffer));
}

}  // namespace livebot::schema::detail

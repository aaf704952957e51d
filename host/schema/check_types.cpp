#include "schema/check_types.hpp"

#include <cstdint>
#include <utility>

namespace livebot::schema::detail {

namespace {

// A base type as stored. The accessors return reflection::BaseType, which
// cannot hold every byte a .bfbs may have: loading one it cannot is
// undefined, so types are read as bytes until they are checked.
using BaseType = int8_t;

BaseType stored(const reflection::Type &type, flatbuffers::voffset_t field) {
  return reinterpret_cast<const flatbuffers::Table &>(type).GetField<int8_t>(field, 0);
}

bool is_scalar(BaseType t) { return t >= reflection::UType && t <= reflection::Double; }
bool is_integer(BaseType t) { return t >= reflection::UType && t <= reflection::ULong; }

// Where a type is used decides which base types it may have.
enum class Use { TableField, StructField, UnionMember, EnumUnderlying };

class Checker {
 public:
  explicit Checker(const reflection::Schema &s) : s_(s) {}

  std::string run() {
    for (const reflection::Object *object : *s_.objects()) {
      const std::string name = object->name()->str();
      // The verifier divides by a struct's size and masks with its alignment.
      const int32_t align = object->minalign();
      if (object->is_struct() && (object->bytesize() <= 0 || align <= 0 || (align & (align - 1)) != 0))
        return name + ": struct of size " + std::to_string(object->bytesize()) + " and alignment " +
               std::to_string(align);
      for (const reflection::Field *field : *object->fields()) {
        const Use use = object->is_struct() ? Use::StructField : Use::TableField;
        if (!type_ok(*field->type(), use)) return name + "." + field->name()->str() + ": " + why_;
      }
    }
    for (const reflection::Enum *e : *s_.enums()) {
      const std::string name = e->name()->str();
      if (!type_ok(*e->underlying_type(), Use::EnumUnderlying)) return name + ": underlying type: " + why_;
      // flatc gives every enum value a type (NONE but in unions); only a
      // union member needs one.
      for (const reflection::EnumVal *v : *e->values()) {
        const std::string where = name + "." + v->name()->str();
        if (!v->union_type()) {
          if (e->is_union()) return where + ": union member without a type";
          continue;
        }
        if (!type_ok(*v->union_type(), Use::UnionMember)) return where + ": " + why_;
      }
    }
    const reflection::Object *root = s_.root_table();
    if (root) {
      bool listed = false;
      for (const reflection::Object *object : *s_.objects()) listed |= object == root;
      if (!listed) return "root_type: not one of the schema's objects";
      if (root->is_struct()) return "root_type: " + root->name()->str() + " is a struct, not a table";
    }
    return {};
  }

 private:
  bool fail(std::string why) {
    why_ = std::move(why);
    return false;
  }

  // Whether `base` may be a (vector's or array's) element where `use` says.
  static bool base_ok(BaseType base, Use use, bool element) {
    switch (use) {
      case Use::TableField:
        // Arrays live only in structs; vectors do not nest.
        if (element) return is_scalar(base) || base == reflection::String || base == reflection::Obj ||
                            base == reflection::Union;
        return is_scalar(base) || base == reflection::String || base == reflection::Vector ||
               base == reflection::Obj || base == reflection::Union;
      case Use::StructField:
        if (element) return (is_scalar(base) && base != reflection::UType) || base == reflection::Obj;
        return (is_scalar(base) && base != reflection::UType) || base == reflection::Obj ||
               base == reflection::Array;
      case Use::UnionMember:
        return base == reflection::None || base == reflection::Obj || base == reflection::String;
      case Use::EnumUnderlying: return is_integer(base);
    }
    return false;
  }

  bool type_ok(const reflection::Type &t, Use use) {
    const BaseType base = stored(t, reflection::Type::VT_BASE_TYPE);
    const bool series = base == reflection::Vector || base == reflection::Array;
    if (!base_ok(base, use, false)) return fail("base type " + std::to_string(base) + " not allowed here");
    const BaseType element = stored(t, reflection::Type::VT_ELEMENT);
    if (series && !base_ok(element, use, true))
      return fail("element type " + std::to_string(element) + " not allowed here");
    const BaseType referent = series ? element : base;
    const int32_t index = t.index();
    if (referent == reflection::Obj) {
      if (index < 0 || uint32_t(index) >= s_.objects()->size())
        return fail("refers to object " + std::to_string(index) + " of " + std::to_string(s_.objects()->size()));
      if (use == Use::StructField && !s_.objects()->Get(uint32_t(index))->is_struct())
        return fail("a struct field refers to a table");
      return true;
    }
    // A union field and its hidden _type field name the union's enum.
    const bool needs_union =
        use == Use::TableField && (referent == reflection::Union || referent == reflection::UType);
    if (index < 0 && !needs_union) return true;
    if (index < 0 || uint32_t(index) >= s_.enums()->size())
      return fail("refers to enum " + std::to_string(index) + " of " + std::to_string(s_.enums()->size()));
    if (needs_union && !s_.enums()->Get(uint32_t(index))->is_union())
      return fail("a union refers to an enum that is not one");
    return true;
  }

  const reflection::Schema &s_;
  std::string why_;
};

}  // namespace

std::string check_types(const reflection::Schema &schema) { return Checker(schema).run(); }

}  // namespace livebot::schema::detail

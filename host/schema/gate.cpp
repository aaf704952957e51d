#include "schema/gate.hpp"

#include <charconv>
#include <cmath>
#include <deque>
#include <map>
#include <set>
#include <utility>

#include "schema/reflection_util.hpp"

namespace livebot::schema {

namespace {

using detail::by_id;
using detail::field_with_id;

using flatbuffers::uoffset_t;

bool is_scalar(reflection::BaseType t) { return t >= reflection::UType && t <= reflection::Double; }
bool is_float(reflection::BaseType t) { return t == reflection::Float || t == reflection::Double; }

// The .fbs spelling, so messages read like the schema.
std::string scalar_name(reflection::BaseType t) {
  switch (t) {
    case reflection::Bool: return "bool";
    case reflection::Byte: return "byte";
    case reflection::UByte: return "ubyte";
    case reflection::Short: return "short";
    case reflection::UShort: return "ushort";
    case reflection::Int: return "int";
    case reflection::UInt: return "uint";
    case reflection::Long: return "long";
    case reflection::ULong: return "ulong";
    case reflection::Float: return "float";
    case reflection::Double: return "double";
    case reflection::String: return "string";
    default: return reflection::EnumNameBaseType(t);
  }
}

const reflection::Object &object_at(const reflection::Schema &s, int32_t index) {
  return *s.objects()->Get(static_cast<uoffset_t>(index));
}

const reflection::Enum &enum_at(const reflection::Schema &s, int32_t index) {
  return *s.enums()->Get(static_cast<uoffset_t>(index));
}

// A type's index names an object (table or struct) or else an enum.
bool refers_to_object(const reflection::Type &t) {
  return t.base_type() == reflection::Obj ||
         ((t.base_type() == reflection::Vector || t.base_type() == reflection::Array) &&
          t.element() == reflection::Obj);
}

std::string element_name(const reflection::Schema &s, reflection::BaseType base, int32_t index,
                         bool with_underlying) {
  if (index < 0) return scalar_name(base);
  if (base == reflection::Obj) return object_at(s, index).name()->str();
  const std::string name = enum_at(s, index).name()->str();
  return with_underlying && is_scalar(base) ? name + " (" + scalar_name(base) + ")" : name;
}

std::string type_name(const reflection::Schema &s, const reflection::Type &t, bool with_underlying) {
  switch (t.base_type()) {
    case reflection::Vector:
      return "[" + element_name(s, t.element(), t.index(), with_underlying) + "]";
    case reflection::Array:
      return "[" + element_name(s, t.element(), t.index(), with_underlying) + ":" +
             std::to_string(t.fixed_length()) + "]";
    default:
      return element_name(s, t.base_type(), t.index(), with_underlying);
  }
}

std::string format_real(double value) {
  char text[32];
  const auto result = std::to_chars(text, text + sizeof text, value);
  return std::string(text, result.ptr);
}

std::string default_text(const reflection::Field &f) {
  if (f.optional()) return "null";
  if (is_float(f.type()->base_type())) return format_real(f.default_real());
  return std::to_string(f.default_integer());
}

template <class Real>
bool same_real(Real x, Real y) {
  return x == y || (std::isnan(x) && std::isnan(y));
}

// Defaults are numbers in the field's own type: 1 and 1.0 are one float,
// and an integer is never rounded through a double.
bool same_default(const reflection::Field &a, const reflection::Field &b) {
  if (a.optional() || b.optional()) return a.optional() == b.optional();
  switch (a.type()->base_type()) {
    case reflection::Float:
      return same_real(static_cast<float>(a.default_real()), static_cast<float>(b.default_real()));
    case reflection::Double: return same_real(a.default_real(), b.default_real());
    default: return a.default_integer() == b.default_integer();
  }
}

const reflection::EnumVal *value_named(const reflection::Enum &e, const flatbuffers::String &name) {
  for (const reflection::EnumVal *v : *e.values())
    if (v->name()->str() == name.str()) return v;
  return nullptr;
}

// Pairs each type of one kind (objects, or enums and unions) of the stored
// schema with its counterpart in the next one, and queues each pair once to
// be compared. A type keeps its name, or else it is renamed: its counterpart
// is what the next schema uses in the same place, if that name is new and
// not yet the counterpart of another type.
template <class T>
class Pairing {
 public:
  using Types = flatbuffers::Vector<flatbuffers::Offset<T>>;
  Pairing(const Types &stored, const Types &next) : stored_(stored), next_(next) {}

  // The counterpart of `stored`, given that `used` (or nothing) takes its
  // place in the next schema; nullptr if it has none (yet).
  const T *counterpart(const T &stored, const T *used) {
    const std::string name = stored.name()->str();
    if (const auto it = paired_.find(name); it != paired_.end()) return it->second;
    const T *next = next_.LookupByKey(name.c_str());
    if (!next && used && !stored_.LookupByKey(used->name()->c_str()) && !taken_.count(used->name()->str()))
      next = used;
    if (!next) return nullptr;
    paired_.emplace(name, next);
    taken_.insert(next->name()->str());
    pending_.emplace_back(&stored, next);
    return next;
  }

  bool has_pending() const { return !pending_.empty(); }
  std::pair<const T *, const T *> pop() {
    const auto front = pending_.front();
    pending_.pop_front();
    return front;
  }

 private:
  const Types &stored_;
  const Types &next_;
  std::map<std::string, const T *> paired_;
  std::set<std::string> taken_;
  std::deque<std::pair<const T *, const T *>> pending_;
};

class Gate {
 public:
  Gate(const reflection::Schema &stored, const reflection::Schema &next)
      : s_(stored), n_(next), objects_(*s_.objects(), *n_.objects()), enums_(*s_.enums(), *n_.enums()) {}

  std::vector<Incompatibility> run() {
    const reflection::Object &stored_root = *s_.root_table();
    const reflection::Object &next_root = *n_.root_table();
    if (objects_.counterpart(stored_root, &next_root) != &next_root)
      report("root_type", "changed from " + stored_root.name()->str() + " to " + next_root.name()->str());
    const std::string stored_id = s_.file_ident() ? s_.file_ident()->str() : "";
    const std::string next_id = n_.file_ident() ? n_.file_ident()->str() : "";
    if (stored_id != next_id)
      report("file_identifier", "changed from " + quoted(stored_id) + " to " + quoted(next_id));
    // Pairs are queued as the stored schema's fields reach them, so exactly
    // what stored state can hold is compared.
    while (objects_.has_pending() || enums_.has_pending()) {
      if (objects_.has_pending()) {
        const auto [stored, next] = objects_.pop();
        compare_object(*stored, *next);
      } else {
        const auto [stored, next] = enums_.pop();
        compare_enum(*stored, *next);
      }
    }
    return std::move(out_);
  }

 private:
  static std::string quoted(const std::string &id) { return id.empty() ? "(none)" : "\"" + id + "\""; }

  void report(std::string where, std::string what) {
    out_.push_back({std::move(where), std::move(what)});
  }

  // Whether `b` refers to the counterpart of what `a` refers to (both to
  // nothing, for a plain scalar or string). Pairs them even where the shape
  // changed, as an enum whose underlying type changed.
  bool same_referent(const reflection::Type &a, const reflection::Type &b) {
    if (a.index() < 0 || b.index() < 0) return a.index() == b.index();
    if (refers_to_object(a) != refers_to_object(b)) return false;
    if (refers_to_object(a)) {
      const reflection::Object &used = object_at(n_, b.index());
      return objects_.counterpart(object_at(s_, a.index()), &used) == &used;
    }
    const reflection::Enum &used = enum_at(n_, b.index());
    return enums_.counterpart(enum_at(s_, a.index()), &used) == &used;
  }

  // Whether `b` reads what `a` wrote.
  bool same_type(const reflection::Type &a, const reflection::Type &b) {
    return same_referent(a, b) && a.base_type() == b.base_type() && a.element() == b.element() &&
           a.fixed_length() == b.fixed_length();
  }

  // Whether the type changed; reports it if so.
  bool type_changed(const std::string &where, const reflection::Type &a, const reflection::Type &b) {
    if (same_type(a, b)) return false;
    std::string from = type_name(s_, a, false), to = type_name(n_, b, false);
    if (from == to) from = type_name(s_, a, true), to = type_name(n_, b, true);
    report(where, "type changed from " + from + " to " + to);
    return true;
  }

  // A field is known by its id (its position, in a struct); one that kept
  // its name under another id has moved.
  void check_moved(const std::string &where, const reflection::Field &stored, const reflection::Object &next,
                   const char *what) {
    if (const reflection::Field *same_name = next.fields()->LookupByKey(stored.name()->c_str());
        same_name && same_name->id() != stored.id())
      report(where, std::string(what) + " changed from " + std::to_string(stored.id()) + " to " +
                        std::to_string(same_name->id()));
  }

  void compare_object(const reflection::Object &stored, const reflection::Object &next) {
    if (stored.is_struct() != next.is_struct()) {
      report(stored.name()->str(),
             stored.is_struct() ? "changed from struct to table" : "changed from table to struct");
      return;
    }
    if (stored.is_struct())
      compare_struct(stored, next);
    else
      compare_table(stored, next);
  }

  void compare_table(const reflection::Object &stored, const reflection::Object &next) {
    const std::string table = stored.name()->str() + ".";
    for (const reflection::Field *sf : by_id(stored)) {
      const std::string where = table + sf->name()->str();
      check_moved(where, *sf, next, "id");
      const reflection::Field *nf = field_with_id(next, sf->id());
      if (!nf) {
        report(where, sf->deprecated() ? "deprecated field removed (keep it, so its id is not reused)"
                                       : "field removed (mark it deprecated instead)");
        continue;
      }
      if (type_changed(where, *sf->type(), *nf->type())) continue;
      // Nothing reads a deprecated field, so its default and presence no
      // longer matter.
      if (sf->deprecated() || nf->deprecated()) continue;
      if (is_scalar(sf->type()->base_type()) && !same_default(*sf, *nf))
        report(where, "default changed from " + default_text(*sf) + " to " + default_text(*nf));
      if (sf->required() != nf->required())
        report(where, nf->required()
                          ? "made required (state written before may lack it)"
                          : "no longer required (state it writes fails the previous version's verifier)");
    }
    for (const reflection::Field *nf : by_id(next))
      if (!field_with_id(stored, nf->id()) && nf->required() && !nf->deprecated())
        report(table + nf->name()->str(), "new field is required (state written before lacks it)");
  }

  void compare_struct(const reflection::Object &stored, const reflection::Object &next) {
    const std::string name = stored.name()->str();
    if (stored.bytesize() != next.bytesize())
      report(name, "struct size changed from " + std::to_string(stored.bytesize()) + " to " +
                       std::to_string(next.bytesize()));
    if (stored.minalign() != next.minalign())
      report(name, "struct alignment changed from " + std::to_string(stored.minalign()) + " to " +
                       std::to_string(next.minalign()));
    for (const reflection::Field *sf : by_id(stored)) {
      const std::string where = name + "." + sf->name()->str();
      check_moved(where, *sf, next, "position");
      const reflection::Field *nf = field_with_id(next, sf->id());
      if (!nf) {
        report(where, "field removed from struct");
        continue;
      }
      if (type_changed(where, *sf->type(), *nf->type())) continue;
      if (sf->offset() != nf->offset())
        report(where, "offset changed from " + std::to_string(sf->offset()) + " to " +
                          std::to_string(nf->offset()));
    }
    for (const reflection::Field *nf : by_id(next))
      if (!field_with_id(stored, nf->id()))
        report(name + "." + nf->name()->str(), "field added to struct (a struct cannot grow)");
  }

  void compare_enum(const reflection::Enum &stored, const reflection::Enum &next) {
    if (stored.is_union() != next.is_union()) {
      report(stored.name()->str(), stored.is_union() ? "changed from union to enum" : "changed from enum to union");
      return;
    }
    if (stored.is_union()) {
      compare_union(stored, next);
      return;
    }
    const std::string name = stored.name()->str();
    const reflection::BaseType from = stored.underlying_type()->base_type();
    const reflection::BaseType to = next.underlying_type()->base_type();
    if (from != to)
      report(name, "underlying type changed from " + scalar_name(from) + " to " + scalar_name(to));
    for (const reflection::EnumVal *sv : *stored.values()) {
      const std::string where = name + "." + sv->name()->str();
      if (const reflection::EnumVal *nv = value_named(next, *sv->name())) {
        if (nv->value() != sv->value())
          report(where, "value changed from " + std::to_string(sv->value()) + " to " +
                            std::to_string(nv->value()));
      } else if (!next.values()->LookupByKey(sv->value())) {
        // A value kept under another name is a rename; a value gone is not.
        report(where, "value removed (state may hold it)");
      }
    }
  }

  // A union member is stored as its value: each value must keep its type.
  void compare_union(const reflection::Enum &stored, const reflection::Enum &next) {
    const std::string name = stored.name()->str();
    for (const reflection::EnumVal *sv : *stored.values()) {
      const std::string where = name + "." + sv->name()->str();
      const reflection::EnumVal *nv = next.values()->LookupByKey(sv->value());
      if (!nv) {
        report(where, "union member removed");
        continue;
      }
      const reflection::Type &a = *sv->union_type(), &b = *nv->union_type();
      if (!same_type(a, b))
        report(where, "member changed from " + type_name(s_, a, false) + " to " + type_name(n_, b, false));
    }
  }

  const reflection::Schema &s_;
  const reflection::Schema &n_;
  Pairing<reflection::Object> objects_;
  Pairing<reflection::Enum> enums_;
  std::vector<Incompatibility> out_;
};

}  // namespace

std::vector<Incompatibility> check_compatible(const BinarySchema &stored, const BinarySchema &next) {
  return Gate(stored.reflection(), next.reflection()).run();
}

std::string refusal_line(const std::vector<Incompatibility> &problems) {
  if (problems.empty()) return "";
  return problems.front().line() +
         (problems.size() > 1 ? " (and " + std::to_string(problems.size() - 1) + " more)" : "");
}

}  // namespace livebot::schema

// Small lookups over reflection::Object shared by the schema unit's files.
#pragma once

#include <flatbuffers/reflection.h>

#include <algorithm>
#include <vector>

namespace livebot::schema::detail {

// Reflection sorts fields by name; the wire format (and a reader) knows
// them by id.
inline std::vector<const reflection::Field *> by_id(const reflection::Object &object) {
  std::vector<const reflection::Field *> fields(object.fields()->begin(), object.fields()->end());
  std::sort(fields.begin(), fields.end(),
            [](const reflection::Field *a, const reflection::Field *b) { return a->id() < b->id(); });
  return fields;
}

inline const reflection::Field *field_with_id(const reflection::Object &object, uint16_t id) {
  for (const reflection::Field *field : *object.fields())
    if (field->id() == id) return field;
  return nullptr;
}

}  // namespace livebot::schema::detail

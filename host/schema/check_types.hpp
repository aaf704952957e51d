// What the reflection verifier leaves unchecked in a binary schema. It makes
// sure a .bfbs is a well-formed FlatBuffer of reflection.fbs, not that the
// types it describes make sense: an index may name no object or enum, or
// one of the wrong kind, a field may have a base type no field of its kind
// can have, a union member may lack its type. The state verifier, the
// renderer and the gate index vectors with those numbers and assert on
// those types, so BinarySchema::parse refuses such a schema first.
#pragma once

#include <flatbuffers/reflection.h>

#include <string>

namespace livebot::schema::detail {

// Empty if every type in `schema` is consistent and its root is one of its
// tables; otherwise the first problem, e.g.
// "lesson.State.count: refers to object 7 of 3".
std::string check_types(const reflection::Schema &schema);

}  // namespace livebot::schema::detail

// What FlatBuffers' JSON printer assumes of a buffer beyond what the
// reflection verifier checks. The verifier takes a union whose type is
// absent or NONE for an absent union and looks no further, but a value may
// still be there; the printer then prints the value by its type and asserts,
// or reads through a null pointer. BinarySchema::to_json refuses such a
// buffer first. Stored state is bytes from a file, so this is reachable.
#pragma once

#include <flatbuffers/reflection.h>

#include <string>

namespace livebot::schema::detail {

// Empty when every union value in `buffer`, a buffer of `schema`'s root
// table that verified, has a type naming one of its union's members;
// otherwise the first field that does not, e.g. "lesson.State.payload".
std::string untyped_union(const reflection::Schema &schema, const uint8_t *buffer);

}  // namespace livebot::schema::detail

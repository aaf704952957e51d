// The schema gate: may state written under `stored` be read under `next`?
// Stricter than `flatc --conform` (field lesson 12): it refuses every change
// FlatBuffers cannot read back faithfully, each with a line naming the table
// and field. It compares every table, struct, enum and union that stored
// state can reach from the root (through fields, vectors and unions). A field
// is known by its id, an enum value and a union member by their value, and a
// type by where it is used, so renaming any of them is accepted.
#pragma once

#include <string>
#include <vector>

#include "schema/schema.hpp"

namespace livebot::schema {

struct Incompatibility {
  std::string where;  // "lesson2.MemoryState.mode_updates": the table as the stored schema names it
  std::string what;   // "type changed from uint to int"
  std::string line() const { return where + ": " + what; }
};

// Empty when `next` is a compatible evolution of `stored`.
std::vector<Incompatibility> check_compatible(const BinarySchema &stored, const BinarySchema &next);

}  // namespace livebot::schema

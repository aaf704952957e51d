// Binary schemas (.bfbs) as the host sees them: parsed and verified once,
// identified by content hash, and used to read state a plugin wrote without
// the plugin's code (rendering, "new fields", the compatibility gate).
#pragma once

#include <flatbuffers/reflection.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace livebot::schema {

class BinarySchema {
 public:
  // Verifies `bfbs` as a reflection::Schema with a root table whose types
  // are consistent (check_types.hpp); throws livebot::Error("<where>",
  // "...") with the reason otherwise.
  static BinarySchema parse(std::string bfbs, const std::string &where);

  const std::string &bytes() const { return *bytes_; }
  const std::string &hash() const { return hash_; }
  const reflection::Schema &reflection() const;
  // Fully qualified name of the root table, e.g. "lesson2.MemoryState".
  std::string root_type() const;

  // Whether `buffer` is a valid FlatBuffer of the root table (reflection
  // verifier; field lesson 14: also run the generated verifier where the
  // plugin's code is at hand).
  bool verify(std::string_view buffer) const;

  // Renders a buffer of the root table as JSON text; throws livebot::Error if
  // the buffer does not verify.
  std::string to_json(std::string_view buffer) const;

 private:
  std::shared_ptr<const std::string> bytes_;
  std::string hash_;
  bool unions_ = false;  // verify() pads the buffer (schema.cpp)
};

// Fields present in `now`'s root table (and, as dotted paths, in the tables
// it reaches) that `before` did not have: compared by field id within each
// table, so a rename is not "new". Deprecated fields of `now` are not listed.
// Field lesson 13: this is the only sound source of "absent from this state".
std::vector<std::string> new_fields(const BinarySchema &before, const BinarySchema &now);

// Root-table fields `marking` deprecates that `buffer` still holds: data
// the next save by code of that schema drops (the object API packs no
// deprecated field). `buffer` must have verified against the schema that
// wrote it, and that schema must be one `marking` can read (the gate).
std::vector<std::string> deprecated_present(const BinarySchema &marking, std::string_view buffer);

}  // namespace livebot::schema

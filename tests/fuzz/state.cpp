// Fuzz target: stored state is bytes from a file the host does not control,
// so the state verifier is run on arbitrary bytes against real schemas: the
// Lesson 2 v2 plugin's, and two of the schema tests' that hold every kind of
// field (structs, unions, vectors of tables, required and optional fields).
// A buffer that verifies is rendered as JSON, as `livebot state` does.
#include <string>

#include "base_bfbs_generated.h"
#include "common/error.hpp"
#include "nest_bfbs_generated.h"
#include "schema/schema.hpp"
#include "state_bfbs_generated.h"
#include "targets.hpp"

namespace livebot::fuzz {

namespace {

template <class Embedded>
schema::BinarySchema embedded(const char *where) {
  return schema::BinarySchema::parse(
      std::string(reinterpret_cast<const char *>(Embedded::data()), Embedded::size()), where);
}

}  // namespace

void state(std::string_view bytes) {
  static const schema::BinarySchema schemas[] = {
      embedded<lesson2::LocationMemoryBinarySchema>("lesson2 v2"),
      embedded<lesson::StateBinarySchema>("base"),
      embedded<deep::RootBinarySchema>("nest"),
  };
  // The verifier reads scalars in place: give it the alignment a stored
  // buffer has (a string's heap bytes), not whatever the caller's has.
  const std::string buffer(bytes);
  for (const schema::BinarySchema &s : schemas) {
    if (!s.verify(buffer)) continue;
    try {
      s.to_json(buffer);
    } catch (const Error &) {
    }
  }
}

}  // namespace livebot::fuzz

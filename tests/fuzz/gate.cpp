// Fuzz target: the schema gate on arbitrary pairs of binary schemas. A
// schema comes from a plugin file or from the store, so parse() must refuse
// garbage with a reason, and what it accepts must be safe for the gate and
// for new_fields() to walk, in either direction, and for the state verifier
// to use (on the other schema's bytes: arbitrary, as state in a damaged
// store is).
#include <cstdint>
#include <string>

#include "common/error.hpp"
#include "schema/gate.hpp"
#include "targets.hpp"

namespace livebot::fuzz {

void gate(std::string_view bytes) {
  if (bytes.size() < 4) return;
  uint32_t stored_size = 0;
  for (int i = 3; i >= 0; --i) stored_size = stored_size << 8 | uint8_t(bytes[size_t(i)]);
  bytes.remove_prefix(4);
  if (stored_size > bytes.size()) return;
  try {
    const auto stored = schema::BinarySchema::parse(std::string(bytes.substr(0, stored_size)), "stored");
    const auto next = schema::BinarySchema::parse(std::string(bytes.substr(stored_size)), "next");
    for (const auto &[a, b] : {std::pair{&stored, &next}, std::pair{&next, &stored}}) {
      for (const schema::Incompatibility &i : schema::check_compatible(*a, *b)) i.line();
      schema::new_fields(*a, *b);
      a->verify(b->bytes());
    }
  } catch (const Error &) {
  }
}

}  // namespace livebot::fuzz

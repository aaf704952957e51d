// The fuzz targets: each takes arbitrary bytes and runs one of the host's
// decoders on them. A refusal (livebot::Error) is the decoder doing its job
// and returns normally; anything else - another exception, a crash, a
// sanitizer's report - is a bug. The same functions serve libFuzzer
// (libfuzzer.cpp, clang builds with -Dfuzz=true) and the replay of every
// seed corpus in the normal test suite (test_corpus.cpp).
#pragma once

#include <string_view>

namespace livebot::fuzz {

// A botengine recording's JSON text (playback/recording.hpp).
void recording(std::string_view bytes);

// One control-socket line (control/protocol.hpp); a request that decodes
// must encode back to a line that decodes to the same input.
void control(std::string_view bytes);

// A state buffer, verified and rendered against real plugin schemas
// (schema/schema.hpp).
void state(std::string_view bytes);

// Two binary schemas, the stored one then the next, parsed and gated both
// ways (schema/gate.hpp). The first four bytes, little-endian, are the
// stored schema's size (make_gate_seed.py writes such pairs).
void gate(std::string_view bytes);

}  // namespace livebot::fuzz

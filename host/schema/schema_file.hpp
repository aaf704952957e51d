// A binary schema from a file an author has at hand: a .bfbs as flatc wrote
// it, or a .fbs compiled in process by the FlatBuffers parser that flatc is
// built on (the same 2.0.8 the SDK compiles plugins with), so a build or a
// person can put two versions of a state schema to the gate without a flatc
// step of their own.
#pragma once

#include <string>

#include "schema/schema.hpp"

namespace livebot::schema {

// A file ending in .bfbs is read as a binary schema; any other is parsed as
// FlatBuffers IDL, its includes looked up beside it. Throws livebot::Error
// naming the file and, for IDL, the parser's line and reason.
BinarySchema read_schema_file(const std::string &path);

}  // namespace livebot::schema

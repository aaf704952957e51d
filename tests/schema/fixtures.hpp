// The schema tests' fixtures: .fbs files in fixtures/, and the .bfbs that
// flatc made of each one at build time, as it does a plugin's schema.
#pragma once

#include <string>

#include "schema/schema.hpp"

namespace livebot::test {

std::string read_bytes(const std::string &path);
std::string fbs_path(const std::string &name);
std::string bfbs_path(const std::string &name);
// The fixture `name` as the host sees it; fails the test if it is missing.
schema::BinarySchema load_schema(const std::string &name);

}  // namespace livebot::test

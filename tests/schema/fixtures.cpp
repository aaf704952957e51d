#include "fixtures.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>

namespace livebot::test {

std::string read_bytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  INFO(path);
  REQUIRE(in);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string fbs_path(const std::string &name) { return std::string(SCHEMA_FIXTURES_DIR) + "/" + name + ".fbs"; }

std::string bfbs_path(const std::string &name) { return std::string(SCHEMA_BFBS_DIR) + "/" + name + ".bfbs"; }

schema::BinarySchema load_schema(const std::string &name) {
  return schema::BinarySchema::parse(read_bytes(bfbs_path(name)), name + ".bfbs");
}

}  // namespace livebot::test

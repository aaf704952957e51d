#include "schema/schema_file.hpp"

#include <flatbuffers/idl.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>

#include "common/error.hpp"

namespace livebot::schema {

namespace {

std::string read_whole(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path, "cannot open schema file");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The parser says "<file>:<line>: <column>: error: <reason>", and may go on
// over more lines. The first, as "line L, column C: reason", naming the file
// only when it is another one (an included file).
std::string parser_reason(const std::string &error, const std::string &path) {
  const std::string first = error.substr(0, error.find('\n'));
  static const std::regex form(R"(^(.*):(\d+): (\d+): error: (.*)$)");
  std::smatch m;
  if (!std::regex_match(first, m, form)) return first.empty() ? "not a valid schema" : first;
  std::error_code ec;
  const bool same_file = std::filesystem::equivalent(m[1].str(), path, ec);
  return (same_file ? "" : m[1].str() + ": ") + "line " + m[2].str() + ", column " + m[3].str() + ": " + m[4].str();
}

}  // namespace

BinarySchema read_schema_file(const std::string &path) {
  const std::string text = read_whole(path);
  if (std::filesystem::path(path).extension() == ".bfbs") return BinarySchema::parse(text, path);

  flatbuffers::Parser parser;
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const std::string include_dir = dir.empty() ? "." : dir;
  const char *include_paths[] = {include_dir.c_str(), nullptr};
  if (!parser.Parse(text.c_str(), include_paths, path.c_str())) throw Error(path, parser_reason(parser.error_, path));
  parser.Serialize();
  return BinarySchema::parse(
      std::string(reinterpret_cast<const char *>(parser.builder_.GetBufferPointer()), parser.builder_.GetSize()), path);
}

}  // namespace livebot::schema

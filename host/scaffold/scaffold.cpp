#include "scaffold/scaffold.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>

#include "common/error.hpp"

namespace livebot::scaffold {

namespace fs = std::filesystem;

namespace {

// The device a location microservice's recording has: an entry sensor.
constexpr int32_t kRecordingDeviceType = 10014;

// Words a name cannot be: C++ keywords, FlatBuffers keywords and type
// names, and the namespaces a plugin's code already uses. Sorted.
constexpr std::string_view kReserved[] = {
    "alignas", "alignof", "and", "and_eq", "asm", "attribute", "auto", "bitand", "bitor", "bool", "break", "byte",
    "case", "catch", "char", "char16_t", "char32_t", "char8_t", "class", "co_await", "co_return", "co_yield", "compl",
    "concept", "const", "const_cast", "consteval", "constexpr", "constinit", "continue", "decltype", "default",
    "delete", "do", "double", "dynamic_cast", "else", "enum", "explicit", "export", "extern", "false",
    "file_extension", "file_identifier", "flatbuffers", "float", "float32", "float64", "for", "friend", "goto", "if",
    "include", "inline", "int", "int16", "int32", "int64", "int8", "livebot", "long", "mutable", "namespace",
    "native_include", "new", "noexcept", "not", "not_eq", "nullptr", "operator", "or", "or_eq", "private",
    "protected", "public", "reflection", "register", "reinterpret_cast", "requires", "return", "root_type",
    "rpc_service", "short", "signed", "sizeof", "static", "static_assert", "static_cast", "std", "string", "struct",
    "switch", "table", "template", "this", "thread_local", "throw", "true", "try", "typedef", "typeid", "typename",
    "ubyte", "uint", "uint16", "uint32", "uint64", "uint8", "ulong", "union", "unsigned", "ushort", "using",
    "virtual", "void", "volatile", "wchar_t", "while", "xor", "xor_eq"};
static_assert(std::is_sorted(std::begin(kReserved), std::end(kReserved)));

std::string camel_case(const std::string &name) {
  std::string out;
  bool upper = true;
  for (const char c : name) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    upper = false;
  }
  return out;
}

std::string read_template(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string(), "cannot read template");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Keeps the lines of this kind (dropping their tag) and the untagged ones.
std::string keep_lines_of(Kind kind, const std::string &text) {
  constexpr std::string_view location_tag = "@location@", device_tag = "@device@";
  std::string out;
  for (size_t at = 0; at < text.size();) {
    const size_t end = std::min(text.find('\n', at), text.size() - 1) + 1;
    std::string_view line(text.data() + at, end - at);
    at = end;
    if (line.starts_with(location_tag)) {
      if (kind != Kind::Location) continue;
      line.remove_prefix(location_tag.size());
    } else if (line.starts_with(device_tag)) {
      if (kind != Kind::Device) continue;
      line.remove_prefix(device_tag.size());
    }
    out += line;
  }
  return out;
}

std::string substitute(std::string text, const std::vector<std::pair<std::string, std::string>> &values) {
  for (const auto &[key, value] : values)
    for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + value.size()))
      text.replace(at, key.size(), value);
  return text;
}

}  // namespace

std::string name_problem(const std::string &name) {
  if (name.empty() || name.size() > 64) return "a name is 1 to 64 characters";
  if (name.front() < 'a' || name.front() > 'z') return "'" + name + "' does not start with a lower-case letter";
  for (const char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return "'" + name + "' has a '" + std::string(1, c) + "': use lower-case letters, digits and _";
  if (name.find("__") != std::string::npos) return "'" + name + "' has __, which C++ reserves";
  if (std::binary_search(std::begin(kReserved), std::end(kReserved), name))
    return "'" + name + "' is a C++ or FlatBuffers word, or a namespace plugins use";
  return "";
}

std::string template_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  const fs::path installed = (exe.parent_path() / LIVEBOT_TEMPLATE_FROM_BINDIR).lexically_normal();
  if (!ec && fs::is_directory(installed)) return installed.string();
  if (fs::is_directory(LIVEBOT_TEMPLATE_SOURCE_DIR)) return LIVEBOT_TEMPLATE_SOURCE_DIR;
  throw Error(installed.string(), "no template directory here, nor at " LIVEBOT_TEMPLATE_SOURCE_DIR);
}

std::vector<std::string> write_project(const Microservice &ms, const std::string &templates,
                                       const std::string &project_dir) {
  if (fs::exists(project_dir)) {
    if (!fs::is_directory(project_dir)) throw Error(project_dir, "exists and is not a directory");
    if (!fs::is_empty(project_dir))
      throw Error(project_dir, "exists and is not empty; livebot new writes a new project");
  }
  const std::vector<std::pair<std::string, std::string>> values = {
      {"@NAME@", ms.name},
      {"@CLASS@", camel_case(ms.name)},
      {"@KIND@", ms.kind == Kind::Location ? "location" : "device"},
      {"@DEVICE_TYPE@", std::to_string(ms.kind == Kind::Device ? ms.device_type : kRecordingDeviceType)},
  };

  std::vector<fs::path> sources;
  for (const auto &entry : fs::recursive_directory_iterator(templates))
    if (entry.is_regular_file()) sources.push_back(fs::relative(entry.path(), templates));
  std::sort(sources.begin(), sources.end());

  std::vector<std::string> written;
  for (const auto &source : sources) {
    const std::string relative = substitute(source.string(), values);
    const fs::path target = fs::path(project_dir) / relative;
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) throw Error(target.parent_path().string(), "cannot create directory: " + ec.message());
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    out << substitute(keep_lines_of(ms.kind, read_template(fs::path(templates) / source)), values);
    if (!out.flush()) throw Error(target.string(), "cannot write");
    written.push_back(relative);
  }
  return written;
}

}  // namespace livebot::scaffold

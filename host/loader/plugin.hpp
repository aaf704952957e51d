// One loaded version of one plugin file: checked, staged, mapped with
// Boost.DLL, its ABI table and schema verified. Unloading verifies that the
// image really left the process (field lesson 4) instead of assuming it.
#pragma once

#include <livebot/livebot.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "loader/staging.hpp"
#include "schema/schema.hpp"

namespace livebot::loader {

// The host's own ABI version and the oldest table layout it still reads.
constexpr uint32_t kHostAbiVersion = LIVEBOT_ABI_VERSION;

struct UnloadResult {
  bool gone = true;    // no mapping of the staged file is left
  std::string reason;  // why it stayed, when known
};

// A plugin file as read once: one read serves the content hash, the checks
// and the staged copy, so all three see the same bytes, and a swap pays for
// one read.
struct PluginFile {
  std::string path, bytes, hash;
};
// Throws livebot::Error naming `path` if it cannot be read.
PluginFile read_plugin(const std::string &path);

class Plugin {
 public:
  // Checks who may have written the file (trust.hpp), checks its SHA-256
  // against `sha256` when one is pinned, checks its ELF headers, stages a
  // private copy of the bytes read, loads it and checks its entry table and
  // embedded schema. Throws livebot::Error naming the file and the reason;
  // nothing stays mapped or staged on failure.
  static std::unique_ptr<Plugin> load(const PluginFile &file, Staging &staging, const std::string &sha256 = "");
  static std::unique_ptr<Plugin> load(const std::string &file, Staging &staging, const std::string &sha256 = "") {
    return load(read_plugin(file), staging, sha256);
  }
  ~Plugin();  // unloads if still loaded

  const livebot_plugin &table() const { return *table_; }
  const schema::BinarySchema &schema() const { return *schema_; }
  const std::string &file() const { return file_; }
  const std::string &staged_path() const { return staged_; }
  uint64_t generation() const { return generation_; }
  const std::string &file_hash() const { return hash_; }
  const std::string &name() const { return name_; }
  const std::string &version() const { return version_; }
  // STB_GNU_UNIQUE symbols found before loading: such a library may stay
  // mapped after unload.
  const std::vector<std::string> &unique_symbols() const { return unique_; }

  UnloadResult unload();
  bool loaded() const;

 private:
  Plugin(std::string file, Staging &staging);

  struct Library;
  std::unique_ptr<Library> lib_;
  Staging &staging_;
  const livebot_plugin *table_ = nullptr;
  std::optional<schema::BinarySchema> schema_;
  std::string file_, staged_, hash_, name_, version_;
  uint64_t generation_ = 0;
  std::vector<std::string> unique_;
};

// Whether any object mapped into this process was loaded from `path`
// (dl_iterate_phdr).
bool is_mapped(const std::string &path);
// Every object mapped into this process from files in `dir`.
std::vector<std::string> mapped_under(const std::string &dir);

}  // namespace livebot::loader

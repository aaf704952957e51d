#include "loader/plugin.hpp"

#include <link.h>

#include <boost/dll/shared_library.hpp>
#include <cstddef>
#include <cstring>
#include <filesystem>

#include "common/error.hpp"
#include "common/hash.hpp"
#include "common/log.hpp"
#include "common/read_file.hpp"
#include "loader/elf_check.hpp"
#include "loader/trust.hpp"

namespace livebot::loader {

namespace {

// The size of the first table layout: a plugin's table may be larger (built
// against a newer SDK that appended members) but never smaller.
constexpr size_t kPluginTableV1Size = offsetof(livebot_plugin, close) + sizeof(livebot_plugin::close);

std::string stem_of(const std::string &file) {
  std::string stem = std::filesystem::path(file).stem().string();
  return stem.empty() ? "plugin" : stem;
}

bool nonempty(const char *s) { return s && *s; }

}  // namespace

struct Plugin::Library {
  boost::dll::shared_library lib;
};

Plugin::Plugin(std::string file, Staging &staging) : staging_(staging), file_(std::move(file)) {}

Plugin::~Plugin() {
  if (loaded()) unload();
}

bool Plugin::loaded() const { return lib_ && lib_->lib.is_loaded(); }

PluginFile read_plugin(const std::string &path) {
  PluginFile f{path, read_whole_file(path), {}};
  f.hash = content_hash(f.bytes);
  return f;
}

std::unique_ptr<Plugin> Plugin::load(const PluginFile &f, Staging &staging, const std::string &sha256) {
  const std::string &file = f.path;
  const std::string &bytes = f.bytes;
  check_trusted(file);
  if (!sha256.empty() && sha256_hex(bytes) != sha256)
    throw Error(file, "refused: its SHA-256 is " + sha256_hex(bytes) + ", the manifest pins " + sha256);
  check_elf(bytes, file);

  std::unique_ptr<Plugin> p(new Plugin(file, staging));
  p->hash_ = f.hash;
  p->unique_ = gnu_unique_symbols(bytes);
  if (!p->unique_.empty()) spdlog::warn("{}: {}", file, gnu_unique_problem(p->unique_));
  auto staged = staging.stage(stem_of(file), bytes, p->hash_);
  p->staged_ = std::move(staged.path);
  p->generation_ = staged.generation;

  // From here a failure must leave nothing staged or mapped.
  try {
    p->lib_ = std::make_unique<Library>();
    try {
      p->lib_->lib.load(p->staged_, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    } catch (const std::exception &e) {
      throw Error(file, std::string("cannot load: ") + e.what());
    }
    if (!p->lib_->lib.has(LIVEBOT_ENTRY_SYMBOL))
      throw Error(file, "not a livebot plugin: no '" LIVEBOT_ENTRY_SYMBOL "' symbol");
    const auto entry = p->lib_->lib.get<const livebot_plugin *(uint32_t)>(LIVEBOT_ENTRY_SYMBOL);
    const livebot_plugin *t = entry(kHostAbiVersion);
    if (!t) throw Error(file, "livebot_entry returned no table (the plugin refuses host ABI " +
                                  std::to_string(kHostAbiVersion) + ")");
    if (t->abi_version == 0 || t->abi_version > kHostAbiVersion)
      throw Error(file, "built for ABI version " + std::to_string(t->abi_version) +
                            "; this host serves ABI versions 1 to " + std::to_string(kHostAbiVersion));
    if (t->struct_size < kPluginTableV1Size)
      throw Error(file, "plugin table is " + std::to_string(t->struct_size) + " bytes, ABI 1 needs at least " +
                            std::to_string(kPluginTableV1Size));
    if (!nonempty(t->name) || !nonempty(t->version) || !nonempty(t->state_root_type))
      throw Error(file, "plugin table lacks a name, version or state root type");
    if (!t->open || !t->call || !t->close) throw Error(file, "plugin table lacks an entry point");
    if (!t->schema || t->schema_size == 0) throw Error(file, "plugin embeds no state schema");
    p->schema_ = schema::BinarySchema::parse(
        std::string(reinterpret_cast<const char *>(t->schema), t->schema_size), file + ": embedded schema");
    if (p->schema_->root_type() != t->state_root_type)
      throw Error(file, "declares state root type '" + std::string(t->state_root_type) +
                            "' but its schema's root table is '" + p->schema_->root_type() + "'");
    p->table_ = t;
    p->name_ = t->name;
    p->version_ = t->version;
  } catch (...) {
    p->unload();
    throw;
  }
  return p;
}

UnloadResult Plugin::unload() {
  UnloadResult r;
  table_ = nullptr;
  if (lib_) {
    lib_->lib.unload();
    lib_.reset();
  }
  if (!staged_.empty() && is_mapped(staged_)) {
    r.gone = false;
    r.reason = unique_.empty() ? "still mapped after dlclose (another reference holds it)"
                               : "pinned by STB_GNU_UNIQUE symbol '" + unique_.front() +
                                     "' (build with -fno-gnu-unique)";
  }
  if (!staged_.empty()) {
    staging_.remove(staged_);
  }
  return r;
}

std::vector<std::string> mapped_under(const std::string &dir) {
  std::vector<std::string> found;
  const std::string prefix = dir.empty() || dir.back() == '/' ? dir : dir + "/";
  dl_iterate_phdr(
      [](struct dl_phdr_info *info, size_t, void *data) -> int {
        auto &[pre, out] = *static_cast<std::pair<const std::string *, std::vector<std::string> *> *>(data);
        if (info->dlpi_name && std::string_view(info->dlpi_name).starts_with(*pre)) out->emplace_back(info->dlpi_name);
        return 0;
      },
      std::make_unique<std::pair<const std::string *, std::vector<std::string> *>>(&prefix, &found).get());
  return found;
}

bool is_mapped(const std::string &path) {
  for (const auto &p : mapped_under(std::filesystem::path(path).parent_path().string()))
    if (p == path) return true;
  return false;
}

}  // namespace livebot::loader

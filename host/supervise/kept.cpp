#include "supervise/kept.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>

#include "common/error.hpp"
#include "common/hash.hpp"

namespace livebot::supervise {

namespace fs = std::filesystem;

namespace {

constexpr size_t kPrefix = 16;  // hex digits of the content hash in a copy's name

struct Entry {
  fs::path path;
  std::string prefix;  // the hash its name claims
  bool partial;        // a copy cut short by a crash: only ever deleted
  fs::file_time_type mtime;
};

// The files of `name` in `dir`: "NAME-HASH16.so", or with ".tmp" while
// written. Another microservice whose name starts with "NAME-" never
// matches, since what follows the dash must be the 16 digits alone.
std::vector<Entry> entries_of(const std::string &dir, const std::string &name) {
  std::vector<Entry> out;
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(dir, ec)) {
    std::string file = e.path().filename().string();
    const bool partial = file.size() > 4 && file.ends_with(".tmp");
    if (partial) file.resize(file.size() - 4);
    if (file.size() != name.size() + 1 + kPrefix + 3 || !file.starts_with(name + "-") || !file.ends_with(".so"))
      continue;
    const std::string prefix = file.substr(name.size() + 1, kPrefix);
    if (prefix.find_first_not_of("0123456789abcdef") != std::string::npos) continue;
    std::error_code time_ec;
    out.push_back({e.path(), prefix, partial, fs::last_write_time(e.path(), time_ec)});
  }
  std::sort(out.begin(), out.end(), [](const Entry &a, const Entry &b) { return a.mtime > b.mtime; });
  return out;
}

// The copy's content hash if its bytes are the build its name says.
std::optional<std::string> verified(const Entry &e) {
  if (e.partial) return std::nullopt;
  try {
    auto hash = file_hash(e.path.string());
    if (hash.starts_with(e.prefix)) return hash;
  } catch (const Error &) {
    // Unreadable: as good as damaged.
  }
  return std::nullopt;
}

}  // namespace

std::string KeptBuilds::serving(const std::string &name, const std::string &source, const std::string &hash,
                                const std::set<std::string> &bad) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw Error(dir_, "cannot create the directory of kept builds: " + ec.message());
  fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::replace, ec);
  const std::string copy = dir_ + "/" + name + "-" + hash.substr(0, kPrefix) + ".so";
  bool present = false;
  try {
    present = file_hash(copy) == hash;
  } catch (const Error &) {
    // Not kept yet.
  }
  if (!present) {
    // Written aside and renamed, so that a crash never leaves half a build
    // under a name recovery would load.
    const std::string tmp = copy + ".tmp";
    fs::remove(tmp, ec);  // one a crash left, read-only as its source was
    fs::copy_file(source, tmp, ec);
    // Read-only, as staged copies are, whatever the source's mode.
    if (!ec) fs::permissions(tmp, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read, ec);
    if (!ec) fs::rename(tmp, copy, ec);
    if (ec) {
      fs::remove(tmp, ec);
      throw Error(copy, "cannot keep a copy of " + source + ": " + ec.message());
    }
  }
  fs::last_write_time(copy, fs::file_time_type::clock::now(), ec);
  if (ec) throw Error(copy, "cannot mark the kept build as serving: " + ec.message());
  prune(name, bad);
  return copy;
}

std::vector<KeptBuilds::Copy> KeptBuilds::newest_first(const std::string &name) const {
  std::vector<Copy> out;
  for (const auto &e : entries_of(dir_, name))
    if (auto hash = verified(e)) out.push_back({e.path.string(), std::move(*hash)});
  return out;
}

void KeptBuilds::prune(const std::string &name, const std::set<std::string> &bad) const {
  bool serving_kept = false, fallback_kept = false;
  for (const auto &e : entries_of(dir_, name)) {
    const auto hash = verified(e);
    bool keep = false;
    if (hash && !serving_kept) {
      keep = serving_kept = true;
    } else if (hash && !fallback_kept && !bad.count(*hash)) {
      keep = fallback_kept = true;
    }
    std::error_code ec;
    if (!keep) fs::remove(e.path, ec);
  }
}

}  // namespace livebot::supervise

// Private copies of plugin files (field lessons 1 and 2). The host never
// maps a file the build writes to: each version is copied, read-only, to a
// directory only this process uses, under a name no earlier load had, so
// dlopen can neither hand back a stale image nor see pages rewritten by `cp`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace livebot::loader {

class Staging {
 public:
  // Creates a fresh 0700 directory "livebot-stage-<pid>-XXXXXX" under
  // $TMPDIR (or /tmp).
  Staging();
  ~Staging();  // removes the directory and whatever is left in it
  Staging(const Staging &) = delete;
  Staging &operator=(const Staging &) = delete;

  const std::string &dir() const { return dir_; }

  struct Staged {
    std::string path;
    uint64_t generation;  // never repeats in one process
  };
  // Writes `bytes` to "<dir>/<stem>-g<generation>-<hash[0:16]>.so", mode
  // 0444.
  Staged stage(const std::string &stem, std::string_view bytes, const std::string &hash);

  void remove(const std::string &staged_path);

  // Removes what processes that are gone left behind (a SIGKILL skips the
  // destructor): staging directories under $TMPDIR owned by this user whose
  // pid no longer runs. Only once nothing a crashed host left is needed any
  // more: a live host calls it after recovery (supervise/recovery.hpp).
  // Returns how many it removed.
  static size_t remove_stale();

 private:
  std::string dir_;
  uint64_t generation_ = 0;
};

}  // namespace livebot::loader

// Copies of the builds that served, in a directory beside the store
// ("STORE.kept/"), so that a host restarting after a crash can go back to the
// build before the one that crashed even when the plugin file has been
// overwritten by the bad one and the previous process's staging directory is
// gone. One file per microservice and build, "NAME-HASH16.so"; the most
// recent modification time is the build serving last, the next one the build
// before it.
//
// Pruned per microservice to what a rollback can still need: the copy of the
// build serving and the newest copy of a build the store does not mark bad.
// Everything else of that microservice's (older builds, bad ones) is deleted.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace livebot::supervise {

class KeptBuilds {
 public:
  static std::string dir_for(const std::string &store_path) { return store_path + ".kept"; }

  explicit KeptBuilds(std::string dir) : dir_(std::move(dir)) {}

  // Records that `hash` of microservice `name` serves, copying its bytes from
  // `source` if no copy is kept yet, then prunes `name`'s copies; `bad` are
  // the content hashes the store marks bad. Returns the copy's path. Throws
  // livebot::Error naming the file that could not be written.
  std::string serving(const std::string &name, const std::string &source, const std::string &hash,
                      const std::set<std::string> &bad);

  struct Copy {
    std::string path, hash;
  };
  // The kept copies of `name` whose bytes are the build their name says (a
  // damaged one is skipped), the build serving last first.
  std::vector<Copy> newest_first(const std::string &name) const;

 private:
  // Deletes the copies of `name` rollback no longer needs (above).
  void prune(const std::string &name, const std::set<std::string> &bad) const;


  std::string dir_;
};

}  // namespace livebot::supervise

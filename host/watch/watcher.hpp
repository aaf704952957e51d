// Watches one directory for build outputs and reports each new version of a
// file once (field lessons 3, 5 and 11).
//
// Promises: one build is one report, whether the tool rewrites the file in
// place (cp), unlinks and recreates it (ld.bfd, gold, install) or renames a
// temp file over it (lld, cp + mv); two builds in the same second are two
// reports; a file is reported only once its size, times and inode held still
// across two looks and the caller's completeness check passed; temp and
// editor files are never reported; a rewrite with identical bytes is not a
// change.
//
// How: inotify events (uv_fs_event on the directory, never on the files,
// whose watches die at the first rename) and uv_fs_poll stats are only
// hints. A hint restarts a debounce timer (a poll hint only starts it, unless
// polling is all there is); when it expires the directory is
// rescanned and each file's stat is compared with the last report, and a
// file whose stat moved is hashed once it is stable. Everything runs on the
// caller's loop thread; scans and hashes are synchronous, which is fine for a
// directory of a few plugins on a local disk.
//
// Limit: gold writes its output through mmap, which raises no event and need
// not move mtime, so the quiet debounce is what gives it time to finish; the
// loader's ELF extent check is the backstop.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace livebot::watch {

struct Change {
  enum class Kind { Added, Changed, Removed };
  std::string path;  // "<dir>/<name>"
  Kind kind;
  std::string hash;  // livebot::file_hash of the content reported; empty for Removed
};

std::string_view to_string(Change::Kind kind);

// Names no build writes as its output: dot files (vim's ".x.swp", emacs'
// ".#x", rsync's ".x.XXXXXX"), "x~", "#x#", "*.swp", "*.swx", vim's "4913",
// "*.part", "*.tmp" and lld's "<output>.tmp<hex>". Never reported, whatever
// the filter says.
bool is_temp_name(std::string_view name);

// A filter for WatchOptions::accept: names ending in one of `suffixes`.
std::function<bool(std::string_view)> suffix_filter(std::vector<std::string> suffixes);

struct WatchOptions {
  // Which file names to report; empty accepts every name that is not a temp
  // name. Also decides which events are worth a rescan.
  std::function<bool(std::string_view name)> accept;
  // A cheap check that a stable file is whole (e.g. ELF extents against the
  // size), given the bytes that will be hashed. A file that fails it is not
  // reported and is looked at again at the next hint, so a file that never
  // passes is never reported. Empty: none.
  std::function<bool(const std::string &path, std::string_view bytes)> complete;
  // Quiet time after the last hint before rescanning; each hint restarts it.
  std::chrono::milliseconds debounce{150};
  // Gap between the two looks that must agree before a file is hashed.
  std::chrono::milliseconds settle{50};
  // Stat polling of the directory and of each accepted file: the safety net
  // for events inotify drops, or the only mechanism with poll_only.
  std::chrono::milliseconds poll_interval{1000};
  // For file systems without inotify (network, FUSE): no uv_fs_event.
  bool poll_only = false;
  // Report the files present at start() as Added instead of taking them as
  // the baseline.
  bool report_existing = false;
};

class DirWatcher {
 public:
  // Called on the loop thread with the changes of one rescan, never empty.
  // It may call stop() or destroy the watcher. Neither it nor the options'
  // functions may throw: they run inside libuv callbacks.
  using Callback = std::function<void(const std::vector<Change> &)>;

  DirWatcher(uv_loop_t *loop, std::string dir, WatchOptions options, Callback on_change);
  ~DirWatcher();  // stop()
  DirWatcher(const DirWatcher &) = delete;
  DirWatcher &operator=(const DirWatcher &) = delete;

  // Takes the baseline and starts watching (again, from a fresh baseline, if
  // it was running). Throws livebot::Error naming the directory if it cannot
  // be read or watched.
  void start();
  // Closes every handle; the loop frees them in their close callbacks and can
  // then return. Safe to call twice, from the callback, or not at all.
  void stop();

  const std::string &dir() const { return dir_; }

 private:
  // What a stat says about a file; equal stats are taken to mean equal bytes.
  struct Stat {
    int64_t size = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;  // moves on every write or metadata change, even when mtime is set back
    uint64_t inode = 0;
    bool operator==(const Stat &) const = default;
  };
  struct Reported {
    Stat stat;
    std::string hash;
  };
  using Listing = std::map<std::string, Stat>;  // accepted regular files by name
  using Look = std::optional<Stat>;             // nullopt: absent

  std::optional<Listing> scan() const;
  bool wanted(std::string_view name) const;
  std::string path_of(const std::string &name) const { return dir_ + "/" + name; }
  std::optional<std::string> hash_if_whole(const std::string &name) const;
  void hint(const char *source, const char *name);
  void rescan_in(std::chrono::milliseconds delay);  // restarts the one timer
  void rescan();
  void poll_files(const Listing &files);
  uv_fs_poll_t *start_poll(const std::string &path);

  uv_loop_t *loop_;
  std::string dir_;
  WatchOptions options_;
  Callback on_change_;

  uv_timer_t *timer_ = nullptr;
  uv_fs_event_t *event_ = nullptr;
  uv_fs_poll_t *dir_poll_ = nullptr;
  std::map<std::string, uv_fs_poll_t *> file_polls_;

  std::map<std::string, Reported> reported_;  // the baseline, then the last report of each file
  std::map<std::string, Look> last_look_;     // files whose stat moved: what the previous rescan saw
};

}  // namespace livebot::watch

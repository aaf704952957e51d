#include "watch/watcher.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "common/error.hpp"
#include "common/hash.hpp"
#include "common/log.hpp"
#include "common/read_file.hpp"

namespace livebot::watch {

namespace {

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

// lld writes "<output>.tmp" plus random hex digits, then renames it.
bool is_lld_temp(std::string_view name) {
  const size_t at = name.rfind(".tmp");
  if (at == std::string_view::npos) return false;
  for (const char c : name.substr(at + 4))
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

int64_t to_ns(const timespec &t) { return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec; }

// Handles are heap-allocated and freed in their close callback, so the
// watcher can be destroyed before the loop has run that callback.
template <typename Handle>
void close_handle(Handle *&handle) {
  if (!handle) return;
  handle->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t *>(handle),
           [](uv_handle_t *closed) { delete reinterpret_cast<Handle *>(closed); });
  handle = nullptr;
}

template <typename Handle>
DirWatcher *owner(Handle *handle) {
  return static_cast<DirWatcher *>(handle->data);
}

}  // namespace

std::string_view to_string(Change::Kind kind) {
  switch (kind) {
    case Change::Kind::Added: return "added";
    case Change::Kind::Changed: return "changed";
    case Change::Kind::Removed: return "removed";
  }
  return "?";
}

bool is_temp_name(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.back() == '~' || name == "4913") return true;
  if (name.size() > 1 && name.front() == '#' && name.back() == '#') return true;
  for (const std::string_view tail : {".swp", ".swx", ".part"})
    if (ends_with(name, tail)) return true;
  return is_lld_temp(name);
}

std::function<bool(std::string_view)> suffix_filter(std::vector<std::string> suffixes) {
  return [suffixes = std::move(suffixes)](std::string_view name) {
    for (const auto &s : suffixes)
      if (ends_with(name, s)) return true;
    return false;
  };
}

DirWatcher::DirWatcher(uv_loop_t *loop, std::string dir, WatchOptions options, Callback on_change)
    : loop_(loop), dir_(std::move(dir)), options_(std::move(options)), on_change_(std::move(on_change)) {}

DirWatcher::~DirWatcher() { stop(); }

void DirWatcher::start() {
  stop();
  reported_.clear();
  last_look_.clear();
  const auto files = scan();
  if (!files) throw Error(dir_, std::string("cannot read directory: ") + std::strerror(errno));

  timer_ = new uv_timer_t;
  uv_timer_init(loop_, timer_);
  timer_->data = this;

  if (!options_.poll_only) {
    event_ = new uv_fs_event_t;
    uv_fs_event_init(loop_, event_);
    event_->data = this;
    const auto on_event = [](uv_fs_event_t *h, const char *name, int, int status) {
      if (status < 0) spdlog::warn("{}: watch error: {}", owner(h)->dir(), uv_strerror(status));
      owner(h)->hint("event", name);
    };
    if (const int rc = uv_fs_event_start(event_, on_event, dir_.c_str(), 0); rc < 0) {
      stop();
      throw Error(dir_, std::string("cannot watch directory: ") + uv_strerror(rc));
    }
  }
  dir_poll_ = start_poll(dir_);
  poll_files(*files);

  if (options_.report_existing) {
    hint("start", nullptr);
  } else {
    for (const auto &[name, stat] : *files)
      if (auto hash = hash_if_whole(name)) reported_[name] = {stat, std::move(*hash)};
  }
  spdlog::debug("{}: watching {} file(s){}", dir_, files->size(), options_.poll_only ? " by polling" : "");
}

void DirWatcher::stop() {
  close_handle(timer_);
  close_handle(event_);
  close_handle(dir_poll_);
  for (auto &[name, poll] : file_polls_) close_handle(poll);
  file_polls_.clear();
}

bool DirWatcher::wanted(std::string_view name) const {
  return !is_temp_name(name) && (!options_.accept || options_.accept(name));
}

std::optional<DirWatcher::Listing> DirWatcher::scan() const {
  DIR *d = ::opendir(dir_.c_str());
  if (!d) return std::nullopt;
  Listing files;
  while (const dirent *e = ::readdir(d)) {
    struct stat st;
    if (!wanted(e->d_name) || ::fstatat(::dirfd(d), e->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode)) continue;
    files[e->d_name] = {st.st_size, to_ns(st.st_mtim), to_ns(st.st_ctim), st.st_ino};
  }
  ::closedir(d);
  return files;
}

std::optional<std::string> DirWatcher::hash_if_whole(const std::string &name) const {
  const std::string path = path_of(name);
  std::string bytes;
  try {
    bytes = read_whole_file(path);
  } catch (const Error &e) {
    spdlog::warn("{}", e.what());
    return std::nullopt;
  }
  if (options_.complete && !options_.complete(path, bytes)) {
    spdlog::debug("{}: not complete yet", path);
    return std::nullopt;
  }
  return content_hash(bytes);
}

void DirWatcher::hint(const char *source, const char *name) {
  // A named entry we would never report cannot change what a rescan finds.
  if (name && !wanted(name)) return;
  // With inotify on, a poll hint is late news of a change whose events
  // already armed the timer: pushing the rescan back would only delay it by
  // up to a debounce. Polling alone re-arms, as it is all there is.
  if (!options_.poll_only && std::string_view(source) == "poll" && uv_is_active(reinterpret_cast<uv_handle_t *>(timer_)))
    return;
  spdlog::debug("{}: {}{}{}, rescan in {} ms", dir_, source, name ? " " : "", name ? name : "",
                options_.debounce.count());
  rescan_in(options_.debounce);
}

void DirWatcher::rescan_in(std::chrono::milliseconds delay) {
  uv_timer_start(timer_, [](uv_timer_t *t) { owner(t)->rescan(); }, static_cast<uint64_t>(delay.count()), 0);
}

// A file is reported when its stat differs from the last report and agrees
// with the previous rescan: a file that moved between two looks is still
// being written, so it is looked at again after `settle`. Its hash decides
// whether the content really changed.
void DirWatcher::rescan() {
  const auto files = scan();
  if (!files) {
    spdlog::warn("{}: cannot read directory: {}", dir_, std::strerror(errno));
    return;
  }
  poll_files(*files);

  std::map<std::string, Look> now(files->begin(), files->end());
  for (const auto &[name, r] : reported_) now.try_emplace(name, std::nullopt);

  std::vector<Change> changes;
  std::map<std::string, Look> unsettled;
  bool moving = false;
  for (const auto &[name, look] : now) {
    const auto rep = reported_.find(name);
    if (look == (rep == reported_.end() ? Look{} : Look{rep->second.stat})) continue;
    const auto last = last_look_.find(name);
    if (last == last_look_.end() || last->second != look) {
      unsettled[name] = look;
      moving = true;
      continue;
    }
    if (!look) {
      changes.push_back({path_of(name), Change::Kind::Removed, {}});
      reported_.erase(rep);
      continue;
    }
    auto hash = hash_if_whole(name);
    if (!hash) {
      unsettled[name] = look;  // stable but not whole: wait for the next hint
      continue;
    }
    if (rep != reported_.end() && rep->second.hash == *hash) {
      spdlog::debug("{}: same content", path_of(name));
      rep->second.stat = *look;
      continue;
    }
    changes.push_back({path_of(name), rep == reported_.end() ? Change::Kind::Added : Change::Kind::Changed, *hash});
    reported_[name] = {*look, std::move(*hash)};
  }
  last_look_ = std::move(unsettled);
  if (moving) rescan_in(options_.settle);

  if (changes.empty()) return;
  for (const auto &c : changes) spdlog::info("{}: {} {}", c.path, to_string(c.kind), c.hash);
  on_change_(changes);  // last: it may destroy this watcher
}

// One stat poll per accepted file, because writes in place change neither
// the directory's stat nor, when inotify drops them, produce an event.
void DirWatcher::poll_files(const Listing &files) {
  for (auto it = file_polls_.begin(); it != file_polls_.end();) {
    if (files.count(it->first)) {
      ++it;
    } else {
      close_handle(it->second);
      it = file_polls_.erase(it);
    }
  }
  for (const auto &[name, stat] : files)
    if (!file_polls_.count(name)) file_polls_[name] = start_poll(path_of(name));
}

uv_fs_poll_t *DirWatcher::start_poll(const std::string &path) {
  auto *poll = new uv_fs_poll_t;
  uv_fs_poll_init(loop_, poll);
  poll->data = this;
  const auto on_poll = [](uv_fs_poll_t *h, int, const uv_stat_t *, const uv_stat_t *) {
    owner(h)->hint("poll", nullptr);
  };
  uv_fs_poll_start(poll, on_poll, path.c_str(), static_cast<unsigned>(options_.poll_interval.count()));
  return poll;
}

}  // namespace livebot::watch

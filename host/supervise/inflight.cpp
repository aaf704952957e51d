#include "supervise/inflight.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <type_traits>

#include "common/error.hpp"

namespace livebot::supervise {

namespace {

constexpr char kMagic[8] = {'L', 'V', 'B', 'T', 'I', 'N', 'F', '2'};

enum State : uint32_t { kIdle = 0, kInCall = 1, kOverrun = 2, kOutOfMemory = 3 };

// A fixed-size, always NUL-terminated string: the file is read back by a
// process that trusts nothing in it.
template <size_t N>
struct Text {
  char bytes[N];
  void set(std::string_view s) {
    const size_t n = std::min(s.size(), N - 1);
    std::memcpy(bytes, s.data(), n);
    bytes[n] = '\0';
  }
  std::string get() const { return std::string(bytes, strnlen(bytes, N)); }
};

struct Slot {
  Text<128> name;
  Text<64> version;
  Text<72> hash;
  Text<1024> file;
  Text<1024> staged;
  Text<64> standby_version;
  Text<72> standby_hash;
  Text<1024> standby_file;
};

}  // namespace

struct InflightMarker::Layout {
  char magic[8];
  uint32_t slots;
  int32_t pid;
  Text<1024> staging;
  uint64_t calls;    // atomic_ref: one call from the next
  uint32_t state;    // atomic_ref: State
  int32_t call_slot;
  int64_t since_ns;  // atomic_ref
  int64_t elapsed_ms;
  Text<32> what;
  Text<512> location;
  Text<72> loading_hash;
  Text<1024> loading_file;

  Slot *slot_array() { return reinterpret_cast<Slot *>(this + 1); }
};

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::optional<Snapshot> InflightMarker::read(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  static_assert(std::is_trivially_copyable_v<Layout> && std::is_trivially_copyable_v<Slot>, "read back by memcpy");
  if (bytes.size() < sizeof(Layout)) return std::nullopt;
  Layout head;
  std::memcpy(&head, bytes.data(), sizeof head);
  if (std::memcmp(head.magic, kMagic, sizeof kMagic) != 0) return std::nullopt;
  if (head.slots > (bytes.size() - sizeof(Layout)) / sizeof(Slot)) return std::nullopt;
  // Re-terminate every text: the file may be damaged.
  const auto text = [](auto t) {
    t.bytes[sizeof t.bytes - 1] = '\0';
    return t.get();
  };
  Snapshot s;
  s.pid = head.pid;
  s.staging_dir = text(head.staging);
  s.in_call = head.state != kIdle;
  s.overrun = head.state == kOverrun;
  s.out_of_memory = head.state == kOutOfMemory;
  s.what = text(head.what);
  s.location = text(head.location);
  s.elapsed_ms = head.elapsed_ms;
  s.loading_hash = text(head.loading_hash);
  s.loading_file = text(head.loading_file);
  for (uint32_t i = 0; i < head.slots; ++i) {
    Slot slot;
    std::memcpy(&slot, bytes.data() + sizeof(Layout) + i * sizeof(Slot), sizeof slot);
    s.versions.push_back({text(slot.name), text(slot.version), text(slot.hash), text(slot.file), text(slot.staged),
                          text(slot.standby_version), text(slot.standby_hash), text(slot.standby_file)});
  }
  if (s.in_call && head.call_slot >= 0 && static_cast<uint32_t>(head.call_slot) < head.slots)
    s.call_ms = head.call_slot;
  return s;
}

InflightMarker::InflightMarker(const std::string &path, size_t slots, const std::string &staging_dir)
    : bytes_(sizeof(Layout) + slots * sizeof(Slot)), slots_(slots) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw Error(path, std::string("cannot open the in-flight marker: ") + std::strerror(errno));
  // Truncating first zeroes what a previous process left.
  if (::ftruncate(fd, 0) != 0 || ::ftruncate(fd, static_cast<off_t>(bytes_)) != 0) {
    const int err = errno;
    ::close(fd);
    throw Error(path, std::string("cannot size the in-flight marker: ") + std::strerror(err));
  }
  void *m = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const int err = errno;
  ::close(fd);
  if (m == MAP_FAILED) throw Error(path, std::string("cannot map the in-flight marker: ") + std::strerror(err));
  map_ = static_cast<Layout *>(m);
  map_->slots = static_cast<uint32_t>(slots);
  map_->pid = static_cast<int32_t>(::getpid());
  map_->staging.set(staging_dir);
  map_->call_slot = -1;
  std::memcpy(map_->magic, kMagic, sizeof kMagic);
}

InflightMarker::~InflightMarker() { ::munmap(map_, bytes_); }

void InflightMarker::set_versions(size_t slot, const VersionFiles &v) {
  if (slot >= slots_) return;
  Slot &s = map_->slot_array()[slot];
  s.name.set(v.name);
  s.version.set(v.version);
  s.hash.set(v.hash);
  s.file.set(v.file);
  s.staged.set(v.staged);
  s.standby_version.set(v.standby_version);
  s.standby_hash.set(v.standby_hash);
  s.standby_file.set(v.standby_file);
}

void InflightMarker::entering(size_t slot, std::string_view location, const char *what) {
  map_->call_slot = slot < slots_ ? static_cast<int32_t>(slot) : -1;
  map_->what.set(what);
  map_->location.set(location);
  std::atomic_ref<int64_t>(map_->since_ns).store(monotonic_ns(), std::memory_order_relaxed);
  std::atomic_ref<uint64_t>(map_->calls).fetch_add(1, std::memory_order_relaxed);
  std::atomic_ref<uint32_t>(map_->state).store(kInCall, std::memory_order_release);
}

void InflightMarker::loading(size_t slot, const std::string &hash, const std::string &file) {
  map_->loading_hash.set(hash);
  map_->loading_file.set(file);
  entering(slot, "", "load");
}

void InflightMarker::left() { std::atomic_ref<uint32_t>(map_->state).store(kIdle, std::memory_order_release); }

std::optional<InflightMarker::Running> InflightMarker::running() const {
  if (std::atomic_ref<uint32_t>(map_->state).load(std::memory_order_acquire) != kInCall) return std::nullopt;
  return Running{std::atomic_ref<uint64_t>(map_->calls).load(std::memory_order_relaxed),
                 std::atomic_ref<int64_t>(map_->since_ns).load(std::memory_order_relaxed)};
}

std::string InflightMarker::describe_call() const {
  if (std::atomic_ref<uint32_t>(map_->state).load(std::memory_order_acquire) == kIdle) return "the host itself";
  const int32_t i = map_->call_slot;
  if (i < 0 || static_cast<size_t>(i) >= slots_) return "a plugin call";
  const Slot &s = map_->slot_array()[i];
  if (map_->what.get() == "load") return s.name.get() + " loading " + map_->loading_file.get();
  return s.name.get() + " " + s.version.get() + " in " + map_->what.get() + " at location " + map_->location.get();
}

void InflightMarker::mark_overrun(int64_t elapsed_ms) {
  map_->elapsed_ms = elapsed_ms;
  std::atomic_ref<uint32_t>(map_->state).store(kOverrun, std::memory_order_release);
}

void InflightMarker::mark_out_of_memory() {
  // Only a call in progress is to blame; the host's own allocation failing
  // marks nothing.
  if (std::atomic_ref<uint32_t>(map_->state).load(std::memory_order_acquire) == kInCall)
    std::atomic_ref<uint32_t>(map_->state).store(kOutOfMemory, std::memory_order_release);
}

}  // namespace livebot::supervise

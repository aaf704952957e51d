#include "loader/staging.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "common/error.hpp"

namespace livebot::loader {

namespace {

constexpr std::string_view kPrefix = "livebot-stage-";

std::string temp_root() {
  const char *tmp = std::getenv("TMPDIR");
  return tmp && *tmp ? tmp : "/tmp";
}

// The pid in "livebot-stage-<pid>-XXXXXX", or 0 for any other name.
pid_t owner_pid(std::string_view name) {
  if (!name.starts_with(kPrefix)) return 0;
  name.remove_prefix(kPrefix.size());
  pid_t pid = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
  return ec == std::errc() && pid > 0 && end != name.data() + name.size() && *end == '-' ? pid : 0;
}

bool runs(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

Staging::Staging() {
  std::string pattern = temp_root() + "/" + std::string(kPrefix) + std::to_string(::getpid()) + "-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw Error(pattern, std::string("cannot create staging directory: ") + std::strerror(errno));
  dir_ = buf.data();
}

Staging::~Staging() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

Staging::Staged Staging::stage(const std::string &stem, std::string_view bytes, const std::string &hash) {
  const uint64_t generation = ++generation_;
  const std::string path = dir_ + "/" + stem + "-g" + std::to_string(generation) + "-" + hash.substr(0, 16) + ".so";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0) throw Error(path, std::string("cannot stage: ") + std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(path.c_str());
      throw Error(path, std::string("cannot stage: ") + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return {path, generation};
}

void Staging::remove(const std::string &staged_path) { ::unlink(staged_path.c_str()); }

size_t Staging::remove_stale() {
  namespace fs = std::filesystem;
  size_t removed = 0;
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(temp_root(), ec)) {
    const pid_t pid = owner_pid(e.path().filename().string());
    struct stat st{};
    if (pid == 0 || runs(pid) || ::lstat(e.path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
        st.st_uid != ::geteuid())
      continue;
    std::error_code gone;
    fs::remove_all(e.path(), gone);
    if (!gone) ++removed;
  }
  return removed;
}

}  // namespace livebot::loader

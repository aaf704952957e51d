#include "loader/staging.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "common/error.hpp"

namespace livebot::loader {

Staging::Staging() {
  const char *tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/livebot-stage-XXXXXX";
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

}  // namespace livebot::loader

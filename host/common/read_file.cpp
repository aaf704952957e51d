#include "common/read_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"

namespace livebot {

namespace {

struct Fd {
  int fd;
  ~Fd() { ::close(fd); }
};

[[noreturn]] void fail(const std::string &path, int err) {
  throw Error(path, std::string("cannot read: ") + std::strerror(err));
}

}  // namespace

std::string read_whole_file(const std::string &path) {
  const Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) fail(path, errno);
  struct stat st{};
  if (::fstat(f.fd, &st) != 0) fail(path, errno);
  if (S_ISDIR(st.st_mode)) fail(path, EISDIR);
  // The size is a first guess: a file still growing is read to its end.
  std::string bytes(static_cast<size_t>(st.st_size > 0 ? st.st_size : 0) + 1, '\0');
  size_t done = 0;
  for (;;) {
    if (done == bytes.size()) bytes.resize(bytes.size() * 2);
    const ssize_t n = ::read(f.fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(path, errno);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

}  // namespace livebot

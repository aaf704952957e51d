#include "control/client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"

namespace livebot::control {

Client::Client(const std::string &path, int timeout_ms) : path_(path), timeout_ms_(timeout_ms) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) throw Error(path, "socket path is too long");
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw Error(path, std::string("socket: ") + std::strerror(errno));
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd_, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    // connect() says only "refused" of a path that is no socket at all.
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode))
      throw Error(path, std::string(S_ISDIR(st.st_mode) ? "is a directory" : "is a file") +
                            ", not a host's socket; give the socket's path (livebot run --socket)");
    throw Error(path, std::string("no livebot host answers here (") + std::strerror(err) +
                          "); start one with `livebot run`");
  }
}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

void Client::send_line(const std::string &line) {
  const std::string bytes = line + "\n";
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(path_, std::string("send: ") + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
}

std::string Client::request(const std::string &line) {
  try {
    send_line(line);
  } catch (const Error &) {
    try {
      return read_line();
    } catch (const Error &) {
    }
    throw;
  }
  return read_line();
}

std::string Client::read_line() {
  for (;;) {
    if (const auto nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, timeout_ms_);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) throw Error(path_, "the host did not answer within " + std::to_string(timeout_ms_ / 1000) + " s");
    char buf[64 * 1024];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(path_, "the host closed the connection");
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace livebot::control

// The control socket's client side, for the CLI: connect, send request
// lines, read one response line per request. Blocking, with a deadline, so
// a host that stopped answering cannot hang a script.
#pragma once

#include <string>

namespace livebot::control {

class Client {
 public:
  // Throws livebot::Error naming the path when no host answers there.
  explicit Client(const std::string &path, int timeout_ms = 30'000);
  ~Client();
  Client(const Client &) = delete;
  Client &operator=(const Client &) = delete;

  void send_line(const std::string &line);
  std::string read_line();  // without the newline
  // One request and its answer. A host that refuses a connection answers
  // with the reason and hangs up, perhaps before the request is out: the
  // send then fails, but the reason is still there to read, and is returned.
  std::string request(const std::string &line);

 private:
  std::string path_;
  int fd_ = -1;
  int timeout_ms_;
  std::string buffer_;
};

}  // namespace livebot::control

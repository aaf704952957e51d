// The control socket's server side, on the host's libuv loop: a Unix
// domain stream socket, mode 0600, that only the host's own user (or root)
// may use, checked per connection with SO_PEERCRED.
//
// Each line a peer sends is handed to the handler with a Reply it must call
// exactly once, now or later (a send is answered when its execution has
// been committed); replies go out in the order of the requests. A peer that
// hangs up before its reply simply gets none.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>

namespace livebot::control {

class Connection;

// Sends the response line (without the newline) for one request.
class Reply {
 public:
  Reply() = default;
  void operator()(const std::string &line) const;
  explicit operator bool() const { return static_cast<bool>(slot_); }

 private:
  friend class Connection;
  struct Slot;
  std::shared_ptr<Slot> slot_;
};

// Whether `path` can be bound by a new host: throws livebot::Error naming it
// if it is too long, is not a socket, or a live host answers on it; true if
// a stale socket file is there (Server replaces it). A host checks this
// before it opens or creates anything else.
bool check_socket_path(const std::string &path);

class Server {
 public:
  using Handler = std::function<void(const std::string &line, Reply reply)>;

  // Binds `path` (refusing one another live host is serving; replacing a
  // stale socket file) and listens. Throws livebot::Error naming the path.
  Server(uv_loop_t *loop, std::string path, Handler handler);
  ~Server();
  Server(const Server &) = delete;
  Server &operator=(const Server &) = delete;

  // Takes no new connections and removes the socket file; connections
  // already open are still served.
  void stop_listening();
  // Stops listening and hangs up on every connection once the replies
  // already given have been written.
  void close();
  const std::string &path() const { return path_; }

 private:
  static void on_connection(uv_stream_t *server, int status);

  uv_loop_t *loop_;
  std::string path_;
  uv_pipe_t *pipe_ = nullptr;  // freed by its close callback
  void *listener_ = nullptr;   // the connections; outlives pipe_ until close()
};

}  // namespace livebot::control

#include "control/server.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <optional>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.hpp"
#include "control/protocol.hpp"

namespace livebot::control {

struct Reply::Slot {
  std::weak_ptr<Connection> conn;
  std::optional<std::string> line;
};

// What the listening socket and its connections share; it outlives the
// Server object when connections are still closing.
struct Listener {
  Server::Handler handler;
  std::set<std::shared_ptr<Connection>> connections;
  bool orphaned = false;  // the server is gone: freed with the last connection
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  explicit Connection(Listener &l) : listener_(l) { pipe_.data = this; }
  uv_pipe_t *pipe() { return &pipe_; }

  void start() {
    uv_read_start(reinterpret_cast<uv_stream_t *>(&pipe_), &Connection::on_alloc, &Connection::on_read);
  }

  void close() {
    if (closing_) return;
    closing_ = true;
    uv_close(reinterpret_cast<uv_handle_t *>(&pipe_), [](uv_handle_t *h) {
      auto *self = static_cast<Connection *>(h->data);
      Listener &l = self->listener_;
      l.connections.erase(self->shared_from_this());  // frees self
      if (l.orphaned && l.connections.empty()) delete &l;
    });
  }

  // Writes every reply at the head of the queue that is ready.
  void flush() {
    while (!pending_.empty() && pending_.front()->line) {
      write(*pending_.front()->line + "\n");
      pending_.pop_front();
    }
  }

  // Answers with an error and hangs up once the answer is out.
  void reject(const std::string &why) {
    write(error_line(why));
    hang_up();
  }

  // Closes once every write queued so far is out.
  void hang_up() {
    if (closing_) return;
    auto *req = new uv_shutdown_t{};
    req->data = this;
    if (uv_shutdown(req, reinterpret_cast<uv_stream_t *>(&pipe_), [](uv_shutdown_t *r, int) {
          static_cast<Connection *>(r->data)->close();
          delete r;
        }) != 0) {
      delete req;
      close();
    }
  }

 private:
  static std::string error_line(const std::string &why) {
    return nlohmann::json{{"ok", false}, {"error", why}}.dump() + "\n";
  }

  void write(std::string bytes) {
    if (closing_) return;
    struct Req {
      uv_write_t req;
      std::string data;
    };
    auto *r = new Req{{}, std::move(bytes)};
    uv_buf_t buf = uv_buf_init(r->data.data(), static_cast<unsigned>(r->data.size()));
    if (uv_write(&r->req, reinterpret_cast<uv_stream_t *>(&pipe_), &buf, 1,
                 [](uv_write_t *req, int) { delete reinterpret_cast<Req *>(req); }) != 0)
      delete r;
  }

  static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    auto *self = static_cast<Connection *>(h->data);
    self->scratch_.resize(std::max<size_t>(suggested, 64 * 1024));
    *buf = uv_buf_init(self->scratch_.data(), static_cast<unsigned>(self->scratch_.size()));
  }

  static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    auto *self = static_cast<Connection *>(s->data);
    if (n < 0) {
      self->close();
      return;
    }
    // Handling a line may reply at once, and a reply may end this
    // connection; hold it until the batch is done.
    const auto keep = self->shared_from_this();
    self->buffer_.append(buf->base, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = self->buffer_.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string line = self->buffer_.substr(start, nl - start);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      Reply reply;
      reply.slot_ = std::make_shared<Reply::Slot>();
      reply.slot_->conn = self->weak_from_this();
      self->pending_.push_back(reply.slot_);
      self->listener_.handler(line, reply);
      if (self->closing_) return;
    }
    self->buffer_.erase(0, start);
    if (self->buffer_.size() > kMaxLineBytes)
      self->reject("request: a line is longer than " + std::to_string(kMaxLineBytes) + " bytes");
  }

  Listener &listener_;
  uv_pipe_t pipe_{};
  bool closing_ = false;
  std::string buffer_, scratch_;
  std::deque<std::shared_ptr<Reply::Slot>> pending_;
};

void Reply::operator()(const std::string &line) const {
  if (!slot_ || slot_->line) return;
  slot_->line = line;
  if (const auto c = slot_->conn.lock()) c->flush();
}

namespace {

Listener &listener_of(uv_pipe_t *p) { return *static_cast<Listener *>(p->data); }

// Whether something answers on `path`: a live host, not a stale file.
bool someone_listens(const std::string &path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

bool check_socket_path(const std::string &path) {
  if (path.size() >= sizeof(sockaddr_un::sun_path))
    throw Error(path, "socket path is longer than " + std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes");
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) {
    const auto dir = std::filesystem::path(path).parent_path();
    if (!dir.empty() && !std::filesystem::is_directory(dir))
      throw Error(path, "cannot listen: directory " + dir.string() + " does not exist");
    return false;
  }
  if (!S_ISSOCK(st.st_mode)) throw Error(path, "exists and is not a socket");
  if (someone_listens(path)) throw Error(path, "another livebot host is serving on this socket");
  return true;
}

Server::Server(uv_loop_t *loop, std::string path, Handler handler) : loop_(loop), path_(std::move(path)) {
  if (check_socket_path(path_)) ::unlink(path_.c_str());
  pipe_ = new uv_pipe_t{};
  uv_pipe_init(loop_, pipe_, 0);
  auto *l = new Listener{std::move(handler), {}, false};
  pipe_->data = listener_ = l;
  // The socket is created 0600 (no window in which others could connect).
  const mode_t old = ::umask(0177);
  const int rc = uv_pipe_bind(pipe_, path_.c_str());
  ::umask(old);
  int err = rc;
  if (err == 0) err = uv_listen(reinterpret_cast<uv_stream_t *>(pipe_), 64, &Server::on_connection);
  if (err != 0) {
    close();
    throw Error(path_, std::string("cannot listen: ") + uv_strerror(err));
  }
}

Server::~Server() { close(); }

void Server::stop_listening() {
  if (!pipe_) return;
  uv_close(reinterpret_cast<uv_handle_t *>(pipe_), [](uv_handle_t *h) { delete reinterpret_cast<uv_pipe_t *>(h); });
  pipe_ = nullptr;
  ::unlink(path_.c_str());
}

void Server::close() {
  stop_listening();
  if (!listener_) return;
  auto *l = static_cast<Listener *>(listener_);
  for (const auto &c : std::set<std::shared_ptr<Connection>>(l->connections)) c->hang_up();
  // Connections end in their own close callbacks; the listener record goes
  // when the last one has (or now, if none is left).
  l->orphaned = true;
  if (l->connections.empty()) delete l;
  listener_ = nullptr;
}

void Server::on_connection(uv_stream_t *server, int status) {
  if (status != 0) return;
  auto &l = listener_of(reinterpret_cast<uv_pipe_t *>(server));
  auto conn = std::make_shared<Connection>(l);
  uv_pipe_init(server->loop, conn->pipe(), 0);
  l.connections.insert(conn);
  if (uv_accept(server, reinterpret_cast<uv_stream_t *>(conn->pipe())) != 0) {
    conn->close();
    return;
  }
  uv_os_fd_t fd;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (uv_fileno(reinterpret_cast<uv_handle_t *>(conn->pipe()), &fd) != 0 ||
      ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    conn->reject("control: cannot tell who is connecting");
    return;
  }
  if (cred.uid != ::getuid() && cred.uid != 0) {
    spdlog::warn("control: refused a connection from uid {} (pid {})", cred.uid, cred.pid);
    conn->reject("control: uid " + std::to_string(cred.uid) + " may not use this host");
    return;
  }
  conn->start();
}

}  // namespace livebot::control

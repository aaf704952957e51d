// Runs the real `livebot` binary as a child process, for tests that need a
// real process: exit codes, output, and SIGKILL at arbitrary moments.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/temp_dir.hpp"

namespace livebot::test {

struct CliResult {
  int exit_code = -1;  // -signal when killed
  std::string out, err;
};

class Cli {
 public:
  explicit Cli(std::string binary) : binary_(std::move(binary)) {}

  // Starts the binary with stdout/stderr going to files in `scratch`.
  pid_t start(const std::vector<std::string> &args, const std::string &scratch) const {
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int out = ::open((scratch + "/out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int err = ::open((scratch + "/err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(out, 1);
      ::dup2(err, 2);
      std::vector<char *> argv;
      argv.push_back(const_cast<char *>(binary_.c_str()));
      for (const auto &a : args) argv.push_back(const_cast<char *>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(binary_.c_str(), argv.data());
      ::_exit(127);
    }
    return pid;
  }

  static CliResult wait(pid_t pid, const std::string &scratch) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    CliResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    r.out = read_file(scratch + "/out");
    r.err = read_file(scratch + "/err");
    return r;
  }

  CliResult run(const std::vector<std::string> &args) const {
    TempDir scratch;
    return wait(start(args, scratch.path()), scratch.path());
  }

 private:
  std::string binary_;
};

// Waits up to `timeout_ms` for a host to listen on `socket`: a connection
// is accepted, not just the file there (it is bound before it listens).
// False if it never does.
inline bool wait_listening(const std::string &socket, int timeout_ms = 10'000) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  socket.copy(addr.sun_path, sizeof addr.sun_path - 1);
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool up = ::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (up) return true;
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Runs any program (searched on PATH unless a path), in `cwd` when given,
// with `env` added to the environment, and waits for it.
inline CliResult run_program(const std::vector<std::string> &argv, const std::string &cwd = "",
                             const std::vector<std::pair<std::string, std::string>> &env = {}) {
  TempDir scratch;
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int out = ::open((scratch / "out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open((scratch / "err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, 1);
    ::dup2(err, 2);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    for (const auto &[name, value] : env) ::setenv(name.c_str(), value.c_str(), 1);
    std::vector<char *> args;
    for (const auto &a : argv) args.push_back(const_cast<char *>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  return Cli::wait(pid, scratch.path());
}

}  // namespace livebot::test

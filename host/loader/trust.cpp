#include "loader/trust.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "common/error.hpp"

namespace livebot::loader {

namespace {

std::string octal(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

void check_one(const std::string &path, const std::string &file, bool is_dir) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) throw Error(file, "cannot stat " + path + ": " + std::strerror(errno));
  const uid_t me = ::geteuid();
  const std::string what = is_dir ? "directory " + path : "plugin file";
  if (st.st_uid != me && st.st_uid != 0)
    throw Error(file, "refused: " + what + " belongs to uid " + std::to_string(st.st_uid) +
                          ", not to this host's user (" + std::to_string(me) + ") or root");
  const bool others_write = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
  if (others_write && !(is_dir && (st.st_mode & S_ISVTX)))
    throw Error(file, "refused: " + what + " is writable by other users (mode " + octal(st.st_mode) +
                          "); chmod go-w it");
}

}  // namespace

void check_trusted(const std::string &file) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path real = fs::canonical(file, ec);
  if (ec) return;  // a missing file is reported by whoever opens it, with its own message
  check_one(real.string(), file, false);
  for (fs::path dir = real.parent_path(); !dir.empty(); dir = dir.parent_path()) {
    check_one(dir.string(), file, true);
    if (dir == dir.root_path()) break;
  }
}

}  // namespace livebot::loader

// The SDK as an author outside this tree gets it: `meson install` of this
// build into a scratch destdir, once per test binary, and the tools to build
// a project of one's own against that install only (livebot-sdk.pc through
// PKG_CONFIG_PATH). Paths and tools come from tests/integration/meson.build.
#pragma once

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "integration/cli_runner.hpp"
#include "support/paths.hpp"
#include "support/temp_dir.hpp"

namespace livebot::test {

inline const std::string meson = LIVEBOT_MESON;
inline const std::string ninja = LIVEBOT_NINJA;
inline const std::string pkg_config = LIVEBOT_PKG_CONFIG;

// Why this machine cannot build against an installed SDK, or "".
inline std::string missing_tool() {
  if (meson.empty()) return "meson is not installed";
  if (ninja.empty()) return "ninja is not installed";
  if (pkg_config.empty()) return "pkg-config is not installed";
  return "";
}

inline std::string output_of(const CliResult &r) { return r.out + r.err; }

inline std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// One install: everything is copied, nothing rebuilt.
struct Install {
  TempDir destdir;
  CliResult result;
  std::string prefix, bindir, libdir, includedir, datadir;

  Install() {
    result = run_program({meson, "install", "-C", build_root, "--no-rebuild", "--quiet", "--destdir", destdir.path()});
    // The configured directories are absolute here; under --destdir they
    // land below it.
    prefix = destdir.path() + LIVEBOT_INSTALL_PREFIX;
    bindir = destdir.path() + LIVEBOT_INSTALL_BINDIR;
    libdir = destdir.path() + LIVEBOT_INSTALL_LIBDIR;
    includedir = destdir.path() + LIVEBOT_INSTALL_INCLUDEDIR;
    datadir = destdir.path() + LIVEBOT_INSTALL_DATADIR;
  }

  std::string pkgconfig_dir() const { return libdir + "/pkgconfig"; }
  std::string livebot() const { return bindir + "/livebot"; }
  std::string templates() const { return datadir + "/livebot/template"; }

  std::string with_pkgconfig_path() const {
    const char *outer = std::getenv("PKG_CONFIG_PATH");
    return pkgconfig_dir() + (outer && *outer ? std::string(":") + outer : std::string());
  }

  // A program (pkg-config, meson, ninja) as an author's shell runs it: the
  // installed SDK first on PKG_CONFIG_PATH.
  CliResult run(const std::vector<std::string> &argv, const std::string &cwd = "") const {
    return run_program(argv, cwd, {{"PKG_CONFIG_PATH", with_pkgconfig_path()}});
  }

  CliResult pkg(const std::vector<std::string> &args) const {
    std::vector<std::string> argv = {pkg_config};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  }

  // A build directory configured before pkgconfig.relocatable became a
  // default keeps the absolute prefix; it needs
  // `meson configure -Dpkgconfig.relocatable=true`.
  bool relocatable() const {
    return read_file(pkgconfig_dir() + "/livebot-sdk.pc").rfind("prefix=${pcfiledir}/", 0) == 0;
  }
};

inline const Install &installed() {
  static const Install install;
  return install;
}

}  // namespace livebot::test

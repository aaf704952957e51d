// The watcher against real files on a real loop: each way a build lands in
// the directory (three linkers, cp, cp + mv, install) is exactly one report,
// and what is not a new version (temp files, other file types, a touch, a
// half-written file) is none. A test that expects nothing makes a change it
// does expect afterwards, so "nothing" is proven by the next report rather
// than by waiting. Deadlines are generous and no test needs a fast machine.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>

#include "common/hash.hpp"
#include "support/temp_dir.hpp"
#include "watch/watcher.hpp"

using namespace std::chrono_literals;
using livebot::file_hash;
using livebot::test::read_file;
using livebot::test::TempDir;
using livebot::test::write_file;
using livebot::watch::Change;
using livebot::watch::DirWatcher;
using livebot::watch::WatchOptions;

namespace {

void run(const std::string &command) {
  if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
}

// Two builds of one small shared object: equal size, different bytes. Built
// once per run, outside every watched directory.
class Builds {
 public:
  Builds() {
    write_file(dir_ / "plugin.cpp", "extern \"C\" int version() { return V; }\n");
    for (const char *v : {"1", "2"})
      run("g++ -c -fPIC -DV=" + std::string(v) + " " + (dir_ / "plugin.cpp") + " -o " + obj(v) + " && g++ -shared " +
          obj(v) + " -o " + so(v));
  }
  std::string obj(const std::string &v) const { return dir_ / ("v" + v + ".o"); }
  std::string so(const std::string &v) const { return dir_ / ("v" + v + ".so"); }
  std::string path(const std::string &name) const { return dir_ / name; }

 private:
  TempDir dir_;
};

const Builds &builds() {
  static const Builds b;
  return b;
}

// Options whose poll net never fires within a test, so a test passes on the
// inotify path alone; the poll_only test covers polling.
WatchOptions events() {
  WatchOptions options;
  options.poll_interval = 1h;
  return options;
}

// Runs a loop whose only handles should be the watcher's, with a watchdog
// that does not keep the loop alive itself; false if uv_run had to be stopped.
bool loop_returns(uv_loop_t *loop) {
  bool hung = false;
  uv_timer_t watchdog;
  watchdog.data = &hung;
  uv_timer_init(loop, &watchdog);
  uv_timer_start(&watchdog, [](uv_timer_t *t) {
    *static_cast<bool *>(t->data) = true;
    uv_stop(t->loop);
  }, 10000, 0);
  uv_unref(reinterpret_cast<uv_handle_t *>(&watchdog));
  uv_run(loop, UV_RUN_DEFAULT);
  uv_close(reinterpret_cast<uv_handle_t *>(&watchdog), nullptr);
  uv_run(loop, UV_RUN_NOWAIT);  // runs the close even if other handles hang on
  return !hung;
}

// A loop, a watched directory and a watcher that records its reports. Its
// end checks that the watcher left nothing open on the loop.
class Harness {
  TempDir root_;
  const std::string dir_ = root_ / "watched";
  uv_loop_t loop_;
  uv_timer_t deadline_;
  std::optional<DirWatcher> watcher_;

 public:
  explicit Harness(WatchOptions options = events()) {
    std::filesystem::create_directory(dir_);
    uv_loop_init(&loop_);
    uv_timer_init(&loop_, &deadline_);
    watcher_.emplace(&loop_, dir_, std::move(options),
                     [this](const std::vector<Change> &changes) { reports.push_back(changes); });
  }
  ~Harness() {
    watcher_.reset();
    uv_close(reinterpret_cast<uv_handle_t *>(&deadline_), nullptr);
    CHECK(loop_returns(&loop_));
    CHECK(uv_loop_close(&loop_) == 0);
  }

  const std::string &dir() const { return dir_; }
  std::string path(const std::string &name) const { return dir_ + "/" + name; }
  void start() { watcher_->start(); }

  // Runs `sh -c command` from the loop, so the watcher sees the writes as
  // they happen, and returns its exit status.
  int64_t sh(const std::string &command) {
    struct Child {
      int64_t status = -1;
      bool closed = false;
      static void on_close(uv_handle_t *h) { static_cast<Child *>(h->data)->closed = true; }
    } child;
    const char *args[] = {"sh", "-c", command.c_str(), nullptr};
    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_IGNORE;
    for (int fd : {1, 2}) {
      stdio[fd].flags = UV_INHERIT_FD;
      stdio[fd].data.fd = fd;
    }
    uv_process_options_t options{};
    options.file = "sh";
    options.args = const_cast<char **>(args);
    options.stdio_count = 3;
    options.stdio = stdio;
    options.exit_cb = [](uv_process_t *p, int64_t status, int) {
      static_cast<Child *>(p->data)->status = status;
      uv_close(reinterpret_cast<uv_handle_t *>(p), Child::on_close);
    };
    uv_process_t process;
    const int rc = uv_spawn(&loop_, &process, &options);
    process.data = &child;
    if (rc != 0) uv_close(reinterpret_cast<uv_handle_t *>(&process), Child::on_close);
    // The handle lives on this stack: a tool that hangs is killed, not left.
    if (!run_until([&] { return child.closed; }, 120s)) uv_process_kill(&process, SIGKILL);
    while (!child.closed) uv_run(&loop_, UV_RUN_ONCE);
    return child.status;
  }

  // Runs the loop until `count` reports have arrived in all, or `limit`.
  bool wait_reports(size_t count, std::chrono::milliseconds limit = 30s) {
    return run_until([&] { return reports.size() >= count; }, limit);
  }
  // Runs the loop well past a debounce and a settle, so that a second report
  // for the same writes would have arrived.
  void linger(std::chrono::milliseconds time = 600ms) {
    run_until([] { return false; }, time);
  }

  std::vector<std::vector<Change>> reports;

 private:
  bool run_until(const std::function<bool()> &done, std::chrono::milliseconds limit) {
    bool expired = false;
    deadline_.data = &expired;
    uv_timer_start(&deadline_, [](uv_timer_t *t) { *static_cast<bool *>(t->data) = true; },
                   static_cast<uint64_t>(limit.count()), 0);
    while (!done() && !expired) uv_run(&loop_, UV_RUN_ONCE);
    uv_timer_stop(&deadline_);
    return done();
  }
};

// The writes made exactly one report of one change: `kind` for `name`,
// carrying the hash of what is on disk now. Clears the reports.
void require_one_report(Harness &h, const std::string &name, Change::Kind kind) {
  REQUIRE(h.wait_reports(1));
  h.linger();
  REQUIRE(h.reports.size() == 1);
  REQUIRE(h.reports[0].size() == 1);
  const Change &c = h.reports[0][0];
  CHECK(c.path == h.path(name));
  CHECK(to_string(c.kind) == to_string(kind));
  CHECK(c.hash == (kind == Change::Kind::Removed ? "" : file_hash(c.path)));
  h.reports.clear();
}

}  // namespace

TEST_CASE("temp and editor names are never build outputs", "[watch]") {
  for (const char *name : {".x.so.swp", ".x.so.swx", "x.so.swp", "x.so.swx", "x.so~", "4913", ".#x.so", "#x.so#",
                           "x.so.tmp", "x.so.tmp1d33e5e", "x.so.part", ".x.so.Xa81kQ", ".", ".."}) {
    INFO(name);
    CHECK(livebot::watch::is_temp_name(name));
  }
  for (const char *name : {"x.so", "libx.so.1", "bot.json", "x.tmpl", "4913.so", "a#b#.so"}) {
    INFO(name);
    CHECK_FALSE(livebot::watch::is_temp_name(name));
  }
}

TEST_CASE("a link by each linker is one report: added, then changed", "[watch]") {
  const std::string linker = GENERATE(as<std::string>{}, "bfd", "gold", "lld");
  CAPTURE(linker);
  const std::string link = "g++ -shared -fuse-ld=" + linker + " ";
  if (std::system((link + builds().obj("1") + " -o " + builds().path("probe-" + linker + ".so")).c_str()) != 0) {
    WARN("skipped: g++ cannot link with -fuse-ld=" << linker);
    return;
  }
  Harness h;
  h.start();
  REQUIRE(h.sh(link + builds().obj("1") + " -o " + h.path("x.so")) == 0);
  require_one_report(h, "x.so", Change::Kind::Added);
  REQUIRE(h.sh(link + builds().obj("2") + " -o " + h.path("x.so")) == 0);
  require_one_report(h, "x.so", Change::Kind::Changed);
}

TEST_CASE("each way of copying a build over the old one is one report", "[watch]") {
  const auto [how, command] = GENERATE(table<std::string, std::string>({
      {"cp in place", "cp \"$NEW\" \"$X\""},
      {"cp to a temp name, then mv", "cp \"$NEW\" \"$X.tmp\" && mv \"$X.tmp\" \"$X\""},
      {"install -m 0755", "install -m 0755 \"$NEW\" \"$X\""},
  }));
  CAPTURE(how);
  Harness h;
  std::filesystem::copy_file(builds().so("1"), h.path("x.so"));
  h.start();
  REQUIRE(h.sh("NEW=" + builds().so("2") + " X=" + h.path("x.so") + "; " + command) == 0);
  require_one_report(h, "x.so", Change::Kind::Changed);
  CHECK(file_hash(h.path("x.so")) == file_hash(builds().so("2")));
}

TEST_CASE("two builds with the same size, inode and mtime are two reports", "[watch]") {
  REQUIRE(std::filesystem::file_size(builds().so("1")) == std::filesystem::file_size(builds().so("2")));
  Harness h;
  std::filesystem::copy_file(builds().so("1"), h.path("x.so"));
  h.start();
  std::vector<struct stat> seen;
  for (const char *v : {"2", "1"}) {
    // cp writes in place; touch -d puts mtime back on the same whole second.
    REQUIRE(h.sh("cp " + builds().so(v) + " " + h.path("x.so") + " && touch -m -d @1700000000 " + h.path("x.so")) == 0);
    require_one_report(h, "x.so", Change::Kind::Changed);
    REQUIRE(::stat(h.path("x.so").c_str(), &seen.emplace_back()) == 0);
  }
  CHECK(seen[0].st_ino == seen[1].st_ino);
  CHECK(seen[0].st_mtim.tv_sec == seen[1].st_mtim.tv_sec);
  CHECK(seen[0].st_mtim.tv_nsec == seen[1].st_mtim.tv_nsec);
}

TEST_CASE("a touch that leaves the bytes alone is no report", "[watch]") {
  Harness h;
  std::filesystem::copy_file(builds().so("1"), h.path("x.so"));
  h.start();
  REQUIRE(h.sh("touch " + h.path("x.so") + " && cp " + builds().so("1") + " " + h.path("y.so")) == 0);
  require_one_report(h, "y.so", Change::Kind::Added);
}

TEST_CASE("temp and editor files are no report, whatever the filter", "[watch]") {
  Harness h;  // accepts every name
  h.start();
  REQUIRE(h.sh("cd " + h.dir() +
               " && for f in .x.so.swp x.so.swx x.so~ 4913 .#x.so '#x.so#' x.so.part x.so.tmp x.so.tmp1d33e5e;"
               " do echo partial > \"$f\"; done && rm 4913 && cp " +
               builds().so("1") + " y.so") == 0);
  require_one_report(h, "y.so", Change::Kind::Added);
}

TEST_CASE("files the filter does not accept are no report", "[watch]") {
  WatchOptions options = events();
  options.accept = livebot::watch::suffix_filter({".so"});
  Harness h(options);
  h.start();
  REQUIRE(h.sh("cd " + h.dir() + " && echo '{}' > bot.json && echo notes > notes.txt && mkdir sub.so && cp " +
               builds().so("1") + " y.so") == 0);
  require_one_report(h, "y.so", Change::Kind::Added);
}

TEST_CASE("removing a file is one removed report", "[watch]") {
  Harness h;
  std::filesystem::copy_file(builds().so("1"), h.path("x.so"));
  h.start();
  REQUIRE(h.sh("rm " + h.path("x.so")) == 0);
  require_one_report(h, "x.so", Change::Kind::Removed);
}

TEST_CASE("a file that fails the completeness check is reported once it passes", "[watch]") {
  WatchOptions options = events();
  options.complete = [](const std::string &, std::string_view bytes) { return bytes.ends_with("END"); };
  Harness h(options);
  h.start();
  REQUIRE(h.sh("cd " + h.dir() + " && printf HALF > x.so && printf 'y END' > y.so") == 0);
  require_one_report(h, "y.so", Change::Kind::Added);
  REQUIRE(h.sh("printf END >> " + h.path("x.so")) == 0);
  require_one_report(h, "x.so", Change::Kind::Added);
}

TEST_CASE("files present at start are the baseline unless report_existing", "[watch]") {
  WatchOptions options = events();
  SECTION("baseline") {
    Harness h(options);
    std::filesystem::copy_file(builds().so("1"), h.path("x.so"));
    h.start();
    REQUIRE(h.sh("cp " + builds().so("1") + " " + h.path("y.so")) == 0);
    require_one_report(h, "y.so", Change::Kind::Added);
  }
  SECTION("report_existing") {
    options.report_existing = true;
    Harness h(options);
    std::filesystem::copy_file(builds().so("1"), h.path("x.so"));
    h.start();
    require_one_report(h, "x.so", Change::Kind::Added);
  }
}

TEST_CASE("a file that moves between two looks is reported once it holds still", "[watch]") {
  // No event and no poll will follow the start-up hint: only the second look
  // can see that the file grew after the first one.
  WatchOptions options = events();
  options.poll_only = true;
  options.report_existing = true;
  options.debounce = 100ms;
  options.settle = 1000ms;
  Harness h(options);
  write_file(h.path("x.so"), "first half");
  h.start();
  // The first look (due after 100 ms) runs; the second (1000 ms after it)
  // cannot, because the loop stops at 500 ms.
  h.linger(500ms);
  REQUIRE(h.reports.empty());
  write_file(h.path("x.so"), "first half, second half");
  require_one_report(h, "x.so", Change::Kind::Added);
}

TEST_CASE("poll_only sees writes in place and new files", "[watch]") {
  WatchOptions options;
  options.poll_only = true;
  options.poll_interval = 100ms;
  Harness h(options);
  std::filesystem::copy_file(builds().so("1"), h.path("x.so"));
  h.start();
  REQUIRE(h.sh("cp " + builds().so("2") + " " + h.path("x.so")) == 0);
  require_one_report(h, "x.so", Change::Kind::Changed);
  REQUIRE(h.sh("cp " + builds().so("1") + " " + h.path("y.so")) == 0);
  require_one_report(h, "y.so", Change::Kind::Added);
}

TEST_CASE("start() on a missing directory throws, naming it", "[watch]") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  TempDir root;
  DirWatcher w(&loop, root / "missing", {}, [](const std::vector<Change> &) {});
  CHECK_THROWS_WITH(w.start(), Catch::StartsWith(root / "missing"));
  CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("stop() from the callback lets uv_run return", "[watch]") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  TempDir dir;
  int reports = 0;
  DirWatcher w(&loop, dir.path(), {}, [&](const std::vector<Change> &) {
    ++reports;
    w.stop();
  });
  w.start();
  write_file(dir / "y.so", "bytes");
  CHECK(loop_returns(&loop));
  CHECK(reports == 1);
  CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("a watcher destroyed before the loop ever ran leaves a loop that closes", "[watch]") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  TempDir dir;
  write_file(dir / "x.so", "bytes");
  std::optional<DirWatcher> w;
  w.emplace(&loop, dir.path(), WatchOptions{}, [](const std::vector<Change> &) {});
  w->start();
  w.reset();
  CHECK(loop_returns(&loop));
  CHECK(uv_loop_close(&loop) == 0);
}

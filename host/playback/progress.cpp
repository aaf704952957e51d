// Hand-written: no Debian 12 package offers a C++ progress bar that fits.
#include "playback/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace livebot::playback {
namespace {

constexpr int kWidth = 30;
constexpr auto kInterval = std::chrono::milliseconds(100);

// 69398 -> "69,398"
std::string grouped(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

void draw(const std::string &label, int64_t done, int64_t total,
          std::chrono::steady_clock::duration elapsed) {
  double ratio = total > 0 ? std::clamp(double(done) / double(total), 0.0, 1.0) : 1.0;
  int filled = int(ratio * kWidth);
  std::string bar(size_t(filled), '#');
  bar.append(size_t(kWidth - filled), '.');
  // \r returns to the line's start; \033[K clears what a longer line left.
  std::fprintf(stderr, "\r%s [%s] %3d%% %s/%s rows %.1fs\033[K", label.c_str(), bar.c_str(),
               int(ratio * 100), grouped(done).c_str(), grouped(total).c_str(),
               std::chrono::duration<double>(elapsed).count());
  std::fflush(stderr);
}

}  // namespace

Progress::Progress(std::string label, int64_t total, bool enabled)
    : label_(std::move(label)),
      total_(total),
      enabled_(enabled && stderr_is_tty()),
      start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() { finish(); }

void Progress::update(int64_t done) {
  done_ = done;
  if (!enabled_ || finished_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_ < kInterval) return;
  last_ = now;
  draw(label_, done_, total_, now - start_);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (!enabled_) return;
  draw(label_, done_, total_, std::chrono::steady_clock::now() - start_);
  std::fputc('\n', stderr);
}

bool stderr_is_tty() { return isatty(2) == 1; }

}  // namespace livebot::playback

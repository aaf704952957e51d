// Benchmark: the cost of one DueQueue arm (host/schedule/due_queue.hpp) with
// 1, 1,000 and 100,000 locations pending. An arm here re-arms a location
// already in the queue to a new due time, which is what a host does after
// each execution of a location with timers. Prints the median of several
// runs, in ns per arm, one line per size (or JSON with --json).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "schedule/due_queue.hpp"

namespace {

constexpr int kRuns = 7;
constexpr int kArmsPerRun = 200000;

double arm_ns(size_t pending, std::mt19937_64 &rng) {
  std::vector<std::string> keys;
  keys.reserve(pending);
  // Location ids as the platform writes them: 7 digits.
  for (size_t i = 0; i < pending; ++i) keys.push_back(std::to_string(1000000 + i));
  std::uniform_int_distribution<int64_t> due(1'750'000'000'000, 1'751'000'000'000);
  livebot::schedule::DueQueue q;
  for (const auto &k : keys) q.arm(k, due(rng));
  // What to arm, drawn before the clock starts.
  std::uniform_int_distribution<size_t> pick(0, pending - 1);
  std::vector<std::pair<const std::string *, int64_t>> arms(kArmsPerRun);
  for (auto &a : arms) a = {&keys[pick(rng)], due(rng)};

  const auto start = std::chrono::steady_clock::now();
  for (const auto &[key, at] : arms) q.arm(*key, at);
  const auto took = std::chrono::steady_clock::now() - start;
  if (q.size() != pending) std::abort();
  return std::chrono::duration<double, std::nano>(took).count() / kArmsPerRun;
}

}  // namespace

int main(int argc, char **argv) {
  const bool json = argc > 1 && std::strcmp(argv[1], "--json") == 0;
  std::mt19937_64 rng(20261203);
  if (json) std::printf("{");
  const size_t sizes[] = {1, 1000, 100000};
  for (size_t s = 0; s < std::size(sizes); ++s) {
    std::vector<double> runs;
    for (int r = 0; r < kRuns; ++r) runs.push_back(arm_ns(sizes[s], rng));
    std::sort(runs.begin(), runs.end());
    const double median = runs[kRuns / 2];
    if (json) std::printf("%s\"%zu\": %.1f", s ? ", " : "", sizes[s], median);
    else std::printf("%7zu pending: %6.1f ns per arm (median of %d runs of %d arms; min %.1f, max %.1f)\n", sizes[s],
                     median, kRuns, kArmsPerRun, runs.front(), runs.back());
  }
  if (json) std::printf("}\n");
  return 0;
}

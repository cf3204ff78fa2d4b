#pragma once
// Timing of the examples' queries on a shared machine: one run, the fastest of several, and a
// one-pass query against its chain-rule twin in alternating rounds.

#include <algorithm>
#include <chrono>
#include <vector>

namespace mam::examples {

/// Seconds `f` takes.
template <class F>
double seconds_of(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// The fastest of `repeats` runs of f, in seconds (the machine is shared: the minimum is the
/// least disturbed measurement).
template <class F>
double best_time(int repeats, F&& f) {
  double best = 1e300;
  for (int r = 0; r < repeats; ++r) best = std::min(best, seconds_of(f));
  return best;
}

/// A one-pass query against its chain-rule twin, timed in alternating rounds so that both
/// sides see the same machine (a slow spell of the shared machine otherwise lands on one
/// side only): each round takes the fastest of a few runs of each, and the round of median
/// ratio is reported.
struct PairedTiming {
  double pass = 0.0, chain = 0.0;  // seconds
  double ratio() const { return chain / pass; }
};

template <class Pass, class Chain>
PairedTiming paired_time(int rounds, Pass&& pass, Chain&& chain) {
  std::vector<PairedTiming> timings;
  for (int r = 0; r < rounds; ++r) timings.push_back({best_time(10, pass), best_time(3, chain)});
  std::sort(timings.begin(), timings.end(),
            [](const PairedTiming& a, const PairedTiming& b) { return a.ratio() < b.ratio(); });
  return timings[timings.size() / 2];
}

}  // namespace mam::examples

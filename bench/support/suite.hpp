#pragma once
// A benchmark suite: benchmarks registered with readable names, plus ratios between pairs of
// them that are printed after the run. Ratios within one process are what we report: the
// machine is shared and noisy, absolute times are not comparable across runs.

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

namespace mam::bench {

struct Ratio {
  std::string label;        ///< what the ratio means, e.g. "one-hot gather speed-up"
  std::string numerator;    ///< benchmark name whose time goes on top
  std::string denominator;  ///< benchmark name whose time goes below
  double target = 0.0;      ///< printed next to the ratio when > 0
  bool at_least = true;     ///< target is a lower bound (else an upper bound)
  double scale = 1.0;       ///< multiplies the time ratio (e.g. layers per pass)
};

class Suite {
 public:
  template <class F>
  void add(const std::string& name, F&& body) {
    benchmark::RegisterBenchmark(name.c_str(), std::forward<F>(body))
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->ComputeStatistics("min", fastest);
  }

  /// Other jobs on a shared machine only ever add time, so with repetitions the fastest
  /// one is the best estimate of the undisturbed time.
  static double fastest(const std::vector<double>& times) {
    return times.empty() ? 0.0 : *std::min_element(times.begin(), times.end());
  }

  void add_ratio(Ratio ratio) { ratios_.push_back(std::move(ratio)); }
  const std::vector<Ratio>& ratios() const { return ratios_; }

 private:
  std::vector<Ratio> ratios_;
};

/// Console output as usual, and the real time per iteration of every run kept by name.
class RecordingReporter : public benchmark::ConsoleReporter {
 public:
  explicit RecordingReporter(bool color) : ConsoleReporter(color ? OO_ColorTabular : OO_Tabular) {}

  /// Keeps the fastest of the repetitions when there are several (--benchmark_repetitions,
  /// see Suite::fastest), else the single run, under the run's name (".../real_time").
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      const std::string name = run.run_name.str();
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name == "min") {
        seconds_[name] = run.GetAdjustedRealTime();
        aggregated_.insert(name);
      } else if (run.run_type == Run::RT_Iteration && run.iterations > 0 && aggregated_.count(name) == 0) {
        seconds_[name] = run.GetAdjustedRealTime();
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  const std::map<std::string, double>& times() const { return seconds_; }

 private:
  std::map<std::string, double> seconds_;
  std::set<std::string> aggregated_;
};

/// Prints every ratio of `suite` whose two benchmarks ran (a filter may have skipped some),
/// with its target and whether the run met it.
inline void print_ratios(const Suite& suite, const RecordingReporter& reporter) {
  const auto& times = reporter.times();
  std::printf("\n%-66s %10s %10s\n", "ratio (same process)", "value", "target");
  for (const auto& ratio : suite.ratios()) {
    const auto top = times.find(ratio.numerator + "/real_time");
    const auto bottom = times.find(ratio.denominator + "/real_time");
    if (top == times.end() || bottom == times.end()) continue;
    const double value = ratio.scale * top->second / bottom->second;
    char target[32] = "";
    if (ratio.target > 0)
      std::snprintf(target, sizeof target, "%s %.2f", ratio.at_least ? ">=" : "<=", ratio.target);
    const bool met = ratio.target <= 0 || (ratio.at_least ? value >= ratio.target : value <= ratio.target);
    std::printf("%-66s %10.3f %10s %s\n", ratio.label.c_str(), value, target,
                ratio.target > 0 ? (met ? "met" : "MISSED") : "");
  }
}

}  // namespace mam::bench

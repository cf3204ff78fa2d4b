// mam_bench: every benchmark of the library in one binary, then the ratios we track.
#include <cstdio>

#include <unistd.h>

#include "support/suite.hpp"

namespace mam::bench {
void register_nn_benchmarks(Suite& suite);
void register_model_benchmarks(Suite& suite);
}

int main(int argc, char** argv) {
  mam::bench::Suite suite;
  mam::bench::register_nn_benchmarks(suite);
  mam::bench::register_model_benchmarks(suite);

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  mam::bench::RecordingReporter reporter(::isatty(STDOUT_FILENO) != 0);
  benchmark::RunSpecifiedBenchmarks(&reporter);

  const auto& times = reporter.times();
  std::printf("\n%-58s %10s %10s\n", "ratio (same process)", "value", "target");
  for (const auto& ratio : suite.ratios()) {
    const auto top = times.find(ratio.numerator + "/real_time");
    const auto bottom = times.find(ratio.denominator + "/real_time");
    if (top == times.end() || bottom == times.end()) continue;  // filtered out this run
    const double value = ratio.scale * top->second / bottom->second;
    char target[32] = "";
    if (ratio.target > 0)
      std::snprintf(target, sizeof target, "%s %.2f", ratio.at_least ? ">=" : "<=", ratio.target);
    const bool met = ratio.target <= 0 || (ratio.at_least ? value >= ratio.target : value <= ratio.target);
    std::printf("%-58s %10.3f %10s %s\n", ratio.label.c_str(), value, target,
                ratio.target > 0 ? (met ? "met" : "MISSED") : "");
  }
  benchmark::Shutdown();
  return 0;
}

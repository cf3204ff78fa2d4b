// mam_bench: every benchmark of the library in one binary, then the ratios we track.
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

  mam::bench::print_ratios(suite, reporter);
  benchmark::Shutdown();
  return 0;
}

// A downstream program, built against an installed mam (find_package) and a vendored one
// (add_subdirectory). Its body is the usage example of README.md, so the README's code is
// compiled and run by ctest.
#include <cmath>
#include <iostream>

#include <mam/mam.hpp>
#include <mam/train/energy_trainer.hpp>

#ifndef MAM_CONSUMER_MODE
#define MAM_CONSUMER_MODE "unknown"
#endif

int main() {
  mam::Rng rng(42);  // every random function takes an Rng; same seed, same numbers
  auto model = mam::make_residual_model<float>(/*D=*/8, /*K=*/2, /*hidden=*/64, /*layers=*/3, rng);
  auto log_f = [](const mam::CodeMatrix& x) {  // unnormalized target: log f(x) = number of ones
    return mam::Vector<double>(x.cast<double>().colwise().sum().transpose());
  };
  mam::EnergyTrainer<decltype(model)> trainer(model, log_f, {}, /*seed=*/1);  // no data needed
  for (int step = 0; step < 500; ++step) trainer.step();

  mam::CodeMatrix query = mam::CodeMatrix::Constant(8, 1, mam::unknown);  // a column per query
  query(0, 0) = 1;                                        // x_0 = 1, the other 7 summed out
  std::cout << "log p(x_0 = 1) = " << model.log_marginal(query)[0]       // ONE network pass
            << ", exact " << -std::log1p(std::exp(-1.0)) << "\n";
  std::cout << mam::sample_ancestral(model, 4, rng) << "\n";             // D conditional passes

  // The consumer test also fails if training did not work.
  const double error = std::abs(model.log_marginal(query)[0] + std::log1p(std::exp(-1.0)));
  std::cout << "mam consumer (" << MAM_CONSUMER_MODE << "): error " << error << "\n";
  return error < 0.05 ? 0 : 1;
}

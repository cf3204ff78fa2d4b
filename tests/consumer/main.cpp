// A downstream program, built against an installed mam (find_package) and a vendored one
// (add_subdirectory). Its body is the usage example of README.md, so the README's code is
// compiled and run by ctest.
#include <iostream>

#include <mam/mam.hpp>

#ifndef MAM_CONSUMER_MODE
#define MAM_CONSUMER_MODE "unknown"
#endif

int main() {
  mam::Rng rng(42);  // every random function takes an Rng; same seed, same numbers
  const mam::Index D = 16, K = 2, H = 64, batch = 4;
  mam::ResidualMLP<float> marginal({D, K, H, 3, 1}, rng);         // log p(x_S): one output
  mam::ResidualMLP<float> conditional({D, K, H, 3, D * K}, rng);  // logits of p(x_i | x_S)

  mam::CodeMatrix x = mam::CodeMatrix::Constant(D, batch, mam::unknown);  // one sample per column
  x(0, 1) = 1;                                                    // reveal x_0 = 1 in sample 1
  auto pass = marginal.forward(x);                                // keeps what backward needs
  mam::Vector<float> gradient = marginal.zero_gradient();
  marginal.backward(pass, mam::Matrix<float>::Ones(1, batch), gradient);  // d(sum of outputs)
  mam::Adam<float> adam;
  adam.step(adam.add_group(marginal.num_parameters()), marginal.parameters(), gradient);
  std::cout << "logits of sample 1: " << conditional(x).col(1).head(4).transpose() << "\n";

  std::cout << "mam consumer (" << MAM_CONSUMER_MODE << ") ran with " << mam::num_threads()
            << " thread(s)\n";
  return 0;
}

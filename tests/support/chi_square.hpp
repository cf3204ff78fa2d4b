#pragma once
// Pearson's chi-square goodness-of-fit test, for checking samplers against exact
// distributions.

#include <cmath>
#include <stdexcept>
#include <vector>

namespace mam::test {

/// Upper regularized incomplete gamma function Q(a, x) = Gamma(a, x) / Gamma(a).
inline double gamma_q(double a, double x) {
  if (x <= 0.0) return 1.0;
  const double log_prefix = a * std::log(x) - x - std::lgamma(a);
  if (x < a + 1.0) {  // series for P(a, x), then Q = 1 - P
    double term = 1.0 / a, sum = term;
    for (int n = 1; n < 10000 && std::abs(term) > std::abs(sum) * 1e-15; ++n) {
      term *= x / (a + n);
      sum += term;
    }
    return 1.0 - sum * std::exp(log_prefix);
  }
  // Continued fraction for Q (modified Lentz).
  const double tiny = 1e-300;
  double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;
  for (int i = 1; i < 10000; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (std::abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (std::abs(c) < tiny) c = tiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::abs(delta - 1.0) < 1e-15) break;
  }
  return std::exp(log_prefix) * h;
}

struct ChiSquareResult {
  double statistic = 0.0;
  int degrees_of_freedom = 0;
  double p_value = 1.0;
};

/// Compares observed counts with expected probabilities (summing to 1). Cells with expected
/// count below 5 are pooled into one, as the test's approximation requires.
inline ChiSquareResult chi_square_test(const std::vector<double>& observed,
                                       const std::vector<double>& probabilities) {
  if (observed.size() != probabilities.size()) throw std::invalid_argument("chi_square_test");
  double total = 0.0;
  for (double o : observed) total += o;
  ChiSquareResult result;
  double pooled_observed = 0.0, pooled_expected = 0.0;
  int cells = 0;
  for (std::size_t i = 0; i < observed.size(); ++i) {
    const double expected = probabilities[i] * total;
    if (expected < 5.0) {
      pooled_observed += observed[i];
      pooled_expected += expected;
      continue;
    }
    result.statistic += (observed[i] - expected) * (observed[i] - expected) / expected;
    ++cells;
  }
  if (pooled_expected > 0.0) {
    result.statistic += (pooled_observed - pooled_expected) * (pooled_observed - pooled_expected) /
                        pooled_expected;
    ++cells;
  }
  result.degrees_of_freedom = cells - 1;
  result.p_value = result.degrees_of_freedom > 0
                       ? gamma_q(0.5 * result.degrees_of_freedom, 0.5 * result.statistic)
                       : 1.0;
  return result;
}

}  // namespace mam::test

#pragma once
// Every sampler of a model small enough to enumerate, against its exact law: chi-square
// p-values of `count` draws each, including draws that must NOT fit (so a test of them can
// fail). For any MarginalizationModel; a network family's tests check the fields
// (check_sampler_fit).

#include <vector>

#include <catch2/catch.hpp>

#include <mam/core/rng.hpp>
#include <mam/core/types.hpp>
#include <mam/sample/ancestral.hpp>
#include <mam/sample/censor_resample.hpp>
#include <mam/sample/conditional.hpp>

#include "chi_square.hpp"
#include "exact_laws.hpp"

namespace mam::test {

struct SamplerFit {
  double ancestral;                     ///< random orders against the order mixture: fits
  double fixed_order;                   ///< one fixed order against the mixture: fits only if orders agree
  double conditional;                   ///< from x_1 = K-1 against that partial's exact law: fits
  double conditional_as_unconditional;  ///< the same draws against the unconditional mixture: does not fit
  double censor_resample;               ///< all D positions resampled from a zero buffer: fits the mixture
  double partial_censor_resample;       ///< only 2 positions resampled: does not fit
  bool conditional_keeps_given;         ///< every conditional draw kept x_1 = K-1
};

/// Draws `count` samples with each sampler from `rng` (in the order of the fields) and
/// tests them against the exact laws (order_mixture_log_p). Needs D >= 3.
template <class Model>
SamplerFit sampler_fit(const Model& model, Index count, Rng& rng) {
  const Index d = model.num_variables(), k = model.num_values();
  auto p_value = [&](const CodeMatrix& samples, const Vector<double>& law) {
    return chi_square_test(state_counts(samples, k), std::vector<double>(law.data(), law.data() + law.size())).p_value;
  };
  const Vector<double> mixture = order_mixture_log_p(model).array().exp();
  SamplerFit fit{};
  fit.ancestral = p_value(sample_ancestral(model, count, rng), mixture);
  std::vector<Index> identity(static_cast<std::size_t>(d));
  for (Index i = 0; i < d; ++i) identity[static_cast<std::size_t>(i)] = i;
  fit.fixed_order = p_value(sample_ancestral(model, count, identity, rng), mixture);

  CodeMatrix partial = CodeMatrix::Constant(d, 1, unknown);
  partial(1, 0) = static_cast<Code>(k - 1);
  const CodeMatrix completed = sample_conditional(model, partial.replicate(1, count), rng);
  fit.conditional_keeps_given = (completed.row(1).array() == k - 1).all();
  fit.conditional = p_value(completed, order_mixture_log_p(model, partial).array().exp());
  fit.conditional_as_unconditional = p_value(completed, mixture);

  CodeMatrix buffer = CodeMatrix::Zero(d, count);
  censor_resample(model, buffer, d, rng);
  fit.censor_resample = p_value(buffer, mixture);
  CodeMatrix partly = CodeMatrix::Zero(d, count);
  censor_resample(model, partly, 2, rng);
  fit.partial_censor_resample = p_value(partly, mixture);
  return fit;
}

/// Checks each field: the draws that should fit at p > `pass`, the others at p < `fail`.
inline void check_sampler_fit(const SamplerFit& fit, double pass, double fail) {
  CHECK(fit.ancestral > pass);
  CHECK(fit.fixed_order < fail);
  CHECK(fit.conditional_keeps_given);
  CHECK(fit.conditional > pass);
  CHECK(fit.conditional_as_unconditional < fail);
  CHECK(fit.censor_resample > pass);
  CHECK(fit.partial_censor_resample < fail);
}

}  // namespace mam::test

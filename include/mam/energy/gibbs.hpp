#pragma once
// Gibbs sampling of lattice targets: ground-truth samples where enumeration and exact
// sampling are out of reach (the 10 x 10 Ising model).
//
// Systematic scan: a sweep redraws sites 0..D-1 in order, each from its conditional given
// the current values of the others. Many independent chains run side by side, one column
// each, and a site is updated in all chains at once: the model returns that site's
// conditional logits for every chain (vectorized over chains), then each chain draws.
//
// The model interface (IsingModel and PottsModel provide it):
//   Index num_variables() const;  Index num_values() const;
//   void site_logits(const Eigen::Ref<const CodeMatrix>& x, Index site,
//                    Matrix<double>& logits) const;   // K x chains, any additive constant
// where row k of column c is log f of chain c's state with x_site set to k, up to a
// constant per chain (only the other sites' values may enter).

#include <cmath>
#include <cstdint>

#include "mam/core/error.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"

namespace mam {

namespace detail {

// One systematic-scan sweep over all sites of all chains.
template <class Model>
void gibbs_sweep(const Model& model, CodeMatrix& state, Matrix<double>& logits, Rng& rng) {
  const char* function = "mam::gibbs_sample";
  const Index K = model.num_values();
  const Index chains = state.cols();
  for (Index site = 0; site < state.rows(); ++site) {
    model.site_logits(state, site, logits);
    require<shape_error>(logits.rows() == K && logits.cols() == chains, function,
                         concat("site logits of shape ", K, " x ", chains),
                         concat(logits.rows(), " x ", logits.cols()));
    // Unnormalized probabilities, shifted per chain so that the largest is 1.
    logits = (logits.rowwise() - logits.colwise().maxCoeff()).array().exp().matrix();
    for (Index c = 0; c < chains; ++c) {
      const double total = logits.col(c).sum();
      if (!(total >= 1.0) || !std::isfinite(total))  // NaN logits, or +inf ones
        fail<numeric_error>(function, "finite site logits",
                            concat("non-finite logits for site ", site, " of chain ", c));
      double target = rng.uniform() * total;
      Index k = 0;
      while (k < K - 1 && (target -= logits(k, c)) >= 0.0) ++k;
      state(site, c) = static_cast<Code>(k);
    }
  }
}

}  // namespace detail

/// `sweeps` systematic-scan sweeps of every chain (column) of `state`, in place: a move that
/// leaves the target invariant, e.g. to mix into neural MCMC (estimate/neural_mcmc.hpp).
template <class Model>
void gibbs_sweep(const Model& model, CodeMatrix& state, Rng& rng, Index sweeps = 1) {
  const char* function = "mam::gibbs_sweep";
  detail::require<value_error>(sweeps >= 0, function, "sweeps >= 0", sweeps);
  detail::require<shape_error>(state.rows() == model.num_variables(), function,
                               detail::concat(model.num_variables(), " rows (D)"), state.rows());
  for (Index c = 0; c < state.cols(); ++c)
    for (Index i = 0; i < state.rows(); ++i)
      if (state(i, c) < 0 || state(i, c) >= model.num_values())
        detail::fail<value_error>(function, detail::concat("complete codes in 0..", model.num_values() - 1),
                                  detail::concat(state(i, c), " at (", i, ", ", c, ")"));
  Matrix<double> logits;
  for (Index sweep = 0; sweep < sweeps; ++sweep) detail::gibbs_sweep(model, state, logits, rng);
}

/// Samples of `model` by Gibbs sampling: `chains` independent chains started uniformly at
/// random; each runs `burn_in_sweeps` sweeps, then keeps its state after every `thinning`
/// further sweeps until it has `samples_per_chain` samples. Returns D x
/// (chains * samples_per_chain) codes; column s * chains + c is chain c's s-th kept sample,
/// so the first `chains` columns come from distinct chains (independent draws).
/// One seed gives the same samples (all randomness comes from `rng`).
template <class Model>
CodeMatrix gibbs_sample(const Model& model, Index chains, Index burn_in_sweeps, Index thinning,
                        Index samples_per_chain, Rng& rng) {
  const char* function = "mam::gibbs_sample";
  detail::require<value_error>(chains >= 1, function, "chains >= 1", chains);
  detail::require<value_error>(burn_in_sweeps >= 0, function, "burn_in_sweeps >= 0",
                               burn_in_sweeps);
  detail::require<value_error>(thinning >= 1, function, "thinning >= 1 sweep", thinning);
  detail::require<value_error>(samples_per_chain >= 1, function, "samples_per_chain >= 1",
                               samples_per_chain);
  const Index D = model.num_variables();
  const Index K = model.num_values();
  detail::require<value_error>(D >= 1 && K >= 1, function, "a model with D >= 1 and K >= 1",
                               detail::concat("D = ", D, ", K = ", K));

  CodeMatrix state(D, chains);
  for (Index c = 0; c < chains; ++c)
    for (Index i = 0; i < D; ++i)
      state(i, c) = static_cast<Code>(rng.uniform_int(static_cast<std::uint64_t>(K)));

  Matrix<double> logits;
  for (Index sweep = 0; sweep < burn_in_sweeps; ++sweep)
    detail::gibbs_sweep(model, state, logits, rng);
  CodeMatrix samples(D, chains * samples_per_chain);
  for (Index s = 0; s < samples_per_chain; ++s) {
    for (Index sweep = 0; sweep < thinning; ++sweep)
      detail::gibbs_sweep(model, state, logits, rng);
    samples.middleCols(s * chains, chains) = state;
  }
  return samples;
}

}  // namespace mam

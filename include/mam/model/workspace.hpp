#pragma once
// Buffers that survive between training steps: the forward/backward contexts of both
// networks. Losses and samplers take an optional Workspace; trainers keep one, so a step
// allocates (and page-faults) nothing once the shapes have been seen.

namespace mam {

template <class Model>
struct Workspace {
  typename Model::marginal_network::Context marginal;
  typename Model::conditional_network::Context conditional;
  /// A second conditional pass in the same step: one that reads a few outputs per sample
  /// (ao_arm_loss's left-to-right samples) beside a dense one.
  typename Model::conditional_network::Context conditional_rows;
};

namespace detail {

/// `*workspace`, or `local` when none was given.
template <class Model>
Workspace<Model>& workspace_or(Workspace<Model>* workspace, Workspace<Model>& local) {
  return workspace != nullptr ? *workspace : local;
}

}  // namespace detail
}  // namespace mam

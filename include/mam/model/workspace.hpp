#pragma once
// Buffers that survive between training steps: the forward/backward contexts of both
// networks. Losses and samplers take an optional Workspace; trainers keep one, so a step
// allocates (and page-faults) nothing once the shapes have been seen.

namespace mam {

template <class Model>
struct Workspace {
  typename Model::marginal_network::Context marginal;
  typename Model::conditional_network::Context conditional;
};

namespace detail {

/// `*workspace`, or `local` when none was given.
template <class Model>
Workspace<Model>& workspace_or(Workspace<Model>* workspace, Workspace<Model>& local) {
  return workspace != nullptr ? *workspace : local;
}

}  // namespace detail
}  // namespace mam

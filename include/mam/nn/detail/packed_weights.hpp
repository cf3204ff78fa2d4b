#pragma once
// A network's dense weight matrices packed for the product kernels, once per version of its
// parameters: in bfloat16 as W for forward products and as W^T for backward ones (AMX
// tiles), or in float as W for forward products (the AVX2 kernel's panels). The packing is
// made at the first pass that needs it, shared by every pass until the parameters change,
// and dropped by every mutable access to them (PackingCache).

#include <cstddef>
#include <memory>
#include <mutex>
#include <type_traits>
#include <vector>

#include "mam/core/types.hpp"
#include "mam/nn/bf16_matmul.hpp"
#include "mam/nn/float_gemm.hpp"
#include "mam/nn/linear.hpp"
#include "mam/nn/matmul_precision.hpp"

namespace mam::detail {

/// The packing of a list of layers' weights (in the list's order) at one version of the
/// parameters.
struct PackedWeights {
  std::vector<Bf16PackedMatrix> weights, transposed;  ///< bfloat16: W and W^T
  std::vector<PackedFloatLhs> float_weights;          ///< float32: W
};

/// Packs the weights of `layers` (views into `parameters`) for `precision`, the layers spread
/// over threads. Only float networks pack; a double one gets an empty packing.
template <class Scalar>
std::shared_ptr<const PackedWeights> pack_weights(const std::vector<const Linear<Scalar>*>& layers,
                                                  const Vector<Scalar>& parameters, MatmulPrecision precision) {
  auto packed = std::make_shared<PackedWeights>();
  if constexpr (std::is_same<Scalar, float>::value) {
    const auto count = static_cast<std::ptrdiff_t>(layers.size());
    const bool bf16 = precision == MatmulPrecision::bfloat16;
    if (bf16) {
      packed->weights.resize(layers.size());
      packed->transposed.resize(layers.size());
    } else {
      packed->float_weights.resize(layers.size());
    }
#pragma omp parallel for schedule(dynamic) if (!omp_in_parallel())
    for (std::ptrdiff_t l = 0; l < count; ++l) {
      const auto index = static_cast<std::size_t>(l);
      const Linear<Scalar>& layer = *layers[index];
      if (!bf16) {
        packed->float_weights[index] = PackedFloatLhs(layer.weight(parameters));
        continue;
      }
      packed->weights[index].pack(layer.weight(parameters));
      packed->transposed[index].pack(layer.weight(parameters), true);
    }
  }
  return packed;
}

/// The packing of a network's current parameters, made at the first pass that needs it and
/// dropped by every mutable access to them. A copied network packs afresh. The mutex makes
/// concurrent passes (const calls) on one network safe.
class PackingCache {
 public:
  PackingCache() = default;
  PackingCache(const PackingCache&) {}
  PackingCache& operator=(const PackingCache&) {
    invalidate();
    return *this;
  }

  /// The packing, made by `pack()` if the current parameters have none yet.
  template <class Pack>
  std::shared_ptr<const PackedWeights> get(Pack&& pack) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!current_) current_ = pack();
    return current_;
  }
  /// The packing if the current parameters have one, else null (packs nothing).
  std::shared_ptr<const PackedWeights> current() {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_;
  }
  void invalidate() {
    std::lock_guard<std::mutex> lock(mutex_);
    current_.reset();
  }

 private:
  std::mutex mutex_;
  std::shared_ptr<const PackedWeights> current_;
};

}  // namespace mam::detail

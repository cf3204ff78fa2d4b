#pragma once
// How a network multiplies its weight matrices, and the one way generic code sets it: a
// network type that offers set_matmul_precision() (ResidualMLP) takes either precision;
// any other computes in its own scalar type, which is float32 for a float network, and
// refuses bfloat16 with a mam::error.

#include <string>
#include <type_traits>
#include <utility>

#include "mam/core/error.hpp"

namespace mam {

enum class MatmulPrecision {
  float32,   ///< float products (mam::detail::multiply: an AVX2 kernel or Eigen's GEMM): the default
  bfloat16,  ///< inputs rounded to bfloat16, float sums, on AMX tiles (amx_bf16_available())
};

inline std::string to_string(MatmulPrecision precision) {
  return precision == MatmulPrecision::float32 ? "float32" : "bfloat16";
}

namespace detail {
template <class Net, class = void>
struct has_matmul_precision : std::false_type {};
template <class Net>
struct has_matmul_precision<Net, std::void_t<decltype(std::declval<Net&>().set_matmul_precision(MatmulPrecision{}))>>
    : std::true_type {};
}  // namespace detail

/// Whether a network type chooses its product precision (set_matmul_precision()).
template <class Net>
inline constexpr bool has_matmul_precision_v = detail::has_matmul_precision<Net>::value;

/// Sets how `network` multiplies: its own set_matmul_precision() where it has one (which may
/// refuse, e.g. bfloat16 without AMX); otherwise float32 is what it does already and
/// bfloat16 is refused.
template <class Net>
void set_matmul_precision(Net& network, MatmulPrecision precision) {
  if constexpr (has_matmul_precision_v<Net>) {
    network.set_matmul_precision(precision);
  } else {
    const auto architecture = network.architecture();
    detail::require<value_error>(precision == MatmulPrecision::float32, "mam::set_matmul_precision",
                                 "a network type with set_matmul_precision() (such as mam::ResidualMLP) for bfloat16",
                                 architecture.empty() ? std::string("another network type")
                                                      : architecture.front().second);
  }
}

}  // namespace mam

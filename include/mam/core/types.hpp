#pragma once
// Library-wide types and the '?' sentinel.
//
// Layout convention: a batch is stored column-major with ONE COLUMN PER SAMPLE. Codes are a
// D x batch matrix of integers, activations an H x batch matrix, so a layer is the product
// W (out x in) * X (in x batch) and each sample's data is contiguous in memory.

#include <cstdint>

#include <Eigen/Core>

namespace mam {

using Index = Eigen::Index;

/// One discrete value: 0..K-1, or `unknown`.
using Code = std::int32_t;

/// The '?' sentinel: the variable is marginalized out (summed over).
inline constexpr Code unknown = -1;

template <class Scalar>
using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

template <class Scalar>
using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

template <class Scalar>
using RowVector = Eigen::Matrix<Scalar, 1, Eigen::Dynamic>;

/// D x batch codes, one sample per column.
using CodeMatrix = Eigen::Matrix<Code, Eigen::Dynamic, Eigen::Dynamic>;

}  // namespace mam

#pragma once
// Positional encodings of a Transformer over D positions, added to the token embeddings
// (width x (D * batch), a sample's D tokens in consecutive columns):
//
// - sinusoidal (the reference's, fixed): with h = width / 2 and frequencies
//   w_t = 10000^(-t / (h - 1)), t = 0..h-1, position p gets sin(p w_t) in rows 0..h-1 and
//   cos(p w_t) in rows h..2h-1 (two halves, not interleaved). Needs an even width.
// - learned: a width x D table of parameters, a view of a slice [offset, offset + width * D)
//   of the network's flat parameter vector, N(0, 1) at initialization as an nn.Embedding.

#include <algorithm>
#include <cmath>
#include <string>

#include "mam/core/error.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/nn/init.hpp"

namespace mam {

enum class PositionalEncodingKind { sinusoidal, learned };

inline std::string to_string(PositionalEncodingKind kind) {
  return kind == PositionalEncodingKind::sinusoidal ? "sinusoidal" : "learned";
}

inline PositionalEncodingKind positional_encoding_from_string(const std::string& name) {
  if (name == "sinusoidal") return PositionalEncodingKind::sinusoidal;
  if (name == "learned") return PositionalEncodingKind::learned;
  detail::fail<value_error>("mam::positional_encoding_from_string", "sinusoidal or learned", "'" + name + "'");
}

/// The reference's sinusoidal table, width x length (see the file comment).
template <class Scalar>
Matrix<Scalar> sinusoidal_positions(Index length, Index width) {
  detail::require<shape_error>(length > 0 && width > 0 && width % 2 == 0, "mam::sinusoidal_positions",
                               "a positive length and a positive even width", detail::concat(length, " and ", width));
  const Index half = width / 2;
  // h - 1 = 0 (width 2) would divide by zero: the one frequency is then 1.
  const double step = std::log(10000.0) / static_cast<double>(std::max<Index>(half - 1, 1));
  Matrix<Scalar> table(width, length);
  for (Index p = 0; p < length; ++p)
    for (Index t = 0; t < half; ++t) {
      const double angle = static_cast<double>(p) * std::exp(-static_cast<double>(t) * step);
      table(t, p) = static_cast<Scalar>(std::sin(angle));
      table(half + t, p) = static_cast<Scalar>(std::cos(angle));
    }
  return table;
}

template <class Scalar>
class PositionalEncoding {
  static_assert(std::is_floating_point<Scalar>::value, "mam::PositionalEncoding needs float or double");

 public:
  using MatrixMap = Eigen::Map<Matrix<Scalar>>;
  using ConstMatrixMap = Eigen::Map<const Matrix<Scalar>>;

  PositionalEncoding() = default;
  PositionalEncoding(PositionalEncodingKind kind, Index length, Index width, Index offset)
      : kind_(kind), length_(length), width_(width), offset_(offset) {
    detail::require<shape_error>(length > 0 && width > 0, "mam::PositionalEncoding", "positive length and width",
                                 detail::concat(length, " and ", width));
    if (kind == PositionalEncodingKind::sinusoidal) fixed_ = sinusoidal_positions<Scalar>(length, width);
  }

  PositionalEncodingKind kind() const { return kind_; }
  Index length() const { return length_; }
  Index width() const { return width_; }
  Index offset() const { return offset_; }
  /// width * length when learned, 0 when fixed.
  Index num_parameters() const { return kind_ == PositionalEncodingKind::learned ? width_ * length_ : 0; }

  /// The width x length table: the fixed one, or the learned one's view of `parameters`.
  ConstMatrixMap table(const Vector<Scalar>& parameters) const {
    if (kind_ == PositionalEncodingKind::learned) return {parameters.data() + offset_, width_, length_};
    return {fixed_.data(), width_, length_};
  }

  /// N(0, 1) entries for the learned table, column by column; nothing for the fixed one.
  void initialize(Vector<Scalar>& parameters, Rng& rng) const {
    if (kind_ != PositionalEncodingKind::learned) return;
    MatrixMap values(parameters.data() + offset_, width_, length_);
    fill_normal(values, rng);
  }

  /// x (width x (length * batch)) += the table, once per sample.
  void add_to(const Vector<Scalar>& parameters, Matrix<Scalar>& x) const {
    const auto values = table(parameters);
    for (Index s = 0; s < x.cols() / length_; ++s) x.middleCols(s * length_, length_) += values;
  }

  /// Adds dL/d table (the sum of dx over the samples) to `gradient` when learned.
  void backward(const Eigen::Ref<const Matrix<Scalar>>& dx, Vector<Scalar>& gradient) const {
    if (kind_ != PositionalEncodingKind::learned) return;
    MatrixMap table_gradient(gradient.data() + offset_, width_, length_);
    for (Index s = 0; s < dx.cols() / length_; ++s) table_gradient += dx.middleCols(s * length_, length_);
  }

 private:
  PositionalEncodingKind kind_ = PositionalEncodingKind::sinusoidal;
  Index length_ = 0;
  Index width_ = 0;
  Index offset_ = 0;
  Matrix<Scalar> fixed_;
};

}  // namespace mam

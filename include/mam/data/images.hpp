#pragma once
// Grayscale images to binary codes: 2x2 down-sampling (28x28 -> 14x14 keeps CPU training at
// minutes), binarization by a fixed threshold (deterministic) or by drawing each pixel with
// probability intensity/255 (stochastic binarization, seeded).

#include <cstdint>

#include "mam/core/error.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/data/idx.hpp"

namespace mam {

/// Averages every 2x2 block of pixels (rounded to nearest): rows/2 x cols/2 images. Labels
/// are kept. Both sides must be even.
inline ImageSet downsample_2x2(const ImageSet& images) {
  const char* function = "mam::downsample_2x2";
  detail::require<shape_error>(images.rows > 0 && images.cols > 0 && images.rows % 2 == 0 && images.cols % 2 == 0,
                               function, "even image sides", detail::concat(images.rows, " x ", images.cols));
  detail::require<shape_error>(images.pixels.rows() == images.rows * images.cols, function,
                               detail::concat(images.rows * images.cols, " pixel rows"), images.pixels.rows());
  ImageSet small;
  small.rows = images.rows / 2;
  small.cols = images.cols / 2;
  small.labels = images.labels;
  small.pixels.resize(small.rows * small.cols, images.count());
  for (Index n = 0; n < images.count(); ++n)
    for (Index r = 0; r < small.rows; ++r)
      for (Index c = 0; c < small.cols; ++c) {
        const Index top = 2 * r * images.cols + 2 * c, bottom = top + images.cols;
        const int sum = images.pixels(top, n) + images.pixels(top + 1, n) + images.pixels(bottom, n) +
                        images.pixels(bottom + 1, n);
        small.pixels(r * small.cols + c, n) = static_cast<std::uint8_t>((sum + 2) / 4);
      }
  return small;
}

/// Code 1 where the intensity is strictly above `threshold` (0..254), else 0.
inline CodeMatrix binarize(const ImageSet& images, int threshold = 127) {
  detail::require<value_error>(threshold >= 0 && threshold < 255, "mam::binarize", "a threshold in 0..254",
                               threshold);
  return (images.pixels.array().cast<int>() > threshold).cast<Code>();
}

/// Code 1 with probability intensity/255, drawn independently per pixel from `rng` (images
/// in column order, pixels in order within an image).
inline CodeMatrix binarize_stochastic(const ImageSet& images, Rng& rng) {
  CodeMatrix codes(images.pixels.rows(), images.pixels.cols());
  for (Index n = 0; n < codes.cols(); ++n)
    for (Index i = 0; i < codes.rows(); ++i)
      codes(i, n) = rng.uniform() * 255.0 < static_cast<double>(images.pixels(i, n)) ? 1 : 0;
  return codes;
}

}  // namespace mam

#pragma once
// Reading IDX files (the MNIST / Fashion-MNIST format), gzip-compressed or plain, via zlib.
//
// An IDX file is a 4-byte magic (0, 0, type, number of dimensions), one big-endian 32-bit
// size per dimension, then the values, first dimension slowest. Only type 0x08 (unsigned
// byte) is read: it is what every (Fashion-)MNIST file uses. The reader checks the magic,
// the sizes and that the file holds exactly the announced number of bytes; anything else is
// a format_error naming the file.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <zlib.h>

#include "mam/core/error.hpp"
#include "mam/core/types.hpp"

namespace mam {

/// The content of an unsigned-byte IDX file.
struct IdxArray {
  std::vector<Index> dims;           ///< sizes, first (slowest) dimension first
  std::vector<std::uint8_t> values;  ///< product of dims bytes, row-major
};

/// Grayscale images, one image per column of `pixels` (rows*cols x count), pixel (r, c) of an
/// image at row r*cols + c: the library's one-sample-per-column layout.
struct ImageSet {
  Index rows = 0, cols = 0;
  Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic> pixels;
  std::vector<int> labels;  ///< one per image, or empty when no label file was read

  Index count() const { return pixels.cols(); }
};

namespace detail {

/// A gzip (or plain) file opened for reading, closed on destruction.
class GzipReader {
 public:
  GzipReader(const std::string& path, const char* function) : path_(path), function_(function) {
    file_ = gzopen(path.c_str(), "rb");
    if (file_ == nullptr) fail<io_error>(function, concat("a readable file '", path, "'"), "cannot open it");
  }
  GzipReader(const GzipReader&) = delete;
  GzipReader& operator=(const GzipReader&) = delete;
  ~GzipReader() { gzclose(file_); }

  /// Reads up to `count` bytes; returns how many were read (fewer only at the end of the data).
  std::size_t read_some(std::uint8_t* out, std::size_t count) {
    std::size_t total = 0;
    while (total < count) {
      const std::size_t chunk = std::min<std::size_t>(count - total, 1u << 30);
      const int got = gzread(file_, out + total, static_cast<unsigned>(chunk));
      if (got < 0) {
        int code = 0;
        const char* message = gzerror(file_, &code);
        fail<format_error>(function_, concat("a valid gzip stream in '", path_, "'"), message);
      }
      if (got == 0) break;
      total += static_cast<std::size_t>(got);
    }
    // zlib reports a stream cut short (no gzip trailer) as an error after the short read.
    int code = Z_OK;
    const char* message = gzerror(file_, &code);
    if (code != Z_OK && code != Z_STREAM_END)
      fail<format_error>(function_, concat("a complete gzip stream in '", path_, "'"), message);
    return total;
  }

  /// Reads exactly `count` bytes of `what`, or fails naming the shortfall.
  void read_exactly(std::uint8_t* out, std::size_t count, const char* what) {
    const std::size_t got = read_some(out, count);
    if (got != count)
      fail<format_error>(function_, concat(count, " bytes of ", what, " in '", path_, "'"),
                         concat(got, " (file truncated)"));
  }

 private:
  gzFile file_;
  std::string path_;
  const char* function_;
};

inline std::uint32_t big_endian_u32(const std::uint8_t* bytes) {
  return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) | (std::uint32_t{bytes[2]} << 8) |
         std::uint32_t{bytes[3]};
}

}  // namespace detail

/// Reads an unsigned-byte IDX file (gzip-compressed or not). `max_values` bounds the size the
/// header may announce, so a corrupt header cannot make us allocate gigabytes.
inline IdxArray read_idx(const std::string& path, std::size_t max_values = std::size_t{1} << 32) {
  const char* function = "mam::read_idx";
  detail::GzipReader reader(path, function);
  std::uint8_t magic[4];
  reader.read_exactly(magic, 4, "IDX magic");
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] == 0)
    detail::fail<format_error>(function,
                               detail::concat("IDX magic 00 00 08 <dims> (unsigned bytes) in '", path, "'"),
                               detail::concat(int{magic[0]}, ' ', int{magic[1]}, ' ', int{magic[2]}, ' ',
                                              int{magic[3]}));
  IdxArray array;
  std::size_t total = 1;
  for (int d = 0; d < magic[3]; ++d) {
    std::uint8_t size_bytes[4];
    reader.read_exactly(size_bytes, 4, "IDX dimension sizes");
    const std::uint32_t size = detail::big_endian_u32(size_bytes);
    detail::require<format_error>(size > 0, function, detail::concat("positive dimension sizes in '", path, "'"),
                                  detail::concat("size 0 for dimension ", d));
    detail::require<format_error>(size <= max_values / total, function,
                                  detail::concat("at most ", max_values, " values in '", path, "'"),
                                  detail::concat("dimension ", d, " of size ", size, " after ", total, " values"));
    total *= size;
    array.dims.push_back(static_cast<Index>(size));
  }
  array.values.resize(total);
  reader.read_exactly(array.values.data(), total, "IDX values");
  std::uint8_t extra = 0;
  if (reader.read_some(&extra, 1) != 0)
    detail::fail<format_error>(function, detail::concat("exactly ", total, " values in '", path, "'"),
                               "trailing bytes after them");
  return array;
}

/// Reads an IDX image file (3 dimensions: count, rows, cols) into one image per column.
inline ImageSet read_idx_images(const std::string& path) {
  IdxArray array = read_idx(path);
  detail::require<format_error>(array.dims.size() == 3, "mam::read_idx_images",
                                detail::concat("3 dimensions (count, rows, cols) in '", path, "'"),
                                array.dims.size());
  ImageSet images;
  images.rows = array.dims[1];
  images.cols = array.dims[2];
  images.pixels = Eigen::Map<const Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>>(
      array.values.data(), images.rows * images.cols, array.dims[0]);
  return images;
}

/// Reads an IDX label file (1 dimension).
inline std::vector<int> read_idx_labels(const std::string& path) {
  const IdxArray array = read_idx(path);
  detail::require<format_error>(array.dims.size() == 1, "mam::read_idx_labels",
                                detail::concat("1 dimension (count) in '", path, "'"), array.dims.size());
  return std::vector<int>(array.values.begin(), array.values.end());
}

/// Reads an image file and its label file; their counts must agree.
inline ImageSet read_idx_images(const std::string& images_path, const std::string& labels_path) {
  ImageSet images = read_idx_images(images_path);
  images.labels = read_idx_labels(labels_path);
  detail::require<format_error>(static_cast<Index>(images.labels.size()) == images.count(), "mam::read_idx_images",
                                detail::concat("as many labels in '", labels_path, "' as images in '", images_path,
                                               "' (", images.count(), ")"),
                                images.labels.size());
  return images;
}

}  // namespace mam

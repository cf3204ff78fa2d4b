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
#include <string_view>
#include <vector>

#include <zlib.h>

#include "mam/core/error.hpp"
#include "mam/core/read_file.hpp"
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

/// The bytes of an IDX file, gzip-compressed (one or more gzip members, as gzip and gzopen
/// write them) or plain, read front to back. Plain when they do not begin with gzip's magic
/// 1f 8b, as zlib's gzopen decides.
class IdxByteStream {
 public:
  IdxByteStream(std::string_view file, const std::string& name, const char* function)
      : file_(file), name_(name), function_(function) {
    gzip_ = starts_gzip_member(0);
    if (gzip_ && inflateInit2(&stream_, 16 + MAX_WBITS) != Z_OK)
      fail<format_error>(function_, "zlib to start inflating", stream_.msg != nullptr ? stream_.msg : "an error");
  }
  IdxByteStream(const IdxByteStream&) = delete;
  IdxByteStream& operator=(const IdxByteStream&) = delete;
  ~IdxByteStream() {
    if (gzip_) inflateEnd(&stream_);
  }

  /// Reads up to `count` bytes; returns how many were read (fewer only at the end of the data).
  std::size_t read_some(std::uint8_t* out, std::size_t count) {
    if (!gzip_) {
      const std::size_t n = std::min(count, file_.size() - offset_);
      std::copy_n(file_.data() + offset_, n, out);
      offset_ += n;
      return n;
    }
    std::size_t total = 0;
    while (total < count) {
      if (member_done_) {
        if (offset_ == file_.size()) break;
        // What follows a gzip member must be another one (zlib's gzread would skip it).
        if (!starts_gzip_member(offset_))
          fail<format_error>(function_, concat("nothing but gzip members in '", name_, "'"),
                             concat("other bytes at byte ", offset_));
        inflateReset(&stream_);
        member_done_ = false;
      }
      constexpr std::size_t chunk = std::size_t{1} << 30;  // zlib counts in 32 bits
      const std::size_t in_size = std::min(file_.size() - offset_, chunk);
      const std::size_t out_size = std::min(count - total, chunk);
      stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(file_.data() + offset_));
      stream_.avail_in = static_cast<uInt>(in_size);
      stream_.next_out = out + total;
      stream_.avail_out = static_cast<uInt>(out_size);
      const int code = inflate(&stream_, Z_NO_FLUSH);
      offset_ += in_size - stream_.avail_in;
      total += out_size - stream_.avail_out;
      if (code == Z_STREAM_END) {
        member_done_ = true;
      } else if (code == Z_BUF_ERROR && offset_ == file_.size()) {
        // No progress with room to write: the input ended inside the stream.
        fail<format_error>(function_, concat("a complete gzip stream in '", name_, "'"),
                           "one cut short (file truncated)");
      } else if (code != Z_OK) {
        fail<format_error>(function_, concat("a valid gzip stream in '", name_, "'"),
                           stream_.msg != nullptr ? stream_.msg : zError(code));
      }
    }
    return total;
  }

  /// Reads exactly `count` bytes of `what`, or fails naming the shortfall.
  void read_exactly(std::uint8_t* out, std::size_t count, const char* what) {
    const std::size_t got = read_some(out, count);
    if (got != count)
      fail<format_error>(function_, concat(count, " bytes of ", what, " in '", name_, "'"),
                         concat(got, " (file truncated)"));
  }

 private:
  bool starts_gzip_member(std::size_t at) const {
    return file_.size() - at >= 2 && static_cast<unsigned char>(file_[at]) == 0x1f &&
           static_cast<unsigned char>(file_[at + 1]) == 0x8b;
  }

  std::string_view file_;
  const std::string& name_;
  const char* function_;
  bool gzip_ = false;
  bool member_done_ = false;
  std::size_t offset_ = 0;
  z_stream stream_{};
};

inline std::uint32_t big_endian_u32(const std::uint8_t* bytes) {
  return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) | (std::uint32_t{bytes[2]} << 8) |
         std::uint32_t{bytes[3]};
}

/// Decodes the bytes of an unsigned-byte IDX file (gzip-compressed or not); `name` stands
/// for the file in messages. read_idx reads the file and calls this; the fuzzing harness
/// calls it directly.
inline IdxArray decode_idx(const char* function, const std::string& name, std::string_view file,
                           std::size_t max_values) {
  IdxByteStream reader(file, name, function);
  std::uint8_t magic[4];
  reader.read_exactly(magic, 4, "IDX magic");
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] == 0)
    fail<format_error>(function, concat("IDX magic 00 00 08 <dims> (unsigned bytes) in '", name, "'"),
                       concat(int{magic[0]}, ' ', int{magic[1]}, ' ', int{magic[2]}, ' ', int{magic[3]}));
  IdxArray array;
  std::size_t total = 1;
  for (int d = 0; d < magic[3]; ++d) {
    std::uint8_t size_bytes[4];
    reader.read_exactly(size_bytes, 4, "IDX dimension sizes");
    const std::uint32_t size = big_endian_u32(size_bytes);
    require<format_error>(size > 0, function, concat("positive dimension sizes in '", name, "'"),
                          concat("size 0 for dimension ", d));
    require<format_error>(size <= max_values / total, function, concat("at most ", max_values, " values in '", name, "'"),
                          concat("dimension ", d, " of size ", size, " after ", total, " values"));
    total *= size;
    array.dims.push_back(static_cast<Index>(size));
  }
  // Grow with the data actually there, so a header announcing billions of values in a short
  // file costs no more memory than the file's content.
  constexpr std::size_t step = std::size_t{1} << 20;
  while (array.values.size() < total) {
    const std::size_t filled = array.values.size();
    array.values.resize(filled + std::min(step, total - filled));
    const std::size_t got = reader.read_some(array.values.data() + filled, array.values.size() - filled);
    if (filled + got != array.values.size())
      fail<format_error>(function, concat(total, " bytes of IDX values in '", name, "'"),
                         concat(filled + got, " (file truncated)"));
  }
  std::uint8_t extra = 0;
  if (reader.read_some(&extra, 1) != 0)
    fail<format_error>(function, concat("exactly ", total, " values in '", name, "'"), "trailing bytes after them");
  return array;
}

}  // namespace detail

/// Reads an unsigned-byte IDX file (gzip-compressed or not). `max_values` bounds the size the
/// header may announce, so a corrupt header cannot make us allocate gigabytes.
inline IdxArray read_idx(const std::string& path, std::size_t max_values = std::size_t{1} << 32) {
  const char* function = "mam::read_idx";
  return detail::decode_idx(function, path, detail::read_whole_file(function, path), max_values);
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

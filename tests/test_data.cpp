// Tests for the data headers: the IDX reader (round trips through gzip and plain files, and
// every kind of damaged file rejected with a clear error), down-sampling and binarization,
// the Dataset / MinibatchStream / map_batches utilities, and the real Fashion-MNIST files of
// Debian's dataset-fashion-mnist when they are installed.

#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <mam/core/error.hpp>
#include <mam/core/rng.hpp>
#include <mam/data/dataset.hpp>
#include <mam/data/idx.hpp>
#include <mam/data/images.hpp>

#include "support/temp_dir.hpp"
#include "support/values.hpp"

using mam::CodeMatrix;
using mam::Index;
using mam::Rng;
using mam::test::TempDir;
using Bytes = std::vector<std::uint8_t>;

namespace {

/// An unsigned-byte IDX file's bytes: magic, big-endian sizes, values.
Bytes idx_bytes(const std::vector<std::uint32_t>& dims, const Bytes& values, std::uint8_t type = 0x08) {
  Bytes bytes{0, 0, type, static_cast<std::uint8_t>(dims.size())};
  for (std::uint32_t size : dims)
    for (int shift : {24, 16, 8, 0}) bytes.push_back(static_cast<std::uint8_t>(size >> shift));
  bytes.insert(bytes.end(), values.begin(), values.end());
  return bytes;
}

void write_plain(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

void write_gzip(const std::string& path, const Bytes& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  REQUIRE(file != nullptr);
  REQUIRE(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  REQUIRE(gzclose(file) == Z_OK);
}

Bytes read_plain(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// Values 0, 7, 14, ... (mod 256): every image differs from the next.
Bytes ramp(std::size_t count) {
  Bytes values(count);
  for (std::size_t i = 0; i < count; ++i) values[i] = static_cast<std::uint8_t>(i * 7);
  return values;
}

using mam::test::message_of;

}  // namespace

TEST_CASE("read_idx_images reads gzip and plain IDX files, one image per column", "[data]") {
  TempDir dir;
  const Bytes values = ramp(3 * 2 * 4);
  write_gzip(dir.file("images.gz"), idx_bytes({3, 2, 4}, values));
  write_plain(dir.file("images"), idx_bytes({3, 2, 4}, values));
  write_gzip(dir.file("labels.gz"), idx_bytes({3}, {9, 0, 4}));
  for (const std::string name : {"images.gz", "images"}) {
    INFO(name);
    const mam::ImageSet images = mam::read_idx_images(dir.file(name), dir.file("labels.gz"));
    REQUIRE(images.rows == 2);
    REQUIRE(images.cols == 4);
    REQUIRE(images.count() == 3);
    for (Index n = 0; n < 3; ++n)
      for (Index r = 0; r < 2; ++r)
        for (Index c = 0; c < 4; ++c)
          CHECK(images.pixels(r * 4 + c, n) == values[static_cast<std::size_t>(n * 8 + r * 4 + c)]);
    CHECK(images.labels == std::vector<int>{9, 0, 4});
  }
  const mam::IdxArray raw = mam::read_idx(dir.file("images.gz"));
  CHECK(raw.dims == std::vector<Index>{3, 2, 4});
  CHECK(raw.values == values);
}

TEST_CASE("read_idx rejects bad magic, wrong dimensions, truncation, corruption and trailing bytes", "[data]") {
  TempDir dir;
  const Bytes good = idx_bytes({4, 3, 3}, ramp(36));
  auto write_and_read = [&](const Bytes& bytes) {
    write_gzip(dir.file("f.gz"), bytes);
    return mam::read_idx(dir.file("f.gz"));
  };
  // Magic: a non-zero leading byte, another value type (0x0D = float), zero dimensions.
  Bytes bad = good;
  bad[1] = 1;
  CHECK_THAT(message_of<mam::format_error>([&] { write_and_read(bad); }),
             Catch::Contains("mam::read_idx") && Catch::Contains("magic"));
  CHECK_THROWS_AS(write_and_read(idx_bytes({4, 3, 3}, ramp(36 * 4), 0x0D)), mam::format_error);
  CHECK_THROWS_AS(write_and_read(Bytes{0, 0, 8, 0}), mam::format_error);
  // Sizes: a zero size, a header announcing more than the limit (no giant allocation).
  CHECK_THROWS_AS(write_and_read(idx_bytes({4, 0, 3}, {})), mam::format_error);
  CHECK_THAT(message_of<mam::format_error>([&] { write_and_read(idx_bytes({0xffffffffu, 0xffffffffu, 2}, {})); }),
             Catch::Contains("at most"));
  // Truncated content (a valid gzip stream of too few bytes), in the header and in the values.
  CHECK_THAT(message_of<mam::format_error>([&] { write_and_read(Bytes(good.begin(), good.end() - 5)); }),
             Catch::Contains("truncated"));
  CHECK_THROWS_AS(write_and_read(Bytes(good.begin(), good.begin() + 10)), mam::format_error);
  CHECK_THROWS_AS(write_and_read(Bytes(good.begin(), good.begin() + 2)), mam::format_error);
  // Trailing bytes after the announced values.
  Bytes longer = good;
  longer.push_back(1);
  CHECK_THAT(message_of<mam::format_error>([&] { write_and_read(longer); }), Catch::Contains("trailing"));

  // A cut gzip stream and a damaged one (a flipped byte in the compressed data or the CRC).
  write_gzip(dir.file("ok.gz"), idx_bytes({40, 10, 10}, ramp(4000)));
  const Bytes compressed = read_plain(dir.file("ok.gz"));
  REQUIRE_NOTHROW(mam::read_idx(dir.file("ok.gz")));
  write_plain(dir.file("cut.gz"), Bytes(compressed.begin(), compressed.end() - 12));
  CHECK_THROWS_AS(mam::read_idx(dir.file("cut.gz")), mam::format_error);
  for (std::size_t at : {compressed.size() / 2, compressed.size() - 6}) {
    INFO("flipped byte at " << at);
    Bytes damaged = compressed;
    damaged[at] ^= 0x5a;
    write_plain(dir.file("damaged.gz"), damaged);
    CHECK_THROWS_AS(mam::read_idx(dir.file("damaged.gz")), mam::format_error);
  }

  // A missing file is an io_error naming it.
  CHECK_THAT(message_of<mam::io_error>([&] { mam::read_idx(dir.file("missing.gz")); }),
             Catch::Contains("missing.gz"));
}

TEST_CASE("read_idx_images and read_idx_labels check dimensions and matching counts", "[data]") {
  TempDir dir;
  write_gzip(dir.file("images.gz"), idx_bytes({3, 2, 2}, ramp(12)));
  write_gzip(dir.file("labels.gz"), idx_bytes({3}, {1, 2, 3}));
  write_gzip(dir.file("four_labels.gz"), idx_bytes({4}, {1, 2, 3, 4}));
  CHECK_THROWS_AS(mam::read_idx_images(dir.file("labels.gz")), mam::format_error);
  CHECK_THROWS_AS(mam::read_idx_labels(dir.file("images.gz")), mam::format_error);
  CHECK_THAT(message_of<mam::format_error>(
                 [&] { mam::read_idx_images(dir.file("images.gz"), dir.file("four_labels.gz")); }),
             Catch::Contains("as many labels") && Catch::Contains("got 4"));
  CHECK_NOTHROW(mam::read_idx_images(dir.file("images.gz"), dir.file("labels.gz")));
}

TEST_CASE("downsample_2x2 averages 2x2 blocks with rounding", "[data]") {
  mam::ImageSet images;
  images.rows = 2;
  images.cols = 4;
  images.labels = {5, 6};
  images.pixels.resize(8, 2);
  // Image 0: blocks {0, 1, 2, 4} -> 7/4 = 1.75 -> 2 and {255, 255, 255, 254} -> 254.75 -> 255.
  // Image 1: blocks {1, 1, 1, 2} -> 1.25 -> 1 and {10, 11, 10, 11} -> 10.5 -> 11 (half up).
  images.pixels.col(0) << 0, 1, 255, 255, 2, 4, 255, 254;
  images.pixels.col(1) << 1, 1, 10, 11, 1, 2, 10, 11;
  const mam::ImageSet small = mam::downsample_2x2(images);
  REQUIRE(small.rows == 1);
  REQUIRE(small.cols == 2);
  CHECK(small.labels == images.labels);
  CHECK(small.pixels(0, 0) == 2);
  CHECK(small.pixels(1, 0) == 255);
  CHECK(small.pixels(0, 1) == 1);
  CHECK(small.pixels(1, 1) == 11);
  images.cols = 3;
  images.pixels.resize(6, 2);
  CHECK_THROWS_AS(mam::downsample_2x2(images), mam::shape_error);
}

TEST_CASE("binarize by threshold and stochastically", "[data]") {
  mam::ImageSet images;
  images.rows = 1;
  images.cols = 4;
  images.pixels.resize(4, 1);
  images.pixels.col(0) << 0, 127, 128, 255;
  const CodeMatrix fixed = mam::binarize(images);
  CHECK(fixed.col(0) == (Eigen::Vector4i() << 0, 0, 1, 1).finished());
  CHECK(mam::binarize(images, 0).col(0) == (Eigen::Vector4i() << 0, 1, 1, 1).finished());
  CHECK_THROWS_AS(mam::binarize(images, 255), mam::value_error);

  // Stochastic: 0 never, 255 always, 128 with probability 128/255; the seed fixes the draws.
  mam::ImageSet many;
  many.rows = 1;
  many.cols = 3;
  many.pixels.resize(3, 20000);
  many.pixels.row(0).setConstant(0);
  many.pixels.row(1).setConstant(255);
  many.pixels.row(2).setConstant(128);
  Rng rng(3), same(3);
  const CodeMatrix drawn = mam::binarize_stochastic(many, rng);
  CHECK(drawn == mam::binarize_stochastic(many, same));
  CHECK(drawn.row(0).sum() == 0);
  CHECK(drawn.row(1).sum() == 20000);
  const double p = 128.0 / 255.0, mean = drawn.row(2).cast<double>().mean();
  CHECK(std::abs(mean - p) < 5.0 * std::sqrt(p * (1 - p) / 20000.0));
}

TEST_CASE("Dataset validates codes and draws subsets reproducibly", "[data]") {
  CodeMatrix codes(3, 5);
  codes << 0, 1, 2, 0, 1,  //
      1, 1, 0, 2, 2,       //
      2, 0, 0, 1, 1;
  const mam::Dataset data(codes, 3);
  CHECK(data.size() == 5);
  CHECK(data.num_variables() == 3);
  CHECK(data.num_values() == 3);
  CHECK(data.columns({4, 0}).col(0) == codes.col(4));
  CHECK(data.columns({4, 0}).col(1) == codes.col(0));
  Rng a(1), b(1);
  const mam::Dataset three = data.random_subset(3, a);
  CHECK(three.codes() == data.random_subset(3, b).codes());
  CHECK(three.size() == 3);
  CHECK(data.random_subset(99, a).size() == 5);

  CodeMatrix with_unknown = codes;
  with_unknown(1, 1) = mam::unknown;
  CHECK_THROWS_AS(mam::Dataset(with_unknown, 3), mam::value_error);
  CHECK_THROWS_AS(mam::Dataset(codes, 2), mam::value_error);  // a code 2 with K = 2
  CHECK_THROWS_AS(mam::Dataset(codes, 1), mam::value_error);
  CHECK_THROWS_AS(mam::Dataset(CodeMatrix(3, 0), 3), mam::shape_error);
  CHECK_THROWS_AS(data.columns({5}), mam::value_error);
}

TEST_CASE("MinibatchStream covers every sample once per epoch, seeded", "[data]") {
  CodeMatrix codes(1, 12);
  for (Index i = 0; i < 12; ++i) codes(0, i) = static_cast<mam::Code>(i);
  const auto data = std::make_shared<const mam::Dataset>(codes, 12);
  mam::MinibatchStream stream(data, 4), twin(data, 4);
  Rng rng(5), same(5);
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::multiset<mam::Code> seen;
    for (int batch = 0; batch < 3; ++batch) {
      const CodeMatrix x = stream.next(rng);
      REQUIRE(x.cols() == 4);
      CHECK(x == twin.next(same));
      for (Index c = 0; c < 4; ++c) seen.insert(x(0, c));
    }
    CHECK(seen == std::multiset<mam::Code>(codes.data(), codes.data() + 12));
  }
  CHECK_THROWS_AS(mam::MinibatchStream(data, 0), mam::value_error);
}

TEST_CASE("map_batches applies a function block by block and concatenates", "[data]") {
  CodeMatrix x(2, 7);
  for (Index c = 0; c < 7; ++c) x.col(c) << static_cast<mam::Code>(c), 1;
  std::vector<Index> sizes;
  const mam::Vector<double> sums = mam::map_batches(x, 3, [&](const auto& block) {
    sizes.push_back(block.cols());
    return mam::Vector<double>(block.template cast<double>().colwise().sum().transpose());
  });
  CHECK(sizes == std::vector<Index>{3, 3, 1});
  for (Index c = 0; c < 7; ++c) CHECK(sums[c] == static_cast<double>(c + 1));
  CHECK_THROWS_AS(mam::map_batches(x, 0, [](const auto& block) { return mam::Vector<double>(block.cols()); }),
                  mam::value_error);
  CHECK_THROWS_AS(mam::map_batches(x, 3, [](const auto&) { return mam::Vector<double>(1); }), mam::shape_error);
}

TEST_CASE("batched_mean is the mean of f over all columns, whatever the block size", "[data]") {
  CodeMatrix x(2, 7);
  for (Index c = 0; c < 7; ++c) x.col(c) << static_cast<mam::Code>(c), 1;
  auto column_sums = [](const auto& block) {
    return mam::Vector<double>(block.template cast<double>().colwise().sum().transpose());
  };
  for (Index batch : {1, 3, 7, 100}) CHECK(mam::batched_mean(x, batch, column_sums) == 4.0);  // (1 + ... + 7) / 7
  CHECK_THROWS_WITH(mam::batched_mean(x, 0, column_sums), Catch::Contains("mam::batched_mean: expected batch > 0"));
  CHECK_THROWS_AS(mam::batched_mean(CodeMatrix(2, 0), 3, column_sums), mam::shape_error);
}

TEST_CASE("the Fashion-MNIST files of dataset-fashion-mnist read as 60000 + 10000 labeled 28x28 images",
          "[data][fashion]") {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(dir + "/t10k-images-idx3-ubyte.gz")) {
    WARN("dataset-fashion-mnist is not installed: skipping the real-file check");
    return;
  }
  const mam::ImageSet test = mam::read_idx_images(dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz");
  CHECK(test.count() == 10000);
  CHECK(test.rows == 28);
  CHECK(test.cols == 28);
  std::vector<int> per_class(10, 0);
  for (int label : test.labels) {
    REQUIRE(label >= 0);
    REQUIRE(label < 10);
    ++per_class[static_cast<std::size_t>(label)];
  }
  CHECK(per_class == std::vector<int>(10, 1000));  // Fashion-MNIST's test set is balanced
  const mam::ImageSet small = mam::downsample_2x2(test);
  const CodeMatrix codes = mam::binarize(small);
  CHECK(codes.rows() == 196);
  const double ones = codes.cast<double>().mean();
  CHECK(ones > 0.2);
  CHECK(ones < 0.6);
  const mam::ImageSet train = mam::read_idx_images(dir + "/train-images-idx3-ubyte.gz");
  CHECK(train.count() == 60000);
}

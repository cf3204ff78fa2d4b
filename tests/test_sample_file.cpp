// Tests for mam/io/sample_file.hpp: samples and metadata round-trip exactly; wrong kinds,
// shapes and codes are refused with a format_error naming the file.
#include "mam/io/sample_file.hpp"

#include <catch2/catch.hpp>

#include <string>

#include "mam/core/rng.hpp"
#include "mam/io/model_checkpoint.hpp"
#include "support/temp_dir.hpp"

using mam::CodeMatrix;
using mam::Index;

TEST_CASE("save_samples and load_samples round-trip codes and metadata exactly", "[io]") {
  mam::test::TempDir directory;
  const std::string path = directory.file("gibbs.samples");
  mam::Rng rng(3);
  CodeMatrix samples(5, 7);
  for (Index j = 0; j < samples.size(); ++j) samples.data()[j] = static_cast<mam::Code>(rng.uniform_int(4));
  const mam::io::KeyValues metadata{{"target", "potts4_L3"}, {"seed", "3"}};
  mam::io::save_samples(path, samples, metadata);
  const mam::io::StoredSamples stored = mam::io::load_samples(path, 4);
  CHECK(stored.samples == samples);
  CHECK(stored.metadata == metadata);
  // No samples at all is a valid file too.
  mam::io::save_samples(path, CodeMatrix(5, 0));
  CHECK(mam::io::load_samples(path, 4).samples.cols() == 0);
  CHECK(directory.entries() == std::vector<std::string>{"gibbs.samples"});  // no temporary left
}

TEST_CASE("load_samples refuses other files, codes out of range and partial samples", "[io]") {
  mam::test::TempDir directory;
  const std::string path = directory.file("x.samples");
  CodeMatrix samples = CodeMatrix::Constant(3, 2, 2);
  mam::io::save_samples(path, samples);
  CHECK_THROWS_AS(mam::io::load_samples(path, 2), mam::format_error);  // code 2 with K = 2
  CHECK_THROWS_WITH(mam::io::load_samples(path, 2), Catch::Contains("sample code 2 out of range"));
  CHECK_NOTHROW(mam::io::load_samples(path, 3));
  samples(1, 1) = mam::unknown;
  CHECK_THROWS_WITH(mam::io::save_samples(path, samples),
                    Catch::Contains("mam::io::save_samples: expected complete samples (no '?')"));
  // Another kind of checkpoint is not a sample file.
  mam::io::Checkpoint<double> other;
  other.architecture = {{"kind", "gibbs_samples"}};
  other.integers.push_back({"samples", {3, 1, 0, 1, 0}});
  mam::io::save_checkpoint(path, other);
  CHECK_THROWS_AS(mam::io::load_samples(path, 2), mam::architecture_error);
  // A shape that does not match the codes stored (rows x columns != count) is refused.
  other.architecture = {{"kind", "samples"}};
  for (const std::vector<std::uint64_t>& values :
       {std::vector<std::uint64_t>{3, 2, 0, 1, 0}, std::vector<std::uint64_t>{0, 0}, std::vector<std::uint64_t>{3},
        std::vector<std::uint64_t>{2, (std::uint64_t{1} << 63) + 1, 0, 1}}) {
    other.integers = {{"samples", values}};
    mam::io::save_checkpoint(path, other);
    CHECK_THROWS_AS(mam::io::load_samples(path, 2), mam::format_error);
  }
  CHECK_THROWS_AS(mam::io::load_samples(directory.file("missing"), 2), mam::io_error);
}

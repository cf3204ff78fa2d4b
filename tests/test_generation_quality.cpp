// mam::generation_quality on hand-counted cases: validity over all samples, uniqueness over
// the valid ones, novelty over the unique ones.
#include <catch2/catch.hpp>

#include <string>
#include <unordered_set>
#include <vector>

#include <mam/eval/generation_quality.hpp>

TEST_CASE("generation_quality counts valid, unique and novel samples", "[eval]") {
  const std::unordered_set<std::string> training{"CCO", "c1ccccc1"};
  // 8 samples: 2 invalid; valid CCO x2, CCN x3, c1ccccc1: 3 distinct, of which CCN is new.
  const std::vector<std::string> canonical{"CCO", "", "CCN", "CCN", "c1ccccc1", "CCO", "", "CCN"};
  const mam::GenerationQuality quality = mam::generation_quality(canonical, training);
  CHECK(quality.count == 8);
  CHECK(quality.valid == 6);
  CHECK(quality.unique == 3);
  CHECK(quality.novel == 1);
  CHECK(quality.valid_fraction() == 0.75);
  CHECK(quality.unique_fraction() == 0.5);
  CHECK(quality.novel_fraction() == 1.0 / 3.0);

  const mam::GenerationQuality none = mam::generation_quality({"", ""}, training);
  CHECK(none.valid == 0);
  CHECK(none.valid_fraction() == 0.0);
  CHECK(none.unique_fraction() == 0.0);  // nothing valid: no division by zero
  CHECK(none.novel_fraction() == 0.0);
  CHECK(mam::generation_quality({}, {}).count == 0);
}

// Regression tests for the bugs the fuzzing harnesses (tests/fuzz) exposed. Each input is
// also in the harness's seed corpus (tests/fuzz/corpus, written by tests/fuzz/make_seeds.cpp).

#include <sys/resource.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <mam/chem/molecular_graph.hpp>
#include <mam/chem/selfies.hpp>
#include <mam/core/error.hpp>
#include <mam/data/idx.hpp>

#include "support/temp_dir.hpp"
#include "support/values.hpp"

namespace {

long peak_rss_kib() {
  rusage usage{};
  REQUIRE(::getrusage(RUSAGE_SELF, &usage) == 0);
  return usage.ru_maxrss;
}

}  // namespace

TEST_CASE("fuzz regression: an IDX header announcing 4e9 values in a short file allocates no gigabytes",
          "[fuzz][data]") {
  // 65535 x 65535 values is under read_idx's limit of 2^32; the file holds 3 of them. The
  // reader used to size its buffer from the header, 4 GB, before finding the file short.
  const std::string file{'\0', '\0', '\x08', '\x02', '\0', '\0', '\xff', '\xff', '\0', '\0', '\xff', '\xff',
                         '\x01', '\x02', '\x03'};
  const long before = peak_rss_kib();
  CHECK_THAT(mam::test::message_of<mam::format_error>(
                 [&] { mam::detail::decode_idx("mam::read_idx", "header.idx", file, std::size_t{1} << 32); }),
             Catch::Contains("4294836225 bytes of IDX values") && Catch::Contains("got 3 (file truncated)"));
  mam::test::TempDir dir;
  {
    std::ofstream out(dir.file("header.idx"), std::ios::binary);
    out.write(file.data(), static_cast<std::streamsize>(file.size()));
  }
  CHECK_THROWS_AS(mam::read_idx(dir.file("header.idx")), mam::format_error);
  // ru_maxrss is in KiB on Linux: the process grew by far less than the announced 4 GB.
  CHECK(peak_rss_kib() - before < 512 * 1024);
}

TEST_CASE("fuzz regression: a ring bond may close in a later '.'-separated fragment", "[fuzz][smiles][selfies]") {
  // The SELFIES decoder counts ring lengths across fragments, as selfies does: "[C].[C][Ring1][C]"
  // bonds the atoms of two fragments and is written "C1.C1", which the parser used to reject.
  CHECK(mam::selfies_to_smiles("[C].[C][Ring1][C]") == "C1.C1");
  const mam::MolecularGraph mol = mam::parse_smiles("C1.C1");
  REQUIRE(mol.atom_count() == 2);
  CHECK(mol.roots() == std::vector<int>{0, 1});
  REQUIRE(mol.has_bond(0, 1));
  CHECK(mol.bond(0, 1).ring_bond);
  CHECK(mol.bond(0, 1).order == 1);
  CHECK(mam::write_smiles(mol) == "C1.C1");
  CHECK(mam::write_smiles(mam::parse_smiles("C1CC.C=1O")) == "C=1CC.C=1O");
  CHECK(mam::selfies_to_smiles(mam::smiles_to_selfies("C1.C1")) == "C1.C1");
  // A ring still has to close somewhere.
  CHECK_THROWS_AS(mam::parse_smiles("C1.C"), mam::value_error);
  CHECK_THROWS_AS(mam::parse_smiles("C.C1"), mam::value_error);
}

TEST_CASE("fuzz regression: the SELFIES encoder refuses charges the SELFIES grammar cannot write",
          "[fuzz][selfies]") {
  // SELFIES charges are [+-][1-9]+ (as in selfies), so the decoder rejects "[Fe+30]". The
  // encoder used to write it for the SMILES "[Fe+0000000000000030]" (fuzz_selfies' input).
  CHECK_THROWS_AS(mam::selfies_to_smiles("[Fe+30]"), mam::value_error);
  for (const char* smiles : {"[Fe+0000000000000030]", "[Fe+10]", "C[N-20]"}) {
    INFO(smiles);
    CHECK_THAT(mam::test::message_of<mam::value_error>([&] { mam::smiles_to_selfies(smiles); }),
               Catch::Contains("charges SELFIES can write"));
  }
  CHECK(mam::smiles_to_selfies("[Fe+12]") == "[Fe+12]");
  CHECK(mam::selfies_to_smiles(mam::smiles_to_selfies("[Fe+12].[O-2]")) == "[Fe+12].[O-2]");
}

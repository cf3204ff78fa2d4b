// The MOSES generation metrics of the molecule example (examples/support/molecule_metrics.hpp)
// on hand-checked molecules:
//   1. validity, unique@1000, uniqueness, novelty and valid-unique-novel on a list with
//      invalid, empty and differently spelled duplicate strings and a training molecule;
//   2. Tanimoto (against RDKit's own), IntDiv1 with MOSES's self-pairs, SNN;
//   3. BRICS fragments (the exact SMILES RDKit 2022.09 writes, checked by hand) and Frag;
//   4. Murcko scaffolds and Scaf with MOSES's two-ring minimum;
//   5. Wasserstein-1 on hand-computed distributions, logP and MolWt of known molecules;
//   6. the JSON fields, and the reference set of RDKit's NCI sample against itself.
// MAM_NCI_SMILES (a compile definition) is the path of first_5K.smi.

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <memory>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include <DataStructs/BitOps.h>
#include <GraphMol/Fingerprints/MorganFingerprints.h>
#include <RDGeneral/RDLog.h>

#include "nci_molecules.hpp"
#include "support/molecule_metrics.hpp"

namespace {

namespace chem = mam::examples::chemistry;
namespace mm = mam::examples::molecules;

std::unique_ptr<RDKit::RWMol> molecule(const std::string& smiles) {
  chem::Parsed parsed = chem::parse_smiles(smiles);
  REQUIRE(parsed);
  return std::move(parsed.molecule);
}

std::multiset<std::string> fragments_of(const std::string& smiles) {
  const std::vector<std::string> fragments = mm::brics_fragments(*molecule(smiles));
  return {fragments.begin(), fragments.end()};
}

mm::Fingerprint fingerprint_of(const std::string& smiles) { return mm::morgan_fingerprint(*molecule(smiles)); }

using mam::test::nci_molecules;

}  // namespace

TEST_CASE("moses metrics: validity, uniqueness and novelty of a hand-checked list", "[metrics][rdkit]") {
  RDLog::LogStateSetter silence;
  const std::vector<std::string> generated{
      "CCO",              // ethanol
      "OCC",              // ethanol again, spelled differently
      "C(O)C",            // and again
      "c1ccccc1",         // benzene
      "",                 // empty: invalid
      "C1CC",             // unclosed ring: syntax error
      "CC(C)(C)(C)(C)C",  // pentavalent carbon: sanitization error
      "CCN",              // a training molecule
      "Cc1ccccc1",        // toluene
  };
  const std::unordered_set<std::string> training{"CCN", "CCCC"};
  const mm::ReferenceSet reference(std::vector<std::string>{"CCO"});
  const mm::MosesMetrics m = mm::moses_metrics(generated, reference, training);

  CHECK(m.generated == 9);
  CHECK(m.valid == 6);
  CHECK(m.distinct == 4);  // CCO, c1ccccc1, CCN, Cc1ccccc1
  CHECK(m.validity == Approx(6.0 / 9));
  CHECK(m.unique == Approx(4.0 / 6));
  CHECK(m.unique_1000 == Approx(4.0 / 6));  // fewer than 1000 valid: all of them
  CHECK(m.novelty == Approx(3.0 / 4));      // CCN is a training molecule
  CHECK(m.valid_unique_novel == Approx(3.0 / 9));

  REQUIRE(m.canonical.size() == generated.size());
  CHECK(m.canonical[0] == "CCO");
  CHECK(m.canonical[1] == "CCO");
  CHECK(m.canonical[2] == "CCO");
  CHECK(m.canonical[4].empty());
  CHECK(m.canonical[5].empty());
  CHECK(m.canonical[6].empty());
  CHECK(m.canonical[7] == "CCN");
  CHECK(m.novel == std::vector<bool>{true, true, true, true, false, false, false, false, true});
  CHECK(mm::is_novel("CCO", training));
  CHECK_FALSE(mm::is_novel("CCN", training));
}

TEST_CASE("moses metrics: unique@1000 counts the first 1000 valid strings", "[metrics][rdkit]") {
  RDLog::LogStateSetter silence;
  std::vector<std::string> generated(5, "C1CC");            // invalid: not in the window
  for (int i = 0; i < 999; ++i) generated.push_back(i % 2 ? "OCC" : "CCO");
  generated.push_back("CCN");                               // the 1000th valid string
  for (int k = 3; k < 23; ++k) generated.push_back(std::string(static_cast<std::size_t>(k), 'C'));  // 20 alkanes
  const mm::MosesMetrics m = mm::moses_metrics(generated, mm::ReferenceSet({"CCO"}), {});
  CHECK(m.valid == 1020);
  CHECK(m.unique_1000 == Approx(2.0 / 1000));
  CHECK(m.unique == Approx(22.0 / 1020));
  CHECK(m.novelty == Approx(1.0));
  CHECK(m.valid_unique_novel == Approx(22.0 / 1025));
}

TEST_CASE("moses metrics: Tanimoto, IntDiv1 with self-pairs and SNN", "[metrics][rdkit]") {
  RDLog::LogStateSetter silence;
  const std::vector<std::string> smiles{"CCO", "c1ccccc1O", "CC(=O)Nc1ccccc1", "CCCCCC"};
  // Our popcount Tanimoto equals RDKit's on RDKit's own bit vectors.
  for (const std::string& a : smiles)
    for (const std::string& b : smiles) {
      const std::unique_ptr<ExplicitBitVect> fa(RDKit::MorganFingerprints::getFingerprintAsBitVect(*molecule(a), 2, 1024));
      const std::unique_ptr<ExplicitBitVect> fb(RDKit::MorganFingerprints::getFingerprintAsBitVect(*molecule(b), 2, 1024));
      CHECK(mm::tanimoto(fingerprint_of(a), fingerprint_of(b)) == Approx(TanimotoSimilarity(*fa, *fb)));
    }
  CHECK(mm::tanimoto(fingerprint_of("CCO"), fingerprint_of("OCC")) == 1.0);
  CHECK(mm::tanimoto(mm::Fingerprint(), mm::Fingerprint()) == 1.0);  // MOSES: NaN -> 1

  // The reference against itself: every molecule's nearest neighbour is itself.
  const mm::ReferenceSet reference(smiles);
  CHECK(mm::moses_metrics(smiles, reference, {}).snn == Approx(1.0));

  // One molecule, spelled three ways: IntDiv1 = 0.
  CHECK(mm::moses_metrics({"CCO", "OCC", "C(O)C"}, reference, {}).int_div == Approx(0.0).margin(1e-12));

  // Two molecules with Tanimoto t: MOSES averages over the 4 ordered pairs, self-pairs
  // included: 1 - (1 + 1 + 2t) / 4 = (1 - t) / 2 (not 1 - t, which excluding them would give).
  const double t = mm::tanimoto(fingerprint_of("c1ccccc1O"), fingerprint_of("CC(=O)Nc1ccccc1"));
  REQUIRE(t > 0.0);
  REQUIRE(t < 1.0);
  const mm::MosesMetrics two = mm::moses_metrics({"c1ccccc1O", "CC(=O)Nc1ccccc1"}, reference, {});
  CHECK(two.int_div == Approx((1 - t) / 2));

  // SNN: the mean over generated molecules of the best Tanimoto to the reference.
  const mm::ReferenceSet phenol_hexane(std::vector<std::string>{"Oc1ccccc1", "CCCCCC"});
  const double to_phenol = mm::tanimoto(fingerprint_of("CC(=O)Nc1ccccc1"), fingerprint_of("Oc1ccccc1"));
  const double to_hexane = mm::tanimoto(fingerprint_of("CC(=O)Nc1ccccc1"), fingerprint_of("CCCCCC"));
  const double ethanol_best = std::max(mm::tanimoto(fingerprint_of("CCO"), fingerprint_of("Oc1ccccc1")),
                                       mm::tanimoto(fingerprint_of("CCO"), fingerprint_of("CCCCCC")));
  CHECK(mm::moses_metrics({"CC(=O)Nc1ccccc1"}, phenol_hexane, {}).snn == Approx(std::max(to_phenol, to_hexane)));
  CHECK(mm::moses_metrics({"CC(=O)Nc1ccccc1", "CCO", "xyz"}, phenol_hexane, {}).snn ==
        Approx((std::max(to_phenol, to_hexane) + ethanol_best) / 2));
}

TEST_CASE("moses metrics: BRICS fragments and Frag", "[metrics][rdkit]") {
  RDLog::LogStateSetter silence;
  // Checked by hand: ethyl acetate is cut at the ester C-O (labels 1 and 3) and the O-ethyl
  // bond (3 and 4); acetanilide at the amide C-N (1, 5) and the N-aryl bond (5, 16).
  CHECK(fragments_of("CC(=O)OCC") == std::multiset<std::string>{"[1*]C(C)=O", "[3*]O[3*]", "[4*]CC"});
  CHECK(fragments_of("CC(=O)Nc1ccccc1") == std::multiset<std::string>{"[1*]C(C)=O", "[16*]c1ccccc1", "[5*]N[5*]"});
  CHECK(fragments_of("CCOC(=O)c1ccccc1") ==
        std::multiset<std::string>{"[1*]C([6*])=O", "[16*]c1ccccc1", "[3*]O[3*]", "[4*]CC"});
  CHECK(fragments_of("O=C(Oc1ccccc1)c1ccccc1") ==  // phenyl benzoate: the phenyl twice
        std::multiset<std::string>{"[1*]C([6*])=O", "[16*]c1ccccc1", "[16*]c1ccccc1", "[3*]O[3*]"});
  CHECK(fragments_of("CCCCCC") == std::multiset<std::string>{"CCCCCC"});  // no BRICS bond

  const mm::ReferenceSet esters(std::vector<std::string>{"CC(=O)OCC", "CC(=O)Nc1ccccc1"});
  CHECK(mm::moses_metrics({"CCOC(C)=O", "c1ccccc1NC(C)=O"}, esters, {}).frag == Approx(1.0));
  CHECK(mm::moses_metrics({"CCCCCC", "CCO"}, esters, {}).frag == Approx(0.0).margin(1e-12));  // disjoint
  // Ethyl acetate {1*C(C)=O, 3*O3*, 4*CC} vs ethyl benzoate {1*C(6*)=O, 16*c1ccccc1, 3*O3*,
  // 4*CC}: two shared fragments, cosine 2 / (sqrt(3) sqrt(4)).
  CHECK(mm::moses_metrics({"CCOC(=O)c1ccccc1"}, mm::ReferenceSet({"CC(=O)OCC"}), {}).frag ==
        Approx(2 / (std::sqrt(3.0) * 2)));
  // Counts are summed over molecules: two ethyl acetates (every count 2) point the same way as one.
  CHECK(mm::moses_metrics({"CC(=O)OCC", "CCOC(C)=O"}, mm::ReferenceSet({"CC(=O)OCC"}), {}).frag == Approx(1.0));

  CHECK(mm::cosine_similarity({{"a", 1}, {"b", 1}}, {{"a", 2}}) == Approx(1 / std::sqrt(2.0)));
  CHECK(mm::cosine_similarity({{"a", 3}, {"b", 4}}, {{"a", 4}, {"b", 3}}) == Approx(24.0 / 25));
  CHECK(std::isnan(mm::cosine_similarity({}, {{"a", 1}})));
}

TEST_CASE("moses metrics: Murcko scaffolds and Scaf with two rings at least", "[metrics][rdkit]") {
  RDLog::LogStateSetter silence;
  const auto scaffold = [](const std::string& smiles) { return mm::murcko_scaffold(*molecule(smiles)); };
  CHECK(scaffold("Cc1ccccc1") == std::optional<std::string>("c1ccccc1"));   // toluene
  CHECK(scaffold("CCc1ccccc1") == std::optional<std::string>("c1ccccc1"));  // ethylbenzene
  CHECK(scaffold("CCCCCC") == std::optional<std::string>(""));              // hexane
  unsigned rings = 0;
  CHECK(mm::murcko_scaffold(*molecule("Cc1ccc(-c2ccccc2)cc1"), &rings) ==
        std::optional<std::string>("c1ccc(-c2ccccc2)cc1"));
  CHECK(rings == 2);
  CHECK(scaffold("CCc1ccc(Cc2ccccc2)cc1") == std::optional<std::string>("c1ccc(Cc2ccccc2)cc1"));  // linker kept

  // MOSES's compute_scaffold (min_rings=2) counts scaffolds of two rings or more only.
  CHECK_FALSE(mm::moses_scaffold(*molecule("Cc1ccccc1")));
  CHECK(mm::moses_scaffold(*molecule("Cc1ccccc1"), 1) == std::optional<std::string>("c1ccccc1"));
  CHECK_FALSE(mm::moses_scaffold(*molecule("CCCCCC"), 0));  // the empty scaffold: never counted
  CHECK(mm::moses_scaffold(*molecule("Cc1ccc(-c2ccccc2)cc1")) == std::optional<std::string>("c1ccc(-c2ccccc2)cc1"));

  const mm::ReferenceSet biphenyls(std::vector<std::string>{"Cc1ccc(-c2ccccc2)cc1", "Cc1ccccc1"});
  CHECK(biphenyls.scaffolds == mm::Counts{{"c1ccc(-c2ccccc2)cc1", 1}});
  CHECK(mm::moses_metrics({"CCc1ccc(-c2ccccc2)cc1"}, biphenyls, {}).scaf == Approx(1.0));
  CHECK(mm::moses_metrics({"c1ccc2ccccc2c1"}, biphenyls, {}).scaf == Approx(0.0).margin(1e-12));  // naphthalene
  // Generated {biphenyl: 1, naphthalene: 1} (toluene and hexane not counted) vs {biphenyl: 1}.
  CHECK(mm::moses_metrics({"c1ccc(-c2ccccc2)cc1", "c1ccc2ccccc2c1", "Cc1ccccc1", "CCCCCC"}, biphenyls, {}).scaf ==
        Approx(1 / std::sqrt(2.0)));
  CHECK(std::isnan(mm::moses_metrics({"Cc1ccccc1", "CCO"}, biphenyls, {}).scaf));  // no counted scaffold
}

TEST_CASE("moses metrics: Wasserstein-1 and the property distances", "[metrics][rdkit]") {
  CHECK(mm::wasserstein_1({0, 1}, {0, 2}) == Approx(0.5));
  CHECK(mm::wasserstein_1({0, 2}, {0, 1}) == Approx(0.5));
  CHECK(mm::wasserstein_1({1, 2, 5}, {1 + 0.75, 2 + 0.75, 5 + 0.75}) == Approx(0.75));  // a shift by c: c
  CHECK(mm::wasserstein_1({3, -1, 7}, {-1 - 2.5, 7 - 2.5, 3 - 2.5}) == Approx(2.5));  // any order
  CHECK(mm::wasserstein_1({0}, {0, 1}) == Approx(0.5));
  CHECK(mm::wasserstein_1({0, 0, 1}, {1}) == Approx(2.0 / 3));  // |F1 - F2| = 2/3 on [0, 1)
  // |F1 - F2| = 1/2 on [0,1) and [3,4), 1/6 on [1,2) and [2,3): 4/3.
  CHECK(mm::wasserstein_1({0, 4}, {1, 2, 3}) == Approx(4.0 / 3));
  CHECK(mm::wasserstein_1({2, 2}, {2}) == 0.0);
  CHECK(std::isnan(mm::wasserstein_1({}, {1})));

  RDLog::LogStateSetter silence;
  const auto ethanol = molecule("CCO");
  CHECK(mm::molecular_weight(*ethanol) == Approx(46.069).margin(1e-3));
  CHECK(chem::crippen_log_p(*ethanol) == Approx(-0.0014).margin(1e-4));
  const auto hexane = molecule("CCCCCC");
  CHECK(mm::molecular_weight(*hexane) == Approx(86.178).margin(1e-3));
  CHECK(chem::crippen_log_p(*hexane) == Approx(2.5866).margin(1e-4));
  // One molecule each side: W1 is the difference of the values.
  const mm::MosesMetrics m = mm::moses_metrics({"OCC", "bad"}, mm::ReferenceSet({"CCCCCC"}), {});
  CHECK(m.logp_w1 == Approx(2.5866 + 0.0014).margin(1e-4));
  CHECK(m.weight_w1 == Approx(86.178 - 46.069).margin(1e-3));
}

TEST_CASE("moses metrics: JSON fields and empty input", "[metrics][rdkit]") {
  RDLog::LogStateSetter silence;
  const mm::MosesMetrics empty = mm::moses_metrics({}, mm::ReferenceSet({"CCO"}), {});
  CHECK(std::isnan(empty.validity));
  CHECK(std::isnan(empty.int_div));
  CHECK(std::isnan(empty.snn));
  mam::examples::JsonLine json;
  mm::moses_metrics({"CCO", "x"}, mm::ReferenceSet({"CCO"}), {}).add_to(json);
  CHECK(json.str() ==
        "{\"validity\": 0.5, \"unique_1000\": 1, \"unique\": 1, \"novelty\": 1, \"valid_unique_novel\": 0.5, "
        "\"int_div\": 0, \"snn\": 1, \"frag\": 1, \"scaf\": null, \"logp_w1\": 0, \"weight_w1\": 0}");
}

TEST_CASE("moses metrics: RDKit's NCI sample against itself and against other molecules", "[metrics][rdkit]") {
  RDLog::LogStateSetter silence;
  const std::vector<std::string> molecules = nci_molecules(1500);
  const std::vector<std::string> test(molecules.begin(), molecules.begin() + 500);
  const std::vector<std::string> other(molecules.begin() + 500, molecules.end());
  const auto start = std::chrono::steady_clock::now();
  const mm::ReferenceSet reference(test);
  const std::unordered_set<std::string> training(test.begin(), test.end());

  const mm::MosesMetrics self = mm::moses_metrics(test, reference, training);
  CHECK(self.validity == 1.0);
  CHECK(self.unique == 1.0);
  CHECK(self.novelty == 0.0);
  CHECK(self.valid_unique_novel == 0.0);
  CHECK(self.snn == Approx(1.0));
  CHECK(self.frag == Approx(1.0));
  CHECK(self.scaf == Approx(1.0));
  CHECK(self.logp_w1 == 0.0);
  CHECK(self.weight_w1 == 0.0);
  CHECK(self.int_div > 0.5);
  CHECK(self.int_div < 1.0 - 1.0 / 500 + 1e-12);  // self-pairs included

  const mm::MosesMetrics m = mm::moses_metrics(other, reference, training);  // 1000 x 500
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(m.validity == 1.0);
  CHECK(m.unique_1000 == 1.0);
  CHECK(m.novelty == 1.0);
  CHECK(m.snn > 0.1);
  CHECK(m.snn < 1.0);
  CHECK(m.frag > 0.5);
  CHECK(m.frag < 1.0);
  CHECK(m.scaf > 0.0);
  CHECK(m.scaf < 1.0);
  CHECK(m.logp_w1 > 0.0);
  CHECK(m.weight_w1 > 0.0);
  INFO("500 reference and 2 x generated sets (500, 1000 molecules): " << seconds << " s");
  CHECK(seconds < 30.0);  // generous (shared machine); takes about a second
}

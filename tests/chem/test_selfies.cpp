#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include <mam/chem/selfies.hpp>
#include <mam/chem/smiles.hpp>
#include <mam/core/rng.hpp>

using mam::BondConstraints;
using mam::selfies_to_smiles;
using mam::smiles_to_selfies;

namespace {

// Every atom of the SMILES makes at most as many bonds as the constraints allow.
bool within_capacity(const std::string& smiles, const BondConstraints& constraints) {
  const mam::MolecularGraph mol = mam::parse_smiles(smiles);
  for (int i = 0; i < mol.atom_count(); ++i) {
    if (mol.bond_count(i) > constraints.capacity(mol.atom(i))) return false;
  }
  return true;
}

// Same atoms in the same order and the same bonds (ends and orders).
bool same_graph(const std::string& a, const std::string& b) {
  const mam::MolecularGraph x = mam::parse_smiles(a);
  const mam::MolecularGraph y = mam::parse_smiles(b);
  if (x.atom_count() != y.atom_count()) return false;
  for (int i = 0; i < x.atom_count(); ++i) {
    const mam::Atom &p = x.atom(i), &q = y.atom(i);
    if (p.element != q.element || p.charge != q.charge || p.h_count != q.h_count) return false;
    for (int j = 0; j < x.atom_count(); ++j) {
      if (x.has_bond(i, j) != y.has_bond(i, j)) return false;
      if (i < j && x.has_bond(i, j) && x.bond(i, j).order != y.bond(i, j).order) return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("selfies: documented examples decode and encode", "[selfies]") {
  // selfies README / docs.
  CHECK(selfies_to_smiles("[C][=C][F]") == "C=CF");
  CHECK(smiles_to_selfies("C=CF") == "[C][=C][F]");
  // Benzene (kekulized): "[C][=C][C][=C][C][=C][Ring1][=Branch1]".
  CHECK(smiles_to_selfies("C1=CC=CC=C1") == "[C][=C][C][=C][C][=C][Ring1][=Branch1]");
  CHECK(selfies_to_smiles("[C][=C][C][=C][C][=C][Ring1][=Branch1]") == "C1=CC=CC=C1");
  // Encoder output symbols for bracket atoms, charges and hydrogens (selfies'
  // test_standardized_alphabet).
  CHECK(smiles_to_selfies("[C][O][N][P][F]") == "[CH0][OH0][NH0][PH0][FH0]");
  CHECK(smiles_to_selfies("[Fe][Si]") == "[Fe][Si]");
  CHECK(smiles_to_selfies("[Fe++][Fe+2]") == "[Fe+2][Fe+2]");
  CHECK(smiles_to_selfies("[CH][CH1]") == "[CH1][CH1]");
  // A branch with a double bond, a charge pair and a two-digit-free ring.
  CHECK(smiles_to_selfies("CC(=O)O") == "[C][C][=Branch1][C][=O][O]");
  CHECK(smiles_to_selfies("C[N+](=O)[O-]") == "[C][N+1][=Branch1][C][=O][O-1]");
  CHECK(selfies_to_smiles("[C][N+1][=Branch1][C][=O][O-1]") == "C[N+1](=O)[O-1]");
}

TEST_CASE("selfies: decoder cases of selfies' own test suite", "[selfies]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      // branch and ring at the very start are skipped
      {"[Branch3][C][S][C][O]", "CSCO"},
      {"[Ring3][C][S][C][O]", "CSCO"},
      {"[Branch1][Ring1][Ring3][C][S][C][O]", "CSCO"},
      // branch at an atom that can make one more bond is skipped
      {"[C][C][O][Branch1][C][I]", "CCOCI"},
      {"[C][C][C][O][#Branch3][C][I]", "CCCOCI"},
      // branches and rings use up the state
      {"[C][C][C][Ring1][Ring1][#C]", "C1CC1=C"},
      {"[C][=C][C][C][#Ring1][Ring1][#C]", "C=C1CC1"},
      {"[C][O][C][C][=Ring1][Ring1][#C]", "COCCC"},
      {"[C][=C][Branch1][C][=C][#C]", "C=C(C)C"},
      // branch or ring as the last symbol
      {"[C][C][C][C][Branch1]", "CCCC"},
      {"[C][C][C][C][#Branch3]", "CCCC"},
      {"[C][C][C][C][C][Ring1]", "CCCC=C"},
      {"[C][C][C][C][C][Ring3]", "CCCC=C"},
      // branches without atoms
      {"[C][Branch1][Ring2][Branch1][Branch1][Branch1][F]", "CF"},
      {"[C][Branch1][Ring2][Ring1][Ring1][Branch1][F]", "CF"},
      {"[C][=Branch1][Ring2][Branch1][C][Cl][F]", "C(Cl)F"},
      {"[C][C][C][C][#Branch3][O][O]", "CCCC"},
      // oversized branches and rings
      {"[C][Branch2][O][O][C][C][S][F][C]", "CCCSF"},
      {"[C][#Branch2][O][O][#C][C][S][F]", "C#CCSF"},
      {"[C][C][C][C][Ring1][O]", "C1CCC1"},
      {"[C][C][C][C][Ring2][O][C]", "C1CCC1"},
      {"[C][C][C][C][Ring2][O]", "C1CCC1"},
      {"[C][Ring1][O]", "C"},
      // branches and rings at the start of a branch
      {"[C@][=Branch1][Branch1][Branch1][C][Br][Cl][F]", "[C@](Br)(Cl)F"},
      {"[C@][#Branch1][Branch2][=Branch1][Branch1][Branch1][C][Br][Cl][I][F]", "[C@](Br)(Cl)(I)F"},
      {"[C@][#Branch1][Branch2][Branch1][C][Br][Branch1][C][Cl][I][F]", "[C@](Br)(Cl)(I)F"},
      {"[C][C][C][C][C][=Branch1][Branch1][Ring1][Ring2][C][Cl][F]", "CC1CCC1(CCl)F"},
      {"[C][C][C][C][S][Branch1][C][Br][=Branch1][Branch1][Ring1][Ring2][C][Cl][F]", "CC1CCS1(Br)(CCl)F"},
      {"[C][C][C][C][C][S][#Branch1][#Branch1][Branch1][C][Br][Ring1][Branch1][Cl][F]", "CC1CCCS1(Br)(Cl)F"},
      {"[C][C][C][C][C][S][#Branch1][#Branch1][Ring1][Branch1][Branch1][C][Br][Cl][F]", "CC1CCCS1(Br)(Cl)F"},
      // rings after branches
      {"[C][C][C][C][C][C][C][Branch1][Ring2][O][C][O][Ring1][Branch1]", "CCC1CCCC1OCO"},
      {"[C][C][C][C][C][C][C][Branch1][Ring2][O][C][O][Branch1][C][F][Ring1][Branch1]", "CCC1CCCC1(OCO)F"},
      {"[C][C][C][C][C][C][C][Branch1][Ring2][O][C][O][C][Ring1][Branch1]", "CCCCCCC(OCO)=C"},
      {"[C][C][C][C][C][C][C][Branch1][Ring2][O][C][O][Branch1][C][F][C][C][Ring1][=Branch2]",
       "CCCCC1CC(OCO)(F)CC1"},
      // rings on top of existing bonds raise the order
      {"[C][C][Ring1][C]", "C=C"},
      {"[C][/C][Ring1][C]", "C=C"},
      {"[C][C][=Ring1][C]", "C#C"},
      {"[C][C][#Ring1][C]", "C#C"},
      // consecutive rings add up within the constraints
      {"[C][C][C][C][Ring1][Ring2][Ring1][Ring2]", "C=1CCC=1"},
      {"[C][C][C][C][Ring1][Ring2][Ring1][Ring2][Ring1][Ring2]", "C#1CCC#1"},
      {"[C][C][C][C][=Ring1][Ring2][Ring1][Ring2]", "C#1CCC#1"},
      {"[C][C][C][C][Ring1][Ring2][=Ring1][Ring2]", "C#1CCC#1"},
      {"[C][C][C][C][#Ring1][Ring2][=Ring1][Ring2]", "C#1CCC#1"},
      {"[C][C][C][C][=Ring1][Ring2][#Ring1][Ring2]", "C#1CCC#1"},
      {"[C][C][C][C][=Ring1][Ring2][=Ring1][Ring2]", "C#1CCC#1"},
      {"[C][C][C][C][\\/Ring1][Ring2]", "C\\1CCC/1"},
      {"[C][C][C][C][\\/Ring1][Ring2][Ring1][Ring2]", "C=1CCC=1"},
      // unconstrained element: fallback capacity 8
      {"[Xe-2][Branch1][C][F][Branch1][C][F][Branch1][C][F][Branch1][C][F][Branch1][C][F][Branch1][C][F]"
       "[Branch1][C][F][Branch1][C][F]",
       "[Xe-2](F)(F)(F)(F)(F)(F)(F)CF"},
      // isotopes, chirality, explicit hydrogens
      {"[13C][Branch1][C][Cl][Branch1][C][F][Branch1][C][Br][Branch1][C][I]", "[13C](Cl)(F)(Br)CI"},
      {"[C][36Cl][C]", "C[36Cl]"},
      {"[C@@][Branch1][C][Cl][Branch1][C][F][Branch1][C][Br][Branch1][C][I]", "[C@@](Cl)(F)(Br)CI"},
      {"[C@H1][Branch1][C][Cl][Branch1][C][F][Branch1][C][Br]", "[C@H1](Cl)(F)CBr"},
      {"[CH1][Branch1][C][Cl][#C]", "[CH1](Cl)=C"},
      {"[CH3][=C]", "[CH3]C"},
      {"[CH4][C][C]", "[CH4]"},
      {"[C][C][C][CH4]", "CCC"},
      {"[C][Branch1][Ring2][C][=CH4][C][=C]", "C(C)=C"},
      // charged atoms (selfies 2.2 constraints)
      {"[N][#C+1][#NH1][#C@H1]", "N#[C+1]"},
      {"[O+1][=P+1][#P-1][#C@@]", "[O+1]=[P+1]=[P-1]#[C@@]"},
      {"[=C-1][#S+1][#B]", "[C-1]#[S+1]=B"},
      // padding and fragments
      {"[C][nop][O][nop]", "CO"},
      {"[C].[O]", "C.O"},
      {"[nop][nop]", ""},
  };
  for (const auto& [selfies, smiles] : cases) {
    INFO(selfies);
    CHECK(selfies_to_smiles(selfies) == smiles);
  }
  // A long chain needs no recursion.
  std::string chain;
  for (int i = 0; i < 1024; ++i) chain += "[C]";
  CHECK(selfies_to_smiles(chain) == std::string(1024, 'C'));
}

TEST_CASE("selfies: constraints are a value, presets differ as in selfies", "[selfies]") {
  BondConstraints constraints = BondConstraints::default_preset();
  CHECK(constraints.capacity("C", 0) == 4);
  CHECK(constraints.capacity("N", 1) == 4);
  CHECK(constraints.capacity("Xe", -2) == 8);
  constraints.set_fallback(2);
  CHECK(selfies_to_smiles("[Xe-2][Branch1][C][F][Branch1][C][F][Branch1][C][F]", constraints) == "[Xe-2](F)CF");
  constraints.set("Sn+4", 1);
  constraints.set("O-2", 2);
  CHECK(selfies_to_smiles("[Sn+4][=C]", constraints) == "[Sn+4]C");
  CHECK(selfies_to_smiles("[O-2][#C]", constraints) == "[O-2]=C");
  CHECK(selfies_to_smiles("[17O@@H1-2][#C]", constraints) == "[17O@@H1-2]C");
  CHECK(BondConstraints::octet_rule().capacity("S", 0) == 2);
  CHECK(BondConstraints::hypervalent().capacity("I", 0) == 7);
  CHECK(BondConstraints::hypervalent().capacity("N", 0) == 5);
  CHECK_THROWS_AS(constraints.set("Xx", 1), mam::value_error);
  CHECK_THROWS_AS(constraints.set("C+", 1), mam::value_error);
  CHECK_THROWS_AS(constraints.set("C", -1), mam::value_error);
  // The default is untouched by the changes above.
  CHECK(selfies_to_smiles("[Xe-2][Branch1][C][F][Branch1][C][F][Branch1][C][F]") == "[Xe-2](F)(F)F");
}

TEST_CASE("selfies: malformed symbols are errors", "[selfies]") {
  CHECK_THROWS_AS(selfies_to_smiles("[C][C][CH5]"), mam::value_error);   // too many H for C
  CHECK_THROWS_AS(selfies_to_smiles("[C][C][C][OH9]"), mam::value_error);
  CHECK_THROWS_AS(selfies_to_smiles("[C][Xy]"), mam::value_error);
  CHECK_THROWS_AS(selfies_to_smiles("[C][Branch4]"), mam::value_error);
  CHECK_THROWS_AS(selfies_to_smiles("[C][/Branch1]"), mam::value_error);
  CHECK_THROWS_AS(selfies_to_smiles("[C][--Ring1]"), mam::value_error);
  CHECK_THROWS_AS(selfies_to_smiles("[C][C+10]"), mam::value_error);  // selfies charges are [+-][1-9]+
  CHECK_THROWS_AS(selfies_to_smiles("[C][C+]"), mam::value_error);
  CHECK_THROWS_AS(selfies_to_smiles("[C][CH]"), mam::value_error);    // H needs its count: [CH1]
  CHECK_THROWS_AS(selfies_to_smiles("[C]C"), mam::value_error);
  CHECK_THROWS_AS(selfies_to_smiles("[C][O"), mam::value_error);
  CHECK_THROWS_AS(selfies_to_smiles("[c][c]"), mam::value_error);  // no aromatic SELFIES symbols
  try {
    selfies_to_smiles("[C][Xy]");
  } catch (const mam::value_error& e) {
    CHECK(std::string(e.what()).find("[Xy]") != std::string::npos);
  }
}

TEST_CASE("selfies: split_selfies", "[selfies]") {
  CHECK(mam::split_selfies("[C][=C][F].[C]") == std::vector<std::string>{"[C]", "[=C]", "[F]", ".", "[C]"});
  CHECK(mam::split_selfies("").empty());
  CHECK_THROWS_AS(mam::split_selfies("[C]x[C]"), mam::value_error);
  CHECK_THROWS_AS(mam::split_selfies("[C][C"), mam::value_error);
}

TEST_CASE("selfies: encoder round trips keep the molecule written the same way", "[selfies]") {
  // Kekulized SMILES whose decoded form is the input itself (same atom order, ring numbers
  // assigned lowest-first as here).
  const std::vector<std::string> molecules = {
      "C",
      "CCO",
      "C=CC#N",
      "CC(C)(C)C",
      "C1CCCCC1",
      "C1=CC=CC=C1",
      "CC1=CC(=O)C=CC1=O",
      "C1CC2CCC1CC2",
      "C1CCC2(CC1)CCCC2",
      "OC1=C(Cl)C=C(C=C1[N+1](=O)[O-1])[N+1](=O)[O-1]",
      "NC1=CC2=C(C=C1)C(=O)C1=C(C=CC=C1)C2=O",
      "C1=CC=C2C=C3C=CC=CC3=CC2=C1",
      "F/C=C/F",
      "F/C=C\\F",
      "C[C@@H1](N)C(=O)O",
      "C[C@H1](N)C(=O)O",
      "[13CH4]",
      "C[N+1](C)(C)C",
      "[O-1]S(=O)(=O)[O-1]",
      "CC.O",
      "C1CC1C1CC1",
  };
  for (const auto& smiles : molecules) {
    INFO(smiles);
    const std::string selfies = smiles_to_selfies(smiles);
    INFO(selfies);
    CHECK(selfies_to_smiles(selfies) == smiles);
  }
}

TEST_CASE("selfies: chirality across rings is inverted where the decoder reorders bonds", "[selfies]") {
  // The ring closure of atom 2 comes after its branch in the input ("1" after "(F)"): the
  // decoder writes ring closures first, an odd permutation of the neighbours, so @ must
  // become @@ to keep the same stereocentre.
  const std::string selfies = smiles_to_selfies("C1C[C@H](F)1");
  INFO(selfies);
  CHECK(selfies.find("[C@@H1]") != std::string::npos);
  CHECK(selfies_to_smiles(selfies) == "C1C[C@@H1]1F");
  // After two branches the ring closure moves by an even permutation: nothing to invert.
  CHECK(selfies_to_smiles(smiles_to_selfies("C1C[C@](F)(Cl)1")) == "C1C[C@]1(F)Cl");
  // Ring bond closing at the stereocentre, digits in the order the decoder uses: unchanged.
  CHECK(selfies_to_smiles(smiles_to_selfies("F[C@]1(Cl)CC1")) == "F[C@]1(Cl)CC1");
  // Ring opening at an atom after a ring closing there: the decoder's order again.
  CHECK(selfies_to_smiles(smiles_to_selfies("C1CC[C@@]12CCC2")) == "C1CC[C@@]12CCC2");
  // Opening before closing at the same atom: the decoder swaps them, so the mark flips.
  CHECK(selfies_to_smiles(smiles_to_selfies("C1CC[C@@]21CCC2")) == "C1CC[C@]12CCC2");
}

TEST_CASE("selfies: encoder rejects what it cannot represent", "[selfies]") {
  CHECK_THROWS_AS(smiles_to_selfies("c1cccc1"), mam::value_error);  // no Kekule structure
  CHECK_THROWS_AS(smiles_to_selfies("C:C"), mam::value_error);      // ':' between non-aromatic atoms
  CHECK_THROWS_AS(smiles_to_selfies("C(C)(C)(C)(C)C"), mam::value_error);  // 5 bonds on C
  CHECK_THROWS_AS(smiles_to_selfies("FI(F)F"), mam::value_error);          // hypervalent I
  CHECK(smiles_to_selfies("FI(F)F", BondConstraints::hypervalent()) == "[F][I][Branch1][C][F][F]");
  CHECK_THROWS_AS(smiles_to_selfies("C1CC"), mam::value_error);
  CHECK_THROWS_AS(smiles_to_selfies("C(C"), mam::value_error);
  CHECK_THROWS_AS(smiles_to_selfies("C*C"), mam::value_error);
  CHECK_THROWS_AS(smiles_to_selfies(""), mam::value_error);
  try {
    smiles_to_selfies("c1cccc1");
  } catch (const mam::value_error& e) {
    CHECK(std::string(e.what()).find("Kekule structure") != std::string::npos);
  }
}

TEST_CASE("selfies: aromatic SMILES is kekulized as selfies does it", "[selfies]") {
  // selfies' test_radical_kekulization (ring numbers reused here: "C1=CC=CC=C1" for "C2=...").
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"c1ccc[c]c1", "C1=CC=C[CH0]=C1"},
      {"c1[c]n1(C)", "C1=[CH0]N1C"},
      {"c1[C][n+]1(C)", "C=1[CH0][N+1]=1C"},
      {"c1nnn[n-]1", "C1=NN=N[N-1]1"},
      {"c1ccn[c-](C)[n+]1=O", "C1=CC=N[C-1](C)[N+1]1=O"},
      {"c1ccs[n+]1c2ccccc2", "C=1C=CS[N+1]=1C1=CC=CC=C1"},
      {"c1ccs[nH+]1", "C=1C=CS[NH1+1]=1"},
      // pyrrole, furan, azulene (5-7 rings: not bipartite), pyrene, explicit ':' bonds
      {"c1cc[nH]c1", "C=1C=C[NH1]C=1"},
      {"o1cccc1", "O1C=CC=C1"},
      {"c1ccc2cccc2cc1", "C1=CC=C2C=CC=C2C=C1"},
      {"c1cc2cccc3c4cccc5cccc(c(c1)c23)c45", "C1=CC2=CC=CC=3C=4C=CC=C5C=CC=C(C(=C1)C2=3)C=45"},
      {"c1:c:c:c:c:c:1", "C1=CC=CC=C1"},
  };
  for (const auto& [aromatic, kekule] : cases) {
    INFO(aromatic);
    CHECK(selfies_to_smiles(smiles_to_selfies(aromatic)) == kekule);
  }
  CHECK(smiles_to_selfies("c1ccccc1") == "[C][=C][C][=C][C][=C][Ring1][=Branch1]");
}

TEST_CASE("selfies: long branches and rings use two and three index symbols", "[selfies]") {
  // A ring over 20 atoms: Q = 18 = 0x12, two index symbols: [Ring2] then [Ring1] [Ring2].
  std::string ring = "C1";
  for (int i = 0; i < 19; ++i) ring += "C";
  ring += "1";
  const std::string selfies = smiles_to_selfies(ring);
  CHECK(selfies.find("[Ring2][Ring1][Ring2]") != std::string::npos);
  CHECK(selfies_to_smiles(selfies) == ring);
  // A branch of 300 atoms needs three index symbols: Q = 299 = 0x12B = [Ring1][Ring2][=N].
  const std::string branch = "C(" + std::string(300, 'C') + ")O";
  const std::string branch_selfies = smiles_to_selfies(branch);
  CHECK(branch_selfies.find("[Branch3][Ring1][Ring2][=N]") != std::string::npos);
  CHECK(selfies_to_smiles(branch_selfies) == branch);
}

TEST_CASE("selfies: any sequence of alphabet symbols decodes to a valid molecule", "[selfies]") {
  const BondConstraints constraints = BondConstraints::default_preset();
  const std::vector<std::string> alphabet = mam::selfies_alphabet(constraints);
  CHECK(std::find(alphabet.begin(), alphabet.end(), "[#N+1]") != alphabet.end());
  CHECK(std::find(alphabet.begin(), alphabet.end(), "[=F]") == alphabet.end());  // F makes one bond
  CHECK(std::find(alphabet.begin(), alphabet.end(), "[=Ring3]") != alphabet.end());
  mam::Rng rng(2024);
  int nonempty = 0;
  int with_rings = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const auto length = 1 + rng.uniform_int(60);
    std::string selfies;
    for (std::uint64_t i = 0; i < length; ++i) selfies += alphabet[rng.uniform_int(alphabet.size())];
    INFO(selfies);
    const std::string smiles = selfies_to_smiles(selfies, constraints);
    if (smiles.empty()) continue;
    ++nonempty;
    with_rings += smiles.find_first_of("0123456789%") != std::string::npos ? 1 : 0;
    INFO(smiles);
    REQUIRE_NOTHROW(mam::parse_smiles(smiles));
    CHECK(within_capacity(smiles, constraints));
    // The decoded molecule encodes and decodes to itself (ring digits may be renumbered).
    CHECK(same_graph(selfies_to_smiles(smiles_to_selfies(smiles, constraints), constraints), smiles));
  }
  CHECK(nonempty > 2500);
  CHECK(with_rings > 300);
}

TEST_CASE("selfies: vocabulary with [nop] padding and fixed-length codes", "[selfies]") {
  const std::vector<std::string> corpus = {smiles_to_selfies("CC(=O)O"), smiles_to_selfies("C1=CC=CC=C1")};
  const mam::Vocabulary vocabulary = mam::selfies_vocabulary(corpus);
  CHECK(vocabulary.padding() == "[nop]");
  CHECK(vocabulary.token(0) == "[nop]");
  CHECK(vocabulary.contains("[=Branch1]"));
  CHECK(vocabulary.contains("[Ring1]"));
  const auto codes = vocabulary.encode(mam::split_selfies(corpus[1]), 12);
  CHECK(codes.size() == 12);
  CHECK(codes(11) == 0);
  CHECK(selfies_to_smiles(mam::join_tokens(vocabulary.decode(codes))) == "C1=CC=CC=C1");
  // Padding decodes to nothing, wherever a sample puts it.
  mam::Vector<mam::Code> scattered = mam::Vector<mam::Code>::Zero(16);
  for (int i = 0; i < 8; ++i) scattered(2 * i + 1) = codes(i);
  CHECK(selfies_to_smiles(mam::join_tokens(vocabulary.decode(scattered))) == "C1=CC=CC=C1");
  CHECK_THROWS_AS(vocabulary.encode(mam::split_selfies(corpus[1]), 7), mam::value_error);
  CHECK_THROWS_AS(vocabulary.encode(mam::split_selfies("[C][Cl]"), 7), mam::value_error);
}

TEST_CASE("selfies: random SMILES-like strings either fail cleanly or round-trip as the same graph", "[selfies]") {
  // Any string: the parser and the encoder either work or throw mam::value_error. What the
  // encoder accepts decodes to the same atoms (same order) with the same bonds.
  const std::vector<std::string> pieces = {"C", "C", "C", "N", "O", "S", "P", "F", "Cl", "Br", "[N+]", "[O-]",
                                           "[CH2]", "[13C]", "[Fe+2]", "(", ")", "=", "#", "/", "\\", "1", "2",
                                           "%10", ".", "[C@@H]", "B", "c", "*", "[nH]", "-"};
  mam::Rng rng(11);
  int parsed = 0;
  int encoded = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    std::string smiles;
    const auto length = 1 + rng.uniform_int(16);
    for (std::uint64_t i = 0; i < length; ++i) smiles += pieces[rng.uniform_int(pieces.size())];
    INFO(smiles);
    std::string written;
    try {
      written = mam::write_smiles(mam::parse_smiles(smiles));
      ++parsed;
    } catch (const mam::value_error&) {
      continue;
    }
    std::string selfies;
    try {
      selfies = smiles_to_selfies(smiles);
      ++encoded;
    } catch (const mam::value_error& e) {
      CHECK(std::string(e.what()).find("bond constraints") != std::string::npos);
      continue;
    }
    INFO(selfies);
    CHECK(same_graph(selfies_to_smiles(selfies), written));
  }
  CHECK(parsed > 1000);
  CHECK(encoded > 500);
}

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <mam/chem/molecular_graph.hpp>
#include <mam/chem/perfect_matching.hpp>
#include <mam/chem/smiles.hpp>
#include <mam/core/rng.hpp>
#include <mam/data/vocabulary.hpp>

using mam::tokenize_smiles;
using Tokens = std::vector<std::string>;

TEST_CASE("smiles: tokenizer splits bracket atoms, halogens, ring bonds", "[smiles]") {
  CHECK(tokenize_smiles("CCO") == Tokens{"C", "C", "O"});
  CHECK(tokenize_smiles("ClCBr") == Tokens{"Cl", "C", "Br"});
  CHECK(tokenize_smiles("BC") == Tokens{"B", "C"});
  CHECK(tokenize_smiles("C[N+](=O)[O-]") == Tokens{"C", "[N+]", "(", "=", "O", ")", "[O-]"});
  CHECK(tokenize_smiles("C%12CC%12") == Tokens{"C", "%12", "C", "C", "%12"});
  CHECK(tokenize_smiles("c1ccccc1") == Tokens{"c", "1", "c", "c", "c", "c", "c", "1"});
  CHECK(tokenize_smiles("F/C=C\\F") == Tokens{"F", "/", "C", "=", "C", "\\", "F"});
  CHECK(tokenize_smiles("[13C@@H](N)C#N.O") ==
        Tokens{"[13C@@H]", "(", "N", ")", "C", "#", "N", ".", "O"});
  CHECK(tokenize_smiles("").empty());
  // Tokens always re-join to the input.
  for (const std::string smiles : {"OC1=C(Cl)C=C(C=C1[N+]([O-])=O)[N+]([O-])=O", "S(SC1=NC2=CC=CC=C2S1)C3=NC4=C(S3)C=CC=C4",
                                   "CC[C@H](C)[C@H](NC(=O)C)C(=O)O"}) {
    CHECK(mam::join_tokens(tokenize_smiles(smiles)) == smiles);
  }
}

TEST_CASE("smiles: strings that do not re-join from tokens are rejected", "[smiles]") {
  for (const std::string smiles : {"C C", "C[N+", "C%1", "CX", "C[]C", "C&C", "Cl;"}) {
    INFO(smiles);
    CHECK_THROWS_AS(tokenize_smiles(smiles), mam::value_error);
  }
  try {
    tokenize_smiles("CCX");
  } catch (const mam::value_error& e) {
    const std::string message = e.what();
    CHECK(message.find("mam::tokenize_smiles") != std::string::npos);
    CHECK(message.find("position 2") != std::string::npos);
  }
}

TEST_CASE("smiles: vocabulary, fixed-length codes and padding", "[smiles]") {
  const std::vector<std::string> corpus = {"CCO", "C1CC1Cl", "C[N+](=O)[O-]"};
  const mam::Vocabulary vocabulary = mam::smiles_vocabulary(corpus);
  CHECK(vocabulary.padding() == "_");
  CHECK(vocabulary.padding_code() == 0);
  CHECK(vocabulary.tokens() == Tokens{"_", "(", ")", "1", "=", "C", "Cl", "O", "[N+]", "[O-]"});
  CHECK(vocabulary.size() == 10);

  const auto codes = vocabulary.encode(tokenize_smiles("C1CC1Cl"), 8);
  REQUIRE(codes.size() == 8);
  CHECK(codes(0) == vocabulary.code("C"));
  CHECK(codes(1) == vocabulary.code("1"));
  CHECK(codes(4) == vocabulary.code("1"));
  CHECK(codes(5) == vocabulary.code("Cl"));
  CHECK(codes(6) == 0);
  CHECK(codes(7) == 0);
  CHECK(mam::join_tokens(vocabulary.decode(codes)) == "C1CC1Cl");
  for (const auto& smiles : corpus) {
    CHECK(mam::join_tokens(vocabulary.decode(vocabulary.encode(tokenize_smiles(smiles), 13))) == smiles);
  }
  // Exactly L tokens fit; L + 1 do not.
  CHECK_NOTHROW(vocabulary.encode(tokenize_smiles("C[N+](=O)[O-]"), 7));
  CHECK_THROWS_AS(vocabulary.encode(tokenize_smiles("C[N+](=O)[O-]"), 6), mam::value_error);
  // Unknown tokens and codes.
  CHECK_THROWS_AS(vocabulary.encode(tokenize_smiles("CBr"), 8), mam::value_error);
  CHECK_THROWS_AS(vocabulary.code("Br"), mam::value_error);
  CHECK_THROWS_AS(vocabulary.token(10), mam::value_error);
  mam::Vector<mam::Code> bad = codes;
  bad(2) = mam::unknown;
  CHECK_THROWS_AS(vocabulary.decode(bad), mam::value_error);
  bad(2) = 10;
  CHECK_THROWS_AS(vocabulary.decode(bad), mam::value_error);
  // Padding anywhere decodes to nothing.
  mam::Vector<mam::Code> gaps(6);
  gaps << 0, vocabulary.code("C"), 0, 0, vocabulary.code("O"), 0;
  CHECK(mam::join_tokens(vocabulary.decode(gaps)) == "CO");
}

TEST_CASE("smiles: encode_corpus counts what it skips", "[smiles]") {
  const mam::Vocabulary vocabulary("_", {"C", "O", "N"});
  const std::vector<Tokens> items = {{"C", "C"}, {"C", "C", "C", "C"}, {"C", "Cl"}, {"N"}, {}};
  const mam::EncodedCorpus encoded = mam::encode_corpus(vocabulary, items, 3);
  CHECK(encoded.kept == std::vector<mam::Index>{0, 3, 4});
  CHECK(encoded.too_long == 1);
  CHECK(encoded.unknown_token == 1);
  REQUIRE(encoded.codes.rows() == 3);
  REQUIRE(encoded.codes.cols() == 3);
  CHECK(encoded.codes(0, 0) == 1);
  CHECK(encoded.codes(1, 0) == 1);
  CHECK(encoded.codes(2, 0) == 0);
  CHECK(encoded.codes(0, 1) == 3);
  CHECK(encoded.codes.col(2).isZero());
}

TEST_CASE("smiles: vocabulary validation and key/value round trip", "[smiles]") {
  CHECK_THROWS_AS(mam::Vocabulary("_", {"C", "C"}), mam::value_error);
  CHECK_THROWS_AS(mam::Vocabulary("_", {"C", "_"}), mam::value_error);
  CHECK_THROWS_AS(mam::Vocabulary("_", {"C", ""}), mam::value_error);
  CHECK_THROWS_AS(mam::Vocabulary("_", {"C\nO"}), mam::value_error);

  const mam::Vocabulary vocabulary("[nop]", {"[C]", "[=O]", "[Ring1]"});
  const auto entries = vocabulary.to_key_values("selfies");
  CHECK(entries.front() == std::pair<std::string, std::string>{"selfies.size", "4"});
  CHECK(entries.at(1) == std::pair<std::string, std::string>{"selfies.0", "[nop]"});
  CHECK(mam::Vocabulary::from_key_values(entries, "selfies") == vocabulary);
  auto missing = entries;
  missing.pop_back();
  CHECK_THROWS_AS(mam::Vocabulary::from_key_values(missing, "selfies"), mam::value_error);
  auto bad_size = entries;
  bad_size.front().second = "4x";
  CHECK_THROWS_AS(mam::Vocabulary::from_key_values(bad_size, "selfies"), mam::value_error);
  bad_size.front().second = "-1";  // std::stoul would wrap it to a huge size
  CHECK_THROWS_AS(mam::Vocabulary::from_key_values(bad_size, "selfies"), mam::value_error);
  bad_size.front().second = "5";   // more tokens than entries
  CHECK_THROWS_AS(mam::Vocabulary::from_key_values(bad_size, "selfies"), mam::value_error);
  CHECK_THROWS_AS(mam::Vocabulary::from_key_values(entries, "vocabulary"), mam::value_error);
}

TEST_CASE("smiles: graph parser reads kekulized SMILES and writes it back", "[smiles]") {
  const mam::MolecularGraph mol = mam::parse_smiles("OC1=C(Cl)C=C(C=C1[N+]([O-])=O)[N+]([O-])=O");
  CHECK(mol.atom_count() == 14);
  CHECK(mol.bond_count(1) == 4);       // ring carbon: =C, -O, ring bond
  CHECK(mol.atom(8).charge == 1);      // the first N+
  CHECK(mol.atom(8).h_count == 0);     // bracket atom without H
  CHECK(mol.atom(0).implicit_hydrogens());
  CHECK(mol.has_bond(1, 7));           // ring closure 1
  CHECK(mam::write_smiles(mol) == "OC1=C(Cl)C=C(C=C1[N+1]([O-1])=O)[N+1]([O-1])=O");

  const mam::MolecularGraph stereo = mam::parse_smiles("[13CH3][C@@H](F)/C=C/[2H]");
  CHECK(stereo.atom(0).isotope == 13);
  CHECK(stereo.atom(0).h_count == 3);
  CHECK(stereo.atom(1).chirality == "@@");
  CHECK(stereo.bond(1, 3).stereo == '/');
  CHECK(stereo.bond(3, 4).order == 2);
  CHECK(stereo.bond(4, 5).stereo == '/');
  CHECK(mam::write_smiles(stereo) == "[13CH3][C@@H1](F)/C=C/[2H]");
  CHECK(mam::parse_smiles("[Fe+++]").atom(0).charge == 3);
  CHECK(mam::parse_smiles("[O--]").atom(0).charge == -2);
  CHECK(mam::parse_smiles("[NH4+:12]").atom(0).h_count == 4);
  CHECK(mam::parse_smiles("C.C").roots() == std::vector<int>{0, 1});

  for (const std::string bad : {"", "c1cccc1", "c1cc1", "C1CC", "C(C", "C)C", "CC=", "=CC", "C..C", "C.", "C11", "C12CC12",
                                "C=1CC#1", "[Xx]", "[C", "C(=)C", "C:C", "C$C", "*C", "[C@TH1H](F)Cl"}) {
    INFO(bad);
    CHECK_THROWS_AS(mam::parse_smiles(bad), mam::value_error);
  }
  // Lowest free ring numbers, never reused at the atom that closed them.
  CHECK(mam::write_smiles(mam::parse_smiles("C1CC1C2CC2")) == "C1CC1C1CC1");
  CHECK(mam::write_smiles(mam::parse_smiles("C1CC12CC2")) == "C1CC12CC2");
}

TEST_CASE("smiles: aromatic input comes back kekulized", "[smiles]") {
  const mam::MolecularGraph benzene = mam::parse_smiles("c1ccccc1");
  for (int i = 0; i < 6; ++i) CHECK(benzene.bond_count(i) == 3);  // one double, one single each
  CHECK(mam::write_smiles(benzene) == "C1=CC=CC=C1");
  const mam::MolecularGraph pyridinone = mam::parse_smiles("O=c1cccc[nH]1");
  CHECK(pyridinone.bond(0, 1).order == 2);                       // the exocyclic C=O stays
  CHECK(pyridinone.atom(6).h_count == 1);
  CHECK(mam::write_smiles(pyridinone) == "O=C1C=CC=C[NH1]1");
  CHECK(mam::write_smiles(mam::parse_smiles("[se]1cccc1")) == "[Se]1C=CC=C1");
}

namespace {

// The size of a maximum matching by trying every edge set (small graphs only).
int brute_force_matching_size(int nodes, const std::vector<std::pair<int, int>>& edges, std::size_t from = 0,
                              unsigned used = 0) {
  int best = 0;
  for (std::size_t e = from; e < edges.size(); ++e) {
    const unsigned mask = (1u << edges[e].first) | (1u << edges[e].second);
    if (used & mask) continue;
    best = std::max(best, 1 + brute_force_matching_size(nodes, edges, e + 1, used | mask));
  }
  return best;
}

}  // namespace

TEST_CASE("smiles: blossom matching is maximum on random graphs", "[smiles]") {
  // Odd cycles need blossoms: a triangle with a tail, two triangles joined by an edge.
  CHECK(mam::perfect_matching({{1, 2}, {0, 2}, {0, 1, 3}, {2}}).has_value());
  CHECK(mam::perfect_matching({{1, 2}, {0, 2}, {0, 1, 3}, {2, 4, 5}, {3, 5}, {3, 4}}).has_value());
  CHECK_FALSE(mam::perfect_matching({{1, 2}, {0, 2}, {0, 1}}).has_value());
  CHECK_THROWS_AS(mam::maximum_matching({{0}}), mam::value_error);
  mam::Rng rng(17);
  for (int trial = 0; trial < 300; ++trial) {
    const int nodes = 1 + static_cast<int>(rng.uniform_int(10));
    std::vector<std::vector<int>> adjacency(static_cast<std::size_t>(nodes));
    std::vector<std::pair<int, int>> edges;
    for (int a = 0; a < nodes; ++a) {
      for (int b = a + 1; b < nodes; ++b) {
        if (rng.uniform() < 0.3) {
          adjacency[static_cast<std::size_t>(a)].push_back(b);
          adjacency[static_cast<std::size_t>(b)].push_back(a);
          edges.emplace_back(a, b);
        }
      }
    }
    const std::vector<int> mate = mam::maximum_matching(adjacency);
    int matched = 0;
    for (int v = 0; v < nodes; ++v) {
      const int w = mate[static_cast<std::size_t>(v)];
      if (w < 0) continue;
      ++matched;
      CHECK(mate[static_cast<std::size_t>(w)] == v);  // symmetric, and along an edge:
      const auto& row = adjacency[static_cast<std::size_t>(v)];
      CHECK(std::find(row.begin(), row.end(), w) != row.end());
    }
    CHECK(matched / 2 == brute_force_matching_size(nodes, edges));
  }
}

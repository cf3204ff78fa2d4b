// libFuzzer harness for the SMILES tokenizer (mam/chem/smiles.hpp) and the SMILES parser and
// writer (mam/chem/molecular_graph.hpp). A mam::error is the expected answer to bad input.
// Properties checked:
//   - tokens re-join to the input and each is one whole token of the SMILES expression;
//   - a parsed molecule written and parsed again is the same graph (atoms, bond order,
//     stereo marks, ring bonds, in the same order), and writing that gives the same string.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <mam/chem/molecular_graph.hpp>
#include <mam/chem/smiles.hpp>

#include "fuzz_check.hpp"

namespace {

void check_tokens(std::string_view input) {
  std::vector<std::string> tokens;
  try {
    tokens = mam::tokenize_smiles(input);
  } catch (const mam::error&) {
    return;
  }
  mam::fuzz::check(mam::join_tokens(tokens) == input, "tokens re-join to the input");
  for (const std::string& token : tokens) {
    mam::fuzz::check(!token.empty() && mam::detail::smiles_token_length(token, 0) == token.size(),
                     "each token is one token", token);
  }
}

void check_round_trip(std::string_view input) {
  std::string written;
  mam::MolecularGraph mol;
  try {
    mol = mam::parse_smiles(input);
    written = mam::write_smiles(mol);  // may refuse: more than 99 rings open at once
  } catch (const mam::error&) {
    return;
  }
  mam::MolecularGraph again;
  try {
    again = mam::parse_smiles(written);
  } catch (const mam::error& e) {
    mam::fuzz::check(false, "written SMILES parses again", written + "\n" + e.what());
  }
  mam::fuzz::check(mam::fuzz::same_graph(mol, again), "written SMILES parses to the same graph", written);
  mam::fuzz::check(mam::write_smiles(again) == written, "writing is idempotent", written);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_tokens(input);
  check_round_trip(input);
  return 0;
}

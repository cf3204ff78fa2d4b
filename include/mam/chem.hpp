#pragma once
// Umbrella header of the chemistry module (include/mam/chem/): molecules as strings for
// models of fixed-length token sequences. SMILES tokenizer, SMILES parser and writer over a
// molecular graph (aromatic input kekulized by a blossom perfect matching), SELFIES encoder
// and decoder with their bond constraints, and Metropolis-Hastings over strings (substitute,
// insert, delete) for energy-based targets. Plain C++ on the core headers: it needs no RDKit
// (RDKit only judges the molecules in examples/molecules.cpp and tests/rdkit/).
// Not part of <mam/mam.hpp>; include this header or the single headers below.

#include "mam/chem/bond_constraints.hpp"
#include "mam/chem/molecular_graph.hpp"
#include "mam/chem/perfect_matching.hpp"
#include "mam/chem/selfies.hpp"
#include "mam/chem/sequence_metropolis.hpp"
#include "mam/chem/smiles.hpp"

#pragma once
// The checkpoint round trip every network family's tests make: a model saved and loaded into
// another of the same architecture comes back bit for bit, a residual-MLP model refuses the
// file, and the conditional network alone round-trips through save_network / load_network.

#include <string>

#include <catch2/catch.hpp>

#include <mam/core/error.hpp>
#include <mam/core/rng.hpp>
#include <mam/io/model_checkpoint.hpp>
#include <mam/io/network_checkpoint.hpp>
#include <mam/model/residual.hpp>

#include "temp_dir.hpp"

namespace mam::test {

struct CheckpointPaths {
  std::string model, network;  ///< the files written, for the caller's own refusals
};

/// Saves `model` (and its conditional network) in `directory` and loads them into `loaded`
/// (same architecture, other parameters) and a copy of its conditional network.
template <class Model>
CheckpointPaths check_checkpoint_round_trip(const Model& model, Model& loaded, const TempDir& directory) {
  const CheckpointPaths paths{directory.file("model.ckpt"), directory.file("network.ckpt")};
  io::save_model(paths.model, model);
  REQUIRE(loaded.conditional().parameters() != model.conditional().parameters());
  io::load_model(paths.model, loaded);
  CHECK(loaded.marginal().parameters() == model.marginal().parameters());
  CHECK(loaded.conditional().parameters() == model.conditional().parameters());
  Rng residual_rng(1);
  auto residual = make_residual_model<double>(model.num_variables(), model.num_values(), 8, 2, residual_rng);
  CHECK_THROWS_AS(io::load_model(paths.model, residual), architecture_error);

  io::save_network(paths.network, model.conditional());
  auto network = loaded.conditional();
  network.parameters().setZero();
  io::load_network(paths.network, network);
  CHECK(network.parameters() == model.conditional().parameters());
  return paths;
}

}  // namespace mam::test

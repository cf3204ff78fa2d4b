#pragma once
// Saving and restoring a whole MarginalizationModel: both networks, log Z and the
// normalization, refused on load if the file describes another model.

#include <string>

#include "mam/io/network_checkpoint.hpp"

namespace mam::io {

namespace detail {

/// Adds the model's architecture and its three parameter blocks ("marginal", "conditional",
/// "log_z") to `checkpoint`.
template <class Model>
void append_model(const Model& model, Checkpoint<typename Model::scalar_type>& checkpoint) {
  using Scalar = typename Model::scalar_type;
  for (const auto& entry : model.architecture()) checkpoint.architecture.push_back(entry);
  checkpoint.parameters.push_back({"marginal", model.marginal().parameters()});
  checkpoint.parameters.push_back({"conditional", model.conditional().parameters()});
  checkpoint.parameters.push_back({"log_z", Vector<Scalar>::Constant(1, static_cast<Scalar>(model.log_z()))});
}

/// Checks everything append_model wrote against `model`; returns a function that writes it
/// into the model, so callers can validate all their parts before changing any.
template <class Model>
auto prepare_model_restore(const char* function, const std::string& path,
                           const Checkpoint<typename Model::scalar_type>& checkpoint, const Model& model) {
  const auto& marginal = stored_parameters(function, path, checkpoint, "marginal", model.marginal().num_parameters());
  const auto& conditional =
      stored_parameters(function, path, checkpoint, "conditional", model.conditional().num_parameters());
  const auto& log_z = stored_parameters(function, path, checkpoint, "log_z", 1);
  if (!std::isfinite(static_cast<double>(log_z[0])))
    throw format_error(mam::detail::concat(function, ": '", path, "' holds a non-finite log_z"));
  return [&marginal, &conditional, &log_z](Model& target) {
    target.marginal().set_parameters(marginal);
    target.conditional().set_parameters(conditional);
    target.set_log_z(static_cast<double>(log_z[0]));
  };
}

}  // namespace detail

/// Writes `model` (architecture, both networks, log Z) with `metadata` atomically to `path`.
template <class Model>
void save_model(const std::string& path, const Model& model, const KeyValues& metadata = {}) {
  Checkpoint<typename Model::scalar_type> checkpoint;
  detail::append_model(model, checkpoint);
  checkpoint.metadata = metadata;
  save_checkpoint(path, checkpoint);
}

/// Restores what save_model wrote into `model`, which must have the same architecture;
/// `model` is unchanged if anything is wrong. Returns the metadata.
template <class Model>
KeyValues load_model(const std::string& path, Model& model) {
  constexpr const char* function = "mam::io::load_model";
  const auto checkpoint = load_checkpoint<typename Model::scalar_type>(path);
  require_architecture(model.architecture(), checkpoint.architecture, function);
  detail::prepare_model_restore(function, path, checkpoint, model)(model);
  return checkpoint.metadata;
}

}  // namespace mam::io

#pragma once
// Saving and restoring a network together with what resumes its training exactly: the Adam
// state of every parameter group and the RNG. Works for any network of the contract
// (nn/network.hpp): it stores architecture() and parameters(), and a load refuses a file of
// another architecture.

#include <string>

#include "mam/core/rng.hpp"
#include "mam/io/checkpoint.hpp"
#include "mam/optim/adam.hpp"

namespace mam::io {

namespace detail {

inline std::string group_key(std::size_t group, const char* field) {
  return "adam." + std::to_string(group) + "." + field;
}

template <class Scalar>
void append_adam(const Adam<Scalar>& adam, Checkpoint<Scalar>& checkpoint) {
  NamedIntegers steps{"adam.steps", {}};
  for (std::size_t g = 0; g < adam.num_groups(); ++g) {
    const auto& group = adam.group(g);
    checkpoint.optimizer_state.push_back({group_key(g, "first_moment"), group.first_moment});
    checkpoint.optimizer_state.push_back({group_key(g, "second_moment"), group.second_moment});
    steps.values.push_back(group.steps);
  }
  checkpoint.integers.push_back(std::move(steps));
}

template <class Items>
const auto* find_named(const Items& items, const std::string& name) {
  for (const auto& item : items)
    if (item.name == name) return &item;
  return static_cast<const typename Items::value_type*>(nullptr);
}

template <class Scalar>
void restore_adam(const char* function, const std::string& path,
                  const Checkpoint<Scalar>& checkpoint, Adam<Scalar>& adam) {
  using mam::detail::concat;
  const NamedIntegers* steps = find_named(checkpoint.integers, "adam.steps");
  if (steps == nullptr)
    throw format_error(concat(function, ": '", path, "' holds no optimizer state"));
  if (steps->values.size() != adam.num_groups())
    throw architecture_error(concat(function, ": '", path, "': expected ", adam.num_groups(),
                                    " Adam parameter groups, got ", steps->values.size()));
  for (std::size_t g = 0; g < adam.num_groups(); ++g) {
    auto& group = adam.group(g);
    for (auto [field, target] : {std::pair{"first_moment", &group.first_moment},
                                 std::pair{"second_moment", &group.second_moment}}) {
      const auto* stored = find_named(checkpoint.optimizer_state, group_key(g, field));
      if (stored == nullptr)
        throw format_error(concat(function, ": '", path, "' lacks ", group_key(g, field)));
      if (stored->values.size() != target->size())
        throw architecture_error(concat(function, ": '", path, "': ", group_key(g, field),
                                        ": expected ", target->size(), " values, got ",
                                        stored->values.size()));
    }
  }
  // Everything checked: only now change the optimizer, so a failed load leaves it intact.
  for (std::size_t g = 0; g < adam.num_groups(); ++g) {
    auto& group = adam.group(g);
    group.first_moment = find_named(checkpoint.optimizer_state, group_key(g, "first_moment"))->values;
    group.second_moment = find_named(checkpoint.optimizer_state, group_key(g, "second_moment"))->values;
    group.steps = steps->values[g];
  }
}

inline void append_rng(const Rng& rng, NamedIntegers& out) {
  out.name = "rng.state";
  out.values.assign(rng.state().begin(), rng.state().end());
}

/// The RNG state stored in `checkpoint`, validated (present, four words, not all zero).
template <class Scalar>
Rng::State stored_rng_state(const char* function, const std::string& path, const Checkpoint<Scalar>& checkpoint) {
  using mam::detail::concat;
  const NamedIntegers* stored = find_named(checkpoint.integers, "rng.state");
  if (stored == nullptr || stored->values.size() != 4)
    throw format_error(concat(function, ": '", path, "' holds no RNG state"));
  const auto& v = stored->values;
  if ((v[0] | v[1] | v[2] | v[3]) == 0)
    throw format_error(concat(function, ": '", path, "' holds an all-zero RNG state"));
  return {v[0], v[1], v[2], v[3]};
}

/// The parameter vector `name` of `checkpoint`, checked to hold `size` values.
template <class Scalar>
const Vector<Scalar>& stored_parameters(const char* function, const std::string& path,
                                        const Checkpoint<Scalar>& checkpoint, const std::string& name, Index size) {
  using mam::detail::concat;
  const auto* stored = find_named(checkpoint.parameters, name);
  if (stored == nullptr) throw format_error(concat(function, ": '", path, "' holds no '", name, "' parameters"));
  if (stored->values.size() != size)
    throw architecture_error(concat(function, ": '", path, "': '", name, "': expected ", size,
                                    " parameters, got ", stored->values.size()));
  return stored->values;
}

}  // namespace detail

/// Writes `network`'s architecture and parameters, and optionally `adam`'s state and `rng`'s
/// state, with free-form `metadata`, atomically to `path`.
template <class Network>
void save_network(const std::string& path, const Network& network, const KeyValues& metadata = {},
                  const Adam<typename Network::scalar_type>* adam = nullptr,
                  const Rng* rng = nullptr) {
  Checkpoint<typename Network::scalar_type> checkpoint;
  checkpoint.architecture = network.architecture();
  checkpoint.parameters.push_back({"network", network.parameters()});
  if (adam != nullptr) detail::append_adam(*adam, checkpoint);
  if (rng != nullptr) detail::append_rng(*rng, checkpoint.integers.emplace_back());
  checkpoint.metadata = metadata;
  save_checkpoint(path, checkpoint);
}

/// Restores what save_network wrote into `network` (and `adam`, `rng` when given). The
/// architecture must match exactly; nothing is modified unless the whole file is valid.
/// Returns the metadata.
template <class Network>
KeyValues load_network(const std::string& path, Network& network,
                       Adam<typename Network::scalar_type>* adam = nullptr, Rng* rng = nullptr) {
  using Scalar = typename Network::scalar_type;
  constexpr const char* function = "mam::io::load_network";
  Checkpoint<Scalar> checkpoint = load_checkpoint<Scalar>(path);
  require_architecture(network.architecture(), checkpoint.architecture, function);
  const Vector<Scalar>& parameters =
      detail::stored_parameters(function, path, checkpoint, "network", network.num_parameters());
  Rng::State rng_state{};
  if (rng != nullptr) rng_state = detail::stored_rng_state(function, path, checkpoint);
  if (adam != nullptr) detail::restore_adam(function, path, checkpoint, *adam);  // validates, then writes
  if (rng != nullptr) rng->set_state(rng_state);
  network.set_parameters(parameters);
  return checkpoint.metadata;
}

}  // namespace mam::io

#pragma once
// The network contract: what a type must offer to be a MaM's marginal or conditional network,
// and so to work with every loss, sampler, trainer and checkpoint of the library. The
// members are checked here, one detection trait each, and check_network_contract<Net>()
// turns a missing one into a compile error that names it (as ensmallen's static checks do).
// docs/design.md has a skeleton class to copy.
//
// Required members of a network type `Net` with scalar type `S` (float or double):
//
//   using scalar_type = S;
//   struct Context {                 // what one pass leaves for its backward pass
//     CodeMatrix codes;              //   the pass's input, D x batch
//     Matrix<S> output;              //   output_size() x batch after forward(..., true)
//   };                               //   (default-constructible; more members as needed)
//   Index num_variables() const;     // D
//   Index num_values() const;        // K
//   Index output_size() const;       // 1 for a marginal net, D*K (position-major) for a conditional net
//   Index num_parameters() const;
//   Vector<S>& parameters();         // every parameter, one flat vector; passes started after a
//   const Vector<S>& parameters() const;  // change through this reference see the new values
//   void set_parameters(const Eigen::Ref<const Vector<S>>& values);  // mam::shape_error on a wrong size
//   std::vector<std::pair<std::string, std::string>> architecture() const;  // "kind" first; checkpoints
//                                    // of another architecture are refused
//   void forward(const Eigen::Ref<const CodeMatrix>& codes, Context& context, bool with_head) const;
//   void backward(Context& context, const Eigen::Ref<const Matrix<S>>& d_output, Vector<S>& gradient) const;
//   Matrix<S> operator()(const Eigen::Ref<const CodeMatrix>& codes) const;  // the output alone
//
// What they guarantee:
// - forward() validates the codes (mam::validate_codes: a mam::error, never a crash), sets
//   context.codes and, with `with_head`, context.output. With `with_head` = false a network
//   may skip the output; generic code passes false only to networks with the row-block head
//   below, and reads their outputs through it (see forward_for_rows).
// - backward() adds dL/d parameters to `gradient` (num_parameters() values) for the pass in
//   `context`, given dL/d output; it may use the context's buffers as scratch.
// - const members may run concurrently on one network with distinct contexts.
//
// Optional members, each a speed-up with a generic fallback in nn/network_operations.hpp,
// so a new family needs only the members above:
// - the walk protocol (is_walkable_network): update_code(context, sample, position, code)
//   sets one input code of a filled context cheaply, outputs stale; recompute(context,
//   with_head) brings the outputs up to date, as forward(context.codes) would. Fallback: edit
//   context.codes and run forward() again.
// - the row-block head (has_row_block_head): output_row_blocks(context, first_rows, count,
//   rows) reads `count` outputs per sample without computing the whole head, and
//   backward_rows(context, first_rows, d_rows, gradient) trains through those only. Fallback:
//   slice context.output, and back-propagate a d_output that is zero outside the rows.
// - output_at_all_unknown(): the output for the all-'?' input if known without a pass
//   (std::optional<S>); MarginalizationModel::log_marginal then skips a column.
// - set_matmul_precision(MatmulPrecision): see nn/matmul_precision.hpp.
// - copy_trunk_from(const Other&) and set_head_to_zero(): warm_start_marginal
//   (model/residual.hpp) starts a marginal net from a trained conditional net's features.

#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mam/core/types.hpp"

namespace mam {

/// What architecture() returns: ordered key/value pairs.
using ArchitectureDescription = std::vector<std::pair<std::string, std::string>>;

namespace detail {

template <class Net, class = void>
struct has_scalar_type : std::false_type {};
template <class Net>
struct has_scalar_type<Net, std::void_t<typename Net::scalar_type>>
    : std::bool_constant<std::is_floating_point<typename Net::scalar_type>::value> {};

template <class Net, class = void>
struct has_context : std::false_type {};
template <class Net>
struct has_context<Net, std::void_t<typename Net::Context>>
    : std::is_default_constructible<typename Net::Context> {};

template <class Net, class = void>
struct has_context_codes : std::false_type {};
template <class Net>
struct has_context_codes<Net, std::void_t<decltype(std::declval<typename Net::Context&>().codes)>>
    : std::is_same<decltype(std::declval<typename Net::Context&>().codes), CodeMatrix> {};

template <class Net, class = void>
struct has_context_output : std::false_type {};
template <class Net>
struct has_context_output<Net, std::void_t<decltype(std::declval<typename Net::Context&>().output)>>
    : std::is_same<decltype(std::declval<typename Net::Context&>().output), Matrix<typename Net::scalar_type>> {};

template <class T, class = void>
struct has_shape_queries : std::false_type {};
template <class T>
struct has_shape_queries<T, std::enable_if_t<std::is_convertible<decltype(std::declval<const T&>().num_variables()), Index>::value &&
                                             std::is_convertible<decltype(std::declval<const T&>().num_values()), Index>::value &&
                                             std::is_convertible<decltype(std::declval<const T&>().output_size()), Index>::value>>
    : std::true_type {};

template <class T, class = void>
struct has_num_parameters : std::false_type {};
template <class T>
struct has_num_parameters<T, std::void_t<decltype(std::declval<const T&>().num_parameters())>>
    : std::is_convertible<decltype(std::declval<const T&>().num_parameters()), Index> {};

template <class T, class = void>
struct has_parameters : std::false_type {};
template <class T>
struct has_parameters<T, std::void_t<decltype(std::declval<T&>().parameters()), decltype(std::declval<const T&>().parameters())>>
    : std::bool_constant<std::is_same<decltype(std::declval<T&>().parameters()), Vector<typename T::scalar_type>&>::value &&
                         std::is_same<decltype(std::declval<const T&>().parameters()),
                                      const Vector<typename T::scalar_type>&>::value> {};

template <class T, class = void>
struct has_set_parameters : std::false_type {};
template <class T>
struct has_set_parameters<
    T, std::void_t<decltype(std::declval<T&>().set_parameters(std::declval<const Vector<typename T::scalar_type>&>()))>>
    : std::true_type {};

template <class T, class = void>
struct has_architecture : std::false_type {};
template <class T>
struct has_architecture<T, std::void_t<decltype(std::declval<const T&>().architecture())>>
    : std::is_convertible<decltype(std::declval<const T&>().architecture()), ArchitectureDescription> {};

template <class T, class = void>
struct has_forward : std::false_type {};
template <class T>
struct has_forward<T, std::void_t<decltype(std::declval<const T&>().forward(
                          std::declval<const CodeMatrix&>(), std::declval<typename T::Context&>(), true))>>
    : std::true_type {};

template <class T, class = void>
struct has_backward : std::false_type {};
template <class T>
struct has_backward<T, std::void_t<decltype(std::declval<const T&>().backward(
                           std::declval<typename T::Context&>(), std::declval<const Matrix<typename T::scalar_type>&>(),
                           std::declval<Vector<typename T::scalar_type>&>()))>> : std::true_type {};

template <class T, class = void>
struct has_call_operator : std::false_type {};
template <class T>
struct has_call_operator<T, std::void_t<decltype(std::declval<const T&>()(std::declval<const CodeMatrix&>()))>>
    : std::is_convertible<decltype(std::declval<const T&>()(std::declval<const CodeMatrix&>())),
                          Matrix<typename T::scalar_type>> {};

template <class T, class = void>
struct has_update_code : std::false_type {};
template <class T>
struct has_update_code<T, std::void_t<decltype(std::declval<const T&>().update_code(
                              std::declval<typename T::Context&>(), Index{}, Index{}, Code{}))>> : std::true_type {};

template <class T, class = void>
struct has_recompute : std::false_type {};
template <class T>
struct has_recompute<T, std::void_t<decltype(std::declval<const T&>().recompute(std::declval<typename T::Context&>(), true))>>
    : std::true_type {};

template <class T, class = void>
struct has_output_row_blocks : std::false_type {};
template <class T>
struct has_output_row_blocks<T, std::void_t<decltype(std::declval<const T&>().output_row_blocks(
                                    std::declval<const typename T::Context&>(), std::declval<const std::vector<Index>&>(),
                                    Index{}, std::declval<Matrix<typename T::scalar_type>&>()))>> : std::true_type {};

template <class T, class = void>
struct has_backward_rows : std::false_type {};
template <class T>
struct has_backward_rows<T, std::void_t<decltype(std::declval<const T&>().backward_rows(
                                std::declval<typename T::Context&>(), std::declval<const std::vector<Index>&>(),
                                std::declval<const Matrix<typename T::scalar_type>&>(),
                                std::declval<Vector<typename T::scalar_type>&>()))>> : std::true_type {};

template <class T, class = void>
struct has_output_at_all_unknown : std::false_type {};
template <class T>
struct has_output_at_all_unknown<T, std::void_t<decltype(std::declval<const T&>().output_at_all_unknown())>>
    : std::is_convertible<decltype(std::declval<const T&>().output_at_all_unknown()),
                          std::optional<typename T::scalar_type>> {};

template <class Marginal, class Conditional, class = void>
struct has_warm_start : std::false_type {};
template <class Marginal, class Conditional>
struct has_warm_start<Marginal, Conditional,
                      std::void_t<decltype(std::declval<Marginal&>().copy_trunk_from(std::declval<const Conditional&>())),
                                  decltype(std::declval<Marginal&>().set_head_to_zero())>> : std::true_type {};

// Every member of the contract, given that scalar_type and Context exist.
template <class T, bool = has_scalar_type<T>::value && has_context<T>::value>
struct has_contract_members : std::false_type {};
template <class T>
struct has_contract_members<T, true>
    : std::bool_constant<has_context_codes<T>::value && has_context_output<T>::value && has_shape_queries<T>::value &&
                         has_num_parameters<T>::value && has_parameters<T>::value && has_set_parameters<T>::value &&
                         has_architecture<T>::value && has_forward<T>::value && has_backward<T>::value &&
                         has_call_operator<T>::value> {};

}  // namespace detail

/// Whether T meets the network contract (the required members at the top of this file).
template <class T>
struct is_network : detail::has_contract_members<T> {};
template <class T>
inline constexpr bool is_network_v = is_network<T>::value;

/// Whether a network offers the incremental walk: update_code() and recompute().
template <class T>
struct is_walkable_network
    : std::bool_constant<is_network_v<T> && detail::has_update_code<T>::value && detail::has_recompute<T>::value> {};
template <class T>
inline constexpr bool is_walkable_network_v = is_walkable_network<T>::value;

/// Whether a network reads and trains a few outputs per sample without its whole head:
/// output_row_blocks() and backward_rows().
template <class T>
struct has_row_block_head : std::bool_constant<is_network_v<T> && detail::has_output_row_blocks<T>::value &&
                                               detail::has_backward_rows<T>::value> {};
template <class T>
inline constexpr bool has_row_block_head_v = has_row_block_head<T>::value;

/// Whether a network can tell its all-'?' output without a pass (output_at_all_unknown()).
template <class T>
struct knows_output_at_all_unknown : std::bool_constant<is_network_v<T> && detail::has_output_at_all_unknown<T>::value> {};
template <class T>
inline constexpr bool knows_output_at_all_unknown_v = knows_output_at_all_unknown<T>::value;

/// Whether a marginal network can start from a conditional network's trunk:
/// marginal.copy_trunk_from(conditional) and marginal.set_head_to_zero().
template <class Marginal, class Conditional>
struct can_warm_start : detail::has_warm_start<Marginal, Conditional> {};
template <class Marginal, class Conditional>
inline constexpr bool can_warm_start_v = can_warm_start<Marginal, Conditional>::value;

/// Fails to compile, with a message per missing member, unless Net meets the network
/// contract; true otherwise. Use as static_assert(check_network_contract<Net>()).
template <class Net>
constexpr bool check_network_contract() {
  static_assert(detail::has_scalar_type<Net>::value,
                "mam network contract: the network type needs `using scalar_type = float;` (or double)");
  static_assert(detail::has_context<Net>::value,
                "mam network contract: the network type needs a default-constructible nested type `Context` "
                "(what forward() leaves for backward())");
  if constexpr (detail::has_scalar_type<Net>::value && detail::has_context<Net>::value) {
    static_assert(detail::has_context_codes<Net>::value,
                  "mam network contract: the network's Context needs a member `CodeMatrix codes` (the pass's input)");
    static_assert(detail::has_context_output<Net>::value,
                  "mam network contract: the network's Context needs a member `Matrix<scalar_type> output` "
                  "(output_size() x batch)");
    static_assert(detail::has_shape_queries<Net>::value,
                  "mam network contract: the network type needs `Index num_variables() const`, "
                  "`Index num_values() const` and `Index output_size() const`");
    static_assert(detail::has_num_parameters<Net>::value,
                  "mam network contract: the network type needs `Index num_parameters() const`");
    static_assert(detail::has_parameters<Net>::value,
                  "mam network contract: the network type needs `Vector<scalar_type>& parameters()` and "
                  "`const Vector<scalar_type>& parameters() const`");
    static_assert(detail::has_set_parameters<Net>::value,
                  "mam network contract: the network type needs "
                  "`void set_parameters(const Eigen::Ref<const Vector<scalar_type>>&)`");
    static_assert(detail::has_architecture<Net>::value,
                  "mam network contract: the network type needs "
                  "`std::vector<std::pair<std::string, std::string>> architecture() const`");
    static_assert(detail::has_forward<Net>::value,
                  "mam network contract: the network type needs "
                  "`void forward(const Eigen::Ref<const CodeMatrix>&, Context&, bool with_head) const`");
    static_assert(detail::has_backward<Net>::value,
                  "mam network contract: the network type needs `void backward(Context&, const "
                  "Eigen::Ref<const Matrix<scalar_type>>& d_output, Vector<scalar_type>& gradient) const`");
    static_assert(detail::has_call_operator<Net>::value,
                  "mam network contract: the network type needs "
                  "`Matrix<scalar_type> operator()(const Eigen::Ref<const CodeMatrix>&) const`");
  }
  return is_network_v<Net>;
}

}  // namespace mam

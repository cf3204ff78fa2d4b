#pragma once
// MarginalizationModel: a marginal network f_theta (one output: log p(x_S) up to the
// normalizer) and a conditional network g_phi (D*K logits: p(x_i | x_S) at each unknown
// position i), over the same partial assignments. Both are template parameters: any type
// that meets the network contract (nn/network.hpp) can be dropped in, and a missing member
// fails to compile here with a message that names it. The residual-MLP pair and its
// factory are in model/residual.hpp.

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mam/core/codes.hpp"
#include "mam/core/error.hpp"
#include "mam/core/math.hpp"
#include "mam/core/rng.hpp"
#include "mam/core/types.hpp"
#include "mam/model/order_walk.hpp"
#include "mam/nn/network.hpp"

namespace mam {

/// How raw marginal-net outputs become log-probabilities.
enum class Normalization {
  all_unknown,  ///< log p(x_S) = f(x_S) - f(all ?): normalized by the net's own empty marginal
  log_z         ///< log p(x_S) = f(x_S) - log_z: the training anchor, fixed or learned
};

template <class MarginalNet, class ConditionalNet = MarginalNet>
class MarginalizationModel {
  static_assert(check_network_contract<MarginalNet>(),
                "mam::MarginalizationModel: the marginal network type does not meet the network contract");
  static_assert(check_network_contract<ConditionalNet>(),
                "mam::MarginalizationModel: the conditional network type does not meet the network contract");

 public:
  using Scalar = typename MarginalNet::scalar_type;
  using scalar_type = Scalar;
  using marginal_network = MarginalNet;
  using conditional_network = ConditionalNet;
  static_assert(std::is_same<Scalar, typename ConditionalNet::scalar_type>::value,
                "the marginal and conditional networks must use the same scalar type");

  MarginalizationModel(MarginalNet marginal, ConditionalNet conditional,
                       Normalization normalization = Normalization::all_unknown, double log_z = 0.0)
      : marginal_(std::move(marginal)),
        conditional_(std::move(conditional)),
        normalization_(normalization),
        log_z_(log_z) {
    const char* function = "mam::MarginalizationModel";
    const Index d = marginal_.num_variables(), k = marginal_.num_values();
    detail::require<shape_error>(marginal_.output_size() == 1, function,
                                 "a marginal network with one output", marginal_.output_size());
    detail::require<shape_error>(conditional_.num_variables() == d && conditional_.num_values() == k,
                                 function, detail::concat("a conditional network over D=", d, ", K=", k),
                                 detail::concat("D=", conditional_.num_variables(), ", K=",
                                                conditional_.num_values()));
    detail::require<shape_error>(conditional_.output_size() == d * k, function,
                                 detail::concat("a conditional network with D*K = ", d * k, " outputs"),
                                 conditional_.output_size());
    detail::require<value_error>(std::isfinite(log_z), function, "a finite log_z", log_z);
  }

  Index num_variables() const { return marginal_.num_variables(); }
  Index num_values() const { return marginal_.num_values(); }

  MarginalNet& marginal() { return marginal_; }
  const MarginalNet& marginal() const { return marginal_; }
  ConditionalNet& conditional() { return conditional_; }
  const ConditionalNet& conditional() const { return conditional_; }

  Normalization normalization() const { return normalization_; }
  void set_normalization(Normalization normalization) { normalization_ = normalization; }

  /// The anchor of f(all ?) in training and, with Normalization::log_z, the normalizer.
  double log_z() const { return log_z_; }
  void set_log_z(double log_z) {
    detail::require<value_error>(std::isfinite(log_z), "mam::MarginalizationModel::set_log_z",
                                 "a finite value", log_z);
    log_z_ = log_z;
  }

  /// Architecture of both networks and the normalization, for checkpoints.
  std::vector<std::pair<std::string, std::string>> architecture() const {
    std::vector<std::pair<std::string, std::string>> description{
        {"kind", "marginalization_model"},
        {"normalization", normalization_ == Normalization::all_unknown ? "all_unknown" : "log_z"}};
    for (const auto& [key, value] : marginal_.architecture()) description.emplace_back("marginal." + key, value);
    for (const auto& [key, value] : conditional_.architecture()) description.emplace_back("conditional." + key, value);
    return description;
  }

  /// Raw marginal-network outputs f(x), one per sample.
  Vector<double> marginal_outputs(const Eigen::Ref<const CodeMatrix>& codes) const {
    return marginal_(codes).row(0).transpose().template cast<double>();
  }

  /// log p(x_S) for every sample (column) of `codes`: one marginal-network pass.
  Vector<double> log_marginal(const Eigen::Ref<const CodeMatrix>& codes) const {
    if (normalization_ == Normalization::log_z) return marginal_outputs(codes).array() - log_z_;
    if constexpr (knows_output_at_all_unknown_v<MarginalNet>)
      if (const auto empty = marginal_.output_at_all_unknown())
        return marginal_outputs(codes).array() - static_cast<double>(*empty);
    // f(all ?) rides along as one extra column of the same pass.
    CodeMatrix with_empty(codes.rows(), codes.cols() + 1);
    with_empty.leftCols(codes.cols()) = codes;
    with_empty.col(codes.cols()).setConstant(unknown);
    const Vector<double> f = marginal_outputs(with_empty);
    return f.head(codes.cols()).array() - f[codes.cols()];
  }

  /// Conditional logits, D*K x batch: rows i*K .. i*K+K-1 belong to position i.
  Matrix<Scalar> conditional_logits(const Eigen::Ref<const CodeMatrix>& codes) const {
    return conditional_(codes);
  }

  /// log p(x_i = k | x_S) for every position i and value k, D*K x batch (also computed at
  /// known positions, where it is the network's prediction, not a model probability).
  Matrix<double> conditional_log_probs(const Eigen::Ref<const CodeMatrix>& codes) const {
    const Matrix<Scalar> logits = conditional_(codes);
    const Index d = num_variables(), k = num_values();
    Matrix<double> log_probs(d * k, codes.cols());
    for (Index c = 0; c < codes.cols(); ++c)
      for (Index i = 0; i < d; ++i) {
        const auto block = logits.col(c).segment(i * k, k);
        log_probs.col(c).segment(i * k, k) = block.template cast<double>().array() - log_sum_exp(block);
      }
    return log_probs;
  }

  /// log p(x_A | x_B) = log p(x_{A u B}) - log p(x_B), per sample: `joint` holds x_{A u B},
  /// `given` x_B (its known entries must be known and equal in `joint`). One pass; the
  /// normalizer cancels.
  Vector<double> log_conditional(const Eigen::Ref<const CodeMatrix>& joint,
                                 const Eigen::Ref<const CodeMatrix>& given) const {
    validate_given(joint, given, "mam::MarginalizationModel::log_conditional");
    CodeMatrix both(joint.rows(), 2 * joint.cols());
    both.leftCols(joint.cols()) = joint;
    both.rightCols(joint.cols()) = given;
    const Vector<double> f = marginal_outputs(both);
    return f.head(joint.cols()) - f.tail(joint.cols());
  }

  /// The AO-ARM chain rule along given orders: sum over the order of sample c of
  /// log p_phi(x_p | positions revealed before p). Each order must list known positions of
  /// its sample; the unlisted ones are marginalized. One conditional pass per step.
  Vector<double> log_likelihood_chain(const Eigen::Ref<const CodeMatrix>& x, const Orders& orders) const {
    return chain_from(x, CodeMatrix::Constant(x.rows(), x.cols(), unknown), orders,
                      "mam::MarginalizationModel::log_likelihood_chain");
  }

  /// The AO-ARM estimate of log p(x_S) with `n_orders` uniformly random orders of the known
  /// positions per sample: n_orders = 1 is "AO-ARM-S", more is the log-mean-exp "AO-ARM-E".
  /// All orders of all samples go through the network together.
  Vector<double> log_likelihood_chain(const Eigen::Ref<const CodeMatrix>& x, Index n_orders, Rng& rng) const {
    return chain_estimate(x, CodeMatrix::Constant(x.rows(), x.cols(), unknown), n_orders, rng,
                          "mam::MarginalizationModel::log_likelihood_chain");
  }

  /// The AO-ARM chain rule for log p(x_A | x_B): starting from `given` (x_B), reveals the
  /// entries of `joint` (x_{A u B}) along the given orders, summing log p_phi of each. Each
  /// order must list positions known in `joint` and unknown in `given`; the known entries
  /// of `given` must appear in `joint`. One conditional pass per step, so |A| passes where
  /// the marginal net needs one (log_conditional).
  Vector<double> log_conditional_chain(const Eigen::Ref<const CodeMatrix>& joint, const Eigen::Ref<const CodeMatrix>& given,
                                       const Orders& orders) const {
    return chain_from(joint, given, orders, "mam::MarginalizationModel::log_conditional_chain");
  }

  /// The AO-ARM estimate of log p(x_A | x_B) with `n_orders` uniformly random orders of A per
  /// sample (log-mean-exp over orders, as log_likelihood_chain).
  Vector<double> log_conditional_chain(const Eigen::Ref<const CodeMatrix>& joint, const Eigen::Ref<const CodeMatrix>& given,
                                       Index n_orders, Rng& rng) const {
    return chain_estimate(joint, given, n_orders, rng, "mam::MarginalizationModel::log_conditional_chain");
  }

  /// Self-consistency residual of each query, a diagnostic to print next to an answer:
  /// for a uniformly random known position j of sample c,
  /// f(x without j) + log p_phi(x_j | x without j) - f(x). Zero for a sample with no known
  /// position. A perfectly consistent model has all residuals zero.
  Vector<double> consistency_residual(const Eigen::Ref<const CodeMatrix>& x, Rng& rng) const {
    const char* function = "mam::MarginalizationModel::consistency_residual";
    validate_codes(x, num_variables(), num_values(), function);
    const Index batch = x.cols(), k = num_values();
    CodeMatrix both(x.rows(), 2 * batch);
    both.leftCols(batch) = x;
    both.rightCols(batch) = x;
    std::vector<Index> chosen(static_cast<std::size_t>(batch), -1);
    for (Index c = 0; c < batch; ++c) {
      std::vector<Index> known;
      for (Index i = 0; i < x.rows(); ++i)
        if (x(i, c) != unknown) known.push_back(i);
      if (known.empty()) continue;
      const Index j = known[static_cast<std::size_t>(rng.uniform_int(known.size()))];
      chosen[static_cast<std::size_t>(c)] = j;
      both(j, batch + c) = unknown;
    }
    const Vector<double> f = marginal_outputs(both);
    const Matrix<Scalar> logits = conditional_(both.rightCols(batch));
    Vector<double> residual = Vector<double>::Zero(batch);
    for (Index c = 0; c < batch; ++c) {
      const Index j = chosen[static_cast<std::size_t>(c)];
      if (j < 0) continue;
      residual[c] = f[batch + c] + log_softmax_at(logits.col(c).segment(j * k, k), x(j, c)) - f[c];
    }
    return residual;
  }

 private:
  /// Checks that `given` has the shape of `joint` and that its known entries appear there.
  void validate_given(const Eigen::Ref<const CodeMatrix>& joint, const Eigen::Ref<const CodeMatrix>& given,
                      const char* function) const {
    validate_codes(joint, num_variables(), num_values(), function);
    detail::require<shape_error>(joint.rows() == given.rows() && joint.cols() == given.cols(), function,
                                 detail::concat("given of shape ", joint.rows(), " x ", joint.cols()),
                                 detail::concat(given.rows(), " x ", given.cols()));
    for (Index c = 0; c < given.cols(); ++c)
      for (Index i = 0; i < given.rows(); ++i)
        if (given(i, c) != unknown && given(i, c) != joint(i, c))
          detail::fail<value_error>(function, "the conditioning entries to appear in joint",
                                    detail::concat("position ", i, " of sample ", c, ": given ", given(i, c),
                                                   ", joint ", joint(i, c)));
  }

  /// Sum of log p_phi(x_p | revealed) along `orders`, starting from the state `given`.
  Vector<double> chain_from(const Eigen::Ref<const CodeMatrix>& x, const Eigen::Ref<const CodeMatrix>& given,
                            const Orders& orders, const char* function) const {
    validate_given(x, given, function);
    detail::require<shape_error>(static_cast<Index>(orders.size()) == x.cols(), function,
                                 detail::concat("one order per sample (", x.cols(), ")"), orders.size());
    for (Index c = 0; c < x.cols(); ++c)
      for (Index p : orders[static_cast<std::size_t>(c)])
        detail::require<value_error>(p >= 0 && p < x.rows() && x(p, c) != unknown && given(p, c) == unknown,
                                     function, "orders of positions known in x and not given",
                                     detail::concat("position ", p, " in the order of sample ", c));
    Vector<double> log_p = Vector<double>::Zero(x.cols());
    CodeMatrix state = given;
    reveal_along_orders(conditional_, state, orders, [&](Index c, Index p, const auto& logits) {
      const Code value = x(p, c);
      log_p[c] += log_softmax_at(logits, value);
      return value;
    });
    return log_p;
  }

  /// log-mean-exp over `n_orders` random orders of the positions known in x but not given.
  Vector<double> chain_estimate(const Eigen::Ref<const CodeMatrix>& x, const Eigen::Ref<const CodeMatrix>& given,
                                Index n_orders, Rng& rng, const char* function) const {
    detail::require<value_error>(n_orders >= 1, function, "n_orders >= 1", n_orders);
    validate_given(x, given, function);
    const Index batch = x.cols();
    CodeMatrix repeated(x.rows(), batch * n_orders), repeated_given(x.rows(), batch * n_orders);
    for (Index m = 0; m < n_orders; ++m) {
      repeated.middleCols(m * batch, batch) = x;
      repeated_given.middleCols(m * batch, batch) = given;
    }
    // The positions to reveal: known in x and unknown in given.
    const CodeMatrix to_reveal =
        (repeated_given.array() == unknown).select(repeated, CodeMatrix::Constant(x.rows(), batch * n_orders, unknown));
    const Vector<double> per_order = chain_from(repeated, repeated_given, random_orders(to_reveal, true, rng), function);
    Vector<double> estimate(batch);
    Vector<double> samples(n_orders);
    for (Index c = 0; c < batch; ++c) {
      for (Index m = 0; m < n_orders; ++m) samples[m] = per_order[m * batch + c];
      estimate[c] = log_mean_exp(samples);
    }
    return estimate;
  }

  MarginalNet marginal_;
  ConditionalNet conditional_;
  Normalization normalization_;
  double log_z_;
};

/// Whether T is a MarginalizationModel (what losses, samplers and trainers take).
template <class T>
struct is_marginalization_model : std::false_type {};
template <class MarginalNet, class ConditionalNet>
struct is_marginalization_model<MarginalizationModel<MarginalNet, ConditionalNet>> : std::true_type {};
template <class T>
inline constexpr bool is_marginalization_model_v = is_marginalization_model<T>::value;

}  // namespace mam

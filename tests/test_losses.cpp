#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <mam/core/error.hpp>
#include <mam/core/rng.hpp>
#include <mam/loss/ao_arm.hpp>
#include <mam/loss/chain_target.hpp>
#include <mam/loss/energy.hpp>
#include <mam/loss/self_consistency.hpp>
#include <mam/model/gradient.hpp>
#include <mam/model/residual.hpp>

#include "support/gradient_check.hpp"

using mam::CodeMatrix;
using mam::Index;
using mam::Rng;
using mam::Vector;

namespace {

using Model = mam::ResidualMarginalizationModel<double>;
using Gradient = mam::ModelGradient<double>;

constexpr Index D = 4, K = 3, H = 8, layers = 2;

// Gradient-check thresholds. The losses below are O(10..100) (widened networks, see
// make_model) with gradient entries up to O(10). We use central differences (the support
// header) at steps h and 2h combined by Richardson extrapolation, whose truncation error is
// O(h^4), so the step can be large enough to make the rounding error, ~eps * |loss| / h,
// small: h = 1e-4 gives a worst absolute error of ~1e-10 on these models (measured worst
// relative error over all checks 1.1e-7; plain central differences at h = 1e-5 reach 1e-6,
// rounding-bound). h is kept well below the distance of LeakyReLU pre-activations from the
// kink (h = 1e-3 crosses one). The floor: an entry g is only known to ~1e-10 absolutely,
// i.e. 1e-10 / |g| relatively, so entries below 1e-3 are judged by an absolute bound of
// 1e-9 (floor * tolerance), still ~10x the finite difference's own error; entries above the
// floor (most of them: the models are far from any optimum) are checked to 1e-6 relative,
// which a wrong factor, sign or missing term would exceed by orders of magnitude.
constexpr double fd_step = 1e-4;
constexpr double fd_floor = 1e-3;
constexpr double fd_tolerance = 1e-6;

mam::Workspace<Model>* const no_workspace = nullptr;  // the losses' own scratch

Model make_model(std::uint64_t seed, mam::Activation activation, double log_z = 0.0) {
  Rng rng(seed);
  Model model = mam::make_residual_model<double>(D, K, H, layers, rng, activation,
                                                 mam::Normalization::all_unknown, log_z);
  // A wider initialization than PyTorch's default, so outputs, residuals and conditionals
  // are O(1) and far from uniform: gradients are then large compared with the floor.
  model.marginal().parameters() *= 3.0;
  model.conditional().parameters() *= 3.0;
  return model;
}

CodeMatrix random_complete(Index batch, Rng& rng) {
  CodeMatrix x(D, batch);
  for (Index c = 0; c < batch; ++c)
    for (Index i = 0; i < D; ++i) x(i, c) = static_cast<mam::Code>(rng.uniform_int(K));
  return x;
}

// An unnormalized target log f(x): linear and pairwise terms in the codes.
Vector<double> log_target(const CodeMatrix& x) {
  Vector<double> out(x.cols());
  for (Index c = 0; c < x.cols(); ++c) {
    double v = 0.3;
    for (Index i = 0; i < x.rows(); ++i) v += (0.4 * static_cast<double>(i) - 0.5) * x(i, c);
    v += 0.7 * x(0, c) * x(1, c) - 0.6 * x(2, c) * x(3, c);
    out[c] = v;
  }
  return out;
}

// Central differences at h and 2h combined by Richardson extrapolation: (4 g_h - g_2h) / 3
// cancels the h^2 truncation term, leaving O(h^4).
Vector<double> numerical_gradient(const std::function<double()>& loss, Vector<double>& x) {
  const Vector<double> fine = mam::test::numerical_gradient(loss, x, fd_step);
  const Vector<double> coarse = mam::test::numerical_gradient(loss, x, 2.0 * fd_step);
  return (4.0 * fine - coarse) / 3.0;
}

double numerical_log_z_derivative(Model& model, const std::function<double()>& loss) {
  Vector<double> log_z = Vector<double>::Constant(1, model.log_z());
  const double saved = model.log_z();
  auto at = [&] {
    model.set_log_z(log_z[0]);
    return loss();
  };
  const double derivative = numerical_gradient(at, log_z)[0];
  model.set_log_z(saved);
  return derivative;
}

// How many gradient entries are above the floor: guards against a vacuous check (an
// all-zero analytic gradient against an all-zero numeric one would pass any threshold).
Index entries_above_floor(const Vector<double>& g) {
  return (g.array().abs() > fd_floor).count();
}

// The marginal, conditional and log Z parts of `gradient` against finite differences of
// `loss`. Only the K logits of one position per sample get a conditional gradient, so the
// head's other rows stay zero while the rest of the network does not.
void check_all_gradients(Model& model, const std::function<double()>& loss, const Gradient& gradient) {
  const Vector<double> numeric_marginal = numerical_gradient(loss, model.marginal().parameters());
  CHECK(mam::test::max_relative_error(gradient.marginal, numeric_marginal, fd_floor) <= fd_tolerance);
  CHECK(entries_above_floor(gradient.marginal) > gradient.marginal.size() / 4);
  const Vector<double> numeric_conditional = numerical_gradient(loss, model.conditional().parameters());
  CHECK(mam::test::max_relative_error(gradient.conditional, numeric_conditional, fd_floor) <= fd_tolerance);
  CHECK(entries_above_floor(gradient.conditional) > 20);
  CHECK(gradient.log_z == Approx(numerical_log_z_derivative(model, loss)).epsilon(1e-7).margin(1e-9));
}

}  // namespace

TEST_CASE("ao_arm_loss: conditional gradient matches finite differences of its value", "[loss]") {
  const mam::Activation activation = GENERATE(mam::Activation::gelu, mam::Activation::leaky_relu);
  // 0.5: some samples in the left-to-right order, scored on their next position only; with
  // padding code 0, that position is drawn unevenly and the loss weighted by 1/q(t).
  const mam::OrderMix orders = GENERATE(mam::OrderMix{0.0}, mam::OrderMix{0.5}, mam::OrderMix{0.5, 0, 0.3});
  INFO("activation " << mam::to_string(activation) << ", left-to-right share " << orders.left_to_right
                     << ", padding " << orders.padding);
  Model model = make_model(101, activation);
  Rng data_rng(7);
  const CodeMatrix x = random_complete(6, data_rng);
  const std::uint64_t seed = 2024;

  auto loss = [&] {
    Rng rng(seed);  // same orders and masks at every evaluation
    Vector<double> scratch = model.conditional().zero_gradient();
    return mam::ao_arm_loss(model, x, rng, scratch, 1.0, no_workspace, orders);
  };
  Vector<double> gradient = model.conditional().zero_gradient();
  Rng rng(seed);
  const double value = mam::ao_arm_loss(model, x, rng, gradient, 1.0, no_workspace, orders);
  CHECK(value == loss());

  const Vector<double> numeric =
      numerical_gradient(loss, model.conditional().parameters());
  CHECK(mam::test::max_relative_error(gradient, numeric, fd_floor) <= fd_tolerance);
  CHECK(entries_above_floor(gradient) > gradient.size() / 4);

  // weight scales the gradient, not the value; gradients accumulate (+=).
  Vector<double> weighted = model.conditional().zero_gradient();
  Rng rng2(seed);
  CHECK(mam::ao_arm_loss(model, x, rng2, weighted, 2.5, no_workspace, orders) == value);
  CHECK((weighted - 2.5 * gradient).cwiseAbs().maxCoeff() <= 1e-12 * (1.0 + gradient.cwiseAbs().maxCoeff()));
  Rng rng3(seed);
  mam::ao_arm_loss(model, x, rng3, weighted, 1.0, no_workspace, orders);
  CHECK((weighted - 3.5 * gradient).cwiseAbs().maxCoeff() <= 1e-12 * (1.0 + gradient.cwiseAbs().maxCoeff()));
}

TEST_CASE("ao_arm_loss: uniform conditionals give D log K for any masks", "[loss]") {
  const mam::OrderMix orders{GENERATE(0.0, 0.3, 1.0)};
  INFO("left-to-right share " << orders.left_to_right);
  Model model = make_model(102, mam::Activation::gelu);
  model.conditional().parameters().setZero();  // every logit is 0
  Rng data_rng(8);
  const CodeMatrix x = random_complete(9, data_rng);
  for (std::uint64_t seed : {1u, 2u, 3u, 99u}) {
    Rng rng(seed);
    Vector<double> gradient = model.conditional().zero_gradient();
    const double value = mam::ao_arm_loss(model, x, rng, gradient, 1.0, no_workspace, orders);
    // Each sample: D/(D-t) * (D-t) * log K (any order) or D * log K (left to right, next
    // position only), rounded once per term.
    CHECK(value == Approx(static_cast<double>(D) * std::log(static_cast<double>(K))).epsilon(1e-14));
  }
  Rng rng(5);
  Vector<double> gradient = model.conditional().zero_gradient();
  CodeMatrix partial = x;
  partial(2, 4) = mam::unknown;
  CHECK_THROWS_AS(mam::ao_arm_loss(model, partial, rng, gradient), mam::value_error);
  CHECK_THROWS_AS(mam::ao_arm_loss(model, CodeMatrix(D, 0), rng, gradient), mam::shape_error);
  for (double share : {-0.1, 1.5, std::nan("")})
    CHECK_THROWS_AS(mam::ao_arm_loss(model, x, rng, gradient, 1.0, no_workspace, mam::OrderMix{share}), mam::value_error);
  for (mam::Code padding : {mam::Code{-2}, mam::Code{K}})
    CHECK_THROWS_AS(mam::ao_arm_loss(model, x, rng, gradient, 1.0, no_workspace, mam::OrderMix{0.5, padding}),
                    mam::value_error);
  for (double tail_share : {0.0, 1.0, std::nan("")})
    CHECK_THROWS_AS(mam::ao_arm_loss(model, x, rng, gradient, 1.0, no_workspace, mam::OrderMix{0.5, 0, tail_share}),
                    mam::value_error);
}

TEST_CASE("ao_arm_loss: the left-to-right share estimates the left-to-right chain's NLL", "[loss]") {
  // Without bias: over t ~ U{0..D-1}, D * -log p(x_t | x_<t) averages to the chain rule in
  // the order 0, 1, ..., D-1; any-order samples average to the mean over all orders instead,
  // which differs for these (inconsistent, random) conditionals.
  Model model = make_model(103, mam::Activation::gelu);
  Rng data_rng(9);
  const CodeMatrix one = random_complete(1, data_rng);
  const Index copies = 40000;
  const CodeMatrix x = one.replicate(1, copies);
  mam::Orders left_to_right(1, std::vector<Index>(static_cast<std::size_t>(D)));
  for (Index i = 0; i < D; ++i) left_to_right[0][static_cast<std::size_t>(i)] = i;
  const double exact = -model.log_likelihood_chain(one, left_to_right)[0];
  Rng rng(11);
  Vector<double> gradient = model.conditional().zero_gradient();
  const double estimate = mam::ao_arm_loss(model, x, rng, gradient, 1.0, no_workspace, mam::OrderMix{1.0});
  // Standard error of the mean here is about 0.015 (per-sample spread ~3 nats).
  INFO("exact " << exact << ", left-to-right estimate " << estimate);
  CHECK(estimate == Approx(exact).margin(0.06));  // measured: 5.552 against 5.548
  Rng any_rng(11);
  const double any_order = mam::ao_arm_loss(model, x, any_rng, gradient);
  INFO("any-order estimate " << any_order);
  CHECK(std::abs(any_order - exact) > 0.2);  // 5.846: the check above can tell the two apart

  // A padded string (code 0 from position 2 on): position 2 is the stop, 3 the tail. Drawing
  // the tail with probability 0.6 instead of 1/4 and weighting by 1/q(t) keeps the estimate
  // unbiased.
  CodeMatrix padded = one;
  padded(1, 0) = 1;
  padded(2, 0) = padded(3, 0) = 0;
  const double exact_padded = -model.log_likelihood_chain(padded, left_to_right)[0];
  Rng padded_rng(12);
  const double estimate_padded = mam::ao_arm_loss(model, padded.replicate(1, copies), padded_rng, gradient, 1.0,
                                                  no_workspace, mam::OrderMix{1.0, 0, 0.6});
  INFO("padded: exact " << exact_padded << ", estimate " << estimate_padded);
  CHECK(estimate_padded == Approx(exact_padded).margin(0.06));  // measured: 4.676 against 4.659;
  // weighting every position by D instead, as without padding, gives 4.13
}

TEST_CASE("self_consistency_loss: gradients of both networks and log_z match finite differences",
          "[loss]") {
  const mam::Activation activation = GENERATE(mam::Activation::gelu, mam::Activation::leaky_relu);
  INFO("activation " << mam::to_string(activation));
  Model model = make_model(103, activation, 0.4);
  Rng data_rng(9);
  const CodeMatrix x = random_complete(7, data_rng);
  const std::uint64_t seed = 77;
  mam::SelfConsistencyOptions options;
  options.train_marginal = true;
  options.train_conditional = true;
  options.train_log_z = true;
  options.weight = 1.0;

  auto loss = [&] {
    Rng rng(seed);
    Gradient scratch = Gradient::zeros_like(model);
    return mam::self_consistency_loss(model, x, rng, scratch, options).loss;
  };
  Gradient gradient = Gradient::zeros_like(model);
  Rng rng(seed);
  const mam::SelfConsistencyValue value = mam::self_consistency_loss(model, x, rng, gradient, options);
  CHECK(value.loss == loss());
  CHECK(value.loss == Approx(static_cast<double>(D) * value.mean_squared_residual +
                             value.anchor_error * value.anchor_error)
                          .epsilon(1e-14));

  check_all_gradients(model, loss, gradient);
  CHECK(gradient.log_z == Approx(-2.0 * value.anchor_error).epsilon(1e-14));
  CHECK(std::abs(gradient.log_z) > 1e-2);
}

TEST_CASE("self_consistency_loss: options switch gradients off and weight scales linearly", "[loss]") {
  Model model = make_model(104, mam::Activation::gelu, -0.3);
  Rng data_rng(10);
  const CodeMatrix x = random_complete(5, data_rng);
  const std::uint64_t seed = 31;

  auto run = [&](const mam::SelfConsistencyOptions& options, Gradient& gradient) {
    Rng rng(seed);
    return mam::self_consistency_loss(model, x, rng, gradient, options);
  };

  mam::SelfConsistencyOptions all;
  all.train_conditional = true;
  all.train_log_z = true;
  Gradient reference = Gradient::zeros_like(model);
  const mam::SelfConsistencyValue base = run(all, reference);
  REQUIRE(reference.marginal.cwiseAbs().maxCoeff() > 1e-3);
  REQUIRE(reference.conditional.cwiseAbs().maxCoeff() > 1e-3);
  REQUIRE(std::abs(reference.log_z) > 1e-3);

  SECTION("defaults: marginal only") {
    Gradient g = Gradient::zeros_like(model);
    const auto v = run(mam::SelfConsistencyOptions{}, g);
    CHECK(v.loss == base.loss);
    CHECK(g.marginal == reference.marginal);
    CHECK(g.conditional.isZero(0.0));
    CHECK(g.log_z == 0.0);
  }
  SECTION("train_conditional = false leaves the conditional gradient zero") {
    mam::SelfConsistencyOptions options = all;
    options.train_conditional = false;
    Gradient g = Gradient::zeros_like(model);
    run(options, g);
    CHECK(g.conditional.isZero(0.0));
    CHECK(g.marginal == reference.marginal);
    CHECK(g.log_z == reference.log_z);
  }
  SECTION("train_marginal = false leaves the marginal gradient zero") {
    mam::SelfConsistencyOptions options = all;
    options.train_marginal = false;
    Gradient g = Gradient::zeros_like(model);
    const auto v = run(options, g);
    CHECK(v.loss == base.loss);
    CHECK(g.marginal.isZero(0.0));
    CHECK(g.conditional == reference.conditional);
    CHECK(g.log_z == reference.log_z);
  }
  SECTION("train_log_z = false leaves log_z's gradient zero") {
    mam::SelfConsistencyOptions options = all;
    options.train_log_z = false;
    Gradient g = Gradient::zeros_like(model);
    run(options, g);
    CHECK(g.log_z == 0.0);
    CHECK(g.marginal == reference.marginal);
  }
  SECTION("weight scales loss and every gradient") {
    for (double w : {0.0, 0.25, 3.0}) {
      INFO("weight " << w);
      mam::SelfConsistencyOptions options = all;
      options.weight = w;
      Gradient g = Gradient::zeros_like(model);
      const auto v = run(options, g);
      CHECK(v.loss == Approx(w * base.loss).epsilon(1e-13).margin(1e-300));
      CHECK(v.mean_squared_residual == base.mean_squared_residual);
      CHECK(v.anchor_error == base.anchor_error);
      const double tol = 1e-12;
      CHECK((g.marginal - w * reference.marginal).cwiseAbs().maxCoeff() <=
            tol * (1.0 + reference.marginal.cwiseAbs().maxCoeff()));
      CHECK((g.conditional - w * reference.conditional).cwiseAbs().maxCoeff() <=
            tol * (1.0 + reference.conditional.cwiseAbs().maxCoeff()));
      CHECK(g.log_z == Approx(w * reference.log_z).margin(1e-300));
    }
  }
  SECTION("gradients accumulate into what is there") {
    Gradient g = Gradient::zeros_like(model);
    run(all, g);
    run(all, g);
    CHECK((g.marginal - 2.0 * reference.marginal).cwiseAbs().maxCoeff() <=
          1e-12 * (1.0 + reference.marginal.cwiseAbs().maxCoeff()));
    CHECK(g.log_z == Approx(2.0 * reference.log_z));
  }
}

TEST_CASE("self_consistency_loss: zero networks give r = log(1/K) and anchor -log_z", "[loss]") {
  const double log_z = 0.7;
  Model model = make_model(105, mam::Activation::gelu, log_z);
  model.marginal().parameters().setZero();
  model.conditional().parameters().setZero();
  Rng data_rng(11);
  const CodeMatrix x = random_complete(8, data_rng);
  const double log_k = std::log(static_cast<double>(K));
  for (std::uint64_t seed : {4u, 5u, 6u}) {
    for (double w : {1.0, 0.5}) {
      Rng rng(seed);
      Gradient g = Gradient::zeros_like(model);
      mam::SelfConsistencyOptions options;
      options.weight = w;
      const auto v = mam::self_consistency_loss(model, x, rng, g, options);
      CHECK(v.mean_squared_residual == Approx(log_k * log_k).epsilon(1e-14));
      CHECK(v.anchor_error == -log_z);
      CHECK(v.loss == Approx(w * (static_cast<double>(D) * log_k * log_k + log_z * log_z)).epsilon(1e-14));
    }
  }
  Rng rng(1);
  Gradient g = Gradient::zeros_like(model);
  CodeMatrix partial = x;
  partial(0, 0) = mam::unknown;
  CHECK_THROWS_AS(mam::self_consistency_loss(model, partial, rng, g), mam::value_error);
  CodeMatrix bad = x;
  bad(1, 2) = static_cast<mam::Code>(K);
  CHECK_THROWS_AS(mam::self_consistency_loss(model, bad, rng, g), mam::value_error);
}

TEST_CASE("energy_loss (matching): gradients of both networks and log_z match finite differences",
          "[loss]") {
  const mam::Activation activation = GENERATE(mam::Activation::gelu, mam::Activation::silu);
  INFO("activation " << mam::to_string(activation));
  Model model = make_model(106, activation, 0.9);
  Rng data_rng(12);
  const CodeMatrix samples = random_complete(6, data_rng);
  const std::uint64_t seed = 5150;
  const double alpha = 0.7;

  auto loss = [&] {
    Rng rng(seed);
    Gradient scratch = Gradient::zeros_like(model);
    return mam::energy_loss(model, samples, log_target, rng, scratch, mam::EnergyObjective::matching, alpha)
        .loss;
  };
  Gradient gradient = Gradient::zeros_like(model);
  Rng rng(seed);
  const mam::EnergyValue value =
      mam::energy_loss(model, samples, log_target, rng, gradient, mam::EnergyObjective::matching, alpha);
  CHECK(value.loss == loss());

  // The value's parts, recomputed independently.
  const Vector<double> f = model.marginal_outputs(samples);
  const Vector<double> target = log_target(samples);
  CHECK(value.objective == Approx((f - target).squaredNorm() / 6.0).epsilon(1e-13));
  // log p = f - f(all ?) under the model's default normalization.
  const double f_empty = model.marginal_outputs(mam::CodeMatrix::Constant(samples.rows(), 1, mam::unknown))[0];
  CHECK(value.mean_log_ratio == Approx((f - target).array().mean() - f_empty).epsilon(1e-12));
  Rng sc_rng(seed);
  Gradient sc_gradient = Gradient::zeros_like(model);
  mam::SelfConsistencyOptions sc_options;
  sc_options.weight = alpha;
  const auto sc = mam::self_consistency_loss(model, samples, sc_rng, sc_gradient, sc_options);
  CHECK(value.consistency.loss == Approx(sc.loss).epsilon(1e-13));
  CHECK(value.loss == Approx(value.objective + sc.loss).epsilon(1e-13));

  check_all_gradients(model, loss, gradient);
  CHECK(std::abs(gradient.log_z) > 1e-2);
}

TEST_CASE("energy_loss (KL): REINFORCE gradient with constant standardized weights", "[loss]") {
  const mam::Activation activation = GENERATE(mam::Activation::gelu, mam::Activation::leaky_relu);
  INFO("activation " << mam::to_string(activation));
  Model model = make_model(107, activation, -0.2);
  Rng data_rng(13);
  const Index n = 8;
  const CodeMatrix samples = random_complete(n, data_rng);
  const std::uint64_t seed = 808;
  const double alpha = 1.3;

  Gradient gradient = Gradient::zeros_like(model);
  Rng rng(seed);
  const mam::EnergyValue value =
      mam::energy_loss(model, samples, log_target, rng, gradient, mam::EnergyObjective::kl, alpha);

  // r0: standardized log-ratios at the unperturbed parameters (unbiased std, float epsilon).
  const Vector<double> f0 = model.marginal_outputs(samples);
  const Vector<double> delta = f0 - log_target(samples);
  const double mean = delta.mean();
  const double stddev = std::sqrt((delta.array() - mean).square().sum() / static_cast<double>(n - 1));
  const Vector<double> r0 =
      (delta.array() - mean) / (stddev + static_cast<double>(std::numeric_limits<float>::epsilon()));
  REQUIRE(stddev > 0.1);  // the weights are not degenerate
  CHECK(std::abs(r0.mean()) < 1e-12);
  CHECK(value.objective == Approx(r0.dot(f0) / static_cast<double>(n)).epsilon(1e-12));
  const double f_empty = model.marginal_outputs(mam::CodeMatrix::Constant(samples.rows(), 1, mam::unknown))[0];
  CHECK(value.mean_log_ratio == Approx(mean - f_empty).epsilon(1e-12));
  CHECK(value.loss == Approx(value.objective + value.consistency.loss).epsilon(1e-14));
  CHECK(gradient.log_z == 0.0);  // log_z is learned only with the matching objective

  mam::SelfConsistencyOptions sc_options;
  sc_options.train_conditional = true;
  sc_options.weight = alpha;
  auto consistency = [&] {
    Rng sc_rng(seed);  // energy_loss draws nothing else from its rng
    Gradient scratch = Gradient::zeros_like(model);
    return mam::self_consistency_loss(model, samples, sc_rng, scratch, sc_options).loss;
  };
  CHECK(value.consistency.loss == Approx(consistency()).epsilon(1e-13));
  auto surrogate = [&] {
    return r0.dot(model.marginal_outputs(samples)) / static_cast<double>(n) + consistency();
  };

  const Vector<double> numeric_marginal =
      numerical_gradient(surrogate, model.marginal().parameters());
  CHECK(mam::test::max_relative_error(gradient.marginal, numeric_marginal, fd_floor) <= fd_tolerance);
  CHECK(entries_above_floor(gradient.marginal) > gradient.marginal.size() / 4);

  const Vector<double> numeric_conditional =
      numerical_gradient(consistency, model.conditional().parameters());
  CHECK(mam::test::max_relative_error(gradient.conditional, numeric_conditional, fd_floor) <=
        fd_tolerance);
  CHECK(entries_above_floor(gradient.conditional) > 20);

  // The REINFORCE gradient is NOT the derivative of the reported loss (r depends on theta):
  // finite differences of `loss` itself disagree, so the check above can tell them apart.
  auto reported = [&] {
    Rng r(seed);
    Gradient scratch = Gradient::zeros_like(model);
    return mam::energy_loss(model, samples, log_target, r, scratch, mam::EnergyObjective::kl, alpha).loss;
  };
  const Vector<double> numeric_reported =
      numerical_gradient(reported, model.marginal().parameters());
  CHECK(mam::test::max_relative_error(gradient.marginal, numeric_reported, fd_floor) > 1e-3);
}

TEST_CASE("energy_loss (KL, reinforce_conditional): the conditionals also get mean(r D log p(x_p | x_<d)) at "
          "self-consistency's draws",
          "[loss]") {
  const mam::Activation activation = GENERATE(mam::Activation::gelu, mam::Activation::silu);
  INFO("activation " << mam::to_string(activation));
  Model model = make_model(109, activation, 0.3);
  Rng data_rng(15);
  const Index n = 8;
  const CodeMatrix samples = random_complete(n, data_rng);
  const std::uint64_t seed = 909;
  const double alpha = 0.8;

  Gradient gradient = Gradient::zeros_like(model), plain = Gradient::zeros_like(model);
  Rng rng(seed), plain_rng(seed);
  const mam::EnergyValue value = mam::energy_loss(model, samples, log_target, rng, gradient,
                                                  mam::EnergyObjective::kl, alpha, static_cast<mam::Workspace<Model>*>(nullptr), true);
  const mam::EnergyValue without =
      mam::energy_loss(model, samples, log_target, plain_rng, plain, mam::EnergyObjective::kl, alpha);

  const Vector<double> delta = model.marginal_outputs(samples) - log_target(samples);
  const double mean = delta.mean();
  const double stddev = std::sqrt((delta.array() - mean).square().sum() / static_cast<double>(n - 1));
  const Vector<double> r0 =
      (delta.array() - mean) / (stddev + static_cast<double>(std::numeric_limits<float>::epsilon()));
  // Self-consistency's draws replayed: per sample a random order and a step d; x_p at p =
  // sigma(d) is predicted from the d positions before it.
  Rng draws(seed);
  CodeMatrix context = CodeMatrix::Constant(D, n, mam::unknown);
  std::vector<Index> position(static_cast<std::size_t>(n));
  for (Index c = 0; c < n; ++c) {
    const std::vector<Index> order = draws.permutation(D);
    const auto step = static_cast<Index>(draws.uniform_int(static_cast<std::uint64_t>(D)));
    for (Index j = 0; j < step; ++j) context(order[static_cast<std::size_t>(j)], c) = samples(order[static_cast<std::size_t>(j)], c);
    position[static_cast<std::size_t>(c)] = order[static_cast<std::size_t>(step)];
  }
  auto conditional_term = [&] {
    const mam::Matrix<double> log_probs = model.conditional_log_probs(context);
    double sum = 0.0;
    for (Index c = 0; c < n; ++c) {
      const Index p = position[static_cast<std::size_t>(c)];
      sum += r0[c] * static_cast<double>(D) * log_probs(p * K + samples(p, c), c);
    }
    return sum / static_cast<double>(n);
  };
  CHECK(std::abs(conditional_term()) > 1e-2);  // the term is not vacuous
  CHECK(value.objective == Approx(without.objective + conditional_term()).epsilon(1e-12));
  CHECK(value.consistency.loss == without.consistency.loss);
  CHECK(value.mean_log_ratio == without.mean_log_ratio);
  CHECK((gradient.marginal - plain.marginal).cwiseAbs().maxCoeff() == 0.0);  // the marginal part is unchanged

  mam::SelfConsistencyOptions sc_options;
  sc_options.train_conditional = true;
  sc_options.weight = alpha;
  auto surrogate = [&] {
    Rng sc_rng(seed);
    Gradient scratch = Gradient::zeros_like(model);
    return mam::self_consistency_loss(model, samples, sc_rng, scratch, sc_options).loss + conditional_term();
  };
  const Vector<double> numeric = numerical_gradient(surrogate, model.conditional().parameters());
  CHECK(mam::test::max_relative_error(gradient.conditional, numeric, fd_floor) <= fd_tolerance);
  CHECK(entries_above_floor(gradient.conditional - plain.conditional) > 20);

  CHECK_THROWS_AS(mam::energy_loss(model, samples, log_target, rng, gradient, mam::EnergyObjective::matching, alpha,
                                   static_cast<mam::Workspace<Model>*>(nullptr), true),
                  mam::value_error);
}

TEST_CASE("energy_loss: a bad log f is reported, not trained on", "[loss]") {
  Model model = make_model(108, mam::Activation::gelu);
  Rng data_rng(14);
  const CodeMatrix samples = random_complete(8, data_rng);
  Gradient gradient = Gradient::zeros_like(model);
  Rng rng(1);

  for (double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                     -std::numeric_limits<double>::infinity()}) {
    INFO("bad value " << bad);
    auto log_f = [&](const CodeMatrix& x) {
      Vector<double> v = log_target(x);
      v[5] = bad;
      return v;
    };
    for (auto objective : {mam::EnergyObjective::kl, mam::EnergyObjective::matching}) {
      CHECK_THROWS_AS(mam::energy_loss(model, samples, log_f, rng, gradient, objective), mam::numeric_error);
      CHECK_THROWS_WITH(mam::energy_loss(model, samples, log_f, rng, gradient, objective),
                        Catch::Matchers::Contains("column) 5"));
    }
  }
  CHECK(gradient.marginal.isZero(0.0));
  CHECK(gradient.conditional.isZero(0.0));

  auto short_f = [](const CodeMatrix& x) { return Vector<double>(log_target(x).head(x.cols() - 1)); };
  CHECK_THROWS_AS(mam::energy_loss(model, samples, short_f, rng, gradient), mam::shape_error);
  auto long_f = [](const CodeMatrix& x) { return Vector<double>::Zero(x.cols() + 1).eval(); };
  CHECK_THROWS_AS(mam::energy_loss(model, samples, long_f, rng, gradient), mam::shape_error);
  CHECK_THROWS_AS(mam::energy_loss(model, samples.leftCols(1), log_target, rng, gradient), mam::shape_error);
  CHECK_THROWS_AS(mam::energy_loss(model, samples, log_target, rng, gradient, mam::EnergyObjective::kl, -1.0),
                  mam::value_error);
  // A float-valued log f is accepted and widened.
  auto float_f = [](const CodeMatrix& x) { return Vector<double>(log_target(x)).cast<float>().eval(); };
  CHECK_NOTHROW(mam::energy_loss(model, samples, float_f, rng, gradient));
}

TEST_CASE("chain_target_loss: value by its formula, marginal gradient matches finite differences", "[loss]") {
  const mam::Activation activation = GENERATE(mam::Activation::gelu, mam::Activation::leaky_relu);
  INFO("activation " << mam::to_string(activation));
  Model model = make_model(211, activation, 0.4);
  Rng rng(21);
  CodeMatrix inputs = random_complete(9, rng);
  for (Index c = 0; c < inputs.cols(); ++c)  // partial inputs, column 0 all '?', column 1 complete
    for (Index i = 0; i < D; ++i)
      if (c == 0 || (c > 1 && rng.uniform() < 0.5)) inputs(i, c) = mam::unknown;
  Vector<double> targets(inputs.cols());
  for (Index c = 0; c < targets.size(); ++c) targets[c] = -3.0 * rng.uniform();

  auto loss = [&] {
    Gradient scratch = Gradient::zeros_like(model);
    return mam::chain_target_loss(model, inputs, targets, scratch).loss;
  };
  Gradient gradient = Gradient::zeros_like(model);
  const mam::ChainTargetValue value = mam::chain_target_loss(model, inputs, targets, gradient);

  // The formula, from the model's own outputs.
  const Vector<double> f = model.marginal_outputs(inputs);
  const double anchor = model.marginal_outputs(CodeMatrix::Constant(D, 1, mam::unknown))[0] - model.log_z();
  const double mse = (f.array() - model.log_z() - targets.array()).square().mean();
  CHECK(value.mean_squared_error == Approx(mse).epsilon(1e-13));
  CHECK(value.anchor_error == Approx(anchor).epsilon(1e-13));
  CHECK(value.loss == Approx(mse + anchor * anchor).epsilon(1e-13));
  CHECK(value.loss > 0.1);

  const Vector<double> numeric = numerical_gradient(loss, model.marginal().parameters());
  CHECK(mam::test::max_relative_error(gradient.marginal, numeric, fd_floor) <= fd_tolerance);
  CHECK(entries_above_floor(gradient.marginal) > gradient.marginal.size() / 4);
  // theta only: the conditional net and log Z get nothing.
  CHECK(gradient.conditional.isZero(0.0));
  CHECK(gradient.log_z == 0.0);
}

TEST_CASE("chain_target_loss: bad targets and shapes are refused", "[loss]") {
  Model model = make_model(5, mam::Activation::leaky_relu);
  Rng rng(3);
  const CodeMatrix inputs = random_complete(3, rng);
  Gradient gradient = Gradient::zeros_like(model);
  Vector<double> two(2);
  two << -1.0, -2.0;
  CHECK_THROWS_AS(mam::chain_target_loss(model, inputs, two, gradient), mam::shape_error);
  Vector<double> nan_target(3);
  nan_target << -1.0, std::numeric_limits<double>::quiet_NaN(), -2.0;
  CHECK_THROWS_WITH(mam::chain_target_loss(model, inputs, nan_target, gradient),
                    Catch::StartsWith("mam::chain_target_loss") && Catch::Contains("finite targets") &&
                        Catch::Contains("for input 1"));
  CHECK(gradient.marginal.isZero(0.0));  // nothing added before the error
}

TEST_CASE("self_consistency_loss: the left-to-right share scores prefixes of 0..D-1 at the drawn step", "[loss]") {
  const Model model = make_model(106, mam::Activation::silu, 0.0);
  Rng data_rng(12);
  const CodeMatrix x = random_complete(6, data_rng);
  Rng rng(7), replay(7);
  Gradient g = Gradient::zeros_like(model);
  mam::SelfConsistencyOptions options;
  options.left_to_right = 1.0;
  const auto value = mam::self_consistency_loss(model, x, rng, g, options);
  // The same draws by hand: the share's uniform, then the step; the order is the identity.
  double squared = 0.0;
  for (Index c = 0; c < x.cols(); ++c) {
    CHECK(replay.uniform() < 1.0);
    const auto step = static_cast<Index>(replay.uniform_int(static_cast<std::uint64_t>(D)));
    CodeMatrix before = CodeMatrix::Constant(D, 1, mam::unknown);
    for (Index p = 0; p < step; ++p) before(p, 0) = x(p, c);
    CodeMatrix after = before;
    after(step, 0) = x(step, c);
    const double log_p = model.conditional_log_probs(before)(step * K + x(step, c), 0);
    const double r = model.marginal_outputs(before)[0] + log_p - model.marginal_outputs(after)[0];
    squared += r * r;
  }
  CHECK(value.mean_squared_residual == Approx(squared / static_cast<double>(x.cols())).epsilon(1e-12));
  options.left_to_right = 1.5;
  CHECK_THROWS_AS(mam::self_consistency_loss(model, x, rng, g, options), mam::value_error);
}

#include <cmath>
#include <limits>
#include <catch2/catch.hpp>

#include "support/values.hpp"

#include <mam/core/parallel.hpp>
#include <mam/core/threads.hpp>
#include <mam/optim/adam.hpp>
#include <mam/optim/clip.hpp>
#include <mam/optim/parameter_average.hpp>
#include <mam/optim/schedule.hpp>

using mam::Vector;

using mam::test::vec;

namespace {
// The parts of a model ParameterAverage touches: two flat parameter vectors and log Z.
struct FakeNetwork {
  Vector<double> values;
  const Vector<double>& parameters() const { return values; }
  void set_parameters(const Vector<double>& v) { values = v; }
};
struct FakeModel {
  FakeNetwork theta, phi;
  double z = 0.0;
  const FakeNetwork& marginal() const { return theta; }
  const FakeNetwork& conditional() const { return phi; }
  FakeNetwork& marginal() { return theta; }
  FakeNetwork& conditional() { return phi; }
  double log_z() const { return z; }
  void set_log_z(double value) { z = value; }
};
}  // namespace

TEST_CASE("ParameterAverage follows the warmed-up exponential average", "[optim]") {
  mam::ParameterAverage<double> average(0.2);
  FakeModel model{{vec({1.0, -1.0})}, {vec({3.0})}, 1.0};
  average.update(model);  // t = 1: a copy
  CHECK(average.marginal() == vec({1.0, -1.0}));
  model.theta.values = vec({2.0, 0.0});
  model.phi.values = vec({5.0});
  model.z = 2.0;
  average.update(model);  // t = 2: keep min(0.2, 2/11) = 2/11
  const double keep2 = 2.0 / 11.0;
  CHECK(average.marginal()[0] == Approx(keep2 * 1.0 + (1 - keep2) * 2.0).epsilon(1e-15));
  CHECK(average.marginal()[1] == Approx(keep2 * -1.0).epsilon(1e-15));
  CHECK(average.conditional()[0] == Approx(keep2 * 3.0 + (1 - keep2) * 5.0).epsilon(1e-15));
  model.theta.values = vec({4.0, 4.0});
  average.update(model);  // t = 3: keep min(0.2, 3/12) = 0.2
  const double first = keep2 * 1.0 + (1 - keep2) * 2.0;
  CHECK(average.marginal()[0] == Approx(0.2 * first + 0.8 * 4.0).epsilon(1e-15));
  CHECK(average.log_z() == Approx(0.2 * (keep2 * 1.0 + (1 - keep2) * 2.0) + 0.8 * 2.0).epsilon(1e-15));
  CHECK(average.count() == 3);

  FakeModel target{{vec({0.0, 0.0})}, {vec({0.0})}, 0.0};
  average.copy_to(target);
  CHECK(target.theta.values == average.marginal());
  CHECK(target.phi.values == average.conditional());
  CHECK(target.z == average.log_z());

  CHECK_THROWS_AS(mam::ParameterAverage<double>(1.0), mam::value_error);
  CHECK_THROWS_AS(mam::ParameterAverage<double>(-0.1), mam::value_error);
  CHECK_THROWS_AS(mam::ParameterAverage<double>(0.5).copy_to(target), mam::value_error);  // nothing averaged yet
  FakeModel other{{vec({1.0})}, {vec({3.0})}, 1.0};  // another architecture
  CHECK_THROWS_AS(average.update(other), mam::shape_error);
  CHECK(average.count() == 3);  // a refused update changes nothing
}

TEST_CASE("Adam reproduces a hand-computed sequence of steps", "[optim]") {
  // Expected values from the textbook update m/(1-b1^t) / (sqrt(v/(1-b2^t)) + eps),
  // computed independently in Python.
  const std::vector<Vector<double>> gradients = {vec({0.5, -1.0, 0.0}), vec({0.1, 0.2, -0.3}),
                                                 vec({-0.4, 0.0, 2.0})};
  SECTION("plain Adam") {
    const std::vector<Vector<double>> expected = {
        vec({0.90000000199999997, -1.900000001, 0.5}),
        vec({0.81969590638465184, -1.8488973939904947, 0.57441367884968086}),
        vec({0.81032596635821175, -1.8093949307841704, 0.5197670498329936})};
    mam::Adam<double> adam;
    const auto group = adam.add_group(3, {0.1});
    Vector<double> p = vec({1.0, -2.0, 0.5});
    for (std::size_t t = 0; t < 3; ++t) {
      adam.step(group, p, gradients[t]);
      for (int i = 0; i < 3; ++i) CHECK(p[i] == Approx(expected[t][i]).epsilon(1e-12));
    }
    CHECK(adam.group(group).steps == 3);
  }
  SECTION("decoupled weight decay (AdamW)") {
    const std::vector<Vector<double>> expected = {
        vec({0.89900000199999996, -1.898000001, 0.4995}),
        vec({0.81779690638265179, -1.8449993939894946, 0.57341417884968082}),
        vec({0.80760916944982908, -1.8036519313891808, 0.51819413565414385})};
    mam::Adam<double> adam;
    mam::AdamOptions options;
    options.learning_rate = 0.1;
    options.weight_decay = 0.01;
    const auto group = adam.add_group(3, options);
    Vector<double> p = vec({1.0, -2.0, 0.5});
    for (std::size_t t = 0; t < 3; ++t) {
      adam.step(group, p, gradients[t]);
      for (int i = 0; i < 3; ++i) CHECK(p[i] == Approx(expected[t][i]).epsilon(1e-12));
    }
  }
}

TEST_CASE("Adam's gradient_scale is the step with the gradient scaled first", "[optim]") {
  // Clipping folds its factor into the update: the same float products, bit for bit.
  const Vector<float> gradient = Vector<double>::Random(1000).cast<float>();
  const float scale = 0.37f;
  mam::Adam<float> folded, separate;
  folded.add_group(1000, {0.01});
  separate.add_group(1000, {0.01});
  Vector<float> p_folded = Vector<float>::Ones(1000), p_separate = p_folded;
  for (int t = 0; t < 3; ++t) {
    folded.step(0, p_folded, gradient, scale);
    separate.step(0, p_separate, (gradient * scale).eval());
  }
  CHECK(p_folded == p_separate);
  CHECK(folded.group(0).second_moment == separate.group(0).second_moment);
  CHECK_THROWS_AS(folded.step(0, p_folded, gradient, -1.0), mam::value_error);
  CHECK_THROWS_AS(folded.step(0, p_folded, gradient, std::numeric_limits<double>::infinity()), mam::value_error);
}

TEST_CASE("gradient norms and zeroing over threads: fixed chunks, the same on every thread count", "[optim][threads]") {
  const mam::Index n = 300001;  // several chunks and a ragged last one, past the parallel threshold
  Vector<float> g = Vector<double>::Random(n).cast<float>();
  const double exact = g.cast<double>().squaredNorm();
  mam::set_num_threads(1);
  const double one = mam::detail::squared_norm_in_parallel(g);
  mam::set_num_threads(2);
  const double two = mam::detail::squared_norm_in_parallel(g);
  CHECK(one == two);
  CHECK(one == Approx(exact).epsilon(1e-6));
  g[n - 1] = std::numeric_limits<float>::quiet_NaN();  // a NaN anywhere is not lost
  CHECK(std::isnan(mam::detail::squared_norm_in_parallel(g)));
  mam::detail::set_zero_in_parallel(g);
  mam::set_num_threads(1);
  CHECK(g.size() == n);
  CHECK(g.isZero(0.0f));
}

TEST_CASE("Adam parameter groups keep their own rates and state", "[optim]") {
  mam::Adam<float> adam;
  const auto big = adam.add_group(2, {0.1});
  const auto small = adam.add_group(1, {0.001});
  Vector<float> a = Vector<float>::Zero(2), b = Vector<float>::Zero(1);
  adam.step(big, a, Vector<float>::Constant(2, 1.0f));
  adam.step(small, b, Vector<float>::Constant(1, 1.0f));
  // First Adam step moves each parameter by (almost exactly) its group's learning rate.
  CHECK(a[0] == Approx(-0.1f).epsilon(1e-5));
  CHECK(b[0] == Approx(-0.001f).epsilon(1e-4));
  adam.set_learning_rate(small, 0.01);
  CHECK(adam.group(small).options.learning_rate == 0.01);

  CHECK_THROWS_AS(adam.step(big, b, Vector<float>::Zero(1)), mam::shape_error);
  CHECK_THROWS_AS(adam.step(big, a, Vector<float>::Zero(3)), mam::shape_error);
  CHECK_THROWS_AS(adam.step(7, a, Vector<float>::Zero(2)), mam::value_error);
  mam::AdamOptions bad;
  bad.beta1 = 1.0;
  CHECK_THROWS_AS(adam.add_group(1, bad), mam::value_error);
  CHECK_THROWS_AS(adam.set_learning_rate(big, -1.0), mam::value_error);
}

TEST_CASE("clip_grad_norm scales by max_norm / (norm + 1e-6) over all gradients", "[optim]") {
  Vector<double> g1 = vec({3.0, 4.0}), g2 = vec({0.0, 0.0, 12.0});  // global norm 13
  const double norm = mam::clip_grad_norm<double>({&g1, &g2}, 6.5);
  CHECK(norm == Approx(13.0));
  const double scale = 6.5 / (13.0 + 1e-6);
  CHECK(g1[0] == Approx(3.0 * scale).epsilon(1e-14));
  CHECK(g2[2] == Approx(12.0 * scale).epsilon(1e-14));
  CHECK(std::sqrt(g1.squaredNorm() + g2.squaredNorm()) <= 6.5);

  // Below the threshold nothing changes.
  Vector<double> g3 = vec({0.3, 0.4});
  CHECK(mam::clip_grad_norm<double>({&g3}, 1.0) == Approx(0.5));
  CHECK(g3 == vec({0.3, 0.4}));

  Vector<double> bad = vec({std::nan(""), 1.0});
  CHECK_THROWS_AS(mam::clip_grad_norm<double>({&bad}, 1.0), mam::numeric_error);
  CHECK_THROWS_AS(mam::clip_grad_norm<double>({&g3}, 0.0), mam::value_error);
}

TEST_CASE("CosineSchedule warms up linearly, then decays to the floor", "[optim]") {
  const mam::CosineSchedule schedule{1.0, 0.1, 10, 110};
  CHECK(schedule(0) == Approx(0.1));
  CHECK(schedule(9) == Approx(1.0));
  CHECK(schedule(10) == Approx(1.0));
  CHECK(schedule(60) == Approx(0.55));
  CHECK(schedule(110) == Approx(0.1));
  CHECK(schedule(500) == Approx(0.1));
}

TEST_CASE("cosine_decay runs half a cosine from peak to floor over progress 0..1", "[optim]") {
  CHECK(mam::cosine_decay(2.0, 0.5, 0.0) == Approx(2.0));
  CHECK(mam::cosine_decay(2.0, 0.5, 0.5) == Approx(1.25));
  CHECK(mam::cosine_decay(2.0, 0.5, 0.25) == Approx(0.5 + 0.75 * (1.0 + std::sqrt(0.5))));
  CHECK(mam::cosine_decay(2.0, 0.5, 1.0) == Approx(0.5));
  CHECK(mam::cosine_decay(2.0, 0.5, 3.0) == 0.5);
}

#pragma once
// An exponential moving average of a model's parameters (both networks and log Z), the
// Polyak-style averaging that PyTorch users get from torch.optim.swa_utils / EMA helpers.
// Stochastic gradients (REINFORCE above all) leave the last iterate jittering around the
// optimum; the average sits closer to it, so evaluate or sample with the average.
//
// After update t (t = 1, 2, ...): avg <- d_t avg + (1 - d_t) params with
// d_t = min(decay, t / (t + 9)), so the first, poor parameters are forgotten quickly (the
// warm-up TensorFlow's ExponentialMovingAverage uses with num_updates).

#include <algorithm>
#include <utility>

#include "mam/core/error.hpp"
#include "mam/core/threads.hpp"
#include "mam/core/types.hpp"

namespace mam {

template <class Scalar>
class ParameterAverage {
 public:
  /// decay in [0, 1): the weight of the old average at each update (0.999: ~1000 steps).
  explicit ParameterAverage(double decay) : decay_(decay) {
    detail::require<value_error>(decay >= 0.0 && decay < 1.0, "mam::ParameterAverage", "decay in [0, 1)", decay);
  }

  /// Folds the model's current parameters into the average; the first update copies them.
  template <class Model>
  void update(const Model& model) {
    if (count_ > 0) {  // check before changing anything
      check_size(marginal_, model.marginal().parameters());
      check_size(conditional_, model.conditional().parameters());
    }
    ++count_;
    const double t = static_cast<double>(count_);
    const double keep = std::min(decay_, t / (t + 9.0));
    if (count_ == 1) {
      marginal_ = model.marginal().parameters();
      conditional_ = model.conditional().parameters();
      log_z_ = static_cast<Scalar>(model.log_z());
      return;
    }
    blend(marginal_, model.marginal().parameters(), keep);
    blend(conditional_, model.conditional().parameters(), keep);
    // Kept in Scalar, as the model's log Z is trained and stored: a checkpoint holds it exactly.
    log_z_ = static_cast<Scalar>(keep * static_cast<double>(log_z_) + (1.0 - keep) * model.log_z());
  }

  /// Writes the averaged parameters into `model` (same architecture as the averaged one).
  template <class Model>
  void copy_to(Model& model) const {
    detail::require<value_error>(count_ > 0, "mam::ParameterAverage::copy_to", "at least one update", count_);
    model.marginal().set_parameters(marginal_);
    model.conditional().set_parameters(conditional_);
    model.set_log_z(static_cast<double>(log_z_));
  }

  double decay() const { return decay_; }
  long count() const { return count_; }
  const Vector<Scalar>& marginal() const { return marginal_; }
  const Vector<Scalar>& conditional() const { return conditional_; }
  double log_z() const { return static_cast<double>(log_z_); }

  /// Sets the whole state (as a checkpoint stored it).
  void set_state(Vector<Scalar> marginal, Vector<Scalar> conditional, double log_z, long count) {
    detail::require<value_error>(count >= 0, "mam::ParameterAverage::set_state", "count >= 0", count);
    marginal_ = std::move(marginal);
    conditional_ = std::move(conditional);
    log_z_ = static_cast<Scalar>(log_z);
    count_ = count;
  }

 private:
  static void check_size(const Vector<Scalar>& average, const Vector<Scalar>& current) {
    detail::require<shape_error>(average.size() == current.size(), "mam::ParameterAverage::update",
                                 detail::concat(average.size(), " parameters (the averaged model's)"),
                                 current.size());
  }

  static void blend(Vector<Scalar>& average, const Vector<Scalar>& current, double keep) {
    const auto k = static_cast<Scalar>(keep);
    const Index n = average.size();
    Scalar* a = average.data();
    const Scalar* p = current.data();
#pragma omp parallel for schedule(static) if (n >= detail::parallel_work_threshold)
    for (Index j = 0; j < n; ++j) a[j] = k * a[j] + (Scalar(1) - k) * p[j];
  }

  double decay_;
  long count_ = 0;
  Vector<Scalar> marginal_, conditional_;
  Scalar log_z_ = 0;
};

}  // namespace mam

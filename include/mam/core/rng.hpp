#pragma once
// mam::Rng — the library's only source of randomness.
//
// The engine is xoshiro256++ (Blackman & Vigna) seeded through splitmix64, and every draw
// (uniform, normal, integer, categorical, permutation) is implemented here rather than with
// <random>'s distributions, whose output differs between standard libraries. So one seed
// gives the same numbers everywhere. The whole state is four words: checkpoints store it to
// resume training exactly.

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "mam/core/error.hpp"
#include "mam/core/types.hpp"

namespace mam {

class Rng {
 public:
  using result_type = std::uint64_t;
  using State = std::array<std::uint64_t, 4>;

  explicit Rng(std::uint64_t seed = 0) { reseed(seed); }

  void reseed(std::uint64_t seed) {
    std::uint64_t x = seed;
    for (auto& word : state_) word = splitmix64(x);
  }

  // UniformRandomBitGenerator interface, so std::shuffle and friends accept an Rng.
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }
  result_type operator()() { return next(); }

  std::uint64_t next() {
    const std::uint64_t result = rotl(state_[0] + state_[3], 23) + state_[0];
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  /// Uniform double in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// Uniform double in [low, high).
  double uniform(double low, double high) { return low + (high - low) * uniform(); }

  /// Uniform integer in [0, n), without modulo bias (Lemire's multiply-and-reject).
  std::uint64_t uniform_int(std::uint64_t n) {
    detail::require<value_error>(n > 0, "Rng::uniform_int", "n > 0", n);
    __extension__ using Wide = unsigned __int128;  // GCC/Clang; __extension__ keeps -pedantic quiet
    Wide product = static_cast<Wide>(next()) * n;
    auto low = static_cast<std::uint64_t>(product);
    if (low < n) {
      const std::uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        product = static_cast<Wide>(next()) * n;
        low = static_cast<std::uint64_t>(product);
      }
    }
    return static_cast<std::uint64_t>(product >> 64);
  }

  /// Standard normal draw (Box–Muller; uses two uniforms, keeps no cached value).
  double normal() {
    constexpr double two_pi = 6.283185307179586476925286766559;
    const double u1 = 1.0 - uniform();  // (0, 1]: log is finite
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(two_pi * u2);
  }

  double normal(double mean, double stddev) { return mean + stddev * normal(); }

  /// Index drawn with probability proportional to exp(logits[k] / temperature).
  /// temperature == 0 picks the arg-max (greedy). Non-finite logits other than -inf are
  /// rejected: a NaN would otherwise silently become the last category.
  template <class Derived>
  Index categorical_from_logits(const Eigen::DenseBase<Derived>& logits, double temperature = 1.0) {
    const Index n = logits.size();
    detail::require<shape_error>(n > 0, "Rng::categorical_from_logits", "at least one logit", n);
    detail::require<value_error>(temperature >= 0.0, "Rng::categorical_from_logits",
                                 "temperature >= 0", temperature);
    double max_logit = -std::numeric_limits<double>::infinity();
    Index arg_max = 0;
    for (Index k = 0; k < n; ++k) {
      const double value = static_cast<double>(logits.derived().coeff(k));
      if (std::isnan(value) || value == std::numeric_limits<double>::infinity())
        detail::fail<numeric_error>("Rng::categorical_from_logits", "finite logits or -inf",
                                    detail::concat(value, " at index ", k));
      if (value > max_logit) {
        max_logit = value;
        arg_max = k;
      }
    }
    if (max_logit == -std::numeric_limits<double>::infinity())
      detail::fail<numeric_error>("Rng::categorical_from_logits",
                                  "at least one finite logit", "all -inf");
    if (temperature == 0.0) return arg_max;
    double total = 0.0;
    for (Index k = 0; k < n; ++k)
      total += std::exp((static_cast<double>(logits.derived().coeff(k)) - max_logit) / temperature);
    double target = uniform() * total;
    for (Index k = 0; k < n; ++k) {
      target -= std::exp((static_cast<double>(logits.derived().coeff(k)) - max_logit) / temperature);
      if (target < 0.0) return k;
    }
    return arg_max;  // rounding left a sliver of mass: the mode is the safe answer
  }

  /// Index drawn with probability proportional to weights[k] (non-negative, finite).
  template <class Derived>
  Index categorical(const Eigen::DenseBase<Derived>& weights) {
    const Index n = weights.size();
    detail::require<shape_error>(n > 0, "Rng::categorical", "at least one weight", n);
    double total = 0.0;
    for (Index k = 0; k < n; ++k) {
      const double w = static_cast<double>(weights.derived().coeff(k));
      if (!(w >= 0.0) || !std::isfinite(w))
        detail::fail<value_error>("Rng::categorical", "finite non-negative weights",
                                  detail::concat(w, " at index ", k));
      total += w;
    }
    detail::require<value_error>(total > 0.0, "Rng::categorical", "a positive total weight", total);
    double target = uniform() * total;
    Index last_positive = 0;
    for (Index k = 0; k < n; ++k) {
      const double w = static_cast<double>(weights.derived().coeff(k));
      if (w > 0.0) last_positive = k;
      target -= w;
      if (target < 0.0) return k;
    }
    return last_positive;
  }

  /// A uniformly random permutation of 0..n-1 (Fisher–Yates).
  std::vector<Index> permutation(Index n) {
    detail::require<value_error>(n >= 0, "Rng::permutation", "n >= 0", n);
    std::vector<Index> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), Index{0});
    shuffle(order);
    return order;
  }

  template <class Container>
  void shuffle(Container& items) {
    for (std::size_t i = items.size(); i > 1; --i) {
      const auto j = static_cast<std::size_t>(uniform_int(i));
      using std::swap;
      swap(items[i - 1], items[j]);
    }
  }

  /// Advances the stream by 2^128 draws: call k times on copies to get k non-overlapping
  /// streams (one per thread) from one seed.
  void jump() {
    constexpr std::uint64_t polynomial[] = {0x180ec6d33cfd0abaULL, 0xd5a61266f0c9392cULL,
                                            0xa9582618e03fc9aaULL, 0x39abdc4529b1661cULL};
    State jumped{0, 0, 0, 0};
    for (std::uint64_t word : polynomial) {
      for (int bit = 0; bit < 64; ++bit) {
        if (word & (std::uint64_t{1} << bit))
          for (int i = 0; i < 4; ++i) jumped[i] ^= state_[i];
        next();
      }
    }
    state_ = jumped;
  }

  const State& state() const { return state_; }

  void set_state(const State& state) {
    detail::require<value_error>(state[0] | state[1] | state[2] | state[3], "Rng::set_state",
                                 "a state that is not all zero", "all zero");
    state_ = state;
  }

  friend bool operator==(const Rng& a, const Rng& b) { return a.state_ == b.state_; }
  friend bool operator!=(const Rng& a, const Rng& b) { return !(a == b); }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  static std::uint64_t splitmix64(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  State state_{};
};

}  // namespace mam

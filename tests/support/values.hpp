#pragma once
// Small helpers the tests share: a vector from a list, uniformly random complete states, the
// message of an expected exception.

#include <exception>
#include <initializer_list>
#include <string>

#include <catch2/catch.hpp>

#include <mam/core/rng.hpp>
#include <mam/core/types.hpp>

namespace mam::test {

inline Vector<double> vec(std::initializer_list<double> values) {
  Vector<double> v(static_cast<Index>(values.size()));
  Index i = 0;
  for (double x : values) v[i++] = x;
  return v;
}

/// `count` uniformly random complete states of `d` variables with `k` values, drawn column by
/// column.
inline CodeMatrix random_states(Index d, Index k, Index count, Rng& rng) {
  CodeMatrix x(d, count);
  for (Index j = 0; j < x.size(); ++j) x.data()[j] = static_cast<Code>(rng.uniform_int(static_cast<std::uint64_t>(k)));
  return x;
}

/// The what() of the `Error` that f throws; the test fails if f throws nothing or another type.
template <class Error, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("threw another type: " << e.what());
  }
  FAIL("threw nothing");
  return {};
}

}  // namespace mam::test

#pragma once
// --matmul float32|bfloat16: how an example's networks multiply (mam::MatmulPrecision).
// bfloat16 runs the products on AMX tiles, several times faster on CPUs that have them, at
// about 1e-3 relative rounding; CPUs without AMX refuse it with a clear message.

#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include <mam/nn/matmul_precision.hpp>

namespace mam::examples {

inline CLI::Option* add_matmul_option(CLI::App& app, mam::MatmulPrecision& precision) {
  const std::map<std::string, mam::MatmulPrecision> names = {{"float32", mam::MatmulPrecision::float32},
                                                             {"bfloat16", mam::MatmulPrecision::bfloat16}};
  return app
      .add_option("--matmul", precision,
                  "matrix products: float32, or bfloat16 (AMX tiles, float sums; needs a CPU with AMX-BF16)")
      ->transform(CLI::CheckedTransformer(names, CLI::ignore_case));
}

/// Both networks of `model` multiply in `precision` (mam::error if the CPU or a network
/// type cannot).
template <class Model>
void set_matmul_precision(Model& model, mam::MatmulPrecision precision) {
  mam::set_matmul_precision(model.marginal(), precision);
  mam::set_matmul_precision(model.conditional(), precision);
}

}  // namespace mam::examples

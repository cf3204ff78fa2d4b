// libFuzzer harness for the IDX reader (mam/data/idx.hpp): any bytes, gzip-compressed or
// not. A mam::error is the expected answer to bad input; anything else is a bug.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <mam/data/idx.hpp>

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view file(reinterpret_cast<const char*>(data), size);
  try {
    const mam::IdxArray array = mam::detail::decode_idx("fuzz_idx", "input", file, std::size_t{1} << 32);
    std::size_t total = 1;
    for (const mam::Index dim : array.dims) {
      mam::fuzz::check(dim > 0, "positive dimension sizes");
      total *= static_cast<std::size_t>(dim);
    }
    mam::fuzz::check(!array.dims.empty() && array.values.size() == total, "as many values as the dimensions say");
  } catch (const mam::error&) {
  }
  return 0;
}

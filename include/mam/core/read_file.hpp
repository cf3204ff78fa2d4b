#pragma once
// Reading a whole file into memory, for the parsers (IDX, checkpoints) that then decode the
// bytes: they take the bytes, not the file, so they can also be fed from memory (the
// fuzzing harnesses in tests/fuzz do that).

#include <cerrno>
#include <cstring>
#include <fstream>
#include <ios>
#include <string>
#include <vector>

#include "mam/core/error.hpp"

namespace mam::detail {

/// The bytes of the file at `path`; io_error (naming `function` and the file) if it cannot
/// be opened or read.
inline std::string read_whole_file(const char* function, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw io_error(
        concat(function, ": cannot open '", path, "' for reading: ", std::strerror(errno)));
  }
  // Read in chunks rather than trusting a size from seekg: that is wrong for pipes and
  // directories, and must not be able to request an absurd allocation.
  std::string bytes;
  std::vector<char> chunk(std::size_t{1} << 20);
  for (;;) {
    errno = 0;
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    bytes.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
    if (in.bad() || (in.fail() && !in.eof())) {
      const int error_number = errno;
      throw io_error(concat(function, ": cannot read '", path, "' after ", bytes.size(), " bytes: ",
                            error_number != 0 ? std::strerror(error_number) : "read error"));
    }
    if (in.eof()) return bytes;
  }
}

}  // namespace mam::detail

#pragma once
// Output files of the examples: the directory is checked before any work starts, and every
// file is written to a temporary name and renamed, so an interrupted run never leaves a
// half-written result behind.

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <mam/core/error.hpp>

namespace mam::examples {

/// Creates `directory` if needed and proves it writable (error before training, not after).
inline void prepare_output_directory(const std::string& directory) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  const std::string probe = directory + "/.write-test";
  std::ofstream out(probe);
  if (error || !out)
    throw io_error("output directory '" + directory + "': expected a writable directory, got " +
                   (error ? error.message() : std::string(std::strerror(errno))));
  out.close();
  std::filesystem::remove(probe);
}

/// Writes `text` to `path` atomically (temporary file in the same directory, then rename).
inline void write_text_atomically(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) throw io_error("cannot write '" + temporary + "'");
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) throw io_error("cannot rename '" + temporary + "' to '" + path + "': " + error.message());
}

}  // namespace mam::examples

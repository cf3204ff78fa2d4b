#pragma once
// The library's exceptions. Every message names the function, what it expected and
// what it found, so a user can fix the call without reading our source.

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace mam {

/// Base of every exception the library throws.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A matrix or vector of the wrong shape (batch layout, D, K, parameter count).
class shape_error : public error {
 public:
  using error::error;
};

/// A value outside its allowed range (a code not in 0..K-1 or '?', a negative rate).
class value_error : public error {
 public:
  using error::error;
};

/// A file that cannot be opened, read or written.
class io_error : public error {
 public:
  using error::error;
};

/// A file that was read but whose content is wrong (magic, version, checksum, truncation).
class format_error : public error {
 public:
  using error::error;
};

/// A checkpoint written for another network (architecture, sizes or scalar type differ).
class architecture_error : public format_error {
 public:
  using format_error::format_error;
};

/// A NaN or infinity where a finite number is required.
class numeric_error : public error {
 public:
  using error::error;
};

namespace detail {

template <class... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}

/// "function: expected <expected>, got <got>" — the library-wide message shape.
template <class Error = error, class Expected, class Got>
[[noreturn]] void fail(const char* function, const Expected& expected, const Got& got) {
  throw Error(concat(function, ": expected ", expected, ", got ", got));
}

template <class Error = error, class Expected, class Got>
void require(bool condition, const char* function, const Expected& expected, const Got& got) {
  if (!condition) fail<Error>(function, expected, got);
}

}  // namespace detail
}  // namespace mam

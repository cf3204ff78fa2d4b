#pragma once
// Versioned binary checkpoints: network description, parameters, optimizer state, counters.
//
// Layout (every integer little-endian, written byte by byte so files move between hosts of
// any endianness; floats as their IEEE-754 bit patterns, so NaN payloads and -0.0 survive):
//
//   magic            8 bytes  "\x89MAMCKP\n"   (high bit byte catches 7-bit transfers,
//                                               the newline catches CRLF conversion)
//   format version   u32
//   scalar type      u32      1 = float32, 2 = float64
//   total length     u64      bytes in the file, trailing CRC included
//   architecture     u32 count, then count x (string key, string value)
//   parameters       u32 count, then count x (string name, u64 n, n scalars)
//   optimizer_state  same shape as parameters
//   integers         u32 count, then count x (string name, u64 n, n x u64)
//   metadata         same shape as architecture
//   crc              u32      zlib crc32 of every byte before it
//
//   string = u32 byte length + bytes (no terminator, may hold any byte)
//
// Saving writes a temporary file in the target's directory and renames it over the target,
// so a reader sees either the old checkpoint or the new one, never a half-written file.
// POSIX only (mkstemp, fsync, rename); link with zlib (-lz).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include "mam/core/error.hpp"
#include "mam/core/read_file.hpp"
#include "mam/core/types.hpp"

namespace mam::io {

inline constexpr std::uint32_t checkpoint_format_version = 1;

enum class ScalarType : std::uint32_t { float32 = 1, float64 = 2 };

template <class Scalar>
constexpr ScalarType scalar_type_of() {
  static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>,
                "mam::io checkpoints store float or double only");
  if constexpr (std::is_same_v<Scalar, float>) {
    return ScalarType::float32;
  } else {
    return ScalarType::float64;
  }
}

inline std::string to_string(ScalarType type) {
  switch (type) {
    case ScalarType::float32:
      return "float32";
    case ScalarType::float64:
      return "float64";
  }
  return detail::concat("unknown scalar type ", static_cast<std::uint32_t>(type));
}

/// Ordered key/value pairs; keys are unique and non-empty.
using KeyValues = std::vector<std::pair<std::string, std::string>>;

template <class Scalar>
struct NamedVector {
  std::string name;
  Vector<Scalar> values;
};

struct NamedIntegers {
  std::string name;
  std::vector<std::uint64_t> values;
};

/// Everything needed to resume training. Names are unique within each section.
template <class Scalar>
struct Checkpoint {
  KeyValues architecture;                            // kind, sizes, activation, ...
  std::vector<NamedVector<Scalar>> parameters;       // e.g. {"marginal", flat parameters}
  std::vector<NamedVector<Scalar>> optimizer_state;  // e.g. Adam moments per group; may be empty
  std::vector<NamedIntegers> integers;               // step counters, RNG state words; may be empty
  KeyValues metadata;                                // free-form
};

/// What read_checkpoint_info reports without the caller knowing the scalar type.
struct CheckpointInfo {
  std::uint32_t format_version;
  ScalarType scalar_type;
  KeyValues architecture;
  KeyValues metadata;
};

namespace detail {

using mam::detail::concat;
using mam::detail::read_whole_file;

inline constexpr char checkpoint_magic[8] = {'\x89', 'M', 'A', 'M', 'C', 'K', 'P', '\n'};
inline constexpr std::size_t header_size = 8 + 4 + 4 + 8;  // magic, version, scalar, length
inline constexpr std::size_t length_offset = 16;
inline constexpr std::size_t crc_size = 4;

template <class Scalar>
using Bits = std::conditional_t<sizeof(Scalar) == 4, std::uint32_t, std::uint64_t>;

template <class Scalar>
constexpr void check_scalar() {
  (void)scalar_type_of<Scalar>();
  // Storing the bit pattern is only a portable encoding if the host uses IEEE-754.
  static_assert(std::numeric_limits<Scalar>::is_iec559, "checkpoints need IEEE-754 scalars");
  static_assert(sizeof(Scalar) == sizeof(Bits<Scalar>));
}

// zlib's crc32 takes a 32-bit length; feed it in chunks so files over 4 GiB work.
inline std::uint32_t crc32_of(const char* data, std::size_t size) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  constexpr std::size_t chunk = std::size_t{1} << 30;
  while (size > 0) {
    const std::size_t n = size < chunk ? size : chunk;
    crc = ::crc32(crc, reinterpret_cast<const Bytef*>(data), static_cast<uInt>(n));
    data += n;
    size -= n;
  }
  return static_cast<std::uint32_t>(crc);
}

inline std::string hex32(std::uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%08x", static_cast<unsigned>(value));
  return text;
}

inline std::string hex_bytes(const char* data, std::size_t size) {
  std::string text;
  for (std::size_t i = 0; i < size; ++i) {
    char byte[4];
    std::snprintf(byte, sizeof byte, "%s%02x", i == 0 ? "" : " ",
                  static_cast<unsigned>(static_cast<unsigned char>(data[i])));
    text += byte;
  }
  return text;
}

// ---------------------------------------------------------------------------------------
// Encoding

class ByteWriter {
 public:
  void reserve(std::size_t size) { bytes_.reserve(size); }
  std::size_t size() const { return bytes_.size(); }
  std::string& bytes() { return bytes_; }

  void raw(const char* data, std::size_t size) { bytes_.append(data, size); }

  void u32(std::uint32_t value) { put_le(value, 4); }
  void u64(std::uint64_t value) { put_le(value, 8); }

  /// Callers validate that `text` fits a u32 length before encoding starts.
  void string(const std::string& text) {
    u32(static_cast<std::uint32_t>(text.size()));
    raw(text.data(), text.size());
  }

  template <class Scalar>
  void scalars(const Scalar* values, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
      Bits<Scalar> bits;
      std::memcpy(&bits, &values[i], sizeof bits);  // bit pattern, never a conversion
      put_le(bits, sizeof bits);
    }
  }

  // The total length goes in the header, before the sections that determine it.
  void patch_u64(std::size_t offset, std::uint64_t value) {
    for (std::size_t i = 0; i < 8; ++i) {
      bytes_[offset + i] = static_cast<char>((value >> (8 * i)) & 0xffu);
    }
  }

 private:
  void put_le(std::uint64_t value, int size) {
    char out[8];
    for (int i = 0; i < size; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xffu);
    bytes_.append(out, static_cast<std::size_t>(size));
  }

  std::string bytes_;
};

/// "" when names are fine, else what is wrong. Shared by save (value_error) and load
/// (format_error) so both sides agree on what a valid checkpoint is.
template <class Items, class NameOf>
std::string naming_problem(const Items& items, NameOf name_of, const char* section,
                           const char* what) {
  std::unordered_set<std::string_view> seen;
  seen.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string& name = name_of(items[i]);
    if (name.empty()) return concat("empty ", what, " at ", section, "[", i, "]");
    if (!seen.insert(name).second) return concat("duplicate ", what, " '", name, "' in ", section);
  }
  return {};
}

inline const std::string& key_of(const std::pair<std::string, std::string>& entry) {
  return entry.first;
}

template <class Item>
const std::string& name_of(const Item& item) {
  return item.name;
}

template <class Scalar>
std::string checkpoint_problem(const Checkpoint<Scalar>& checkpoint) {
  constexpr std::uint64_t u32_max = std::numeric_limits<std::uint32_t>::max();
  struct Section {
    const char* name;
    std::size_t size;
    std::string problem;
  };
  const Section sections[] = {
      {"architecture", checkpoint.architecture.size(),
       naming_problem(checkpoint.architecture, key_of, "architecture", "key")},
      {"parameters", checkpoint.parameters.size(),
       naming_problem(checkpoint.parameters, name_of<NamedVector<Scalar>>, "parameters", "name")},
      {"optimizer_state", checkpoint.optimizer_state.size(),
       naming_problem(checkpoint.optimizer_state, name_of<NamedVector<Scalar>>, "optimizer_state",
                      "name")},
      {"integers", checkpoint.integers.size(),
       naming_problem(checkpoint.integers, name_of<NamedIntegers>, "integers", "name")},
      {"metadata", checkpoint.metadata.size(),
       naming_problem(checkpoint.metadata, key_of, "metadata", "key")},
  };
  for (const Section& section : sections) {
    if (!section.problem.empty()) return section.problem;
    if (section.size > u32_max) {
      return concat(section.name, " has ", section.size, " entries, the format allows ", u32_max);
    }
  }
  // String lengths are stored as u32; a longer string would be silently cut.
  const std::string too_long = "a key, value or name is longer than 4 GiB";
  for (const KeyValues* pairs : {&checkpoint.architecture, &checkpoint.metadata}) {
    for (const auto& [key, value] : *pairs) {
      if (key.size() > u32_max || value.size() > u32_max) return too_long;
    }
  }
  for (const auto* group : {&checkpoint.parameters, &checkpoint.optimizer_state}) {
    for (const auto& item : *group) {
      if (item.name.size() > u32_max) return too_long;
    }
  }
  for (const auto& item : checkpoint.integers) {
    if (item.name.size() > u32_max) return too_long;
  }
  return {};
}

template <class Scalar>
std::string encode_checkpoint(const Checkpoint<Scalar>& checkpoint) {
  check_scalar<Scalar>();
  ByteWriter out;

  std::size_t estimate = header_size + 5 * 4 + crc_size;
  for (const auto* group : {&checkpoint.parameters, &checkpoint.optimizer_state}) {
    for (const auto& item : *group) {
      estimate +=
          12 + item.name.size() + sizeof(Scalar) * static_cast<std::size_t>(item.values.size());
    }
  }
  for (const auto& item : checkpoint.integers) {
    estimate += 12 + item.name.size() + 8 * item.values.size();
  }
  out.reserve(estimate + 256);  // key/value text is small; let it grow if not

  out.raw(checkpoint_magic, sizeof checkpoint_magic);
  out.u32(checkpoint_format_version);
  out.u32(static_cast<std::uint32_t>(scalar_type_of<Scalar>()));
  out.u64(0);  // total length, patched below

  auto key_values = [&](const KeyValues& pairs) {
    out.u32(static_cast<std::uint32_t>(pairs.size()));
    for (const auto& [key, value] : pairs) {
      out.string(key);
      out.string(value);
    }
  };
  auto vectors = [&](const std::vector<NamedVector<Scalar>>& group) {
    out.u32(static_cast<std::uint32_t>(group.size()));
    for (const auto& item : group) {
      out.string(item.name);
      out.u64(static_cast<std::uint64_t>(item.values.size()));
      out.scalars(item.values.data(), static_cast<std::size_t>(item.values.size()));
    }
  };

  key_values(checkpoint.architecture);
  vectors(checkpoint.parameters);
  vectors(checkpoint.optimizer_state);
  out.u32(static_cast<std::uint32_t>(checkpoint.integers.size()));
  for (const auto& item : checkpoint.integers) {
    out.string(item.name);
    out.u64(item.values.size());
    for (std::uint64_t value : item.values) out.u64(value);
  }
  key_values(checkpoint.metadata);

  out.patch_u64(length_offset, out.size() + crc_size);
  out.u32(crc32_of(out.bytes().data(), out.size()));
  return std::move(out.bytes());
}

// ---------------------------------------------------------------------------------------
// Atomic file replacement

inline std::string parent_directory(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

/// Owns the temporary file until it has been renamed onto the target; on any failure
/// (including exceptions) it closes and removes it so no litter is left behind.
class TemporaryFile {
 public:
  TemporaryFile(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  ~TemporaryFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!renamed_) ::unlink(name_.c_str());
  }

  int fd() const { return fd_; }
  const std::string& name() const { return name_; }

  /// close() can report a delayed write error (NFS, quotas), so its result matters.
  bool close() {
    const int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }
  void mark_renamed() { renamed_ = true; }

 private:
  int fd_;
  std::string name_;
  bool renamed_ = false;
};

[[noreturn]] inline void fail_write(const char* function, const std::string& path,
                                    const std::string& action, int error_number) {
  throw io_error(
      concat(function, ": cannot write '", path, "': ", action, ": ", std::strerror(error_number)));
}

inline void write_file_atomically(const char* function, const std::string& path,
                                  const std::string& bytes) {
  std::vector<char> pattern(path.begin(), path.end());
  const char suffix[] = ".tmp.XXXXXX";
  pattern.insert(pattern.end(), suffix, suffix + sizeof suffix);  // includes the '\0'
  // Same directory as the target: rename() is only atomic within one file system.
  const int fd = ::mkstemp(pattern.data());
  if (fd < 0) fail_write(function, path, "cannot create a temporary file", errno);
  TemporaryFile temporary(fd, pattern.data());

  // mkstemp creates the file 0600; keep the mode of the checkpoint being replaced, else use
  // the usual 0644 so other jobs can read it. Failing to do so does not endanger the data.
  struct stat existing;
  const mode_t mode = ::stat(path.c_str(), &existing) == 0 && S_ISREG(existing.st_mode)
                          ? (existing.st_mode & 07777)
                          : (S_IRUSR | S_IWUSR | S_IRGRP | S_IROTH);
  (void)::fchmod(temporary.fd(), mode);

  const char* data = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ::ssize_t written = ::write(temporary.fd(), data, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      fail_write(function, path, concat("writing '", temporary.name(), "'"), errno);
    }
    data += written;
    left -= static_cast<std::size_t>(written);
  }
  // Without fsync the rename can reach the disk before the data: after a crash the target
  // would exist but be empty or partial.
  if (::fsync(temporary.fd()) != 0) {
    fail_write(function, path, concat("fsync of '", temporary.name(), "'"), errno);
  }
  if (!temporary.close()) {
    fail_write(function, path, concat("closing '", temporary.name(), "'"), errno);
  }
  if (std::rename(temporary.name().c_str(), path.c_str()) != 0) {
    fail_write(function, path, concat("renaming '", temporary.name(), "' onto it"), errno);
  }
  temporary.mark_renamed();

  // Make the rename itself durable. Best effort: some file systems refuse fsync on a
  // directory, and the new checkpoint is already complete and in place.
  const int directory = ::open(parent_directory(path).c_str(), O_RDONLY | O_DIRECTORY);
  if (directory >= 0) {
    (void)::fsync(directory);
    ::close(directory);
  }
}

// ---------------------------------------------------------------------------------------
// Decoding

/// Bounds-checked little-endian reads over [begin, end) of a buffer. Every length comes from
/// the file, so each is checked against the bytes that remain before it is used.
class ByteReader {
 public:
  ByteReader(const std::string& bytes, std::size_t begin, std::size_t end, const char* function,
             const std::string& path)
      : bytes_(bytes), offset_(begin), end_(end), function_(function), path_(path) {}

  std::size_t offset() const { return offset_; }
  std::size_t remaining() const { return end_ - offset_; }

  std::uint32_t u32(std::string_view what) { return static_cast<std::uint32_t>(get_le(4, what)); }
  std::uint64_t u64(std::string_view what) { return get_le(8, what); }

  std::string string(std::string_view what) {
    const std::uint32_t size = u32(what);
    need(size, what);
    std::string text(bytes_.data() + offset_, size);
    offset_ += size;
    return text;
  }

  /// A count of items of at least `min_item_bytes` each; rejects counts the remaining bytes
  /// cannot hold, so a corrupt count never turns into a huge allocation.
  std::size_t count(std::uint64_t count, std::size_t min_item_bytes, std::string_view what) {
    if (count > remaining() / min_item_bytes) {
      throw format_error(concat(function_, ": '", path_, "' is truncated at byte ", offset_,
                                " while reading ", what, ": expected room for ", count,
                                " items of at least ", min_item_bytes, " bytes, got ", remaining(),
                                " bytes"));
    }
    return static_cast<std::size_t>(count);
  }

  template <class Scalar>
  void scalars(Scalar* out, std::size_t count, std::string_view what) {
    need(count * sizeof(Scalar), what);  // no overflow: callers bound count via count()
    for (std::size_t i = 0; i < count; ++i) {
      const auto bits = static_cast<Bits<Scalar>>(le_unchecked(sizeof(Scalar)));
      std::memcpy(&out[i], &bits, sizeof bits);  // bit pattern, never a conversion
    }
  }

  void u64s(std::uint64_t* out, std::size_t count, std::string_view what) {
    need(count * 8, what);
    for (std::size_t i = 0; i < count; ++i) out[i] = le_unchecked(8);
  }

 private:
  void need(std::size_t size, std::string_view what) const {
    if (size > remaining()) {
      throw format_error(concat(function_, ": '", path_, "' is truncated at byte ", offset_,
                                " while reading ", what, ": expected ", size, " bytes, got ",
                                remaining()));
    }
  }

  std::uint64_t get_le(std::size_t size, std::string_view what) {
    need(size, what);
    return le_unchecked(size);
  }

  std::uint64_t le_unchecked(std::size_t size) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < size; ++i) {
      value |= std::uint64_t{static_cast<unsigned char>(bytes_[offset_ + i])} << (8 * i);
    }
    offset_ += size;
    return value;
  }

  const std::string& bytes_;
  std::size_t offset_;
  std::size_t end_;
  const char* function_;
  const std::string& path_;
};

inline std::uint64_t le_at(const std::string& bytes, std::size_t offset, std::size_t size) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < size; ++i) {
    value |= std::uint64_t{static_cast<unsigned char>(bytes[offset + i])} << (8 * i);
  }
  return value;
}

/// Checks everything that does not depend on the scalar type, cheapest and most telling
/// first: a short file, someone else's file, a newer format, a copy cut short, bit rot.
inline ScalarType check_envelope(const char* function, const std::string& path,
                                 const std::string& bytes) {
  if (bytes.size() < header_size) {
    throw format_error(concat(function, ": '", path, "' is truncated: expected at least ",
                              header_size, " header bytes, got ", bytes.size()));
  }
  if (std::memcmp(bytes.data(), checkpoint_magic, sizeof checkpoint_magic) != 0) {
    throw format_error(concat(function, ": '", path,
                              "' is not a mam checkpoint (bad magic): expected bytes ",
                              hex_bytes(checkpoint_magic, sizeof checkpoint_magic), ", got ",
                              hex_bytes(bytes.data(), sizeof checkpoint_magic)));
  }
  const auto version = static_cast<std::uint32_t>(le_at(bytes, 8, 4));
  if (version != checkpoint_format_version) {
    throw format_error(concat(function, ": '", path,
                              "' has an unsupported format version: expected ",
                              checkpoint_format_version, ", got ", version));
  }
  const std::uint64_t declared = le_at(bytes, length_offset, 8);
  if (declared != bytes.size()) {
    throw format_error(concat(function, ": '", path, "' ",
                              declared > bytes.size() ? "is truncated" : "has trailing bytes",
                              ": expected ", declared, " bytes (from its header), got ",
                              bytes.size()));
  }
  if (bytes.size() < header_size + crc_size) {
    throw format_error(concat(function, ": '", path, "' is truncated: expected at least ",
                              header_size + crc_size, " bytes, got ", bytes.size()));
  }
  const std::size_t body_end = bytes.size() - crc_size;
  const auto stored = static_cast<std::uint32_t>(le_at(bytes, body_end, 4));
  const std::uint32_t computed = crc32_of(bytes.data(), body_end);
  if (stored != computed) {
    throw format_error(concat(function, ": '", path, "' is corrupt (checksum mismatch): expected ",
                              hex32(stored), " (stored), got ", hex32(computed), " (computed)"));
  }
  const auto type = static_cast<std::uint32_t>(le_at(bytes, 12, 4));
  if (type != static_cast<std::uint32_t>(ScalarType::float32) &&
      type != static_cast<std::uint32_t>(ScalarType::float64)) {
    throw format_error(
        concat(function, ": '", path,
               "' has an unknown scalar type: expected 1 (float32) or 2 (float64), got ", type));
  }
  return static_cast<ScalarType>(type);
}

/// Parses the sections of a file that already passed check_envelope.
template <class Scalar>
Checkpoint<Scalar> decode_sections(const char* function, const std::string& path,
                                   const std::string& bytes) {
  check_scalar<Scalar>();
  const std::size_t body_end = bytes.size() - crc_size;
  ByteReader in(bytes, header_size, body_end, function, path);
  Checkpoint<Scalar> checkpoint;
  auto require_names = [&](const std::string& problem) {
    if (!problem.empty()) {
      throw format_error(concat(function, ": '", path, "' is malformed: ", problem));
    }
  };

  // Smallest possible entries: two empty strings; a name plus a zero count.
  constexpr std::size_t min_pair = 4 + 4;
  constexpr std::size_t min_named = 4 + 8;

  auto key_values = [&](KeyValues& pairs, const char* section) {
    const std::size_t n = in.count(in.u32(concat(section, " count")), min_pair, section);
    pairs.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      std::string key = in.string(concat(section, "[", i, "] key"));
      std::string value = in.string(concat(section, "[", i, "] value"));
      pairs.emplace_back(std::move(key), std::move(value));
    }
    require_names(naming_problem(pairs, key_of, section, "key"));
  };
  auto vectors = [&](std::vector<NamedVector<Scalar>>& group, const char* section) {
    const std::size_t n = in.count(in.u32(concat(section, " count")), min_named, section);
    group.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      const std::string item = concat(section, "[", i, "]");
      group[i].name = in.string(item + " name");
      const std::size_t size = in.count(in.u64(item + " size"), sizeof(Scalar), item + " values");
      group[i].values.resize(static_cast<Index>(size));
      in.scalars(group[i].values.data(), size, item + " values");
    }
    require_names(naming_problem(group, name_of<NamedVector<Scalar>>, section, "name"));
  };

  key_values(checkpoint.architecture, "architecture");
  vectors(checkpoint.parameters, "parameters");
  vectors(checkpoint.optimizer_state, "optimizer_state");
  {
    const std::size_t n = in.count(in.u32("integers count"), min_named, "integers");
    checkpoint.integers.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      const std::string item = concat("integers[", i, "]");
      checkpoint.integers[i].name = in.string(item + " name");
      const std::size_t size = in.count(in.u64(item + " size"), 8, item + " values");
      checkpoint.integers[i].values.resize(size);
      in.u64s(checkpoint.integers[i].values.data(), size, item + " values");
    }
    require_names(naming_problem(checkpoint.integers, name_of<NamedIntegers>, "integers", "name"));
  }
  key_values(checkpoint.metadata, "metadata");

  if (in.remaining() != 0) {
    throw format_error(concat(function, ": '", path,
                              "' is malformed: expected the checksum at byte ", in.offset(),
                              ", got ", in.remaining(), " unread bytes before it"));
  }
  return checkpoint;
}

// The loaders on a file's bytes (`name` stands for the file in messages): load_checkpoint and
// read_checkpoint_info read the file and call these; the fuzzing harnesses call them directly.

template <class Scalar>
Checkpoint<Scalar> decode_checkpoint(const char* function, const std::string& name,
                                     const std::string& bytes) {
  const ScalarType stored = check_envelope(function, name, bytes);
  if (stored != scalar_type_of<Scalar>()) {
    throw architecture_error(concat(function, ": '", name, "' has another scalar type: expected ",
                                    to_string(scalar_type_of<Scalar>()), ", got ", to_string(stored)));
  }
  return decode_sections<Scalar>(function, name, bytes);
}

inline CheckpointInfo decode_checkpoint_info(const char* function, const std::string& name,
                                             const std::string& bytes) {
  const ScalarType type = check_envelope(function, name, bytes);
  auto info = [&](auto&& checkpoint) {
    return CheckpointInfo{checkpoint_format_version, type, std::move(checkpoint.architecture),
                          std::move(checkpoint.metadata)};
  };
  if (type == ScalarType::float32) {
    return info(decode_sections<float>(function, name, bytes));
  }
  return info(decode_sections<double>(function, name, bytes));
}

}  // namespace detail

// -----------------------------------------------------------------------------------------
// Public API

/// Writes `checkpoint` to `path` atomically: the file is either the previous one or the new
/// one, even if the process dies midway. Throws io_error (missing directory, write failure)
/// or value_error (empty or duplicate key/name in a section).
template <class Scalar>
void save_checkpoint(const std::string& path, const Checkpoint<Scalar>& checkpoint) {
  constexpr const char* function = "mam::io::save_checkpoint";
  using detail::concat;
  if (path.empty()) throw io_error(concat(function, ": expected a file path, got an empty string"));
  const std::string directory = detail::parent_directory(path);
  struct stat info;
  if (::stat(directory.c_str(), &info) != 0) {
    throw io_error(concat(function, ": cannot write '", path, "': directory '", directory,
                          "': ", std::strerror(errno)));
  }
  if (!S_ISDIR(info.st_mode)) {
    throw io_error(
        concat(function, ": cannot write '", path, "': '", directory, "' is not a directory"));
  }
  const std::string problem = detail::checkpoint_problem(checkpoint);
  if (!problem.empty()) {
    throw value_error(concat(function, ": cannot write '", path, "': ", problem));
  }
  detail::write_file_atomically(function, path, detail::encode_checkpoint(checkpoint));
}

/// Reads and fully validates a checkpoint. Throws io_error if the file cannot be read,
/// format_error if it is not a valid checkpoint, architecture_error if it stores another
/// scalar type than `Scalar`.
template <class Scalar>
Checkpoint<Scalar> load_checkpoint(const std::string& path) {
  constexpr const char* function = "mam::io::load_checkpoint";
  return detail::decode_checkpoint<Scalar>(function, path, detail::read_whole_file(function, path));
}

/// Version, scalar type, architecture and metadata of a checkpoint, for choosing how to load
/// it. Validates the whole file, exactly as load_checkpoint does.
inline CheckpointInfo read_checkpoint_info(const std::string& path) {
  constexpr const char* function = "mam::io::read_checkpoint_info";
  return detail::decode_checkpoint_info(function, path, detail::read_whole_file(function, path));
}

/// Throws architecture_error unless `found` holds exactly the keys and values of `expected`
/// (order does not matter). The message names the first key, in `expected` order, that is
/// missing or differs, then any key `found` has in excess, with both values.
inline void require_architecture(const KeyValues& expected, const KeyValues& found,
                                 const char* function) {
  using detail::concat;
  auto lookup = [](const KeyValues& pairs, const std::string& key) -> const std::string* {
    for (const auto& [k, v] : pairs) {
      if (k == key) return &v;
    }
    return nullptr;
  };
  for (const auto& [key, value] : expected) {
    const std::string* other = lookup(found, key);
    if (other == nullptr) {
      throw architecture_error(concat(function, ": architecture key '", key, "': expected '", value,
                                      "', got no such key"));
    }
    if (*other != value) {
      throw architecture_error(concat(function, ": architecture key '", key, "': expected '", value,
                                      "', got '", *other, "'"));
    }
  }
  for (const auto& [key, value] : found) {
    if (lookup(expected, key) == nullptr) {
      throw architecture_error(concat(function, ": architecture key '", key,
                                      "': expected no such key, got '", value, "'"));
    }
  }
}

}  // namespace mam::io

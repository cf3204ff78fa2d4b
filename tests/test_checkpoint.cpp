// Tests for mam/io/checkpoint.hpp: bit-exact round trips, atomic replacement, and that every
// kind of damaged file is rejected with a format_error instead of a crash.

#include "mam/io/checkpoint.hpp"

#include <stdlib.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "support/temp_dir.hpp"
#include "support/values.hpp"

namespace {

namespace fs = std::filesystem;
using namespace mam::io;

using mam::test::TempDir;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

void put_le(std::string& bytes, std::size_t offset, std::uint64_t value, int size) {
  for (int i = 0; i < size; ++i) bytes[offset + i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

/// Recomputes the trailing CRC so that only the check under test can catch an edit.
void fix_crc(std::string& bytes) {
  const std::size_t body = bytes.size() - 4;
  const uLong crc =
      ::crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(body));
  put_le(bytes, body, crc, 4);
}

template <class Scalar>
Scalar from_bits(std::uint64_t bits) {
  Scalar value;
  if constexpr (sizeof(Scalar) == 4) {
    const auto narrow = static_cast<std::uint32_t>(bits);
    std::memcpy(&value, &narrow, 4);
  } else {
    std::memcpy(&value, &bits, 8);
  }
  return value;
}

/// Values that a conversion or a text format would alter: signed zero, denormals, NaN
/// payloads (quiet and signalling), infinities, extremes.
template <class Scalar>
mam::Vector<Scalar> special_values() {
  using limits = std::numeric_limits<Scalar>;
  const bool single = sizeof(Scalar) == 4;
  // clang-format off
  std::vector<Scalar> values = {
      Scalar(0), Scalar(-0.0), Scalar(1), Scalar(-2.5), limits::denorm_min(), -limits::denorm_min(),
      limits::min() / Scalar(3), limits::infinity(), -limits::infinity(), limits::max(),
      limits::lowest(), limits::epsilon(),
      from_bits<Scalar>(single ? 0x7fc01234u : 0x7ff8000000abcdefull),    // quiet NaN, payload
      from_bits<Scalar>(single ? 0xffc00001u : 0xfff8000000000001ull),    // negative NaN
      from_bits<Scalar>(single ? 0x7f800001u : 0x7ff0000000000001ull)};   // signalling NaN
  // clang-format on
  mam::Vector<Scalar> vector(static_cast<mam::Index>(values.size()));
  std::memcpy(vector.data(), values.data(), values.size() * sizeof(Scalar));
  return vector;
}

template <class Scalar>
bool same_bits(const mam::Vector<Scalar>& a, const mam::Vector<Scalar>& b) {
  // An empty Eigen vector has a null data(), which memcmp must not see.
  return a.size() == b.size() &&
         (a.size() == 0 ||
          std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.size()) * sizeof(Scalar)) == 0);
}

template <class Scalar>
Checkpoint<Scalar> full_checkpoint() {
  Checkpoint<Scalar> c;
  // Deliberately unsorted, with odd bytes in the strings, to check order and content survive.
  c.architecture = {{"kind", "made"},    {"D", "12"},
                    {"hidden", "64,64"}, {"activation", "relu"},
                    {"empty value", ""}, {std::string("nul\0byte", 8), "\xff\x01 utf8: \xc3\xa9"}};
  mam::Vector<Scalar> ramp(1000);
  for (mam::Index i = 0; i < ramp.size(); ++i) ramp[i] = Scalar(0.001) * Scalar(i) - Scalar(0.3);
  c.parameters = {{"marginal", special_values<Scalar>()},
                  {"conditional", ramp},
                  {"empty", mam::Vector<Scalar>()}};
  c.optimizer_state = {{"marginal.m", ramp.reverse()}, {"marginal.v", ramp.cwiseAbs()}};
  c.integers = {{"step", {12345}},
                {"rng", {0, 1, 0xffffffffffffffffull, 0x0123456789abcdefull}},
                {"none", {}}};
  c.metadata = {{"zeta", "last"}, {"alpha", "first"}, {"created", "2024-01-01T00:00:00Z"}};
  return c;
}

/// A small checkpoint with an empty architecture, so field offsets are easy to compute:
/// header 24 bytes, architecture count at 24, parameters count at 28, first name length at
/// 32, name "p" at 36, element count at 37, elements from 45.
Checkpoint<double> small_checkpoint() {
  Checkpoint<double> c;
  c.parameters = {{"p", mam::Vector<double>::Constant(3, 0.5)}};
  c.integers = {{"n", {7}}};
  c.metadata = {{"k", "v"}};
  return c;
}
constexpr std::size_t small_name_length_at = 32;
constexpr std::size_t small_count_at = 37;

using mam::test::message_of;

}  // namespace

TEMPLATE_TEST_CASE("checkpoint round trip is bit-exact and keeps order", "[checkpoint]", float,
                   double) {
  TempDir dir;
  const std::string path = dir.file("model.ckpt");
  const Checkpoint<TestType> saved = full_checkpoint<TestType>();
  save_checkpoint(path, saved);
  const Checkpoint<TestType> loaded = load_checkpoint<TestType>(path);

  CHECK(loaded.architecture == saved.architecture);
  CHECK(loaded.metadata == saved.metadata);
  auto check_vectors = [](const auto& a, const auto& b) {
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].name == b[i].name);
      CHECK(same_bits(a[i].values, b[i].values));
    }
  };
  check_vectors(loaded.parameters, saved.parameters);
  check_vectors(loaded.optimizer_state, saved.optimizer_state);
  REQUIRE(loaded.integers.size() == saved.integers.size());
  for (std::size_t i = 0; i < saved.integers.size(); ++i) {
    CHECK(loaded.integers[i].name == saved.integers[i].name);
    CHECK(loaded.integers[i].values == saved.integers[i].values);
  }

  // Deterministic: the same checkpoint gives the same bytes.
  const std::string first = read_bytes(path);
  save_checkpoint(path, saved);
  CHECK(read_bytes(path) == first);
  CHECK(dir.entries() == std::vector<std::string>{"model.ckpt"});
}

TEST_CASE("checkpoint with every section empty round trips", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("empty.ckpt");
  save_checkpoint(path, Checkpoint<float>{});
  CHECK(read_bytes(path).size() == 24 + 5 * 4 + 4);
  const Checkpoint<float> loaded = load_checkpoint<float>(path);
  CHECK(loaded.architecture.empty());
  CHECK(loaded.parameters.empty());
  CHECK(loaded.optimizer_state.empty());
  CHECK(loaded.integers.empty());
  CHECK(loaded.metadata.empty());
}

TEST_CASE("checkpoint byte layout is stable little-endian", "[checkpoint]") {
  // Pinned by hand so that any change to the format is a deliberate one.
  TempDir dir;
  const std::string path = dir.file("layout.ckpt");
  Checkpoint<float> c;
  c.architecture = {{"k", "vv"}};
  c.parameters = {{"p", mam::Vector<float>::Constant(1, 1.0f)}};  // 1.0f = 0x3f800000
  c.integers = {{"n", {0x0102}}};
  save_checkpoint(path, c);
  const std::string bytes = read_bytes(path);

  // clang-format off
  const unsigned char expected[] = {
      0x89, 'M', 'A', 'M', 'C', 'K', 'P', '\n',          // magic
      1, 0, 0, 0,                                        // format version
      1, 0, 0, 0,                                        // float32
      97, 0, 0, 0, 0, 0, 0, 0,                           // total length
      1, 0, 0, 0, 1, 0, 0, 0, 'k', 2, 0, 0, 0, 'v', 'v', // architecture
      1, 0, 0, 0, 1, 0, 0, 0, 'p', 1, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x80, 0x3f,  // parameters
      0, 0, 0, 0,                                        // optimizer_state
      1, 0, 0, 0, 1, 0, 0, 0, 'n', 1, 0, 0, 0, 0, 0, 0, 0,
      0x02, 0x01, 0, 0, 0, 0, 0, 0,                      // integers
      0, 0, 0, 0};                                       // metadata
  // clang-format on
  REQUIRE(bytes.size() == sizeof expected + 4);
  CHECK(std::memcmp(bytes.data(), expected, sizeof expected) == 0);
  const uLong crc = ::crc32(0L, expected, sizeof expected);
  std::string crc_bytes(4, '\0');
  put_le(crc_bytes, 0, crc, 4);
  CHECK(bytes.substr(sizeof expected) == crc_bytes);
}

TEST_CASE("saving over a checkpoint replaces it and leaves no temporary file", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("model.ckpt");
  save_checkpoint(path, full_checkpoint<double>());
  const Checkpoint<double> replacement = small_checkpoint();
  save_checkpoint(path, replacement);

  const Checkpoint<double> loaded = load_checkpoint<double>(path);
  REQUIRE(loaded.parameters.size() == 1);
  CHECK(loaded.parameters[0].name == "p");
  CHECK(loaded.metadata == replacement.metadata);
  CHECK(dir.entries() == std::vector<std::string>{"model.ckpt"});
}

TEST_CASE("a failed save removes its temporary file", "[checkpoint]") {
  TempDir dir;
  // The rename cannot replace a non-empty directory.
  const std::string path = dir.file("occupied");
  fs::create_directory(path);
  write_bytes(path + "/keep", "x");
  CHECK_THROWS_AS(save_checkpoint(path, small_checkpoint()), mam::io_error);
  CHECK(dir.entries() == std::vector<std::string>{"occupied"});
}

TEST_CASE("save validates names and keys before touching the file", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("model.ckpt");
  save_checkpoint(path, small_checkpoint());
  const std::string before = read_bytes(path);

  Checkpoint<double> duplicate_key = small_checkpoint();
  duplicate_key.architecture = {{"D", "3"}, {"K", "2"}, {"D", "4"}};
  const std::string message =
      message_of<mam::value_error>([&] { save_checkpoint(path, duplicate_key); });
  CHECK_THAT(message, Catch::StartsWith("mam::io::save_checkpoint: "));
  CHECK_THAT(message,
             Catch::Contains("'D'") && Catch::Contains("architecture") && Catch::Contains(path));

  Checkpoint<double> duplicate_name = small_checkpoint();
  duplicate_name.optimizer_state = {{"m", {}}, {"m", {}}};
  CHECK_THROWS_AS(save_checkpoint(path, duplicate_name), mam::value_error);

  Checkpoint<double> empty_name = small_checkpoint();
  empty_name.integers.push_back({"", {1}});
  CHECK_THROWS_AS(save_checkpoint(path, empty_name), mam::value_error);

  Checkpoint<double> empty_key = small_checkpoint();
  empty_key.metadata.push_back({"", "x"});
  CHECK_THROWS_AS(save_checkpoint(path, empty_key), mam::value_error);

  // The same name in different sections is fine.
  Checkpoint<double> shared = small_checkpoint();
  shared.optimizer_state = {{"p", {}}};
  CHECK_NOTHROW(save_checkpoint(dir.file("shared.ckpt"), shared));

  CHECK(read_bytes(path) == before);
  CHECK(dir.entries() == std::vector<std::string>{"model.ckpt", "shared.ckpt"});
}

TEST_CASE("every truncation of a checkpoint is a format_error", "[checkpoint]") {
  TempDir dir;
  const std::string good = dir.file("good.ckpt");
  const std::string bad = dir.file("bad.ckpt");
  save_checkpoint(good, small_checkpoint());
  const std::string bytes = read_bytes(good);
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    INFO("prefix of " << size << " bytes out of " << bytes.size());
    write_bytes(bad, bytes.substr(0, size));
    const std::string message =
        message_of<mam::format_error>([&] { (void)load_checkpoint<double>(bad); });
    CHECK_THAT(message, Catch::Contains("truncated") && Catch::Contains(bad));
    CHECK_THROWS_AS(read_checkpoint_info(bad), mam::format_error);
  }
}

TEST_CASE("every single-bit flip of a checkpoint is a format_error", "[checkpoint]") {
  TempDir dir;
  const std::string good = dir.file("good.ckpt");
  const std::string bad = dir.file("bad.ckpt");
  Checkpoint<double> c = small_checkpoint();
  c.architecture = {{"kind", "made"}};
  save_checkpoint(good, c);
  const std::string bytes = read_bytes(good);
  for (std::size_t offset = 0; offset < bytes.size(); ++offset) {
    for (int bit = 0; bit < 8; ++bit) {
      INFO("byte " << offset << " bit " << bit);
      std::string flipped = bytes;
      flipped[offset] = static_cast<char>(flipped[offset] ^ (1 << bit));
      write_bytes(bad, flipped);
      CHECK_THROWS_AS(load_checkpoint<double>(bad), mam::format_error);
    }
  }
  // Past the header, only the checksum can notice.
  std::string flipped = bytes;
  flipped[50] ^= 1;
  write_bytes(bad, flipped);
  CHECK_THAT(message_of<mam::format_error>([&] { (void)load_checkpoint<double>(bad); }),
             Catch::Contains("checksum mismatch") && Catch::Contains("0x"));
}

TEST_CASE("checkpoint header errors name the problem", "[checkpoint]") {
  TempDir dir;
  const std::string good = dir.file("good.ckpt");
  const std::string bad = dir.file("bad.ckpt");
  save_checkpoint(good, small_checkpoint());
  const std::string bytes = read_bytes(good);

  SECTION("wrong magic") {
    std::string edited = bytes;
    edited[1] = 'X';
    write_bytes(bad, edited);
    const std::string message =
        message_of<mam::format_error>([&] { (void)load_checkpoint<double>(bad); });
    CHECK_THAT(message, Catch::StartsWith("mam::io::load_checkpoint: ") &&
                            Catch::Contains("magic") && Catch::Contains("not a mam checkpoint") &&
                            Catch::Contains(bad));
    // Not a checkpoint at all, shorter than the header.
    write_bytes(bad, "hello");
    CHECK_THROWS_AS(load_checkpoint<double>(bad), mam::format_error);
  }
  SECTION("unsupported version, with a valid checksum") {
    std::string edited = bytes;
    put_le(edited, 8, 2, 4);
    fix_crc(edited);
    write_bytes(bad, edited);
    const std::string message =
        message_of<mam::format_error>([&] { (void)load_checkpoint<double>(bad); });
    CHECK_THAT(message, Catch::Contains("version") && Catch::Contains("expected 1, got 2"));
    CHECK_THROWS_WITH(read_checkpoint_info(bad), Catch::Contains("version"));
  }
  SECTION("declared length past the end") {
    std::string edited = bytes;
    put_le(edited, 16, bytes.size() + 1, 8);
    write_bytes(bad, edited);
    CHECK_THROWS_WITH(load_checkpoint<double>(bad), Catch::Contains("truncated"));
  }
  SECTION("trailing bytes") {
    write_bytes(bad, bytes + "x");
    CHECK_THROWS_WITH(load_checkpoint<double>(bad), Catch::Contains("trailing bytes"));
  }
  SECTION("extra bytes before the checksum, with length and checksum fixed") {
    std::string edited = bytes;
    edited.insert(edited.size() - 4, "zz");
    put_le(edited, 16, edited.size(), 8);
    fix_crc(edited);
    write_bytes(bad, edited);
    CHECK_THROWS_AS(load_checkpoint<double>(bad), mam::format_error);
  }
  SECTION("unknown scalar type, with a valid checksum") {
    std::string edited = bytes;
    put_le(edited, 12, 3, 4);
    fix_crc(edited);
    write_bytes(bad, edited);
    CHECK_THROWS_WITH(load_checkpoint<double>(bad), Catch::Contains("scalar type"));
    CHECK_THROWS_AS(read_checkpoint_info(bad), mam::format_error);
  }
}

TEST_CASE("corrupt lengths and counts with a valid checksum are format_errors", "[checkpoint]") {
  TempDir dir;
  const std::string good = dir.file("good.ckpt");
  const std::string bad = dir.file("bad.ckpt");
  save_checkpoint(good, small_checkpoint());
  const std::string bytes = read_bytes(good);
  REQUIRE(bytes[36] == 'p');  // the offsets below assume small_checkpoint's layout
  REQUIRE(bytes[small_count_at] == 3);

  auto load_edited = [&](std::size_t offset, std::uint64_t value, int size) {
    std::string edited = bytes;
    put_le(edited, offset, value, size);
    fix_crc(edited);
    write_bytes(bad, edited);
    return message_of<mam::format_error>([&] { (void)load_checkpoint<double>(bad); });
  };

  SECTION("string length past the end") {
    CHECK_THAT(load_edited(small_name_length_at, 0xfffffff0u, 4),
               Catch::Contains("truncated at byte") && Catch::Contains("parameters[0] name"));
  }
  SECTION("element count one past the end") {
    const std::size_t elements = (bytes.size() - 4 - (small_count_at + 8)) / 8;
    CHECK_THAT(load_edited(small_count_at, elements + 1, 8), Catch::Contains("truncated"));
  }
  SECTION("huge element count does not allocate it") {
    // Allocating 2^60 doubles would throw std::bad_alloc, which is not a format_error.
    CHECK_THAT(load_edited(small_count_at, std::uint64_t{1} << 60, 8),
               Catch::Contains("parameters[0] values"));
    CHECK_THAT(load_edited(small_count_at, ~std::uint64_t{0}, 8), Catch::Contains("truncated"));
  }
  SECTION("huge section count") {
    CHECK_THAT(load_edited(28, 0xffffffffu, 4), Catch::Contains("parameters"));
    CHECK_THAT(load_edited(24, 0xffffffffu, 4), Catch::Contains("architecture"));
  }
  SECTION("shorter element count leaves unread bytes") {
    CHECK_THAT(load_edited(small_count_at, 2, 8), Catch::StartsWith("mam::io::load_checkpoint: "));
  }
}

TEST_CASE("random corruption behind a valid checksum never crashes the parser", "[checkpoint]") {
  TempDir dir;
  const std::string good = dir.file("good.ckpt");
  const std::string bad = dir.file("bad.ckpt");
  save_checkpoint(good, full_checkpoint<float>());
  const std::string bytes = read_bytes(good);
  std::mt19937 random(20240601);
  std::uniform_int_distribution<std::size_t> offset(24, bytes.size() - 5);  // body only
  std::uniform_int_distribution<int> value(0, 255);
  int rejected = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::string edited = bytes;
    for (int edit = 0; edit <= trial % 4; ++edit) {
      edited[offset(random)] = static_cast<char>(value(random));
    }
    fix_crc(edited);
    write_bytes(bad, edited);
    try {
      (void)load_checkpoint<float>(bad);  // an edit inside a value or name can stay valid
    } catch (const mam::format_error&) {
      ++rejected;
    }
  }
  CHECK(rejected > 0);
}

TEST_CASE("duplicate keys and names in a file are format_errors", "[checkpoint]") {
  TempDir dir;
  const std::string good = dir.file("good.ckpt");
  const std::string bad = dir.file("bad.ckpt");
  Checkpoint<float> c;
  c.architecture = {{"a", "1"}, {"b", "2"}};
  c.parameters = {{"x", {}}, {"y", {}}};
  save_checkpoint(good, c);
  const std::string bytes = read_bytes(good);

  auto rename_and_load = [&](char from, char to) {
    std::string edited = bytes;
    const std::size_t at = edited.find(from, 24);
    REQUIRE(at != std::string::npos);
    edited[at] = to;
    fix_crc(edited);
    write_bytes(bad, edited);
    return message_of<mam::format_error>([&] { (void)load_checkpoint<float>(bad); });
  };
  CHECK_THAT(rename_and_load('b', 'a'), Catch::Contains("duplicate key 'a' in architecture"));
  CHECK_THAT(rename_and_load('y', 'x'), Catch::Contains("duplicate name 'x' in parameters"));
}

TEST_CASE("loading with the wrong scalar type is an architecture_error", "[checkpoint]") {
  TempDir dir;
  const std::string path = dir.file("model.ckpt");
  save_checkpoint(path, full_checkpoint<float>());
  const std::string message =
      message_of<mam::architecture_error>([&] { (void)load_checkpoint<double>(path); });
  CHECK_THAT(message, Catch::StartsWith("mam::io::load_checkpoint: ") &&
                          Catch::Contains("expected float64, got float32") &&
                          Catch::Contains(path));

  save_checkpoint(path, full_checkpoint<double>());
  CHECK_THROWS_WITH(load_checkpoint<float>(path), Catch::Contains("expected float32, got float64"));
  CHECK_THROWS_AS(load_checkpoint<float>(path), mam::architecture_error);
}

TEST_CASE("require_architecture names the first differing key", "[checkpoint]") {
  const KeyValues expected = {{"kind", "made"}, {"D", "12"}, {"hidden", "64"}};
  const char* function = "mam::Made::load";
  CHECK_NOTHROW(require_architecture(expected, expected, function));
  CHECK_NOTHROW(
      require_architecture(expected, {{"hidden", "64"}, {"kind", "made"}, {"D", "12"}}, function));

  const std::string differs = message_of<mam::architecture_error>([&] {
    require_architecture(expected, {{"kind", "made"}, {"D", "10"}, {"hidden", "32"}}, function);
  });
  CHECK_THAT(differs, Catch::StartsWith("mam::Made::load: ") && Catch::Contains("'D'") &&
                          Catch::Contains("expected '12', got '10'"));

  const std::string missing = message_of<mam::architecture_error>([&] {
    require_architecture(expected, {{"kind", "made"}, {"D", "12"}}, function);
  });
  CHECK_THAT(missing, Catch::Contains("'hidden'") && Catch::Contains("'64'"));

  const std::string extra = message_of<mam::architecture_error>([&] {
    require_architecture(expected, {{"kind", "made"}, {"D", "12"}, {"hidden", "64"}, {"K", "2"}},
                         function);
  });
  CHECK_THAT(extra, Catch::Contains("'K'") && Catch::Contains("'2'"));
}

TEST_CASE("checkpoint file system errors are io_errors", "[checkpoint]") {
  TempDir dir;
  const std::string missing = dir.file("missing.ckpt");
  CHECK_THROWS_AS(load_checkpoint<float>(missing), mam::io_error);
  CHECK_THROWS_WITH(load_checkpoint<float>(missing),
                    Catch::StartsWith("mam::io::load_checkpoint: ") && Catch::Contains(missing));
  CHECK_THROWS_AS(read_checkpoint_info(missing), mam::io_error);
  CHECK_THROWS_AS(load_checkpoint<float>(dir.path), mam::io_error);  // a directory

  const std::string nowhere = dir.file("no/such/dir/model.ckpt");
  CHECK_THROWS_AS(save_checkpoint(nowhere, small_checkpoint()), mam::io_error);
  CHECK_THROWS_WITH(save_checkpoint(nowhere, small_checkpoint()),
                    Catch::StartsWith("mam::io::save_checkpoint: ") && Catch::Contains(nowhere));
  // Checked before the content: an invalid checkpoint still reports the directory.
  Checkpoint<double> invalid;
  invalid.parameters = {{"", {}}};
  CHECK_THROWS_AS(save_checkpoint(nowhere, invalid), mam::io_error);
  CHECK(dir.entries().empty());
}

TEST_CASE("read_checkpoint_info reports the header and descriptions", "[checkpoint]") {
  TempDir dir;
  const std::string single = dir.file("single.ckpt");
  const std::string twice = dir.file("double.ckpt");
  save_checkpoint(single, full_checkpoint<float>());
  save_checkpoint(twice, full_checkpoint<double>());

  const CheckpointInfo info = read_checkpoint_info(single);
  CHECK(info.format_version == checkpoint_format_version);
  CHECK(info.scalar_type == ScalarType::float32);
  CHECK(info.architecture == full_checkpoint<float>().architecture);
  CHECK(info.metadata == full_checkpoint<float>().metadata);
  CHECK(read_checkpoint_info(twice).scalar_type == ScalarType::float64);

  CHECK(to_string(ScalarType::float32) == "float32");
  CHECK(to_string(ScalarType::float64) == "float64");
  STATIC_REQUIRE(scalar_type_of<float>() == ScalarType::float32);
  STATIC_REQUIRE(scalar_type_of<double>() == ScalarType::float64);
}

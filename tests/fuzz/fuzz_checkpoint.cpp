// libFuzzer harness for the checkpoint loader (mam/io/checkpoint.hpp).
//
// The first input byte picks what to do with the rest, the file's bytes:
//   bit 0     set: write the true length and CRC into the header and trailer first, so that
//             mutations get past the checksum and reach the section parser;
//   bits 1-2  0: load_checkpoint<float>, 1: load_checkpoint<double>, else read_checkpoint_info.
// A mam::error is the expected answer to bad input. A loaded checkpoint must pass the saver's
// validation and encode back to exactly the bytes it was read from.

#include <cstddef>
#include <cstdint>
#include <string>

#include <mam/io/checkpoint.hpp>

#include "fuzz_check.hpp"

namespace {

namespace io = mam::io;

void fix_length_and_crc(std::string& bytes) {
  if (bytes.size() < io::detail::header_size + io::detail::crc_size) return;
  const std::uint64_t length = bytes.size();
  for (std::size_t i = 0; i < 8; ++i) {
    bytes[io::detail::length_offset + i] = static_cast<char>((length >> (8 * i)) & 0xffu);
  }
  const std::size_t body_end = bytes.size() - io::detail::crc_size;
  const std::uint32_t crc = io::detail::crc32_of(bytes.data(), body_end);
  for (std::size_t i = 0; i < 4; ++i) bytes[body_end + i] = static_cast<char>((crc >> (8 * i)) & 0xffu);
}

template <class Scalar>
void load_and_reencode(const std::string& bytes) {
  const io::Checkpoint<Scalar> checkpoint = io::detail::decode_checkpoint<Scalar>("fuzz_checkpoint", "input", bytes);
  mam::fuzz::check(io::detail::checkpoint_problem(checkpoint).empty(), "a loaded checkpoint is valid for saving",
                   io::detail::checkpoint_problem(checkpoint));
  mam::fuzz::check(io::detail::encode_checkpoint(checkpoint) == bytes, "a loaded checkpoint encodes to its bytes");
}

void read_info(const std::string& bytes) {
  const io::CheckpointInfo info = io::detail::decode_checkpoint_info("fuzz_checkpoint", "input", bytes);
  const auto same_as = [&](const auto& checkpoint) {
    return checkpoint.architecture == info.architecture && checkpoint.metadata == info.metadata;
  };
  const bool same = info.scalar_type == io::ScalarType::float32
                        ? same_as(io::detail::decode_checkpoint<float>("fuzz_checkpoint", "input", bytes))
                        : same_as(io::detail::decode_checkpoint<double>("fuzz_checkpoint", "input", bytes));
  mam::fuzz::check(same, "read_checkpoint_info agrees with load_checkpoint");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((mode & 1) != 0) fix_length_and_crc(bytes);
  try {
    switch ((mode >> 1) & 3) {
      case 0:
        load_and_reencode<float>(bytes);
        break;
      case 1:
        load_and_reencode<double>(bytes);
        break;
      default:
        read_info(bytes);
    }
  } catch (const mam::error&) {
  }
  return 0;
}

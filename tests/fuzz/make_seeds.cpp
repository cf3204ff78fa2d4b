// Writes the seed corpora of the fuzzing harnesses: make_seeds <corpus directory>, which
// gets one subdirectory per harness (idx, checkpoint, smiles, selfies). The committed
// corpus under tests/fuzz/corpus was made this way (scripts/fuzz --seeds remakes it).

#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <mam/chem/selfies.hpp>
#include <mam/core/read_file.hpp>
#include <mam/io/checkpoint.hpp>

namespace {

namespace fs = std::filesystem;

void write(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string idx_bytes(const std::vector<std::uint32_t>& dims) {
  std::string bytes{'\0', '\0', '\x08', static_cast<char>(dims.size())};
  std::uint32_t total = 1;
  for (std::uint32_t size : dims) {
    for (int shift : {24, 16, 8, 0}) bytes += static_cast<char>((size >> shift) & 0xffu);
    total *= size;
  }
  for (std::uint32_t i = 0; i < total; ++i) bytes += static_cast<char>(i * 7);
  return bytes;
}

/// One gzip member holding `bytes`.
std::string gzip(const std::string& bytes) {
  z_stream stream{};
  if (deflateInit2(&stream, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2");
  std::string out(deflateBound(&stream, bytes.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int code = deflate(&stream, Z_FINISH);
  deflateEnd(&stream);
  if (code != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(stream.total_out);
  return out;
}

void idx_seeds(const fs::path& dir) {
  const std::string labels = idx_bytes({5});
  const std::string images = idx_bytes({3, 2, 2});
  write(dir / "labels_plain", labels);
  write(dir / "images_plain", images);
  write(dir / "images_gzip", gzip(images));
  write(dir / "labels_gzip", gzip(labels));
  // gzip as `cat a.gz b.gz` makes it: two members, read as one stream.
  write(dir / "images_two_members", gzip(images.substr(0, 9)) + gzip(images.substr(9)));
  write(dir / "images_gzip_truncated", gzip(images).substr(0, 20));
  write(dir / "four_dims_plain", idx_bytes({1, 2, 1, 3}));
  // Regression (test_fuzz_regressions.cpp): 65535 x 65535 values announced, 3 present.
  write(dir / "regression_huge_header", idx_bytes({1, 3}).replace(4, 8, std::string("\0\0\xff\xff\0\0\xff\xff", 8)));
}

template <class Scalar>
std::string checkpoint_bytes(const fs::path& scratch, const mam::io::Checkpoint<Scalar>& checkpoint) {
  const fs::path path = scratch / "checkpoint.tmp";
  mam::io::save_checkpoint(path.string(), checkpoint);
  std::string bytes = mam::detail::read_whole_file("make_seeds", path.string());
  fs::remove(path);
  return bytes;
}

template <class Scalar>
mam::io::Checkpoint<Scalar> small_checkpoint() {
  mam::io::Checkpoint<Scalar> checkpoint;
  checkpoint.architecture = {{"kind", "residual_mlp"}, {"D", "4"}, {"K", "2"}};
  mam::Vector<Scalar> weights(3);
  weights << Scalar(0.5), Scalar(-1.25), Scalar(3);
  checkpoint.parameters.push_back({"marginal", weights});
  checkpoint.optimizer_state.push_back({"adam_m", mam::Vector<Scalar>::Zero(3)});
  checkpoint.integers.push_back({"step", {42}});
  checkpoint.integers.push_back({"rng", {1, 2, 3, 4}});
  checkpoint.metadata = {{"note", "seed"}};
  return checkpoint;
}

// The harness reads one mode byte before the file: bit 0 fixes length and CRC, bits 1-2
// choose float / double / read_checkpoint_info.
void checkpoint_seeds(const fs::path& dir, const fs::path& scratch) {
  const std::string as_float = checkpoint_bytes(scratch, small_checkpoint<float>());
  const std::string as_double = checkpoint_bytes(scratch, small_checkpoint<double>());
  const std::string empty = checkpoint_bytes(scratch, mam::io::Checkpoint<double>{});
  write(dir / "float", std::string(1, '\0') + as_float);
  write(dir / "float_fix_crc", std::string(1, '\1') + as_float);
  write(dir / "double", std::string(1, '\2') + as_double);
  write(dir / "double_fix_crc", std::string(1, '\3') + as_double);
  write(dir / "info_float_fix_crc", std::string(1, '\5') + as_float);
  write(dir / "info_double", std::string(1, '\4') + as_double);
  write(dir / "empty_double_fix_crc", std::string(1, '\3') + empty);
  write(dir / "float_as_double", std::string(1, '\2') + as_float);
}

// From RDKit's Data/NCI/first_5K.smi, plus stereo, isotopes, aromatic, %nn rings, fragments.
const std::vector<std::string> smiles_seeds = {
    "CC1=CC(=O)C=CC1=O",
    "OC1=C(Cl)C=C(C=C1[N+]([O-])=O)[N+]([O-])=O",
    "S=C1NC2=C(C=CC=C2S1)C3=CC=CC=C3",
    "CC1(C)[CH]2CC[C]1(C)[CH](C2)OC(=O)CSC#N",
    "O=C1OC(=O)[CH]2[CH]3CC[CH](C=C3)[CH]12",
    "C[C@@H](N)C(=O)O",
    "F/C=C\\F",
    "[13CH4]",
    "c1ccc2[nH]ccc2c1",
    "C%10CC%10.O",
    "[Fe++].[O-]S(=O)(=O)[O-]",
    "C1CC[C@@]21CCC2",
};

void smiles_and_selfies_seeds(const fs::path& smiles_dir, const fs::path& selfies_dir) {
  for (std::size_t i = 0; i < smiles_seeds.size(); ++i) {
    write(smiles_dir / ("smiles_" + std::to_string(i)), smiles_seeds[i]);
    write(selfies_dir / ("encoded_" + std::to_string(i)), mam::smiles_to_selfies(smiles_seeds[i]));
  }
  // The decoder's own cases: nop padding, fragments, branches and rings of every kind, and
  // symbols that are skipped or cut short.
  const std::vector<std::string> selfies = {
      "[C][=C][F]",
      "[nop][C][nop].[O]",
      "[C][Branch1][C][O][=C][#Branch2][C][C][N]",
      "[C][C][C][C][/C][\\Ring1][Ring2]",
      "[C][=C][C][=C][C][=C][Ring1][=Branch1]",
      "[O][Ring1][C][F][Branch3]",
      "[13C@@H1][N+1][O-1][Fe+2][=Ring1][C]",
  };
  for (std::size_t i = 0; i < selfies.size(); ++i) write(selfies_dir / ("selfies_" + std::to_string(i)), selfies[i]);
  // Regressions (test_fuzz_regressions.cpp): a ring bond closing in a later fragment.
  write(selfies_dir / "regression_ring_across_fragments", "[C].[C][Ring1][C]");
  write(smiles_dir / "regression_ring_across_fragments", "C1.C1");
  // A charge with a 0 digit, which the encoder wrote and the decoder rejects.
  write(selfies_dir / "regression_charge_with_zero", "[Fe+0000000000000030]");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds <corpus directory>\n");
    return 2;
  }
  const fs::path corpus = argv[1];
  fs::create_directories(corpus);
  idx_seeds(corpus / "idx");
  checkpoint_seeds(corpus / "checkpoint", corpus);
  smiles_and_selfies_seeds(corpus / "smiles", corpus / "selfies");
  return 0;
}

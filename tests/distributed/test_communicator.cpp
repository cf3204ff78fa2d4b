// mam::mpi::Communicator against answers every rank can compute (run by ctest on 2 and 3
// processes). Values depend on the rank, so a rank's data sent to the wrong place, or not
// sent, changes the result. The detail operations with a small chunk cross chunk boundaries
// as a gradient longer than INT_MAX would. CHECK, not REQUIRE, before collectives
// (mpi_main.cpp).
#include <catch2/catch.hpp>
#include <mpi.h>

#include <chrono>
#include <ctime>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <mam/core/error.hpp>
#include <mam/distributed/mpi.hpp>

namespace {

int world_size() {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

/// 1 + 2 + ... + n
double triangle(int n) { return 0.5 * n * (n + 1); }

/// Rank r's i-th value: exact in float and double, and their sums too.
double value_of(int rank, std::size_t i) { return (rank + 1) * static_cast<double>(i % 1000) + 0.25 * rank; }

/// The sum over the ranks of value_of(rank, i).
double sum_of(int size, std::size_t i) {
  return triangle(size) * static_cast<double>(i % 1000) + 0.25 * triangle(size - 1);
}

template <class T>
std::vector<T> values_of(int rank, std::size_t count) {
  std::vector<T> values(count);
  for (std::size_t i = 0; i < count; ++i) values[i] = static_cast<T>(value_of(rank, i));
  return values;
}

/// count bytes, a pattern that starts at `seed` (zero bytes included).
std::string bytes_of(std::size_t count, int seed) {
  std::string bytes(count, '\0');
  for (std::size_t i = 0; i < count; ++i) {
    bytes[i] = static_cast<char>((i * 31 + static_cast<std::size_t>(seed) * 7) % 251);
  }
  return bytes;
}

template <class T>
bool sums_are_right(const std::vector<T>& values, int size) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i] != static_cast<T>(sum_of(size, i))) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("mpi: the chunks cover the range in order, none longer than the chunk", "[mpi]") {
  for (std::size_t total : {0, 1, 6, 7, 8, 20, 21}) {
    std::vector<std::pair<std::size_t, int>> pieces;
    mam::mpi::detail::for_each_chunk<7>(total, [&](std::size_t offset, int n) { pieces.emplace_back(offset, n); });
    CHECK(pieces.size() == (total + 6) / 7);
    std::size_t next = 0;
    for (const auto& [offset, n] : pieces) {
      CHECK(offset == next);
      CHECK(n >= 1);
      CHECK(n <= 7);
      next += static_cast<std::size_t>(n);
    }
    CHECK(next == total);
  }
  // The real chunk: counts above INT_MAX go in several calls of at most INT_MAX.
  const std::size_t huge = std::size_t{3} * INT_MAX + 5;
  std::vector<std::pair<std::size_t, int>> pieces;
  mam::mpi::detail::for_each_chunk<mam::mpi::detail::max_chunk>(huge, [&](std::size_t offset, int n) {
    pieces.emplace_back(offset, n);
  });
  REQUIRE(pieces.size() == 4);
  CHECK(pieces[0] == std::make_pair(std::size_t{0}, INT_MAX));
  CHECK(pieces[3] == std::make_pair(std::size_t{3} * INT_MAX, 5));
}

TEST_CASE("mpi: a failed MPI call becomes a mam::error naming the function, the call and MPI's reason",
          "[mpi]") {
  CHECK_NOTHROW(mam::mpi::detail::check(MPI_SUCCESS, "f", "MPI_Bcast"));
  try {
    mam::mpi::detail::check(MPI_ERR_COUNT, "mam::mpi::Communicator::sum", "MPI_Allreduce");
    FAIL("no exception");
  } catch (const mam::error& e) {
    const std::string message = e.what();
    CHECK_THAT(message, Catch::StartsWith("mam::mpi::Communicator::sum: expected MPI_Allreduce to succeed, got "));
    char reason[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(MPI_ERR_COUNT, reason, &length);
    CHECK_THAT(message, Catch::EndsWith(std::string(reason, static_cast<std::size_t>(length))));
  }
}

TEST_CASE("mpi: rank and size are MPI's, and every rank has its own", "[mpi]") {
  mam::mpi::Communicator world;
  int rank = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  CHECK(world.rank() == rank);
  CHECK(world.size() == world_size());
  // A duplicate: a communicator of its own, not MPI_COMM_WORLD itself.
  int comparison = MPI_UNEQUAL;
  MPI_Comm_compare(world.handle(), MPI_COMM_WORLD, &comparison);
  CHECK(comparison == MPI_CONGRUENT);

  const double mine = world.rank();
  std::vector<double> ranks(static_cast<std::size_t>(world.size()), -1.0);
  world.gather_all(&mine, 1, ranks.data());
  for (int r = 0; r < world.size(); ++r) CHECK(ranks[static_cast<std::size_t>(r)] == r);
}

TEST_CASE("mpi: sum adds every rank's doubles and floats, in every rank", "[mpi]") {
  mam::mpi::Communicator world;
  const int size = world.size();
  auto doubles = values_of<double>(world.rank(), 5000);
  world.sum(doubles.data(), doubles.size());
  CHECK(sums_are_right(doubles, size));
  auto floats = values_of<float>(world.rank(), 5000);
  world.sum(floats.data(), floats.size());
  CHECK(sums_are_right(floats, size));
  // Nothing to add is no error.
  world.sum(static_cast<double*>(nullptr), 0);
  world.sum(static_cast<float*>(nullptr), 0);

  // Across chunk boundaries: 7 + 7 + ... + 2 and an exact multiple.
  for (std::size_t count : {100, 98, 7, 1}) {
    auto d = values_of<double>(world.rank(), count);
    mam::mpi::detail::sum<7>(world.handle(), d.data(), d.size());
    CHECK(sums_are_right(d, size));
    auto f = values_of<float>(world.rank(), count);
    mam::mpi::detail::sum<7>(world.handle(), f.data(), f.size());
    CHECK(sums_are_right(f, size));
  }
}

TEST_CASE("mpi: gather_all puts every rank's values in rank order, in every rank", "[mpi]") {
  mam::mpi::Communicator world;
  const int size = world.size();
  const auto expect_all = [&](const std::vector<double>& all, std::size_t count) {
    REQUIRE(all.size() == static_cast<std::size_t>(size) * count);
    bool right = true;
    for (int r = 0; r < size; ++r) {
      for (std::size_t i = 0; i < count; ++i) {
        right = right && all[static_cast<std::size_t>(r) * count + i] == value_of(r, i);
      }
    }
    CHECK(right);
  };
  for (std::size_t count : {1, 3, 1000}) {
    const auto mine = values_of<double>(world.rank(), count);
    std::vector<double> all(static_cast<std::size_t>(size) * count, -1.0);
    world.gather_all(mine.data(), count, all.data());
    expect_all(all, count);
  }
  // Pieces of 3 of each rank's 10 (and 11) values, each landing at its rank's place.
  for (std::size_t count : {10, 11, 3}) {
    const auto mine = values_of<double>(world.rank(), count);
    std::vector<double> all(static_cast<std::size_t>(size) * count, -1.0);
    mam::mpi::detail::gather_all<3>(world.handle(), mine.data(), count, all.data());
    expect_all(all, count);
  }
  world.gather_all(static_cast<const double*>(nullptr), 0, static_cast<double*>(nullptr));
}

TEST_CASE("mpi: broadcast gives every rank rank 0's doubles, floats and bytes", "[mpi]") {
  mam::mpi::Communicator world;
  const bool root = world.rank() == 0;

  auto doubles = root ? values_of<double>(0, 777) : std::vector<double>(777, -1.0);
  world.broadcast(doubles.data(), doubles.size());
  CHECK(doubles == values_of<double>(0, 777));
  auto floats = root ? values_of<float>(7, 777) : std::vector<float>(777, -1.0f);
  world.broadcast(floats.data(), floats.size());
  CHECK(floats == values_of<float>(7, 777));
  auto chunked = root ? values_of<double>(3, 23) : std::vector<double>(23, -1.0);
  mam::mpi::detail::broadcast<5>(world.handle(), chunked.data(), chunked.size());
  CHECK(chunked == values_of<double>(3, 23));
  auto chunked_floats = root ? values_of<float>(3, 23) : std::vector<float>(23, -1.0f);
  mam::mpi::detail::broadcast<5>(world.handle(), chunked_floats.data(), chunked_floats.size());
  CHECK(chunked_floats == values_of<float>(3, 23));

  // Strings: resized to rank 0's, empty included, whatever each rank held before.
  std::string empty = root ? std::string() : bytes_of(10 + static_cast<std::size_t>(world.rank()), 1);
  world.broadcast(empty);
  CHECK(empty.empty());
  std::string small = root ? std::string("rank 0 speaks") : std::string();
  world.broadcast(small);
  CHECK(small == "rank 0 speaks");
  const std::string megabyte = bytes_of(std::size_t{1} << 20, 5);
  std::string big = root ? megabyte : bytes_of(3, world.rank());
  world.broadcast(big);
  CHECK(big.size() == megabyte.size());
  CHECK(big == megabyte);
  std::string chunked_big = root ? megabyte : std::string(2u << 20, 'x');
  mam::mpi::detail::broadcast<100000>(world.handle(), chunked_big);  // 11 pieces
  CHECK(chunked_big == megabyte);
}

TEST_CASE("mpi: gather_at_root collects every rank's bytes, of different sizes, at rank 0", "[mpi]") {
  mam::mpi::Communicator world;
  const int size = world.size();
  // Rank 1 sends nothing, rank 2 a megabyte, the others a few bytes of their own.
  const auto bytes_of_rank = [](int rank) {
    if (rank == 1) return std::string();
    if (rank == 2) return bytes_of(std::size_t{1} << 20, rank);
    return bytes_of(5 + 3 * static_cast<std::size_t>(rank), rank);
  };
  const auto expect_gathered = [&](const std::vector<std::string>& all) {
    if (world.rank() == 0) {
      REQUIRE(all.size() == static_cast<std::size_t>(size));
      for (int r = 0; r < size; ++r) CHECK(all[static_cast<std::size_t>(r)] == bytes_of_rank(r));
    } else {
      CHECK(all.empty());
    }
  };
  expect_gathered(world.gather_at_root(bytes_of_rank(world.rank())));
  // Rounds of at most 11 bytes in all (5 of each of 2 ranks, 3 of each of 3): each rank's
  // bytes arrive in several pieces.
  const auto small_of_rank = [](int rank) {
    return bytes_of(rank == 1 ? 0 : 13 + 9 * static_cast<std::size_t>(rank), rank);
  };
  const auto all = mam::mpi::detail::gather_at_root<11>(world.handle(), small_of_rank(world.rank()));
  if (world.rank() == 0) {
    REQUIRE(all.size() == static_cast<std::size_t>(size));
    for (int r = 0; r < size; ++r) CHECK(all[static_cast<std::size_t>(r)] == small_of_rank(r));
  } else {
    CHECK(all.empty());
  }
  // Nothing from anyone.
  const auto nothing = world.gather_at_root(std::string());
  CHECK(nothing.size() == (world.rank() == 0 ? static_cast<std::size_t>(size) : 0u));
  for (const auto& bytes : nothing) CHECK(bytes.empty());
}

TEST_CASE("mpi: a Communicator over a split communicator sees only its group", "[mpi]") {
  int world_rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  MPI_Comm parity = MPI_COMM_NULL;
  REQUIRE(MPI_Comm_split(MPI_COMM_WORLD, world_rank % 2, world_rank, &parity) == MPI_SUCCESS);
  {
    mam::mpi::Communicator group(parity);
    const int members = (world_size() + 1 - world_rank % 2) / 2;
    CHECK(group.size() == members);
    CHECK(group.rank() == world_rank / 2);
    double one = 1.0;
    group.sum(&one, 1);
    CHECK(one == members);
  }
  MPI_Comm_free(&parity);
}

TEST_CASE("mpi: a second Environment leaves MPI to the first", "[mpi]") {
  {
    const mam::mpi::Environment inner;  // MPI is already initialized: owns nothing
  }
  int finalized = 1;
  MPI_Finalized(&finalized);
  CHECK(finalized == 0);
  mam::mpi::Communicator world;  // still usable
  double one = 1.0;
  world.sum(&one, 1);
  CHECK(one == world.size());
}

TEST_CASE("mpi: wait_idle waits for the last rank without spinning", "[mpi]") {
  mam::mpi::Communicator world;
  const auto wall = std::chrono::steady_clock::now();
  const std::clock_t cpu = std::clock();
  // Rank 0 arrives 300 ms late, as if it were evaluating.
  if (world.rank() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  mam::mpi::wait_idle(world);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
  const double busy = static_cast<double>(std::clock() - cpu) / CLOCKS_PER_SEC;
  CHECK(waited >= 0.25);  // a barrier: nobody leaves before rank 0 arrives
  if (world.rank() != 0) CHECK(busy < 0.1);  // spinning would use ~0.3 s of CPU
  // Everyone still together afterwards.
  double one = 1.0;
  world.sum(&one, 1);
  CHECK(one == world.size());
}

TEST_CASE("mpi: run_or_abort returns the body's exit code when nothing throws", "[mpi]") {
  mam::mpi::Communicator world;
  int reports = 0;
  const int code = mam::mpi::run_or_abort(
      world, [&] { return 3 + world.rank(); }, [&](const char*) { ++reports; });
  CHECK(code == 3 + world.rank());
  CHECK(reports == 0);
}

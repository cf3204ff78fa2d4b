#pragma once
// A mam::ProcessGroup of threads in one process, for testing data-parallel trainers without
// MPI (and under the sanitizers): run_processes(n, body) runs body(group) on n threads, each
// with its own rank. The collectives meet at a barrier; sums add the ranks' values in rank
// order, as a reduction over 2 MPI processes does.

#include <condition_variable>
#include <cstddef>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <mam/train/process_group.hpp>

namespace mam::test {

class ThreadHub {
 public:
  explicit ThreadHub(int size) : size_(size), slots_(static_cast<std::size_t>(size)) {}

  int size() const { return size_; }

  // Every rank waits here until all have arrived.
  void barrier() {
    std::unique_lock<std::mutex> lock(mutex_);
    const long generation = generation_;
    if (++arrived_ == size_) {
      arrived_ = 0;
      ++generation_;
      arrived_all_.notify_all();
      return;
    }
    arrived_all_.wait(lock, [&] { return generation_ != generation; });
  }

  // The slot through which a rank shows its data to the others between two barriers.
  const void*& slot(int rank) { return slots_[static_cast<std::size_t>(rank)]; }

 private:
  int size_;
  std::mutex mutex_;
  std::condition_variable arrived_all_;
  int arrived_ = 0;
  long generation_ = 0;
  std::vector<const void*> slots_;
};

class ThreadProcessGroup final : public ProcessGroup {
 public:
  ThreadProcessGroup(ThreadHub& hub, int rank) : hub_(hub), rank_(rank) {}

  int rank() const override { return rank_; }
  int size() const override { return hub_.size(); }

  void sum(double* values, std::size_t count) override { sum_of(values, count); }
  void sum(float* values, std::size_t count) override { sum_of(values, count); }

  void gather_all(const double* values, std::size_t count, double* all) override {
    publish(values);
    for (int r = 0; r < size(); ++r)
      std::memcpy(all + static_cast<std::size_t>(r) * count, hub_.slot(r), count * sizeof(double));
    hub_.barrier();
  }

  void broadcast(double* values, std::size_t count) override { broadcast_of(values, count); }
  void broadcast(float* values, std::size_t count) override { broadcast_of(values, count); }
  void broadcast(std::string& bytes) override {
    publish(&bytes);
    if (rank_ != 0) bytes = *static_cast<const std::string*>(hub_.slot(0));
    hub_.barrier();
  }

  std::vector<std::string> gather_at_root(const std::string& bytes) override {
    publish(&bytes);
    std::vector<std::string> all;
    if (rank_ == 0)
      for (int r = 0; r < size(); ++r) all.push_back(*static_cast<const std::string*>(hub_.slot(r)));
    hub_.barrier();
    return all;
  }

 private:
  // Shows `data` to the other ranks; returns once every rank has shown its own.
  void publish(const void* data) {
    hub_.slot(rank_) = data;
    hub_.barrier();
  }

  template <class T>
  void sum_of(T* values, std::size_t count) {
    std::vector<T> mine(values, values + count);
    publish(mine.data());
    for (std::size_t i = 0; i < count; ++i) {
      T total = static_cast<const T*>(hub_.slot(0))[i];
      for (int r = 1; r < size(); ++r) total += static_cast<const T*>(hub_.slot(r))[i];
      values[i] = total;
    }
    hub_.barrier();
  }

  template <class T>
  void broadcast_of(T* values, std::size_t count) {
    publish(values);
    if (rank_ != 0) std::memcpy(values, hub_.slot(0), count * sizeof(T));
    hub_.barrier();
  }

  ThreadHub& hub_;
  int rank_;
};

/// Runs body(group, rank) on `size` threads, one rank each, and rethrows the first exception
/// a rank threw (after every thread has ended).
inline void run_processes(int size, const std::function<void(ProcessGroup&, int)>& body) {
  ThreadHub hub(size);
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(size));
  std::vector<std::thread> threads;
  for (int r = 0; r < size; ++r)
    threads.emplace_back([&, r] {
      ThreadProcessGroup group(hub, r);
      try {
        body(group, r);
      } catch (...) {
        errors[static_cast<std::size_t>(r)] = std::current_exception();
      }
    });
  for (auto& thread : threads) thread.join();
  for (const auto& error : errors)
    if (error) std::rethrow_exception(error);
}

}  // namespace mam::test

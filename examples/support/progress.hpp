#pragma once
// A one-line progress bar with elapsed time, ETA and live metrics, redrawn in place on a
// terminal and printed every few percent otherwise (so CI logs stay readable).

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace mam::examples {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label) : label_(std::move(label)), terminal_(::isatty(STDERR_FILENO) != 0) {}

  /// `fraction` of the work done (0..1); `metrics` is appended as is.
  void update(double fraction, const std::string& metrics) {
    const double elapsed = seconds();
    const int percent = static_cast<int>(fraction * 100.0);
    if (!terminal_ && percent < next_percent_ && fraction < 1.0) return;
    next_percent_ = percent + 5;
    const double eta = fraction > 0.0 ? elapsed * (1.0 - fraction) / fraction : 0.0;
    constexpr int width = 24;
    const int filled = static_cast<int>(fraction * width);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "%s%s [%s] %3d%% %s elapsed, ETA %s  %s%s", terminal_ ? "\r" : "", label_.c_str(),
                 bar.c_str(), percent, clock(elapsed).c_str(), clock(eta).c_str(), metrics.c_str(),
                 terminal_ ? "\033[K" : "\n");
    std::fflush(stderr);
  }

  void finish() {
    if (terminal_) std::fputc('\n', stderr);
  }

  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  static std::string clock(double seconds) {
    const long s = static_cast<long>(seconds + 0.5);
    char text[32];
    std::snprintf(text, sizeof text, "%ld:%02ld", s / 60, s % 60);
    return text;
  }

  std::string label_;
  bool terminal_;
  int next_percent_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace mam::examples

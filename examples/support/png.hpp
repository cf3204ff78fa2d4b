#pragma once
// Small RGB raster pictures for the examples: lattice/image grids and line plots with text
// (stb_easy_font), written as PNG by stb_image_write (Debian's libstb), atomically.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <stb_easy_font.h>
#include <stb_image_write.h>

#include <mam/core/error.hpp>
#include <mam/core/types.hpp>

namespace mam::examples {

struct Color {
  std::uint8_t r, g, b;
};

class Canvas {
 public:
  Canvas(int width, int height, Color background = {255, 255, 255})
      : width_(width), height_(height), pixels_(static_cast<std::size_t>(width * height * 3)) {
    fill_rect(0, 0, width, height, background);
  }

  int width() const { return width_; }
  int height() const { return height_; }

  void set(int x, int y, Color c) {
    if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
    std::uint8_t* p = &pixels_[static_cast<std::size_t>((y * width_ + x) * 3)];
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
  }

  void fill_rect(int x, int y, int w, int h, Color c) {
    for (int j = y; j < y + h; ++j)
      for (int i = x; i < x + w; ++i) set(i, j, c);
  }

  void line(double x0, double y0, double x1, double y1, Color c) {
    const int steps = static_cast<int>(std::max(std::abs(x1 - x0), std::abs(y1 - y0))) + 1;
    for (int s = 0; s <= steps; ++s) {
      const double t = static_cast<double>(s) / steps;
      set(static_cast<int>(std::lround(x0 + t * (x1 - x0))), static_cast<int>(std::lround(y0 + t * (y1 - y0))), c);
    }
  }

  /// Text with its top-left corner at (x, y); each font pixel becomes scale x scale pixels.
  void text(int x, int y, const std::string& text, Color c, int scale = 2) {
    std::vector<char> buffer(text.size() * 300 + 64);
    char* copy = const_cast<char*>(text.c_str());
    const int quads = stb_easy_font_print(0, 0, copy, nullptr, buffer.data(), static_cast<int>(buffer.size()));
    for (int q = 0; q < quads; ++q) {
      // Each quad is 4 vertices of 16 bytes (x, y, z floats and a color).
      const float* v0 = reinterpret_cast<const float*>(buffer.data() + q * 64);
      const float* v2 = reinterpret_cast<const float*>(buffer.data() + q * 64 + 32);
      fill_rect(x + static_cast<int>(v0[0]) * scale, y + static_cast<int>(v0[1]) * scale,
                static_cast<int>(v2[0] - v0[0]) * scale, static_cast<int>(v2[1] - v0[1]) * scale, c);
    }
  }

  /// Writes the picture as PNG, atomically.
  void save_png(const std::string& path) const {
    const std::string temporary = path + ".tmp";
    if (stbi_write_png(temporary.c_str(), width_, height_, 3, pixels_.data(), width_ * 3) == 0)
      throw io_error("cannot write PNG '" + temporary + "'");
    std::error_code error;
    std::filesystem::rename(temporary, path, error);
    if (error) throw io_error("cannot rename '" + temporary + "' to '" + path + "': " + error.message());
  }

 private:
  int width_, height_;
  std::vector<std::uint8_t> pixels_;
};

/// Draws the columns of `samples` (side x side lattices of K values) as a grid of tiles at
/// (x, y): `columns` tiles per row, `cell` pixels per site, value 0 white .. K-1 black, '?'
/// (mam::unknown) light blue.
inline void draw_lattices(Canvas& canvas, const CodeMatrix& samples, int side, int num_values, int columns,
                          int cell, int x, int y) {
  const int gap = cell;
  for (Index s = 0; s < samples.cols(); ++s) {
    const int tx = x + static_cast<int>(s % columns) * (side * cell + gap);
    const int ty = y + static_cast<int>(s / columns) * (side * cell + gap);
    for (int r = 0; r < side; ++r)
      for (int c = 0; c < side; ++c) {
        const Code v = samples(r * side + c, s);
        if (v == unknown) {
          canvas.fill_rect(tx + c * cell, ty + r * cell, cell, cell, {150, 190, 240});
          continue;
        }
        const auto shade = static_cast<std::uint8_t>(255 - (num_values > 1 ? 255 * v / (num_values - 1) : 0));
        canvas.fill_rect(tx + c * cell, ty + r * cell, cell, cell, {shade, shade, shade});
      }
  }
}

struct Series {
  std::string name;
  std::vector<double> x, y;
  Color color;
};

/// A line plot of several series in one panel, with min/max labels on both axes.
inline Canvas line_plot(const std::string& title, const std::string& x_label, const std::vector<Series>& series,
                        int width = 720, int height = 420) {
  Canvas canvas(width, height);
  const int left = 90, right = 20, top = 40, bottom = 50;
  double x_min = std::numeric_limits<double>::infinity(), x_max = -x_min, y_min = x_min, y_max = -x_min;
  for (const auto& s : series)
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      x_min = std::min(x_min, s.x[i]);
      x_max = std::max(x_max, s.x[i]);
      y_min = std::min(y_min, s.y[i]);
      y_max = std::max(y_max, s.y[i]);
    }
  if (!(x_max > x_min)) x_max = x_min + 1.0;
  if (!(y_max > y_min)) y_max = y_min + 1.0;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  auto px = [&](double x) { return left + (x - x_min) / (x_max - x_min) * plot_w; };
  auto py = [&](double y) { return top + (1.0 - (y - y_min) / (y_max - y_min)) * plot_h; };
  const Color axis{0, 0, 0};
  canvas.line(left, top, left, top + plot_h, axis);
  canvas.line(left, top + plot_h, left + plot_w, top + plot_h, axis);
  auto number = [](double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.4g", v);
    return std::string(text);
  };
  canvas.text(left, 10, title, axis);
  canvas.text(4, static_cast<int>(top), number(y_max), axis);
  canvas.text(4, static_cast<int>(top + plot_h) - 14, number(y_min), axis);
  canvas.text(left, static_cast<int>(top + plot_h) + 8, number(x_min), axis);
  canvas.text(static_cast<int>(left + plot_w) - 60, static_cast<int>(top + plot_h) + 8, number(x_max), axis);
  canvas.text(static_cast<int>(left + plot_w / 2) - 30, static_cast<int>(top + plot_h) + 28, x_label, axis);
  int legend_y = top + 6;
  for (const auto& s : series) {
    for (std::size_t i = 1; i < s.x.size(); ++i)
      if (std::isfinite(s.y[i - 1]) && std::isfinite(s.y[i]))
        canvas.line(px(s.x[i - 1]), py(s.y[i - 1]), px(s.x[i]), py(s.y[i]), s.color);
    canvas.fill_rect(width - right - 300, legend_y + 4, 14, 4, s.color);
    canvas.text(width - right - 280, legend_y, s.name, s.color);
    legend_y += 20;
  }
  return canvas;
}

struct Histogram {
  std::string name;
  std::vector<double> values;  ///< non-finite values are left out
  Color color;
};

struct Marker {
  std::string name;
  double x;
  Color color;
};

/// Histograms of several sets of values over one range, as the fraction of each set per bin
/// (so sets of different sizes compare): the first set filled, the others as outlines, with
/// vertical marker lines (e.g. a target value). The range covers all values and markers.
inline Canvas histogram_plot(const std::string& title, const std::string& x_label,
                             const std::vector<Histogram>& histograms, const std::vector<Marker>& markers = {},
                             int bins = 40, int width = 720, int height = 420) {
  Canvas canvas(width, height);
  const int left = 90, right = 20, top = 40, bottom = 50;
  double x_min = std::numeric_limits<double>::infinity(), x_max = -x_min;
  for (const auto& h : histograms)
    for (double v : h.values)
      if (std::isfinite(v)) {
        x_min = std::min(x_min, v);
        x_max = std::max(x_max, v);
      }
  for (const auto& m : markers) {
    x_min = std::min(x_min, m.x);
    x_max = std::max(x_max, m.x);
  }
  if (!std::isfinite(x_min)) x_min = 0.0, x_max = 1.0;
  if (!(x_max > x_min)) x_max = x_min + 1.0;
  const double bin_width = (x_max - x_min) / bins;
  std::vector<std::vector<double>> fractions;
  double y_max = 0.0;
  for (const auto& h : histograms) {
    std::vector<double> counts(static_cast<std::size_t>(bins), 0.0);
    double total = 0.0;
    for (double v : h.values)
      if (std::isfinite(v)) {
        const int b = std::min(bins - 1, static_cast<int>((v - x_min) / bin_width));
        counts[static_cast<std::size_t>(b)] += 1.0;
        total += 1.0;
      }
    for (double& c : counts) {
      c = total > 0.0 ? c / total : 0.0;
      y_max = std::max(y_max, c);
    }
    fractions.push_back(std::move(counts));
  }
  if (!(y_max > 0.0)) y_max = 1.0;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  auto px = [&](double x) { return left + (x - x_min) / (x_max - x_min) * plot_w; };
  auto py = [&](double y) { return top + (1.0 - y / y_max) * plot_h; };
  const Color axis{0, 0, 0};
  auto number = [](double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.4g", v);
    return std::string(text);
  };
  for (std::size_t s = 0; s < fractions.size(); ++s) {
    const Color c = histograms[s].color;
    for (int b = 0; b < bins; ++b) {
      const double x0 = px(x_min + b * bin_width), x1 = px(x_min + (b + 1) * bin_width);
      const double y = py(fractions[s][static_cast<std::size_t>(b)]);
      if (s == 0) {
        const Color light{static_cast<std::uint8_t>(255 - (255 - c.r) / 2), static_cast<std::uint8_t>(255 - (255 - c.g) / 2),
                          static_cast<std::uint8_t>(255 - (255 - c.b) / 2)};
        canvas.fill_rect(static_cast<int>(x0), static_cast<int>(y), std::max(1, static_cast<int>(x1 - x0)),
                         static_cast<int>(top + plot_h - y), light);
      }
      canvas.line(x0, y, x1, y, c);
      if (b > 0) canvas.line(x0, py(fractions[s][static_cast<std::size_t>(b - 1)]), x0, y, c);
    }
  }
  int legend_y = top + 6;
  for (const auto& m : markers) {
    for (double y = top; y < top + plot_h; y += 6) canvas.line(px(m.x), y, px(m.x), y + 3, m.color);
    canvas.fill_rect(width - right - 300, legend_y + 4, 14, 4, m.color);
    canvas.text(width - right - 280, legend_y, m.name, m.color);
    legend_y += 20;
  }
  for (const auto& h : histograms) {
    canvas.fill_rect(width - right - 300, legend_y + 4, 14, 4, h.color);
    canvas.text(width - right - 280, legend_y, h.name, h.color);
    legend_y += 20;
  }
  canvas.line(left, top, left, top + plot_h, axis);
  canvas.line(left, top + plot_h, left + plot_w, top + plot_h, axis);
  canvas.text(left, 10, title, axis);
  canvas.text(4, static_cast<int>(top), number(y_max), axis);
  canvas.text(4, static_cast<int>(top + plot_h) - 14, "0", axis);
  canvas.text(left, static_cast<int>(top + plot_h) + 8, number(x_min), axis);
  canvas.text(static_cast<int>(left + plot_w) - 60, static_cast<int>(top + plot_h) + 8, number(x_max), axis);
  canvas.text(static_cast<int>(left + plot_w / 2) - 30, static_cast<int>(top + plot_h) + 28, x_label, axis);
  return canvas;
}

}  // namespace mam::examples

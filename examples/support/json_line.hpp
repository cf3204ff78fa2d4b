#pragma once
// The examples' last line of output: one JSON object on one line, built field by field, so
// scripts can read a run's results without parsing its prose.

#include <cmath>
#include <cstdio>
#include <string>
#include <type_traits>

namespace mam::examples {

/// A number as JSON. A non-finite value, such as the exact log Z of a lattice too wide for
/// the transfer matrix, becomes null: printf's "nan" is not JSON.
inline std::string json_number(double value) {
  if (!std::isfinite(value)) return "null";
  char text[32];
  std::snprintf(text, sizeof text, "%.10g", value);
  return text;
}

class JsonLine {
 public:
  JsonLine& add(const std::string& key, double value) { return raw(key, json_number(value)); }
  template <class Integer, std::enable_if_t<std::is_integral<Integer>::value, int> = 0>
  JsonLine& add(const std::string& key, Integer value) {
    return raw(key, std::to_string(value));
  }
  JsonLine& add(const std::string& key, const std::string& value) { return raw(key, quoted(value)); }
  JsonLine& add(const std::string& key, const char* value) { return raw(key, quoted(value)); }
  JsonLine& add(const std::string& key, const JsonLine& object) { return raw(key, object.str()); }

  std::string str() const { return "{" + fields_ + "}"; }

 private:
  // Keys and strings here are the program's own names (no quotes or control characters);
  // escaping keeps the line valid JSON whatever a caller passes.
  static std::string quoted(const std::string& text) {
    std::string out = "\"";
    for (const char c : text) {
      if (c == '"' || c == '\\') out += '\\';
      if (static_cast<unsigned char>(c) < 0x20) {
        char escape[8];
        std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(c));
        out += escape;
      } else {
        out += c;
      }
    }
    return out + "\"";
  }
  JsonLine& raw(const std::string& key, const std::string& value) {
    fields_ += (fields_.empty() ? "" : ", ") + quoted(key) + ": " + value;
    return *this;
  }
  std::string fields_;
};

}  // namespace mam::examples

// How the prune tables print a quantity before and after: "64 -> 32", and " (0.266x)".
//
//   pare::cli::change(1814073344, 483149824) + pare::cli::ratio(1814073344, 483149824)
//   // "1814073344 -> 483149824 (0.266x)"
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace pare::cli {

inline std::string change(int64_t before, int64_t after) {
  return std::to_string(before) + " -> " + std::to_string(after);
}

// Empty when `before` is 0 (no ratio to give).
inline std::string ratio(int64_t before, int64_t after) {
  if (before == 0) return "";
  char text[32];
  std::snprintf(text, sizeof(text), " (%.3fx)", static_cast<double>(after) / before);
  return text;
}

}  // namespace pare::cli

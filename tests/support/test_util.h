// Helpers shared by the tests: seeded random buffers and closeness checks.
//
//   auto x = pare::testing::random_floats(64, /*seed=*/1);
//   CHECK(pare::testing::max_abs_diff(a, b) <= 1e-5);
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace pare::testing {

// Uniform floats in [low, high) from a fixed seed, so every run sees the same inputs.
inline std::vector<float> random_floats(size_t count, uint32_t seed, float low = -1.0f,
                                        float high = 1.0f) {
  std::mt19937 generator(seed);
  std::uniform_real_distribution<float> distribution(low, high);
  std::vector<float> values(count);
  for (float& value : values) value = distribution(generator);
  return values;
}

inline double max_abs_diff(const float* a, const float* b, size_t count) {
  double worst = 0.0;
  for (size_t i = 0; i < count; ++i) {
    double diff = std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
    if (std::isnan(diff)) return INFINITY;
    worst = std::max(worst, diff);
  }
  return worst;
}

inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  return max_abs_diff(a.data(), b.data(), a.size());
}

// Largest |a - b| / (atol/rtol + rtol * |b|) style check: passes when every element satisfies
// |a - b| <= atol + rtol * |b| (numpy.allclose semantics).
inline bool allclose(const float* a, const float* b, size_t count, double rtol, double atol) {
  for (size_t i = 0; i < count; ++i) {
    double diff = std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
    if (!(diff <= atol + rtol * std::fabs(static_cast<double>(b[i])))) return false;
  }
  return true;
}

inline bool allclose(const std::vector<float>& a, const std::vector<float>& b, double rtol,
                     double atol) {
  return a.size() == b.size() && allclose(a.data(), b.data(), a.size(), rtol, atol);
}

}  // namespace pare::testing

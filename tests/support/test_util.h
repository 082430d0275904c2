// Helpers shared by the tests: seeded random buffers and tensors, closeness checks, and the
// message of the pare::Error an action throws.
//
//   auto x = pare::testing::random_floats(64, /*seed=*/1);
//   CHECK(pare::testing::max_abs_diff(a, b) <= 1e-5);
//   CHECK(pare::testing::contains(pare::testing::error_of([&] { model.forward(bad); }), "fc1"));
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "pare/pare.h"

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

// The elements of `tensor` in row-major order, whatever its strides.
inline std::vector<float> values(const Tensor& tensor) {
  return to_float_vector(tensor.detach().contiguous());
}

inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return max_abs_diff(values(a), values(b));
}

// Same length and every element within `tolerance`.
inline bool near(const std::vector<float>& a, const std::vector<float>& b,
                 double tolerance = 1e-5) {
  return a.size() == b.size() && max_abs_diff(a, b) <= tolerance;
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

// A float32 tensor of `shape` with random_floats(numel, seed, low, high).
inline Tensor random_tensor(const Shape& shape, uint32_t seed, float low = -1.0f,
                            float high = 1.0f) {
  return tensor(random_floats(shape_numel(shape), seed, low, high), shape);
}

// Copies `values` (row-major, one per element) into `target` without recording autograd.
inline void assign(Tensor target, const std::vector<float>& values) {
  NoGradGuard no_grad;
  target.copy_(tensor(values, target.sizes()));
}

// Overwrites every float32 tensor of the module's state_dict with random_tensor, seeds counting
// up from `seed` in state_dict order.
inline void fill_parameters(nn::Module& module, uint32_t seed) {
  NoGradGuard no_grad;
  for (auto& [name, tensor] : module.state_dict())
    if (tensor.dtype() == kFloat32) tensor.copy_(random_tensor(tensor.sizes(), seed++));
}

// The message of the pare::Error that `action` throws ("" if it does not throw).
inline std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// How many times `part` occurs in `text` (overlapping ones too).
inline int count(const std::string& text, const std::string& part) {
  int found = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++found;
  return found;
}

// Whether `run` throws a pare::Error whose message has every one of `parts` (the first missing one
// is reported).
inline bool throws_with(const std::function<void()>& run,
                        std::initializer_list<std::string> parts) {
  const std::string message = error_of(run);
  if (message.empty()) return false;
  for (const std::string& part : parts)
    if (message.find(part) == std::string::npos) {
      MESSAGE("message lacks '", part, "': ", message);
      return false;
    }
  return true;
}

}  // namespace pare::testing

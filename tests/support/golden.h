// The PyTorch golden files of tests/golden/ (written by scripts/make_goldens.py; the layout is in
// tests/golden/README.md) and a closeness check that names the case and the worst element.
//
//   pare::testing::GoldenFile golden("linear");            // tests/golden/linear.safetensors
//   for (const std::string& name : golden.cases()) {
//     nlohmann::json arguments = golden.arguments(name);    // {"type": "Linear", ...}
//     pare::Tensor x = golden.get(name, "input");
//     module->load_state_dict(golden.state_dict(name, "param."));
//     pare::testing::check_close(module->forward(x), golden.get(name, "output"),
//                                name + ".output", pare::testing::kMatmulTolerance);
//   }
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "pare/pare.h"

namespace pare::testing {

// |actual - expected| <= atol + rtol * |expected| for every element (numpy.allclose).
struct Tolerance {
  double rtol;
  double atol;
};
// Elementwise ops, activations, losses, norms, pooling, optimiser steps.
inline constexpr Tolerance kElementwiseTolerance{1e-5, 1e-6};
// Ops with long dot products: linear, conv, LSTM.
inline constexpr Tolerance kMatmulTolerance{1e-4, 1e-5};

class GoldenFile {
 public:
  // Reads PARE_GOLDEN_DIR/<stem>.safetensors.
  explicit GoldenFile(const std::string& stem)
      : file_(read_safetensors(std::string(PARE_GOLDEN_DIR) + "/" + stem + ".safetensors")) {}

  // Every case of the file (the keys of its metadata), sorted.
  std::vector<std::string> cases() const {
    std::vector<std::string> names;
    for (const auto& [name, arguments] : file_.metadata) names.push_back(name);
    return names;
  }
  // The case's construction arguments, under PyTorch's names.
  nlohmann::json arguments(const std::string& name) const {
    return nlohmann::json::parse(file_.metadata.at(name));
  }
  Tensor get(const std::string& name, const std::string& what) const {
    return file_.get(name + "." + what);
  }
  bool contains(const std::string& name, const std::string& what) const {
    return file_.contains(name + "." + what);
  }
  // The tensors "<name>.<group><key>", keyed by <key>, in file order (e.g. group "param." gives
  // the state_dict the case started from, "grad." the parameter gradients).
  nn::StateDict group(const std::string& name, const std::string& group) const {
    const std::string prefix = name + "." + group;
    nn::StateDict entries;
    for (const auto& [key, tensor] : file_.tensors) {
      if (key.rfind(prefix, 0) == 0) entries.emplace_back(key.substr(prefix.size()), tensor);
    }
    return entries;
  }

 private:
  SafetensorsFile file_;
};

inline std::string index_string(int64_t flat_index, const Shape& shape) {
  std::vector<int64_t> index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    index[d] = flat_index % shape[d];
    flat_index /= shape[d];
  }
  return to_string(index);
}

// One CHECK that `actual` matches the golden `expected` (same shape, every element within
// `tolerance`); on failure the message names `label`, the worst element's index and both values.
inline void check_close(const Tensor& actual, const Tensor& expected, const std::string& label,
                        Tolerance tolerance) {
  if (!actual.defined()) {
    FAIL_CHECK(label << ": pare gave no tensor (undefined), PyTorch gave shape "
                     << to_string(expected.sizes()));
    return;
  }
  if (actual.sizes() != expected.sizes()) {
    FAIL_CHECK(label << ": shape " << to_string(actual.sizes()) << " from pare, "
                     << to_string(expected.sizes()) << " from PyTorch");
    return;
  }
  const std::vector<float> got = to_float_vector(actual);
  const std::vector<float> want = to_float_vector(expected);
  int64_t worst_index = -1;
  double worst_excess = 0.0;  // |diff| / allowed; above 1 fails
  for (size_t i = 0; i < want.size(); ++i) {
    const double diff = std::fabs(static_cast<double>(got[i]) - static_cast<double>(want[i]));
    const double allowed =
        tolerance.atol + tolerance.rtol * std::fabs(static_cast<double>(want[i]));
    const double excess = std::isnan(diff) ? INFINITY : diff / allowed;
    if (worst_index < 0 || excess > worst_excess) {
      worst_index = static_cast<int64_t>(i);
      worst_excess = excess;
    }
  }
  if (worst_index < 0) return;
  std::ostringstream message;
  message.precision(9);
  message << label << ": worst element " << index_string(worst_index, expected.sizes()) << " pare "
          << got[worst_index] << " PyTorch " << want[worst_index] << " (|diff| "
          << std::fabs(static_cast<double>(got[worst_index]) - want[worst_index]) << ", allowed "
          << tolerance.atol << " + " << tolerance.rtol << " * |PyTorch|)";
  CHECK_MESSAGE(worst_excess <= 1.0, message.str());
}

// Integer tensors (labels, counters) must match exactly.
inline void check_equal_int64(const Tensor& actual, const Tensor& expected,
                              const std::string& label) {
  REQUIRE_MESSAGE(actual.defined(), label << ": pare gave no tensor");
  CHECK_MESSAGE(actual.sizes() == expected.sizes(), label << ": shape " << to_string(actual.sizes())
                                                          << " vs " << to_string(expected.sizes()));
  const std::vector<int64_t> got = to_int64_vector(actual);
  const std::vector<int64_t> want = to_int64_vector(expected);
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    if (got[i] != want[i]) {
      FAIL_CHECK(label << ": element " << index_string(static_cast<int64_t>(i), expected.sizes())
                       << " pare " << got[i] << " PyTorch " << want[i]);
      return;
    }
  }
}

}  // namespace pare::testing

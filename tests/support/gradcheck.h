// Finite-difference gradient check shared by the engine tests.
//
//   auto x = pare::randn({3, 4}).set_requires_grad(true);
//   CHECK(pare::testing::gradcheck([](const std::vector<pare::Tensor>& in) {
//     return pare::tanh(in[0]);
//   }, {x}));
//
// The check contracts the op's output with a fixed random tensor r (loss = sum(f(x) * r)),
// compares autograd's d loss / d input with central differences in float64 accumulation, and
// prints the worst element when it fails.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <iostream>
#include <random>
#include <vector>

#include "pare/pare.h"

namespace pare::testing {

inline double contract(const Tensor& output, const std::vector<double>& weights) {
  Tensor values = output.detach().contiguous();
  const float* data = values.data_ptr<float>();
  double total = 0.0;
  for (int64_t i = 0; i < values.numel(); ++i) total += static_cast<double>(data[i]) * weights[i];
  return total;
}

struct GradcheckOptions {
  double eps = 1e-3;
  double rtol = 1e-2;
  double atol = 1e-3;
  uint32_t seed = 7;
};

// Inputs that should be checked must be float32 leaves with requires_grad set.
inline bool gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& function,
                      std::vector<Tensor> inputs, GradcheckOptions options = {}) {
  Tensor output = function(inputs);
  std::mt19937 generator(options.seed);
  std::uniform_real_distribution<double> distribution(-1.0, 1.0);
  std::vector<double> weights(output.numel());
  for (double& w : weights) w = distribution(generator);
  std::vector<float> weights_float(weights.begin(), weights.end());
  for (Tensor& input : inputs)
    if (input.defined() && input.requires_grad()) input.mutable_grad() = Tensor();
  output.backward(pare::tensor(weights_float).reshape(output.sizes()));

  bool ok = true;
  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor& input = inputs[k];
    if (!input.defined() || !input.requires_grad()) continue;
    REQUIRE(input.is_contiguous());
    Tensor analytic = input.grad().defined() ? input.grad().contiguous() : pare::zeros_like(input);
    float* data = input.data_ptr<float>();
    const float* grad = analytic.data_ptr<float>();
    for (int64_t i = 0; i < input.numel(); ++i) {
      const float original = data[i];
      double plus, minus;
      {
        NoGradGuard no_grad;
        data[i] = static_cast<float>(original + options.eps);
        plus = contract(function(inputs), weights);
        data[i] = static_cast<float>(original - options.eps);
        minus = contract(function(inputs), weights);
        data[i] = original;
      }
      // Divide by the step actually taken in float32, not the nominal eps.
      double step = static_cast<double>(static_cast<float>(original + options.eps)) -
                    static_cast<double>(static_cast<float>(original - options.eps));
      double numeric = (plus - minus) / step;
      double diff = std::fabs(numeric - grad[i]);
      if (diff > options.atol + options.rtol * std::fabs(numeric)) {
        std::cerr << "gradcheck: input " << k << " element " << i << ": autograd " << grad[i]
                  << " vs finite difference " << numeric << "\n";
        ok = false;
        break;
      }
    }
  }
  return ok;
}

}  // namespace pare::testing

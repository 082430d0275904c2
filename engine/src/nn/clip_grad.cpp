#include "pare/nn/clip_grad.h"

#include <algorithm>
#include <cmath>

#include "pare/autograd.h"

namespace pare::nn::utils {

double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type) {
  PARE_CHECK(norm_type > 0, "clip_grad_norm_: norm_type must be positive, got ", norm_type);
  NoGradGuard no_grad;
  std::vector<Tensor> grads;
  for (const Tensor& parameter : parameters) {
    const Tensor& grad = parameter.grad();
    if (grad.defined()) grads.push_back(grad);
  }
  double total = 0.0;
  for (const Tensor& grad : grads) {
    Tensor dense = grad.contiguous();
    const float* values = dense.data_ptr<float>();
    for (int64_t i = 0; i < dense.numel(); ++i) {
      double magnitude = std::fabs(static_cast<double>(values[i]));
      total = std::isinf(norm_type) ? std::max(total, magnitude)
                                    : total + std::pow(magnitude, norm_type);
    }
  }
  if (!std::isinf(norm_type)) total = std::pow(total, 1.0 / norm_type);
  const double coefficient = max_norm / (total + 1e-6);
  if (coefficient < 1.0) {
    for (const Tensor& grad : grads) {
      Tensor target = grad;
      target.mul_(coefficient);
    }
  }
  return total;
}

}  // namespace pare::nn::utils

// Tensor's math methods (forwarders to the free functions) and its in-place updates.
#include <algorithm>

#include "pare/autograd.h"
#include "pare/elementwise.h"
#include "pare/functional.h"
#include "pare/linalg.h"
#include "pare/observer.h"
#include "pare/random.h"
#include "pare/reduction.h"
#include "pare/tensor.h"

namespace pare {

Tensor Tensor::abs() const { return pare::abs(*this); }
Tensor Tensor::exp() const { return pare::exp(*this); }
Tensor Tensor::log() const { return pare::log(*this); }
Tensor Tensor::sqrt() const { return pare::sqrt(*this); }
Tensor Tensor::neg() const { return pare::neg(*this); }
Tensor Tensor::pow(double exponent) const { return pare::pow(*this, exponent); }
Tensor Tensor::clamp(double min_value, double max_value) const {
  return pare::clamp(*this, min_value, max_value);
}
Tensor Tensor::relu() const { return pare::relu(*this); }
Tensor Tensor::sigmoid() const { return pare::sigmoid(*this); }
Tensor Tensor::tanh() const { return pare::tanh(*this); }
Tensor Tensor::sum() const { return pare::sum(*this); }
Tensor Tensor::sum(const Shape& dims, bool keepdim) const {
  return pare::sum(*this, dims, keepdim);
}
Tensor Tensor::mean() const { return pare::mean(*this); }
Tensor Tensor::mean(const Shape& dims, bool keepdim) const {
  return pare::mean(*this, dims, keepdim);
}
Tensor Tensor::max() const { return pare::max(*this); }
std::tuple<Tensor, Tensor> Tensor::max(int64_t dim, bool keepdim) const {
  return pare::max(*this, dim, keepdim);
}
Tensor Tensor::min() const { return pare::min(*this); }
std::tuple<Tensor, Tensor> Tensor::min(int64_t dim, bool keepdim) const {
  return pare::min(*this, dim, keepdim);
}
Tensor Tensor::argmax(int64_t dim, bool keepdim) const { return pare::argmax(*this, dim, keepdim); }
Tensor Tensor::norm(double p) const { return pare::norm(*this, p); }
Tensor Tensor::norm(double p, const Shape& dims, bool keepdim) const {
  return pare::norm(*this, p, dims, keepdim);
}
Tensor Tensor::matmul(const Tensor& other) const { return pare::matmul(*this, other); }

namespace {

void check_inplace(const Tensor& tensor, const char* op) {
  PARE_CHECK(tensor.defined(), op, ": the tensor is undefined");
  PARE_CHECK(!(grad_mode_enabled() && tensor.requires_grad()), op,
             ": in-place update of a tensor that requires grad (shape ", tensor.sizes(),
             "); wrap it in pare::NoGradGuard or use the out-of-place op");
}

// The optimisers' hot path: both float32, same shape, contiguous. Returns false otherwise.
template <typename Update>
bool update_contiguous(Tensor& self, const Tensor& other, Update update) {
  if (self.dtype() != kFloat32 || other.dtype() != kFloat32 || self.sizes() != other.sizes() ||
      !self.is_contiguous() || !other.is_contiguous())
    return false;
  float* out = self.data_ptr<float>();
  const float* in = other.data_ptr<float>();
  const int64_t count = self.numel();
  for (int64_t i = 0; i < count; ++i) out[i] = update(out[i], in[i]);
  return true;
}

}  // namespace

Tensor& Tensor::uniform_(double low, double high) {
  OpScope scope;  // in-place updates are invisible to the tracer, including the ops inside
  check_inplace(*this, "uniform_");
  NoGradGuard no_grad;
  copy_(pare::rand(sizes()) * (high - low) + low);
  return *this;
}

Tensor& Tensor::normal_(double mean, double std) {
  OpScope scope;
  check_inplace(*this, "normal_");
  NoGradGuard no_grad;
  copy_(pare::randn(sizes()) * std + mean);
  return *this;
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  OpScope scope;
  check_inplace(*this, "add_");
  const float scale = static_cast<float>(alpha);
  if (update_contiguous(*this, other, [scale](float a, float b) { return a + scale * b; }))
    return *this;
  NoGradGuard no_grad;
  return copy_(pare::add(*this, other, alpha));
}

Tensor& Tensor::add_(double value) {
  OpScope scope;
  check_inplace(*this, "add_");
  NoGradGuard no_grad;
  return copy_(pare::add(*this, value));
}

Tensor& Tensor::sub_(const Tensor& other) { return add_(other, -1.0); }

Tensor& Tensor::mul_(const Tensor& other) {
  OpScope scope;
  check_inplace(*this, "mul_");
  if (update_contiguous(*this, other, [](float a, float b) { return a * b; })) return *this;
  NoGradGuard no_grad;
  return copy_(pare::mul(*this, other));
}

Tensor& Tensor::mul_(double value) {
  OpScope scope;
  check_inplace(*this, "mul_");
  if (dtype() == kFloat32 && is_contiguous()) {
    float* data = data_ptr<float>();
    const float scale = static_cast<float>(value);
    for (int64_t i = 0; i < numel(); ++i) data[i] *= scale;
    return *this;
  }
  NoGradGuard no_grad;
  return copy_(pare::mul(*this, value));
}

Tensor& Tensor::div_(double value) { return mul_(1.0 / value); }

Tensor& Tensor::clamp_(double min_value, double max_value) {
  OpScope scope;
  check_inplace(*this, "clamp_");
  NoGradGuard no_grad;
  return copy_(pare::clamp(*this, min_value, max_value));
}

}  // namespace pare

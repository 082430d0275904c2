// Inverted dropout, PyTorch's contract: in training, each element survives with probability 1 - p
// and is scaled by 1 / (1 - p), so evaluation needs no rescaling.
#include <vector>

#include "float_input.h"
#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/functional.h"
#include "pare/observer.h"
#include "pare/random.h"

namespace pare {

namespace {

// dst = src * scale elementwise over `count` floats.
void multiply(const float* src, const float* scale, float* dst, int64_t count) {
#pragma omp parallel for if (count > (1 << 16))
  for (int64_t i = 0; i < count; ++i) dst[i] = src[i] * scale[i];
}

// The per-element factors of one dropout draw: 0 for a dropped element, 1 / (1 - p) otherwise.
Tensor draw_scales(const Shape& shape, double p) {
  Tensor scales = empty(shape);
  float* data = scales.data_ptr<float>();
  const float kept_scale = static_cast<float>(1.0 / (1.0 - p));
  Generator& generator = default_generator();
  for (int64_t i = 0; i < scales.numel(); ++i) {
    data[i] = generator.uniform(0.0, 1.0) < p ? 0.0f : kept_scale;
  }
  return scales;
}

Tensor dropout_training(const Tensor& x, double p) {
  Tensor src = detail::dense_float_input(x, "dropout", "input");
  if (p == 1.0) {
    // Everything is dropped; the gradient is zero but still flows, as in PyTorch.
    Tensor result = zeros(src.sizes());
    const Shape shape = src.sizes();
    autograd::record("dropout", {x}, {result}, [shape](const std::vector<Tensor>& grads) {
      if (!grads[0].defined()) return std::vector<Tensor>{Tensor()};
      return std::vector<Tensor>{zeros(shape)};
    });
    return result;
  }
  Tensor scales = draw_scales(src.sizes(), p);
  Tensor result = empty(src.sizes());
  multiply(src.data_ptr<float>(), scales.data_ptr<float>(), result.data_ptr<float>(), src.numel());
  autograd::record("dropout", {x}, {result}, [scales](const std::vector<Tensor>& grads) {
    if (!grads[0].defined()) return std::vector<Tensor>{Tensor()};
    Tensor grad = detail::dense_gradient(grads[0]);
    Tensor grad_input = empty(scales.sizes());
    multiply(grad.data_ptr<float>(), scales.data_ptr<float>(), grad_input.data_ptr<float>(),
             scales.numel());
    return std::vector<Tensor>{grad_input};
  });
  return result;
}

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training) {
  OpScope scope;
  PARE_CHECK(x.defined(), "dropout: the input is undefined");
  PARE_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability has to be between 0 and 1, got p=", p,
             " for input of shape ", x.sizes());
  Tensor result = (p == 0.0 || !training) ? x : dropout_training(x, p);
  if (scope.should_report()) {
    notify_function("dropout", {x}, {{"p", p}, {"training", training}}, {result});
  }
  return result;
}

}  // namespace pare

// pare::linear: y = x W^T + b over the last dim of x, on the linear kernels.
#include "pare/kernels/linear.h"

#include "../kernel_dispatch.h"
#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/functional.h"
#include "pare/linear_geometry.h"
#include "pare/observer.h"

namespace pare {

namespace {

void check_linear_inputs(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  PARE_CHECK(x.defined() && weight.defined(), "linear: input and weight must be defined");
  PARE_CHECK(x.dtype() == kFloat32 && weight.dtype() == kFloat32 &&
                 (!bias.defined() || bias.dtype() == kFloat32),
             "linear: expected float32 tensors, got input ", dtype_name(x.dtype()), " and weight ",
             dtype_name(weight.dtype()));
  const Shape bias_shape = bias.defined() ? bias.sizes() : Shape{};
  linear_output_shape(x.sizes(), weight.sizes(), bias.defined() ? &bias_shape : nullptr);
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  OpScope scope;
  check_linear_inputs(x, weight, bias);
  const int64_t in_features = weight.size(1);
  const int64_t out_features = weight.size(0);
  const int64_t rows = shape_numel(Shape(x.sizes().begin(), x.sizes().end() - 1));
  Shape output_shape = x.sizes();
  output_shape.back() = out_features;

  const kernels::LinearParams params{rows, in_features, out_features};
  const bool empty_product = rows == 0 || in_features == 0 || out_features == 0;
  Tensor x_data = x.detach().contiguous();
  Tensor weight_data = weight.detach().contiguous();
  Tensor bias_data = bias.defined() ? bias.detach().contiguous() : Tensor();
  Tensor y;
  if (empty_product) {
    // The kernels need positive sizes; an empty sum is 0 (plus the bias, like PyTorch).
    y = zeros(output_shape);
    if (bias.defined() && rows > 0) {
      float* out = y.data_ptr<float>();
      const float* b = bias_data.data_ptr<float>();
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t o = 0; o < out_features; ++o) out[r * out_features + o] = b[o];
    }
  } else {
    y = empty(output_shape);
    PARE_KERNEL(linear_forward)
    (params, x_data.data_ptr<float>(), weight_data.data_ptr<float>(),
     bias.defined() ? bias_data.data_ptr<float>() : nullptr, y.data_ptr<float>());
  }

  const bool need_x = x.requires_grad();
  const bool need_weight = weight.requires_grad();
  const bool need_bias = bias.defined() && bias.requires_grad();
  autograd::record("linear", {x, weight, bias}, {y}, [=](const std::vector<Tensor>& grads) {
    std::vector<Tensor> result(3);
    if (!grads[0].defined()) return result;
    if (empty_product) {
      if (need_x) result[0] = zeros(x_data.sizes());
      if (need_weight) result[1] = zeros(weight_data.sizes());
      if (need_bias) result[2] = grads[0].reshape({rows, out_features}).sum({0});
      return result;
    }
    Tensor grad_y = grads[0].contiguous();
    if (need_x) {
      result[0] = empty(x_data.sizes());
      PARE_KERNEL(linear_backward_data)
      (params, grad_y.data_ptr<float>(), weight_data.data_ptr<float>(),
       result[0].data_ptr<float>());
    }
    if (need_weight || need_bias) {
      Tensor grad_weight = empty(weight_data.sizes());
      Tensor grad_bias = need_bias ? empty({out_features}) : Tensor();
      PARE_KERNEL(linear_backward_weights)
      (params, x_data.data_ptr<float>(), grad_y.data_ptr<float>(), grad_weight.data_ptr<float>(),
       need_bias ? grad_bias.data_ptr<float>() : nullptr);
      if (need_weight) result[1] = grad_weight;
      result[2] = grad_bias;
    }
    return result;
  });

  if (scope.should_report()) notify_function("linear", {x, weight, bias}, {}, {y});
  return y;
}

}  // namespace pare

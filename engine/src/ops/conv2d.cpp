// pare::conv2d on the conv2d kernels; an unbatched [C, H, W] input runs as a batch of one.
#include "pare/kernels/conv2d.h"

#include "../kernel_dispatch.h"
#include "pare/autograd.h"
#include "pare/conv_geometry.h"
#include "pare/creation.h"
#include "pare/functional.h"
#include "pare/observer.h"

namespace pare {

namespace {

void check_conv2d_dtypes(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  PARE_CHECK(x.defined() && weight.defined(), "conv2d: input and weight must be defined");
  PARE_CHECK(x.dtype() == kFloat32 && weight.dtype() == kFloat32 &&
                 (!bias.defined() || bias.dtype() == kFloat32),
             "conv2d: expected float32 tensors, got input ", dtype_name(x.dtype()), " and weight ",
             dtype_name(weight.dtype()));
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, IntPair stride,
              IntPair padding, IntPair dilation, int64_t groups) {
  OpScope scope;
  check_conv2d_dtypes(x, weight, bias);
  const Shape bias_shape = bias.defined() ? bias.sizes() : Shape{};
  const kernels::Conv2dParams params =
      conv2d_geometry(x.sizes(), weight.sizes(), bias.defined() ? &bias_shape : nullptr, stride,
                      padding, dilation, groups);
  const Shape output_shape = conv2d_output_shape(x.sizes(), params);
  Tensor x_data = x.detach().contiguous();
  Tensor weight_data = weight.detach().contiguous();
  Tensor bias_data = bias.defined() ? bias.detach().contiguous() : Tensor();
  Tensor y = empty(output_shape);
  // An empty batch runs no kernel: its output and input gradient are empty, and the weight and
  // bias gradients are sums over no samples, zero (as PyTorch gives them).
  const bool empty_batch = params.batch == 0;
  if (!empty_batch) {
    PARE_KERNEL(conv2d_forward)
    (params, x_data.data_ptr<float>(), weight_data.data_ptr<float>(),
     bias.defined() ? bias_data.data_ptr<float>() : nullptr, y.data_ptr<float>());
  }

  const bool need_x = x.requires_grad();
  const bool need_weight = weight.requires_grad();
  const bool need_bias = bias.defined() && bias.requires_grad();
  autograd::record("conv2d", {x, weight, bias}, {y}, [=](const std::vector<Tensor>& grads) {
    std::vector<Tensor> result(3);
    if (!grads[0].defined()) return result;
    Tensor grad_y = grads[0].contiguous();
    if (empty_batch) {
      if (need_x) result[0] = empty(x_data.sizes());
      if (need_weight) result[1] = zeros(weight_data.sizes());
      if (need_bias) result[2] = zeros({params.out_channels});
      return result;
    }
    if (need_x) {
      result[0] = empty(x_data.sizes());
      PARE_KERNEL(conv2d_backward_data)
      (params, grad_y.data_ptr<float>(), weight_data.data_ptr<float>(),
       result[0].data_ptr<float>());
    }
    if (need_weight || need_bias) {
      Tensor grad_weight = empty(weight_data.sizes());
      Tensor grad_bias = need_bias ? empty({params.out_channels}) : Tensor();
      PARE_KERNEL(conv2d_backward_weights)
      (params, x_data.data_ptr<float>(), grad_y.data_ptr<float>(), grad_weight.data_ptr<float>(),
       need_bias ? grad_bias.data_ptr<float>() : nullptr);
      if (need_weight) result[1] = grad_weight;
      result[2] = grad_bias;
    }
    return result;
  });

  if (scope.should_report()) {
    notify_function("conv2d", {x, weight, bias},
                    {{"stride", stride.vec()},
                     {"padding", padding.vec()},
                     {"dilation", dilation.vec()},
                     {"groups", groups}},
                    {y});
  }
  return y;
}

}  // namespace pare

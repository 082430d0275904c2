// pare::conv2d on the conv2d kernels; an unbatched [C, H, W] input runs as a batch of one.
#include "pare/kernels/conv2d.h"

#include "../kernel_dispatch.h"
#include "pare/autograd.h"
#include "pare/checked_math.h"
#include "pare/creation.h"
#include "pare/functional.h"
#include "pare/observer.h"

namespace pare {

namespace {

void check_conv2d_inputs(const Tensor& x, const Tensor& weight, const Tensor& bias,
                         int64_t groups) {
  PARE_CHECK(x.defined() && weight.defined(), "conv2d: input and weight must be defined");
  PARE_CHECK(x.dtype() == kFloat32 && weight.dtype() == kFloat32 &&
                 (!bias.defined() || bias.dtype() == kFloat32),
             "conv2d: expected float32 tensors, got input ", dtype_name(x.dtype()), " and weight ",
             dtype_name(weight.dtype()));
  PARE_CHECK(x.dim() == 3 || x.dim() == 4,
             "conv2d: expected a 3-d (unbatched) or 4-d (batched) input, got input of shape ",
             x.sizes());
  PARE_CHECK(weight.dim() == 4,
             "conv2d: expected a 4-d weight [out_channels, in_channels / groups, kH, kW], got ",
             "weight of shape ", weight.sizes());
  PARE_CHECK(groups > 0, "conv2d: groups must be positive, got ", groups);
  PARE_CHECK(weight.size(0) % groups == 0, "conv2d: given groups=", groups, ", weight of size ",
             weight.sizes(), " has ", weight.size(0), " output channels, which do not divide by ",
             "groups");
  const int64_t channels = x.size(-3);
  const int64_t expected_channels = checked_mul(
      weight.size(1), groups, "conv2d: in_channels of weight ", weight.sizes(), " times groups");
  PARE_CHECK(channels == expected_channels, "conv2d: given groups=", groups, ", weight of size ",
             weight.sizes(), ", expected input", x.sizes(), " to have ", expected_channels,
             " channels, but got ", channels, " channels instead");
  PARE_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == weight.size(0)),
             "conv2d: expected a bias of shape ", Shape{weight.size(0)}, " for weight of size ",
             weight.sizes(), ", got shape ", bias.sizes());
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, IntPair stride,
              IntPair padding, IntPair dilation, int64_t groups) {
  OpScope scope;
  check_conv2d_inputs(x, weight, bias, groups);
  const bool batched = x.dim() == 4;
  kernels::Conv2dParams params;
  params.batch = batched ? x.size(0) : 1;
  params.in_channels = x.size(-3);
  params.in_h = x.size(-2);
  params.in_w = x.size(-1);
  params.out_channels = weight.size(0);
  params.kernel_h = weight.size(2);
  params.kernel_w = weight.size(3);
  params.stride_h = stride.first;
  params.stride_w = stride.second;
  params.pad_h = padding.first;
  params.pad_w = padding.second;
  params.dilation_h = dilation.first;
  params.dilation_w = dilation.second;
  params.groups = groups;
  params.validate();

  Shape output_shape{params.out_channels, params.out_h(), params.out_w()};
  if (batched) output_shape.insert(output_shape.begin(), params.batch);
  Tensor x_data = x.detach().contiguous();
  Tensor weight_data = weight.detach().contiguous();
  Tensor bias_data = bias.defined() ? bias.detach().contiguous() : Tensor();
  Tensor y = empty(output_shape);
  PARE_KERNEL(conv2d_forward)
  (params, x_data.data_ptr<float>(), weight_data.data_ptr<float>(),
   bias.defined() ? bias_data.data_ptr<float>() : nullptr, y.data_ptr<float>());

  const bool need_x = x.requires_grad();
  const bool need_weight = weight.requires_grad();
  const bool need_bias = bias.defined() && bias.requires_grad();
  autograd::record("conv2d", {x, weight, bias}, {y}, [=](const std::vector<Tensor>& grads) {
    std::vector<Tensor> result(3);
    if (!grads[0].defined()) return result;
    Tensor grad_y = grads[0].contiguous();
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

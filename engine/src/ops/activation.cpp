// The activations of docs/pruning.md over kernels/activation.h, with torch.nn.functional's names,
// arguments and gradients (including the kinks, which the kernels define): the generic
// pare::activation, which functional.h's fixed-function activations call inline, and the three
// that are more than one fixed function (rrelu, prelu, gelu).
#include "pare/kernels/activation.h"

#include <string>
#include <vector>

#include "../kernel_dispatch.h"
#include "float_input.h"
#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/elementwise.h"
#include "pare/functional.h"
#include "pare/observer.h"
#include "pare/random.h"

namespace pare {

namespace {

using kernels::Activation;
using kernels::activation_params;
using kernels::ActivationParams;

// y = act(x) elementwise, with dx = dy * act'(x) recorded for autograd.
Tensor activate(const Tensor& x, const ActivationParams& params) {
  const char* name = kernels::activation_name(params.kind);
  Tensor src = detail::dense_float_input(x, name, "input");
  params.validate();
  Tensor result = empty(src.sizes());
  const int64_t count = src.numel();
  if (count > 0) {
    PARE_KERNEL(activation_forward)(params, src.data_ptr<float>(), result.data_ptr<float>(), count);
  }
  autograd::record(name, {x}, {result}, [params, src](const std::vector<Tensor>& grads) {
    if (!grads[0].defined()) return std::vector<Tensor>{Tensor()};
    Tensor grad = detail::dense_gradient(grads[0]);
    Tensor grad_input = empty(src.sizes());
    if (src.numel() > 0) {
      PARE_KERNEL(activation_backward)
      (params, src.data_ptr<float>(), grad.data_ptr<float>(), grad_input.data_ptr<float>(),
       src.numel());
    }
    return std::vector<Tensor>{grad_input};
  });
  return result;
}

// RReLU's training mode: a fresh slope per element, drawn from the default generator's stream.
Tensor rrelu_training(const Tensor& x, double lower, double upper) {
  Tensor src = detail::dense_float_input(x, "rrelu", "input");
  Tensor result = empty(src.sizes());
  Tensor slopes = empty(src.sizes());
  PARE_CHECK(lower <= upper, "rrelu: lower must be <= upper, got lower=", lower, " upper=", upper);
  const uint64_t seed = default_generator().next();
  if (src.numel() > 0) {
    PARE_KERNEL(rrelu_forward_training)
    (src.data_ptr<float>(), result.data_ptr<float>(), slopes.data_ptr<float>(), src.numel(),
     static_cast<float>(lower), static_cast<float>(upper), seed);
  }
  autograd::record("rrelu", {x}, {result}, [src, slopes](const std::vector<Tensor>& grads) {
    if (!grads[0].defined()) return std::vector<Tensor>{Tensor()};
    Tensor grad = detail::dense_gradient(grads[0]);
    Tensor grad_input = empty(src.sizes());
    if (src.numel() > 0) {
      PARE_KERNEL(rrelu_backward_training)
      (src.data_ptr<float>(), slopes.data_ptr<float>(), grad.data_ptr<float>(),
       grad_input.data_ptr<float>(), src.numel());
    }
    return std::vector<Tensor>{grad_input};
  });
  return result;
}

}  // namespace

Tensor activation(const Tensor& x, const ActivationParams& params, const Attrs& arguments) {
  OpScope scope;
  Tensor result = activate(x, params);
  if (scope.should_report()) {
    notify_function(kernels::activation_name(params.kind), {x}, arguments, {result});
  }
  return result;
}

Tensor rrelu(const Tensor& x, double lower, double upper, bool training) {
  OpScope scope;
  Tensor result = training ? rrelu_training(x, lower, upper)
                           : activate(x, activation_params(Activation::rrelu, lower, upper));
  if (scope.should_report()) {
    notify_function("rrelu", {x}, {{"lower", lower}, {"upper", upper}, {"training", training}},
                    {result});
  }
  return result;
}

Tensor prelu(const Tensor& x, const Tensor& weight) {
  OpScope scope;
  Tensor src = detail::dense_float_input(x, "prelu", "input");
  Tensor dense_weight = detail::dense_float_input(weight, "prelu", "weight");
  PARE_CHECK(weight.dim() <= 1, "prelu: expected weight to be a scalar or 1-d tensor, got shape ",
             weight.sizes());
  // PyTorch's channel axis is dim 1; an input of rank < 2 has a single channel.
  const int64_t channels = x.dim() >= 2 ? x.size(1) : 1;
  const int64_t num_weights = dense_weight.numel();
  PARE_CHECK(num_weights == 1 || num_weights == channels, "prelu: weight of shape ", weight.sizes(),
             " must have 1 or ", channels,
             " elements (the channel size, dim 1 of the input of shape ", x.sizes(), ")");
  const int64_t outer = x.dim() >= 2 ? x.size(0) : 1;
  const int64_t inner =
      x.dim() >= 2 ? shape_numel(Shape(x.sizes().begin() + 2, x.sizes().end())) : src.numel();
  Tensor result = empty(src.sizes());
  if (src.numel() > 0) {
    PARE_KERNEL(prelu_forward)
    (src.data_ptr<float>(), dense_weight.data_ptr<float>(), num_weights, outer, channels, inner,
     result.data_ptr<float>());
  }
  const Shape weight_shape = weight.sizes();
  autograd::record(
      "prelu", {x, weight}, {result},
      [src, dense_weight, weight_shape, outer, channels, inner](const std::vector<Tensor>& grads) {
        if (!grads[0].defined()) return std::vector<Tensor>{Tensor(), Tensor()};
        Tensor grad = detail::dense_gradient(grads[0]);
        Tensor grad_input = empty(src.sizes());
        Tensor grad_weight = zeros(weight_shape);
        if (src.numel() > 0) {
          PARE_KERNEL(prelu_backward)
          (src.data_ptr<float>(), dense_weight.data_ptr<float>(), dense_weight.numel(), outer,
           channels, inner, grad.data_ptr<float>(), grad_input.data_ptr<float>(),
           grad_weight.data_ptr<float>());
        }
        return std::vector<Tensor>{grad_input, grad_weight};
      });
  if (scope.should_report()) notify_function("prelu", {x, weight}, {}, {result});
  return result;
}

Tensor gelu(const Tensor& x, const std::string& approximate) {
  PARE_CHECK(approximate == "none" || approximate == "tanh",
             "gelu: approximate must be \"none\" or \"tanh\", got \"", approximate, "\"");
  const Activation kind = approximate == "tanh" ? Activation::gelu_tanh : Activation::gelu;
  return activation(x, kernels::default_activation_params(kind), {{"approximate", approximate}});
}

// Composed from differentiable ops: (x - clamp(x, -lambd, lambd)) times the mask |x| > lambd,
// with the clamp and the mask constants, so the gradient is the mask: 1 outside, 0 at and inside
// +-lambd, PyTorch's softshrink_backward.
Tensor softshrink(const Tensor& x, double lambd) {
  OpScope scope;
  PARE_CHECK(lambd >= 0, "softshrink: lambd must be >= 0, got ", lambd);
  const Tensor values = detail::dense_float_input(x, "softshrink", "input");
  const Tensor outside = (pare::abs(values) > lambd).to(kFloat32);
  Tensor result = mul(sub(x, clamp(values, -lambd, lambd)), outside);
  if (scope.should_report()) notify_function("softshrink", {x}, {{"lambd", lambd}}, {result});
  return result;
}

}  // namespace pare

// The activation modules: each forwards to its functional op with its stored arguments.
#include "pare/nn/activation.h"

#include "pare/creation.h"
#include "pare/functional.h"
#include "pare/nn/init.h"
#include "python_repr.h"

namespace pare::nn {

std::string ActivationModule::extra_repr() const { return detail::keyword_repr(config()); }

// Every activation module applies one elementwise function (the contract of ActivationModule);
// PReLU, the one with a parameter, is told apart here so that no activation class needs its own
// override.
ModuleKind ActivationModule::kind() const {
  return dynamic_cast<const PReLUImpl*>(this) != nullptr ? ModuleKind::prelu
                                                         : ModuleKind::activation;
}

Tensor ReLUImpl::forward(const Tensor& input) { return relu(input); }

RReLUImpl::RReLUImpl(double lower, double upper) : lower_(lower), upper_(upper) {
  PARE_CHECK(lower <= upper, "RReLU: lower (", lower, ") must not exceed upper (", upper, ")");
}
Tensor RReLUImpl::forward(const Tensor& input) {
  return rrelu(input, lower_, upper_, is_training());
}
Attrs RReLUImpl::config() const { return {{"lower", lower_}, {"upper", upper_}}; }

HardtanhImpl::HardtanhImpl(double min_val, double max_val) : min_val_(min_val), max_val_(max_val) {
  PARE_CHECK(max_val > min_val, "Hardtanh: max_val (", max_val, ") must be greater than min_val (",
             min_val, ")");
}
Tensor HardtanhImpl::forward(const Tensor& input) { return hardtanh(input, min_val_, max_val_); }
Attrs HardtanhImpl::config() const { return {{"min_val", min_val_}, {"max_val", max_val_}}; }

Tensor ReLU6Impl::forward(const Tensor& input) { return relu6(input); }

Tensor SigmoidImpl::forward(const Tensor& input) { return sigmoid(input); }

Tensor HardsigmoidImpl::forward(const Tensor& input) { return hardsigmoid(input); }

Tensor TanhImpl::forward(const Tensor& input) { return tanh(input); }

Tensor SiLUImpl::forward(const Tensor& input) { return silu(input); }

Tensor MishImpl::forward(const Tensor& input) { return mish(input); }

Tensor HardswishImpl::forward(const Tensor& input) { return hardswish(input); }

Tensor ELUImpl::forward(const Tensor& input) { return elu(input, alpha_); }
Attrs ELUImpl::config() const { return {{"alpha", alpha_}}; }

CELUImpl::CELUImpl(double alpha) : alpha_(alpha) {
  PARE_CHECK(alpha != 0.0, "CELU: alpha must not be 0");
}
Tensor CELUImpl::forward(const Tensor& input) { return celu(input, alpha_); }
Attrs CELUImpl::config() const { return {{"alpha", alpha_}}; }

Tensor SELUImpl::forward(const Tensor& input) { return selu(input); }

Tensor HardshrinkImpl::forward(const Tensor& input) { return hardshrink(input, lambd_); }
Attrs HardshrinkImpl::config() const { return {{"lambd", lambd_}}; }
std::string HardshrinkImpl::extra_repr() const { return detail::python_repr(lambd_); }

Tensor LeakyReLUImpl::forward(const Tensor& input) { return leaky_relu(input, negative_slope_); }
Attrs LeakyReLUImpl::config() const { return {{"negative_slope", negative_slope_}}; }

Tensor LogSigmoidImpl::forward(const Tensor& input) { return logsigmoid(input); }

Tensor SoftplusImpl::forward(const Tensor& input) { return softplus(input, beta_, threshold_); }
Attrs SoftplusImpl::config() const { return {{"beta", beta_}, {"threshold", threshold_}}; }

PReLUImpl::PReLUImpl(int64_t num_parameters, double init)
    : num_parameters_(num_parameters), init_(init) {
  PARE_CHECK(num_parameters > 0, "PReLU: num_parameters must be positive, got ", num_parameters);
  register_parameter("weight", empty({num_parameters}));
  reset_parameters();
}
void PReLUImpl::reset_parameters() { init::constant_(get_parameter("weight"), init_); }
Tensor PReLUImpl::forward(const Tensor& input) { return prelu(input, get_parameter("weight")); }
void PReLUImpl::set_weight(const Tensor& weight) {
  PARE_CHECK(weight.defined() && weight.dim() == 1 && weight.numel() > 0,
             "PReLU::set_weight: expected a non-empty 1-d weight, got ",
             weight.defined() ? weight.sizes() : Shape{});
  const bool requires_grad = get_parameter("weight").requires_grad();
  register_parameter("weight", weight, requires_grad);
  num_parameters_ = weight.numel();
}

Attrs PReLUImpl::config() const { return {{"num_parameters", num_parameters_}}; }

Tensor SoftsignImpl::forward(const Tensor& input) { return softsign(input); }

Tensor TanhshrinkImpl::forward(const Tensor& input) { return tanhshrink(input); }

GELUImpl::GELUImpl(std::string approximate) : approximate_(std::move(approximate)) {
  PARE_CHECK(approximate_ == "none" || approximate_ == "tanh",
             "GELU: approximate must be 'none' or 'tanh', got '", approximate_, "'");
}
Tensor GELUImpl::forward(const Tensor& input) { return gelu(input, approximate_); }
Attrs GELUImpl::config() const { return {{"approximate", approximate_}}; }

}  // namespace pare::nn

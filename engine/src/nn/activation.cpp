// The parts of the activation modules that are more than one inline line: ActivationModule's
// forward, printing and kind, the constructors that check their arguments, Hardshrink's printing,
// RReLU's training mode, PReLU's weight and GELU's check.
#include "pare/nn/activation.h"

#include "pare/creation.h"
#include "pare/functional.h"
#include "pare/nn/init.h"
#include "python_repr.h"

namespace pare::nn {

using kernels::Activation;
using kernels::ActivationParams;

std::string ActivationModule::extra_repr() const { return detail::keyword_repr(config()); }

// Every activation module applies one elementwise function (the contract of ActivationModule);
// PReLU, the one with a parameter, says so itself.
ModuleKind ActivationModule::kind() const { return ModuleKind::activation; }

Tensor ActivationModule::forward(const Tensor& input) {
  const std::optional<ActivationParams> params = activation();
  PARE_CHECK(params.has_value(), type_name(),
             ": activation() gives no one fixed function here, so the class must override "
             "forward()");
  return pare::activation(input, *params, config());
}

RReLUImpl::RReLUImpl(double lower, double upper) : lower_(lower), upper_(upper) {
  PARE_CHECK(lower <= upper, "RReLU: lower (", lower, ") must not exceed upper (", upper, ")");
}
Tensor RReLUImpl::forward(const Tensor& input) {
  return rrelu(input, lower_, upper_, is_training());
}
// Training draws a slope per element: no one function.
std::optional<ActivationParams> RReLUImpl::activation() const {
  if (is_training()) return std::nullopt;
  return kernels::activation_params(Activation::rrelu, lower_, upper_);
}

HardtanhImpl::HardtanhImpl(double min_val, double max_val) : min_val_(min_val), max_val_(max_val) {
  PARE_CHECK(max_val > min_val, "Hardtanh: max_val (", max_val, ") must be greater than min_val (",
             min_val, ")");
}

CELUImpl::CELUImpl(double alpha) : alpha_(alpha) {
  PARE_CHECK(alpha != 0.0, "CELU: alpha must not be 0");
}

std::string HardshrinkImpl::extra_repr() const { return detail::python_repr(lambd_); }

SoftshrinkImpl::SoftshrinkImpl(double lambd) : lambd_(lambd) {
  PARE_CHECK(lambd >= 0, "Softshrink: lambd must be >= 0, got ", lambd);
}
Tensor SoftshrinkImpl::forward(const Tensor& input) { return softshrink(input, lambd_); }
std::string SoftshrinkImpl::extra_repr() const { return detail::python_repr(lambd_); }

PReLUImpl::PReLUImpl(int64_t num_parameters, double init)
    : num_parameters_(num_parameters), init_(init) {
  PARE_CHECK(num_parameters > 0, "PReLU: num_parameters must be positive, got ", num_parameters);
  register_parameter("weight", empty({num_parameters}));
  reset_parameters();
}
void PReLUImpl::reset_parameters() { init::constant_(get_parameter("weight"), init_); }
Tensor PReLUImpl::forward(const Tensor& input) { return prelu(input, get_parameter("weight")); }
// The slopes are a learnt weight, one per channel or one shared.
std::optional<ActivationParams> PReLUImpl::activation() const { return std::nullopt; }
void PReLUImpl::set_weight(const Tensor& weight) {
  PARE_CHECK(weight.defined() && weight.dim() == 1 && weight.numel() > 0,
             "PReLU::set_weight: expected a non-empty 1-d weight, got ",
             weight.defined() ? weight.sizes() : Shape{});
  const bool requires_grad = get_parameter("weight").requires_grad();
  register_parameter("weight", weight, requires_grad);
  num_parameters_ = weight.numel();
}

Attrs PReLUImpl::config() const { return {{"num_parameters", num_parameters_}}; }

GELUImpl::GELUImpl(std::string approximate) : approximate_(std::move(approximate)) {
  PARE_CHECK(approximate_ == "none" || approximate_ == "tanh",
             "GELU: approximate must be 'none' or 'tanh', got '", approximate_, "'");
}

}  // namespace pare::nn

// The activation modules: each forwards to its functional op with its stored arguments.
#include "pare/nn/activation.h"

#include "pare/creation.h"
#include "pare/functional.h"
#include "pare/nn/init.h"
#include "python_repr.h"

namespace pare::nn {
namespace {

using kernels::Activation;
using kernels::ActivationParams;

ActivationParams params_of(Activation kind) { return kernels::default_activation_params(kind); }
using kernels::activation_params;

}  // namespace

std::string ActivationModule::extra_repr() const { return detail::keyword_repr(config()); }

// Every activation module applies one elementwise function (the contract of ActivationModule);
// PReLU, the one with a parameter, says so itself.
ModuleKind ActivationModule::kind() const { return ModuleKind::activation; }

const std::vector<std::string>& activation_module_type_names() {
  // Read from default instances, so the names are the classes' own.
  static const std::vector<std::string> names = [] {
    const std::vector<std::shared_ptr<ActivationModule>> modules = {
        std::make_shared<ReLUImpl>(),      std::make_shared<RReLUImpl>(),
        std::make_shared<HardtanhImpl>(),  std::make_shared<ReLU6Impl>(),
        std::make_shared<SigmoidImpl>(),   std::make_shared<HardsigmoidImpl>(),
        std::make_shared<TanhImpl>(),      std::make_shared<SiLUImpl>(),
        std::make_shared<MishImpl>(),      std::make_shared<HardswishImpl>(),
        std::make_shared<ELUImpl>(),       std::make_shared<CELUImpl>(),
        std::make_shared<SELUImpl>(),      std::make_shared<HardshrinkImpl>(),
        std::make_shared<LeakyReLUImpl>(), std::make_shared<LogSigmoidImpl>(),
        std::make_shared<SoftplusImpl>(),  std::make_shared<PReLUImpl>(),
        std::make_shared<SoftsignImpl>(),  std::make_shared<TanhshrinkImpl>(),
        std::make_shared<GELUImpl>()};
    std::vector<std::string> type_names;
    for (const auto& module : modules) type_names.push_back(module->type_name());
    return type_names;
  }();
  return names;
}

Tensor ReLUImpl::forward(const Tensor& input) { return relu(input); }
std::optional<ActivationParams> ReLUImpl::activation() const { return params_of(Activation::relu); }

RReLUImpl::RReLUImpl(double lower, double upper) : lower_(lower), upper_(upper) {
  PARE_CHECK(lower <= upper, "RReLU: lower (", lower, ") must not exceed upper (", upper, ")");
}
Tensor RReLUImpl::forward(const Tensor& input) {
  return rrelu(input, lower_, upper_, is_training());
}
// Training draws a slope per element: no one function.
std::optional<ActivationParams> RReLUImpl::activation() const {
  if (is_training()) return std::nullopt;
  return activation_params(Activation::rrelu, lower_, upper_);
}
Attrs RReLUImpl::config() const { return {{"lower", lower_}, {"upper", upper_}}; }

HardtanhImpl::HardtanhImpl(double min_val, double max_val) : min_val_(min_val), max_val_(max_val) {
  PARE_CHECK(max_val > min_val, "Hardtanh: max_val (", max_val, ") must be greater than min_val (",
             min_val, ")");
}
Tensor HardtanhImpl::forward(const Tensor& input) { return hardtanh(input, min_val_, max_val_); }
std::optional<ActivationParams> HardtanhImpl::activation() const {
  return activation_params(Activation::hardtanh, min_val_, max_val_);
}
Attrs HardtanhImpl::config() const { return {{"min_val", min_val_}, {"max_val", max_val_}}; }

Tensor ReLU6Impl::forward(const Tensor& input) { return relu6(input); }
std::optional<ActivationParams> ReLU6Impl::activation() const {
  return params_of(Activation::relu6);
}

Tensor SigmoidImpl::forward(const Tensor& input) { return sigmoid(input); }
std::optional<ActivationParams> SigmoidImpl::activation() const {
  return params_of(Activation::sigmoid);
}

Tensor HardsigmoidImpl::forward(const Tensor& input) { return hardsigmoid(input); }
std::optional<ActivationParams> HardsigmoidImpl::activation() const {
  return params_of(Activation::hardsigmoid);
}

Tensor TanhImpl::forward(const Tensor& input) { return tanh(input); }
std::optional<ActivationParams> TanhImpl::activation() const { return params_of(Activation::tanh); }

Tensor SiLUImpl::forward(const Tensor& input) { return silu(input); }
std::optional<ActivationParams> SiLUImpl::activation() const { return params_of(Activation::silu); }

Tensor MishImpl::forward(const Tensor& input) { return mish(input); }
std::optional<ActivationParams> MishImpl::activation() const { return params_of(Activation::mish); }

Tensor HardswishImpl::forward(const Tensor& input) { return hardswish(input); }
std::optional<ActivationParams> HardswishImpl::activation() const {
  return params_of(Activation::hardswish);
}

Tensor ELUImpl::forward(const Tensor& input) { return elu(input, alpha_); }
std::optional<ActivationParams> ELUImpl::activation() const {
  return activation_params(Activation::elu, alpha_);
}
Attrs ELUImpl::config() const { return {{"alpha", alpha_}}; }

CELUImpl::CELUImpl(double alpha) : alpha_(alpha) {
  PARE_CHECK(alpha != 0.0, "CELU: alpha must not be 0");
}
Tensor CELUImpl::forward(const Tensor& input) { return celu(input, alpha_); }
std::optional<ActivationParams> CELUImpl::activation() const {
  return activation_params(Activation::celu, alpha_);
}
Attrs CELUImpl::config() const { return {{"alpha", alpha_}}; }

Tensor SELUImpl::forward(const Tensor& input) { return selu(input); }
std::optional<ActivationParams> SELUImpl::activation() const { return params_of(Activation::selu); }

Tensor HardshrinkImpl::forward(const Tensor& input) { return hardshrink(input, lambd_); }
std::optional<ActivationParams> HardshrinkImpl::activation() const {
  return activation_params(Activation::hardshrink, lambd_);
}
Attrs HardshrinkImpl::config() const { return {{"lambd", lambd_}}; }
std::string HardshrinkImpl::extra_repr() const { return detail::python_repr(lambd_); }

Tensor LeakyReLUImpl::forward(const Tensor& input) { return leaky_relu(input, negative_slope_); }
std::optional<ActivationParams> LeakyReLUImpl::activation() const {
  return activation_params(Activation::leaky_relu, negative_slope_);
}
Attrs LeakyReLUImpl::config() const { return {{"negative_slope", negative_slope_}}; }

Tensor LogSigmoidImpl::forward(const Tensor& input) { return logsigmoid(input); }
std::optional<ActivationParams> LogSigmoidImpl::activation() const {
  return params_of(Activation::logsigmoid);
}

Tensor SoftplusImpl::forward(const Tensor& input) { return softplus(input, beta_, threshold_); }
std::optional<ActivationParams> SoftplusImpl::activation() const {
  return activation_params(Activation::softplus, beta_, threshold_);
}
Attrs SoftplusImpl::config() const { return {{"beta", beta_}, {"threshold", threshold_}}; }

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

Tensor SoftsignImpl::forward(const Tensor& input) { return softsign(input); }
std::optional<ActivationParams> SoftsignImpl::activation() const {
  return params_of(Activation::softsign);
}

Tensor TanhshrinkImpl::forward(const Tensor& input) { return tanhshrink(input); }
std::optional<ActivationParams> TanhshrinkImpl::activation() const {
  return params_of(Activation::tanhshrink);
}

GELUImpl::GELUImpl(std::string approximate) : approximate_(std::move(approximate)) {
  PARE_CHECK(approximate_ == "none" || approximate_ == "tanh",
             "GELU: approximate must be 'none' or 'tanh', got '", approximate_, "'");
}
Tensor GELUImpl::forward(const Tensor& input) { return gelu(input, approximate_); }
std::optional<ActivationParams> GELUImpl::activation() const {
  return params_of(approximate_ == "tanh" ? Activation::gelu_tanh : Activation::gelu);
}
Attrs GELUImpl::config() const { return {{"approximate", approximate_}}; }

}  // namespace pare::nn

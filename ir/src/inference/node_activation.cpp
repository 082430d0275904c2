#include "node_activation.h"

#include <string>
#include <unordered_map>

#include "pare/nn/activation.h"

namespace pare::inference::detail {
namespace {

using kernels::Activation;
using kernels::ActivationParams;

ActivationParams with(Activation kind, std::optional<double> alpha = std::nullopt,
                      std::optional<double> beta = std::nullopt) {
  ActivationParams params = kernels::default_activation_params(kind);
  if (alpha) params.alpha = static_cast<float>(*alpha);
  if (beta) params.beta = static_cast<float>(*beta);
  return params;
}

std::optional<ActivationParams> of_module(const nn::Module& module) {
  if (dynamic_cast<const nn::ReLUImpl*>(&module)) return with(Activation::relu);
  if (auto* m = dynamic_cast<const nn::RReLUImpl*>(&module))
    return with(Activation::rrelu, m->lower(), m->upper());
  if (auto* m = dynamic_cast<const nn::HardtanhImpl*>(&module))
    return with(Activation::hardtanh, m->min_val(), m->max_val());
  if (dynamic_cast<const nn::ReLU6Impl*>(&module)) return with(Activation::relu6);
  if (dynamic_cast<const nn::SigmoidImpl*>(&module)) return with(Activation::sigmoid);
  if (dynamic_cast<const nn::HardsigmoidImpl*>(&module)) return with(Activation::hardsigmoid);
  if (dynamic_cast<const nn::TanhImpl*>(&module)) return with(Activation::tanh);
  if (dynamic_cast<const nn::SiLUImpl*>(&module)) return with(Activation::silu);
  if (dynamic_cast<const nn::MishImpl*>(&module)) return with(Activation::mish);
  if (dynamic_cast<const nn::HardswishImpl*>(&module)) return with(Activation::hardswish);
  if (auto* m = dynamic_cast<const nn::ELUImpl*>(&module)) return with(Activation::elu, m->alpha());
  if (auto* m = dynamic_cast<const nn::CELUImpl*>(&module))
    return with(Activation::celu, m->alpha());
  if (dynamic_cast<const nn::SELUImpl*>(&module)) return with(Activation::selu);
  if (auto* m = dynamic_cast<const nn::HardshrinkImpl*>(&module))
    return with(Activation::hardshrink, m->lambd());
  if (auto* m = dynamic_cast<const nn::LeakyReLUImpl*>(&module))
    return with(Activation::leaky_relu, m->negative_slope());
  if (dynamic_cast<const nn::LogSigmoidImpl*>(&module)) return with(Activation::logsigmoid);
  if (auto* m = dynamic_cast<const nn::SoftplusImpl*>(&module))
    return with(Activation::softplus, m->beta(), m->threshold());
  if (dynamic_cast<const nn::SoftsignImpl*>(&module)) return with(Activation::softsign);
  if (dynamic_cast<const nn::TanhshrinkImpl*>(&module)) return with(Activation::tanhshrink);
  if (auto* m = dynamic_cast<const nn::GELUImpl*>(&module))
    return with(m->approximate() == "tanh" ? Activation::gelu_tanh : Activation::gelu);
  return std::nullopt;
}

// The literal a call_function node passes as `name` (keyword) or at `position`; nullptr when
// absent or None.
const ir::Argument* literal(const ir::Node& node, const char* name, size_t position) {
  const ir::Argument* found = node.kwarg(name);
  if (found == nullptr && position < node.args().size()) found = &node.args()[position];
  return found == nullptr || found->is_none() ? nullptr : found;
}

std::optional<double> number(const ir::Node& node, const char* name, size_t position) {
  const ir::Argument* found = literal(node, name, position);
  if (found == nullptr) return std::nullopt;
  return found->to_double(name);
}

struct FunctionSpec {
  Activation kind;
  const char* alpha = nullptr;  // argument names, positions 1 and 2
  const char* beta = nullptr;
};

std::optional<ActivationParams> of_function(const ir::Node& node) {
  static const std::unordered_map<std::string, FunctionSpec> table = {
      {"relu", {Activation::relu}},
      {"relu6", {Activation::relu6}},
      {"sigmoid", {Activation::sigmoid}},
      {"hardsigmoid", {Activation::hardsigmoid}},
      {"tanh", {Activation::tanh}},
      {"silu", {Activation::silu}},
      {"mish", {Activation::mish}},
      {"hardswish", {Activation::hardswish}},
      {"selu", {Activation::selu}},
      {"logsigmoid", {Activation::logsigmoid}},
      {"softsign", {Activation::softsign}},
      {"tanhshrink", {Activation::tanhshrink}},
      {"rrelu", {Activation::rrelu, "lower", "upper"}},
      {"hardtanh", {Activation::hardtanh, "min_val", "max_val"}},
      {"elu", {Activation::elu, "alpha"}},
      {"celu", {Activation::celu, "alpha"}},
      {"hardshrink", {Activation::hardshrink, "lambd"}},
      {"leaky_relu", {Activation::leaky_relu, "negative_slope"}},
      {"softplus", {Activation::softplus, "beta", "threshold"}},
      {"gelu", {Activation::gelu}},
  };
  auto found = table.find(node.target());
  if (found == table.end() || node.args().empty() || !node.args()[0].is_node()) return std::nullopt;
  for (size_t i = 1; i < node.args().size(); ++i)
    if (!node.args()[i].is_number() && !node.args()[i].is_bool() && !node.args()[i].is_none())
      return std::nullopt;
  const FunctionSpec& spec = found->second;
  if (spec.kind == Activation::rrelu) {
    const ir::Argument* training = literal(node, "training", 3);
    if (training != nullptr && training->to_bool("training")) return std::nullopt;
  }
  Activation kind = spec.kind;
  if (kind == Activation::gelu) {
    const ir::Argument* approximate = node.kwarg("approximate");
    if (approximate != nullptr && approximate->is_string() &&
        approximate->to_string("approximate") == "tanh")
      kind = Activation::gelu_tanh;
  }
  return with(kind, spec.alpha ? number(node, spec.alpha, 1) : std::nullopt,
              spec.beta ? number(node, spec.beta, 2) : std::nullopt);
}

}  // namespace

std::optional<ActivationParams> activation_of(ir::GraphModule& graph_module, const ir::Node& node) {
  if (node.op() == ir::OpKind::call_module) return of_module(*graph_module.module(node.target()));
  if (node.op() == ir::OpKind::call_function) return of_function(node);
  return std::nullopt;
}

}  // namespace pare::inference::detail

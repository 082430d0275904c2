#include "layer_bias.h"

#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/elementwise.h"
#include "pare/error.h"
#include "pare/linalg.h"
#include "pare/nn/conv.h"
#include "pare/nn/linear.h"
#include "pare/passes/pruning/structured.h"
#include "pare/reduction.h"

namespace pare::pruning {

bool moves_bias(const nn::Module& module) {
  return module.kind() == nn::ModuleKind::linear || module.kind() == nn::ModuleKind::conv2d;
}

void set_bias_option(nn::Module& module, bool has_bias) {
  if (auto* linear = nn::as<nn::LinearImpl>(&module)) linear->options().bias(has_bias);
  if (auto* conv = nn::as<nn::Conv2dImpl>(&module)) conv->options().bias(has_bias);
}

bool has_defined_parameter(const nn::Module& module, const std::string& name) {
  return module.has_parameter(name) && module.get_parameter(name).defined();
}

Tensor constant_input_response(const nn::Module& consumer, const std::vector<float>& constants) {
  NoGradGuard no_grad;
  Tensor weight = consumer.get_parameter("weight").detach();  // the masked weight when masked
  if (weight.dim() == 4) weight = sum(weight, {2, 3});        // [out, in]: every tap sees v
  const int64_t in = weight.size(1);
  PARE_CHECK(static_cast<int64_t>(constants.size()) == in, consumer.type_name(), " takes ", in,
             " input channels, but ", constants.size(), " constants were given");
  return matmul(weight, tensor(constants, {in, 1})).reshape({weight.size(0)});
}

void add_to_bias(nn::Module& consumer, const Tensor& delta) {
  const bool masked = consumer.has_hook_with_tag(BiasHook::kTag);
  const std::string name = masked ? "_bias" : "bias";
  NoGradGuard no_grad;
  Tensor bias =
      has_defined_parameter(consumer, name) ? consumer.get_parameter(name).detach() + delta : delta;
  consumer.register_parameter(name, bias.contiguous().clone(), true);
  if (!masked) set_bias_option(consumer, true);
}

}  // namespace pare::pruning

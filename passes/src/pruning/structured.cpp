// FakeStructuredSparsity, BiasHook and the structured prepare / squash.
#include "pare/passes/pruning/structured.h"

#include <set>
#include <utility>

#include "layer_bias.h"
#include "pare/autograd.h"
#include "pare/bounded_json.h"
#include "pare/creation.h"
#include "pare/elementwise.h"
#include "pare/error.h"
#include "pare/nn/conv.h"
#include "pare/nn/linear.h"
#include "pare/passes/pruning/prune.h"

namespace pare::pruning {
namespace {

// `values` (1-d) viewed to broadcast along `axis` of a `rank`-d tensor.
Tensor along_axis(const Tensor& values, int64_t rank, int64_t axis) {
  Shape shape(static_cast<size_t>(rank), 1);
  shape[static_cast<size_t>(axis)] = values.numel();
  return values.contiguous().view(shape);
}

// For an LSTM tensor "weight_ih_l3": ("ih", "3"); otherwise empty strings.
std::pair<std::string, std::string> lstm_weight_kind(const std::string& tensor_name) {
  for (const std::string kind : {"ih", "hh"}) {
    const std::string prefix = "weight_" + kind + "_l";
    if (tensor_name.rfind(prefix, 0) == 0) return {kind, tensor_name.substr(prefix.size())};
  }
  return {"", ""};
}

}  // namespace

FakeStructuredSparsity::FakeStructuredSparsity(const Tensor& mask)
    : nn::Parametrization("FakeStructuredSparsity") {
  PARE_CHECK(mask.defined() && mask.dtype() == kBool && mask.dim() == 1,
             "FakeStructuredSparsity: the mask must be a 1-d bool tensor, got shape ",
             mask.defined() ? mask.sizes() : Shape{});
  register_buffer("mask", mask);
}

Tensor FakeStructuredSparsity::apply(const Tensor& original) {
  const Tensor row_mask = mask();
  PARE_CHECK(original.dim() >= 1 && original.size(0) == row_mask.numel(),
             "FakeStructuredSparsity: a mask of ", row_mask.numel(),
             " rows cannot mask a tensor of shape ", original.sizes());
  return along_axis(row_mask.to(kFloat32), original.dim(), 0) * original;
}

BiasHook::BiasHook(std::shared_ptr<FakeStructuredSparsity> parametrization, bool prune_bias)
    : parametrization_(std::move(parametrization)), prune_bias_(prune_bias) {}

void BiasHook::operator()(nn::Module& module, const std::vector<Tensor>& /*inputs*/,
                          std::vector<Tensor>& outputs) const {
  if (!has_defined_parameter(module, "_bias")) return;
  PARE_CHECK(outputs.size() == 1, "BiasHook: ", module.type_name(), " must have one output, got ",
             outputs.size());
  Tensor& output = outputs[0];
  const bool is_conv = module.kind() == nn::ModuleKind::conv2d;
  const int64_t axis = is_conv ? output.dim() - 3 : output.dim() - 1;
  Tensor bias = module.get_parameter("_bias");
  PARE_CHECK(axis >= 0 && output.size(axis) == bias.numel(), "BiasHook: ", module.type_name(),
             " output of shape ", output.sizes(), " has no channel axis of ", bias.numel(),
             " entries");
  if (prune_bias_) bias = bias * parametrization_->mask().to(kFloat32);
  output = output + along_axis(bias, output.dim(), axis);
}

std::shared_ptr<FakeStructuredSparsity> find_structured_sparsity(const nn::Module& module,
                                                                 const std::string& tensor_name) {
  std::shared_ptr<nn::ParametrizationList> list = module.parametrization(tensor_name);
  if (list == nullptr) return nullptr;
  for (size_t index = 0; index < list->size(); ++index)
    if (auto found = std::dynamic_pointer_cast<FakeStructuredSparsity>(list->at(index)))
      return found;
  return nullptr;
}

Tensor structured_mask(const nn::Module& module, const std::string& tensor_name) {
  auto parametrization = find_structured_sparsity(module, tensor_name);
  PARE_CHECK(parametrization != nullptr, module.type_name(), ": '", tensor_name,
             "' carries no FakeStructuredSparsity (was the model prepared?)");
  return parametrization->mask();
}

void BaseStructuredSparsifier::check_groups() const {
  std::set<std::pair<std::string, std::string>> configured;
  for (const nlohmann::json& group : groups)
    configured.emplace(group["module_fqn"].get<std::string>(),
                       group["tensor_name"].get<std::string>());
  for (size_t index = 0; index < groups.size(); ++index) {
    // prepare() hands a module's bias to a BiasHook that follows the weight's row mask, so a
    // bias cannot carry a mask of its own.
    const std::string module_fqn = groups[index]["module_fqn"].get<std::string>();
    PARE_CHECK(groups[index]["tensor_name"] != "bias", name(), "::prepare: '", module_fqn,
               ".bias': only weights can be pruned (a Linear's or Conv2d's weight, an LSTM's "
               "weight_ih_l<k> / weight_hh_l<k>); a bias loses the rows its weight loses: "
               "configure '",
               module_fqn,
               ".weight' instead (prune_bias decides whether the pruned rows' bias "
               "moves into the next layer)");
    if (group_modules[index]->kind() != nn::ModuleKind::lstm) continue;
    const auto [kind, layer] = lstm_weight_kind(groups[index]["tensor_name"].get<std::string>());
    if (kind.empty()) continue;
    const std::string partner =
        std::string("weight_") + (kind == "ih" ? "hh" : "ih") + "_l" + layer;
    PARE_CHECK(configured.count({module_fqn, partner}), name(), "::prepare: LSTM '", module_fqn,
               "' configures ", groups[index]["tensor_name"].get<std::string>(), " without ",
               partner,
               "; both weights of a layer must be pruned together (their gate masks meet in "
               "the hidden state)");
  }
}

Tensor BaseStructuredSparsifier::make_mask(size_t index) const {
  const nlohmann::json& group = groups[index];
  const nn::Module& module = *group_modules[index];
  const std::string tensor_name = group["tensor_name"].get<std::string>();
  const Tensor weight = module.get_parameter(tensor_name);
  const std::string where = "module '" + group["module_fqn"].get<std::string>() + "' (" +
                            module.type_name() + ") tensor '" + tensor_name + "'";
  PARE_CHECK(weight.dim() >= 1, name(), "::prepare: ", where,
             " is a scalar; a row mask needs at least one dimension");
  const int64_t rows = weight.size(0);
  if (!group.contains("mask") || group["mask"].is_null()) return ones({rows}, kBool);
  const nlohmann::json& given = group["mask"];
  PARE_CHECK(given.is_array(), name(), "::prepare: ", where,
             ": 'mask' must be a list of bools or 0/1, got ", json_excerpt(given));
  PARE_CHECK(static_cast<int64_t>(given.size()) == rows, name(), "::prepare: ", where, " has ",
             rows, " rows but its 'mask' has ", given.size(), " entries");
  std::vector<uint8_t> values;
  for (const nlohmann::json& entry : given) {
    const bool valid =
        entry.is_boolean() ||
        (entry.is_number_integer() && (entry.get<int64_t>() == 0 || entry.get<int64_t>() == 1));
    PARE_CHECK(valid, name(), "::prepare: ", where, ": 'mask' entries must be bools or 0/1, got ",
               json_excerpt(entry));
    values.push_back(entry.is_boolean() ? entry.get<bool>() : entry.get<int64_t>() == 1);
  }
  return bool_tensor(values, {rows});
}

void BaseStructuredSparsifier::check_loaded_mask(const nn::Module& module,
                                                 const std::string& tensor_name,
                                                 const std::string& tensor_fqn,
                                                 const Tensor& mask) const {
  const Tensor weight = module.get_parameter(tensor_name);
  const int64_t rows = weight.dim() >= 1 ? weight.size(0) : 0;
  PARE_CHECK(
      mask.defined() && mask.dtype() == kBool && mask.dim() == 1 && mask.numel() == rows, name(),
      "::load_state_dict: the mask of '", tensor_fqn, "' (", module.type_name(),
      ", weight of shape ", weight.sizes(), ") must be a 1-d bool tensor of ", rows,
      " entries, got ",
      mask.defined() ? str_cat(dtype_name(mask.dtype()), " ", mask.sizes()) : std::string("none"));
}

void BaseStructuredSparsifier::attach_mask(size_t index, const Tensor& mask) {
  const nlohmann::json& group = groups[index];
  const std::shared_ptr<nn::Module>& module = group_modules[index];
  auto parametrization = std::make_shared<FakeStructuredSparsity>(mask);
  // Unsafe: a row mask keeps the shape by construction, so the registration check would only
  // allocate a masked copy of the whole weight (apply still checks the mask against the rows).
  nn::register_parametrization(module, group["tensor_name"].get<std::string>(), parametrization,
                               /*unsafe=*/true);
  if (!moves_bias(*module)) return;
  if (has_defined_parameter(*module, "bias")) {
    Tensor bias = module->get_parameter("bias");
    module->register_parameter("_bias", bias.detach(), bias.requires_grad());
    module->register_parameter("bias", Tensor());
    set_bias_option(*module, false);
  }
  const bool prune_bias = group.value("prune_bias", true);
  module->register_forward_hook(BiasHook(parametrization, prune_bias), BiasHook::kTag);
}

void BaseStructuredSparsifier::reload_group(size_t index) {
  const nlohmann::json& group = groups[index];
  const std::shared_ptr<nn::Module>& module = group_modules[index];
  if (!moves_bias(*module)) return;
  auto parametrization = find_structured_sparsity(*module, group["tensor_name"].get<std::string>());
  if (parametrization == nullptr) return;
  module->remove_hooks_with_tag(BiasHook::kTag);
  module->register_forward_hook(BiasHook(parametrization, group.value("prune_bias", true)),
                                BiasHook::kTag);
}

void BaseStructuredSparsifier::squash_group(size_t index) {
  const nlohmann::json& group = groups[index];
  const std::shared_ptr<nn::Module>& module = group_modules[index];
  const std::string tensor_name = group["tensor_name"].get<std::string>();
  auto parametrization = find_structured_sparsity(*module, tensor_name);
  const Tensor mask = parametrization ? parametrization->mask() : Tensor();
  BaseSparsifier::squash_group(index);
  if (!moves_bias(*module)) return;
  module->remove_hooks_with_tag(BiasHook::kTag);
  if (!has_defined_parameter(*module, "_bias")) return;
  Tensor bias = module->get_parameter("_bias");
  const bool requires_grad = bias.requires_grad();
  {
    NoGradGuard no_grad;
    bias = bias.detach().clone();
    if (group.value("prune_bias", true) && mask.defined()) bias = bias * mask.to(kFloat32);
  }
  module->unregister_parameter("_bias");
  module->register_parameter("bias", bias, requires_grad);
  set_bias_option(*module, true);
}

ir::GraphModule BaseStructuredSparsifier::prune(const std::vector<Tensor>& example_inputs) {
  PARE_CHECK(is_prepared() && model() != nullptr, name(),
             "::prune: prepare() a model before pruning it");
  std::function<ir::Value(const std::vector<Tensor>&)> run = runner_;
  if (!run) {
    std::shared_ptr<nn::Module> model_ptr = model();
    run = [model_ptr](const std::vector<Tensor>& inputs) -> ir::Value {
      PARE_CHECK(inputs.size() == 1, model_ptr->type_name(),
                 ": a model prepared as a plain nn::Module is called with one input, got ",
                 inputs.size());
      return ir::Value(model_ptr->call(inputs[0]));
    };
  }
  ir::GraphModule graph_module = ir::trace_function(model(), example_inputs, run);
  prune_graph(graph_module, patterns, example_inputs);
  return graph_module;
}

}  // namespace pare::pruning

// Parametrizations: `parametrizations.<name>.original` plus a chain of modules applied on read.
#include "pare/nn/parametrize.h"

#include "pare/autograd.h"
#include "pare/elementwise.h"
#include "pare/indexing.h"
#include "pare/reduction.h"

namespace pare::nn {

namespace {

class FunctionParametrization : public Parametrization {
 public:
  FunctionParametrization(std::string type_name, std::function<Tensor(const Tensor&)> fn)
      : Parametrization(std::move(type_name)), fn_(std::move(fn)) {}
  Tensor apply(const Tensor& original) override { return fn_(original); }

 private:
  std::function<Tensor(const Tensor&)> fn_;
};

}  // namespace

ParametrizationList::ParametrizationList() : Module("ParametrizationList") {}

Tensor ParametrizationList::original() const { return Module::get_parameter("original"); }

Tensor ParametrizationList::evaluate() const {
  Tensor value = original();
  for (const auto& parametrization : chain_) value = parametrization->apply(value);
  return value;
}

std::shared_ptr<Parametrization> ParametrizationList::at(size_t index) const {
  PARE_CHECK(index < chain_.size(), "ParametrizationList: index ", index, " out of range (",
             chain_.size(), " parametrizations)");
  return chain_[index];
}

void ParametrizationList::append(std::shared_ptr<Parametrization> parametrization) {
  register_module(std::to_string(chain_.size()), parametrization);
  chain_.push_back(std::move(parametrization));
}

std::shared_ptr<Parametrization> make_parametrization(std::string type_name,
                                                      std::function<Tensor(const Tensor&)> fn) {
  return std::make_shared<FunctionParametrization>(std::move(type_name), std::move(fn));
}

void register_parametrization(const std::shared_ptr<Module>& module, const std::string& name,
                              std::shared_ptr<Parametrization> parametrization, bool unsafe) {
  PARE_CHECK(module != nullptr, "register_parametrization: the module is empty");
  PARE_CHECK(parametrization != nullptr, "register_parametrization: the parametrization for '",
             name, "' of ", module->type_name(), " is empty");
  std::shared_ptr<ParametrizationList> list = module->parametrization(name);
  auto found = std::find_if(module->parameters_.begin(), module->parameters_.end(),
                            [&](const auto& entry) { return entry.first == name; });
  if (!list) {
    PARE_CHECK(found != module->parameters_.end() && found->second.defined(), module->type_name(),
               ": register_parametrization: no parameter named '", name, "'");
  }
  // PyTorch checks that the parametrization keeps the shape, before changing the module.
  if (!unsafe) {
    Tensor before = list ? list->evaluate() : found->second;
    Tensor after;
    {
      NoGradGuard no_grad;
      after = parametrization->apply(before.detach());
    }
    PARE_CHECK(after.sizes() == before.sizes(), module->type_name(), ": the parametrization ",
               parametrization->type_name(), " of '", name, "' changes its shape from ",
               before.sizes(), " to ", after.sizes());
  }
  if (!list) {
    Tensor original = found->second;
    module->parameters_.erase(found);
    auto container = module->get_child("parametrizations");
    if (!container) {
      container = std::make_shared<Module>("ModuleDict");
      module->register_module("parametrizations", container);
    }
    list = std::make_shared<ParametrizationList>();
    list->register_parameter("original", original, original.requires_grad());
    container->register_module(name, list);
  }
  list->append(std::move(parametrization));
}

void remove_parametrizations(const std::shared_ptr<Module>& module, const std::string& name,
                             bool leave_parametrized) {
  PARE_CHECK(module != nullptr, "remove_parametrizations: the module is empty");
  std::shared_ptr<ParametrizationList> list = module->parametrization(name);
  PARE_CHECK(list != nullptr, module->type_name(), ": remove_parametrizations: '", name,
             "' is not parametrized");
  Tensor value;
  if (leave_parametrized) {
    NoGradGuard no_grad;
    value = list->evaluate().detach().clone();
  } else {
    value = list->original();
  }
  bool requires_grad = list->original().requires_grad();
  auto container = module->get_child("parametrizations");
  container->unregister_module(name);
  if (container->named_children().empty()) module->unregister_module("parametrizations");
  module->parameters_.emplace_back(name, Tensor());
  module->register_parameter(name, value, requires_grad);
}

bool is_parametrized(const Module& module, const std::string& name) {
  return module.is_parametrized(name);
}

std::optional<RowMaskedParameter> row_masked_parameter(const Module& module,
                                                       const std::string& name) {
  if (grad_mode_enabled()) return std::nullopt;
  std::shared_ptr<ParametrizationList> list = module.parametrization(name);
  if (list == nullptr || list->size() != 1) return std::nullopt;
  RowMaskedParameter masked{list->original(), list->at(0)->row_mask()};
  if (!masked.mask.defined() || !masked.stored.defined() || masked.stored.dtype() != kFloat32 ||
      masked.stored.dim() < 1 || masked.mask.dtype() != kBool || masked.mask.dim() != 1 ||
      masked.mask.numel() != masked.stored.size(0))
    return std::nullopt;
  const Tensor bits = masked.mask.contiguous();
  for (int64_t row = 0; row < bits.numel(); ++row)
    if (!bits.data_ptr<bool>()[row] && !all_finite(masked.stored.select(0, row)))
      return std::nullopt;
  return masked;
}

Tensor clear_masked_channels(const Tensor& output, const Tensor& mask, int64_t axis) {
  if (axis < 0) axis += output.dim();
  PARE_CHECK(axis >= 0 && axis < output.dim() && output.size(axis) == mask.numel(),
             "clear_masked_channels: a mask of ", mask.numel(), " channels does not fit axis ",
             axis, " of an output of shape ", output.sizes());
  Shape shape(static_cast<size_t>(output.dim() - axis), 1);
  shape[0] = mask.numel();
  return masked_fill(output, logical_not(mask).contiguous().view(shape), 0.0);
}

}  // namespace pare::nn

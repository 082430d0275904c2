#include "pare/optim/optimizer.h"

#include <typeinfo>

#include "pare/autograd.h"
#include "pare/creation.h"

namespace pare::optim {

Optimizer::Optimizer(std::vector<ParamGroup> groups) {
  for (ParamGroup& group : groups) add_param_group(std::move(group));
}

void Optimizer::add_param_group(ParamGroup group) {
  for (const Tensor& parameter : group.params) {
    PARE_CHECK(parameter.defined(), name_, ": a parameter group holds an undefined tensor");
    PARE_CHECK(parameter.is_leaf(), name_,
               ": can only optimise leaf tensors; got a tensor of shape ", parameter.sizes(),
               " that is the result of an op");
    for (const ParamGroup& existing : groups_)
      for (const Tensor& other : existing.params)
        PARE_CHECK(!other.is_same(parameter), name_, ": a parameter of shape ", parameter.sizes(),
                   " appears in more than one group");
  }
  if (defaults_) adopt_defaults(group);
  groups_.push_back(std::move(group));
}

void Optimizer::fill_defaults(const OptimizerOptions& defaults) {
  defaults_ = defaults.clone();
  for (ParamGroup& group : groups_) adopt_defaults(group);
}

void Optimizer::adopt_defaults(ParamGroup& group) const {
  const OptimizerOptions& given = group.options();
  PARE_CHECK(typeid(given) == typeid(OptimizerOptions) || typeid(given) == typeid(*defaults_),
             name_, ": a parameter group's options are another optimiser's options type; give ",
             name_, "'s own options (or named numbers) for each group");
  std::unique_ptr<OptimizerOptions> merged = defaults_->clone();
  for (const auto& [key, value] : given.values()) merged->values()[key] = value;
  group.set_options(std::move(merged));
}

void Optimizer::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (ParamGroup& group : groups_) {
    for (Tensor& parameter : group.params) {
      Tensor& grad = parameter.mutable_grad();
      if (!grad.defined()) continue;
      if (set_to_none) {
        grad = Tensor();
      } else {
        grad.zero_();
      }
    }
  }
}

std::map<std::string, Tensor>& Optimizer::state_of(const Tensor& parameter) {
  return state_[parameter.impl()];
}

nn::StateDict Optimizer::state_dict() const {
  nn::StateDict result;
  int64_t index = 0;
  for (const ParamGroup& group : groups_) {
    for (const Tensor& parameter : group.params) {
      auto found = state_.find(parameter.impl());
      if (found != state_.end())
        for (const auto& [name, tensor] : found->second)
          result.emplace_back("state." + std::to_string(index) + "." + name, tensor.detach());
      ++index;
    }
  }
  for (size_t g = 0; g < groups_.size(); ++g)
    for (const auto& [option, value] : groups_[g].options().values())
      result.emplace_back("param_groups." + std::to_string(g) + "." + option, scalar_tensor(value));
  return result;
}

void Optimizer::load_state_dict(const nn::StateDict& state) {
  std::vector<const Tensor*> flat;
  for (const ParamGroup& group : groups_)
    for (const Tensor& parameter : group.params) flat.push_back(&parameter);
  std::unordered_map<const TensorImpl*, std::map<std::string, Tensor>> restored;
  for (const auto& [key, tensor] : state) {
    size_t first_dot = key.find('.');
    size_t second_dot = key.find('.', first_dot + 1);
    PARE_CHECK(first_dot != std::string::npos && second_dot != std::string::npos, name_,
               ".load_state_dict: malformed key '", key, "'");
    std::string section = key.substr(0, first_dot);
    int64_t index = std::stoll(key.substr(first_dot + 1, second_dot - first_dot - 1));
    std::string name = key.substr(second_dot + 1);
    if (section == "state") {
      PARE_CHECK(index >= 0 && index < static_cast<int64_t>(flat.size()), name_,
                 ".load_state_dict: state for parameter ", index, " but the optimiser has ",
                 flat.size(), " parameters");
      const Tensor& parameter = *flat[index];
      PARE_CHECK(tensor.numel() <= 1 || tensor.sizes() == parameter.sizes(), name_,
                 ".load_state_dict: '", key, "' has shape ", tensor.sizes(),
                 " but the parameter has shape ", parameter.sizes());
      restored[parameter.impl()][name] = tensor.detach().clone();
    } else if (section == "param_groups") {
      PARE_CHECK(index >= 0 && index < static_cast<int64_t>(groups_.size()), name_,
                 ".load_state_dict: options for group ", index, " but the optimiser has ",
                 groups_.size(), " groups");
      groups_[index].option(name) = tensor.item<double>();
    } else {
      throw Error(str_cat(name_, ".load_state_dict: unexpected key '", key, "'"));
    }
  }
  state_ = std::move(restored);
}

}  // namespace pare::optim

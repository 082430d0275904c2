// pare::pruning::BaseSparsifier: the state and config half of PyTorch's
// torch.ao.pruning.BaseSparsifier (docs/pruning.md, "BaseSparsifier").
//
//   pare::pruning::SaliencyPruner pruner({{"sparsity_level", 0.5}});
//   pruner.prepare(net, {{{"tensor_fqn", "fc1.weight"}}, {{"tensor_fqn", "fc2.weight"}}});
//   pruner.groups[0]["sparsity_level"];             // 0.5: defaults merged into every group
//   pruner.state["fc1.weight"]["mask"];              // the mask the parametrization applies
//   pruner.step();                                   // update_mask() for every group
//   auto saved = pruner.state_dict();                // masks + groups, for load_state_dict
//   std::cout << pruner;                             // SaliencyPruner ( Group 0 ... )
//
// A group is a JSON object: the defaults, overridden by its config entry, plus tensor_fqn,
// module_fqn and tensor_name. JSON cannot hold a module, so group_modules[i] is groups[i]'s
// module (PyTorch's group["module"]).
#pragma once

#include <concepts>
#include <cstddef>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "pare/nn/module.h"
#include "pare/tensor.h"

namespace pare::pruning {

// state[tensor_fqn]["mask"], as PyTorch's defaultdict(dict).
using SparsifierState = std::map<std::string, std::map<std::string, Tensor>>;

// What state_dict() returns: the per-tensor state and the groups without the keys that name the
// model (module_fqn, tensor_name), exactly as PyTorch's state_dict.
struct SparsifierStateDict {
  SparsifierState state;
  std::vector<nlohmann::json> groups;
};

// module_fqn, tensor_name and the module of a tensor's qualified name, or an error naming
// `entry` (the config entry being resolved) when the module or the tensor does not exist.
struct TensorInfo {
  std::string module_fqn;
  std::string tensor_name;
  std::shared_ptr<nn::Module> module;
};
TensorInfo tensor_info_from_fqn(const std::shared_ptr<nn::Module>& model,
                                const std::string& tensor_fqn, const std::string& entry);

class BaseSparsifier {
 public:
  explicit BaseSparsifier(nlohmann::json defaults = nlohmann::json::object());
  virtual ~BaseSparsifier() = default;
  // Not copyable. The deleted copy takes a non-const reference so that it cannot bind the
  // temporary of `SaliencyPruner pruner({{"sparsity_level", 0.5}})`, which would otherwise make
  // that call ambiguous with the defaults constructor.
  BaseSparsifier(BaseSparsifier&) = delete;
  BaseSparsifier& operator=(BaseSparsifier&) = delete;

  // The class name, for printing.
  virtual std::string name() const = 0;

  // Builds the groups from `config` (empty: make_config_from_model) and attaches the masks.
  // Every entry is validated before the model is touched. Preparing a model whose configured
  // tensors already carry a parametrization, or preparing twice without squash_mask, is an
  // error.
  void prepare(const std::shared_ptr<nn::Module>& model,
               const std::vector<nlohmann::json>& config = {});
  // The same with the config as a JSON array (e.g. read from a file).
  template <typename Json>
  requires std::same_as<Json, nlohmann::json>
  void prepare(const std::shared_ptr<nn::Module>& model, const Json& config) {
    prepare(model, config_entries(config));
  }

  // One {"tensor_fqn": ...} per Linear / Conv2d / LSTM (exact type, not inside another
  // supported module) in PyTorch's order: a LIFO stack walk of named_children, direct supported
  // children of a module first. An LSTM contributes weight_ih_l{k} and weight_hh_l{k} per layer.
  virtual std::vector<nlohmann::json> make_config_from_model(
      const std::shared_ptr<nn::Module>& model) const;

  // update_mask() for every group, unless enable_mask_update is false.
  void step();
  virtual void update_mask(const std::shared_ptr<nn::Module>& module,
                           const std::string& tensor_name, nlohmann::json& group) = 0;

  // Removes the parametrizations, keeping the masked values in the plain parameters. Returns
  // PyTorch's `module.sparse_params` per module_fqn: the group keys listed in params_to_keep,
  // plus those listed for that module in params_to_keep_per_layer (modules with none are
  // absent).
  std::map<std::string, nlohmann::json> squash_mask(
      const std::vector<std::string>& params_to_keep = {},
      const std::map<std::string, std::vector<std::string>>& params_to_keep_per_layer = {});

  SparsifierStateDict state_dict() const;
  // Restores groups, user state keys and masks into the prepared model: a mask of a tensor that
  // carries this sparsifier's parametrization is copied into it, any other tensor gets one
  // attached. With strict, a tensor_fqn the model lacks is an error.
  void load_state_dict(const SparsifierStateDict& state_dict, bool strict = true);

  const std::shared_ptr<nn::Module>& model() const { return model_; }
  bool is_prepared() const { return prepared_; }

  nlohmann::json defaults;
  std::vector<nlohmann::json> groups;
  std::vector<std::shared_ptr<nn::Module>> group_modules;
  SparsifierState state;
  bool enable_mask_update = true;

 protected:
  // Checks the groups as a whole before any mask is built (e.g. LSTM pairs).
  virtual void check_groups() const {}
  // The initial mask of group `index`; may reject the group's config.
  virtual Tensor make_mask(size_t index) const = 0;
  // Attaches `mask` (the tensor kept in state) to group `index`'s tensor.
  virtual void attach_mask(size_t index, const Tensor& mask) = 0;
  // Refuses a mask from load_state_dict that cannot mask `module`'s `tensor_name` (a pare::Error
  // naming tensor_fqn); called for every loaded mask before anything changes.
  virtual void check_loaded_mask(const nn::Module& /*module*/, const std::string& /*tensor_name*/,
                                 const std::string& /*tensor_fqn*/, const Tensor& /*mask*/) const {}
  // Re-applies group `index`'s options to its already attached mask after load_state_dict
  // replaced the group (e.g. a loaded prune_bias).
  virtual void reload_group(size_t /*index*/) {}
  // Removes group `index`'s parametrization, keeping the masked value.
  virtual void squash_group(size_t index);

 private:
  static std::vector<nlohmann::json> config_entries(const nlohmann::json& config);
  nlohmann::json make_group(const nlohmann::json& entry, TensorInfo& info) const;

  std::shared_ptr<nn::Module> model_;
  bool prepared_ = false;
};

// PyTorch's repr: the class name, then every group's module and sorted keys.
std::ostream& operator<<(std::ostream& stream, const BaseSparsifier& sparsifier);

}  // namespace pare::pruning

// The optimiser base: parameter groups, per-parameter state, zero_grad and state_dict.
//
//   pare::optim::SGD optimizer(net->parameters(), pare::optim::SGDOptions(0.1).momentum(0.9));
//   // Or with groups, each with its own options:
//   pare::optim::SGD grouped({{net->fc->parameters(), pare::optim::SGDOptions(0.01)},
//                             {net->conv->parameters(), pare::optim::SGDOptions(0.1)}},
//                            pare::optim::SGDOptions(0.1));
//   optimizer.zero_grad(); loss.backward(); optimizer.step();
//   auto state = optimizer.state_dict();   // tensors: "state.<i>.<name>", "param_groups.<g>.<opt>"
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "pare/nn/module.h"
#include "pare/tensor.h"

namespace pare::optim {

// One group of parameters sharing options. Options are plain named numbers so that schedulers and
// state_dict can treat every optimiser alike ("lr", "momentum", "weight_decay", ...).
struct ParamGroup {
  std::vector<Tensor> params;
  std::map<std::string, double> options;
  double& lr() { return options.at("lr"); }
};

class Optimizer {
 public:
  explicit Optimizer(std::vector<ParamGroup> groups);
  virtual ~Optimizer() = default;

  virtual void step() = 0;
  // Drops (set_to_none) or zeroes the gradients of every parameter of every group.
  void zero_grad(bool set_to_none = true);

  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  void add_param_group(ParamGroup group);

  // Every per-parameter state tensor ("state.<index>.<name>", index counting parameters across
  // groups in order) and every group option ("param_groups.<g>.<option>", 0-d float32).
  nn::StateDict state_dict() const;
  // Restores what state_dict() produced for an optimiser over parameters of the same shapes.
  void load_state_dict(const nn::StateDict& state);

 protected:
  // The named state of one parameter (created empty on first use).
  std::map<std::string, Tensor>& state_of(const Tensor& parameter);
  // Options missing from a group are taken from these defaults.
  void fill_defaults(const std::map<std::string, double>& defaults);
  std::string name_ = "Optimizer";

 private:
  std::vector<ParamGroup> groups_;
  std::unordered_map<const TensorImpl*, std::map<std::string, Tensor>> state_;
};

}  // namespace pare::optim

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

#include <concepts>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "pare/nn/module.h"
#include "pare/tensor.h"

namespace pare::optim {

// The options of one parameter group, kept as named numbers so that schedulers and state_dict
// treat every optimiser alike ("lr", "momentum", "weight_decay", ...). Each optimiser's options
// type (SGDOptions, AdamOptions, AdamWOptions) derives from it and reads and writes the same
// numbers; once an optimiser holds a group, the group's options() is of that type, so libtorch's
// downcast works:
//
//   for (auto& group : optimizer.param_groups())
//     static_cast<pare::optim::SGDOptions&>(group.options()).lr(0.01);
class OptimizerOptions {
 public:
  OptimizerOptions() = default;
  explicit OptimizerOptions(std::map<std::string, double> values) : values_(std::move(values)) {}
  virtual ~OptimizerOptions() = default;
  // A copy of the same dynamic type.
  virtual std::unique_ptr<OptimizerOptions> clone() const {
    return std::make_unique<OptimizerOptions>(*this);
  }
  // libtorch's names for the learning rate every optimiser has.
  double get_lr() const { return values_.at("lr"); }
  void set_lr(double lr) { values_["lr"] = lr; }
  std::map<std::string, double>& values() { return values_; }
  const std::map<std::string, double>& values() const { return values_; }

 protected:
  std::map<std::string, double> values_;
};

// The clone() of an options type `Derived` (CRTP, so each type needs no code of its own).
template <typename Derived, typename Base = OptimizerOptions>
class OptimizerCloneable : public Base {
 public:
  using Base::Base;
  std::unique_ptr<OptimizerOptions> clone() const override {
    return std::make_unique<Derived>(static_cast<const Derived&>(*this));
  }
};

// One group of parameters sharing options: given as named numbers ({{"lr", 0.5}}: the rest comes
// from the optimiser's defaults) or as a whole options object (SGDOptions(0.01): used as it is).
class ParamGroup {
 public:
  ParamGroup(std::vector<Tensor> params, std::map<std::string, double> options = {})  // NOLINT
      : params(std::move(params)),
        options_(std::make_unique<OptimizerOptions>(std::move(options))) {}
  template <std::derived_from<OptimizerOptions> Options>
  ParamGroup(std::vector<Tensor> params, const Options& options)
      : params(std::move(params)), options_(options.clone()) {}
  ParamGroup(const ParamGroup& other) : params(other.params), options_(other.options_->clone()) {}
  ParamGroup& operator=(const ParamGroup& other) {
    params = other.params;
    options_ = other.options_->clone();
    return *this;
  }
  ParamGroup(ParamGroup&&) = default;
  ParamGroup& operator=(ParamGroup&&) = default;

  std::vector<Tensor> params;
  OptimizerOptions& options() { return *options_; }
  const OptimizerOptions& options() const { return *options_; }
  void set_options(std::unique_ptr<OptimizerOptions> options) { options_ = std::move(options); }
  double& lr() { return options_->values().at("lr"); }
  // One named option (created as 0 when absent, as the optimisers read a flag they lack).
  double& option(const std::string& name) { return options_->values()[name]; }

 private:
  std::unique_ptr<OptimizerOptions> options_;
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
  // Every group's options become a copy of `defaults` (the optimiser's options type) with the
  // numbers the group gave replacing the defaults'; add_param_group does the same later.
  void fill_defaults(const OptimizerOptions& defaults);
  std::string name_ = "Optimizer";

 private:
  void adopt_defaults(ParamGroup& group) const;
  std::vector<ParamGroup> groups_;
  std::unique_ptr<OptimizerOptions> defaults_;
  std::unordered_map<const TensorImpl*, std::map<std::string, Tensor>> state_;
};

}  // namespace pare::optim

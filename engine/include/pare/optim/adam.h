// Adam and AdamW (PyTorch's update rules, with bias correction and optional AMSGrad). Adam adds
// weight decay to the gradient; AdamW decays the weights directly (decoupled).
//
//   pare::optim::Adam adam(net->parameters(), pare::optim::AdamOptions(1e-3));
//   pare::optim::AdamW adamw(net->parameters(),
//   pare::optim::AdamWOptions(1e-3).weight_decay(0.05));
#pragma once

#include <tuple>

#include "pare/optim/optimizer.h"

namespace pare::optim {

// The options of Adam and AdamW: setters chain, getters (the same name without an argument)
// read back. betas takes two numbers or libtorch's std::make_tuple(beta1, beta2).
template <typename Self>
class AdamOptionsOf : public OptimizerCloneable<Self> {
 public:
  explicit AdamOptionsOf(double lr, double weight_decay) {
    this->values_ = {{"lr", lr},
                     {"beta1", 0.9},
                     {"beta2", 0.999},
                     {"eps", 1e-8},
                     {"weight_decay", weight_decay},
                     {"amsgrad", 0.0}};
  }
  Self& lr(double value) { return set("lr", value); }
  Self& betas(double beta1, double beta2) { return set("beta1", beta1).set("beta2", beta2); }
  Self& betas(const std::tuple<double, double>& values) {
    return betas(std::get<0>(values), std::get<1>(values));
  }
  Self& eps(double value) { return set("eps", value); }
  Self& weight_decay(double value) { return set("weight_decay", value); }
  Self& amsgrad(bool value) { return set("amsgrad", value ? 1.0 : 0.0); }
  double lr() const { return this->values_.at("lr"); }
  std::tuple<double, double> betas() const {
    return {this->values_.at("beta1"), this->values_.at("beta2")};
  }
  double eps() const { return this->values_.at("eps"); }
  double weight_decay() const { return this->values_.at("weight_decay"); }
  bool amsgrad() const { return this->values_.at("amsgrad") != 0; }

 private:
  Self& set(const char* name, double value) {
    this->values_[name] = value;
    return static_cast<Self&>(*this);
  }
};

class AdamOptions : public AdamOptionsOf<AdamOptions> {
 public:
  explicit AdamOptions(double lr = 1e-3) : AdamOptionsOf(lr, 0.0) {}
};

// AdamW's options differ from Adam's only in the default weight decay (1e-2, as in PyTorch).
class AdamWOptions : public AdamOptionsOf<AdamWOptions> {
 public:
  explicit AdamWOptions(double lr = 1e-3) : AdamOptionsOf(lr, 1e-2) {}
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, const AdamOptions& options);
  Adam(std::vector<ParamGroup> groups, const AdamOptions& defaults);
  void step() override;

 protected:
  Adam(std::vector<ParamGroup> groups, const OptimizerOptions& defaults,
       bool decoupled_weight_decay);

 private:
  bool decoupled_weight_decay_ = false;
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> params, const AdamWOptions& options);
  AdamW(std::vector<ParamGroup> groups, const AdamWOptions& defaults);
};

}  // namespace pare::optim

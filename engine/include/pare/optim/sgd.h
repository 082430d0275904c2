// Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (PyTorch's
// update rule, including the momentum buffer starting as a copy of the first gradient).
//
//   pare::optim::SGD sgd(net->parameters(),
//                        pare::optim::SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(5e-4));
#pragma once

#include "pare/optim/optimizer.h"

namespace pare::optim {

// Each setter returns *this for chaining; each getter (libtorch's spelling: the same name without
// an argument) reads the number back.
class SGDOptions : public OptimizerCloneable<SGDOptions> {
 public:
  explicit SGDOptions(double lr) {
    values_ = {{"lr", lr},
               {"momentum", 0.0},
               {"dampening", 0.0},
               {"weight_decay", 0.0},
               {"nesterov", 0.0}};
  }
  SGDOptions& lr(double value) { return set("lr", value); }
  SGDOptions& momentum(double value) { return set("momentum", value); }
  SGDOptions& dampening(double value) { return set("dampening", value); }
  SGDOptions& weight_decay(double value) { return set("weight_decay", value); }
  SGDOptions& nesterov(bool value) { return set("nesterov", value ? 1.0 : 0.0); }
  double lr() const { return values_.at("lr"); }
  double momentum() const { return values_.at("momentum"); }
  double dampening() const { return values_.at("dampening"); }
  double weight_decay() const { return values_.at("weight_decay"); }
  bool nesterov() const { return values_.at("nesterov") != 0; }

 private:
  SGDOptions& set(const char* name, double value) {
    values_[name] = value;
    return *this;
  }
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, const SGDOptions& options);
  SGD(std::vector<ParamGroup> groups, const SGDOptions& defaults);
  void step() override;
};

}  // namespace pare::optim

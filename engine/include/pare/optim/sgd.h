// Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (PyTorch's
// update rule, including the momentum buffer starting as a copy of the first gradient).
//
//   pare::optim::SGD sgd(net->parameters(),
//                        pare::optim::SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(5e-4));
#pragma once

#include "pare/optim/optimizer.h"

namespace pare::optim {

struct SGDOptions {
  explicit SGDOptions(double lr) : lr_(lr) {}
  SGDOptions& lr(double value) {
    lr_ = value;
    return *this;
  }
  SGDOptions& momentum(double value) {
    momentum_ = value;
    return *this;
  }
  SGDOptions& dampening(double value) {
    dampening_ = value;
    return *this;
  }
  SGDOptions& weight_decay(double value) {
    weight_decay_ = value;
    return *this;
  }
  SGDOptions& nesterov(bool value) {
    nesterov_ = value;
    return *this;
  }
  std::map<std::string, double> to_map() const;

  double lr_;
  double momentum_ = 0.0;
  double dampening_ = 0.0;
  double weight_decay_ = 0.0;
  bool nesterov_ = false;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, const SGDOptions& options);
  SGD(std::vector<ParamGroup> groups, const SGDOptions& defaults);
  void step() override;
};

}  // namespace pare::optim

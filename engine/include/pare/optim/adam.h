// Adam and AdamW (PyTorch's update rules, with bias correction and optional AMSGrad). Adam adds
// weight decay to the gradient; AdamW decays the weights directly (decoupled).
//
//   pare::optim::Adam adam(net->parameters(), pare::optim::AdamOptions(1e-3));
//   pare::optim::AdamW adamw(net->parameters(),
//   pare::optim::AdamWOptions(1e-3).weight_decay(0.05));
#pragma once

#include "pare/optim/optimizer.h"

namespace pare::optim {

struct AdamOptions {
  explicit AdamOptions(double lr = 1e-3) : lr_(lr) {}
  AdamOptions& lr(double value) {
    lr_ = value;
    return *this;
  }
  AdamOptions& betas(double beta1, double beta2) {
    beta1_ = beta1;
    beta2_ = beta2;
    return *this;
  }
  AdamOptions& eps(double value) {
    eps_ = value;
    return *this;
  }
  AdamOptions& weight_decay(double value) {
    weight_decay_ = value;
    return *this;
  }
  AdamOptions& amsgrad(bool value) {
    amsgrad_ = value;
    return *this;
  }
  std::map<std::string, double> to_map() const;

  double lr_;
  double beta1_ = 0.9;
  double beta2_ = 0.999;
  double eps_ = 1e-8;
  double weight_decay_ = 0.0;
  bool amsgrad_ = false;
};

// AdamW's options differ from Adam's only in the default weight decay (1e-2, as in PyTorch).
struct AdamWOptions : AdamOptions {
  explicit AdamWOptions(double lr = 1e-3) : AdamOptions(lr) { weight_decay_ = 1e-2; }
  AdamWOptions& lr(double value) {
    lr_ = value;
    return *this;
  }
  AdamWOptions& betas(double beta1, double beta2) {
    beta1_ = beta1;
    beta2_ = beta2;
    return *this;
  }
  AdamWOptions& eps(double value) {
    eps_ = value;
    return *this;
  }
  AdamWOptions& weight_decay(double value) {
    weight_decay_ = value;
    return *this;
  }
  AdamWOptions& amsgrad(bool value) {
    amsgrad_ = value;
    return *this;
  }
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, const AdamOptions& options);
  Adam(std::vector<ParamGroup> groups, const AdamOptions& defaults);
  void step() override;

 protected:
  Adam(std::vector<ParamGroup> groups, const AdamOptions& defaults, bool decoupled_weight_decay);

 private:
  bool decoupled_weight_decay_ = false;
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> params, const AdamWOptions& options);
  AdamW(std::vector<ParamGroup> groups, const AdamWOptions& defaults);
};

}  // namespace pare::optim

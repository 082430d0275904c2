// Learning-rate schedulers over an optimiser's groups (PyTorch's StepLR and CosineAnnealingLR,
// closed form). Call step() once per epoch after the optimiser's steps.
//
//   pare::optim::CosineAnnealingLR schedule(optimizer, /*t_max=*/epochs);
//   for (int epoch = 0; epoch < epochs; ++epoch) { train_one_epoch(); schedule.step(); }
#pragma once

#include <vector>

#include "pare/optim/optimizer.h"

namespace pare::optim {

class LRScheduler {
 public:
  explicit LRScheduler(Optimizer& optimizer);
  virtual ~LRScheduler() = default;
  // Advances one epoch and writes the new rate into every group.
  void step();
  std::vector<double> get_last_lr() const;
  int64_t last_epoch() const { return last_epoch_; }

 protected:
  // The rate of a group with base rate `base_lr` at epoch `epoch`.
  virtual double lr_at(double base_lr, int64_t epoch) const = 0;

 private:
  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  int64_t last_epoch_ = 0;
};

// lr = base_lr * gamma^(epoch / step_size).
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);

 protected:
  double lr_at(double base_lr, int64_t epoch) const override;

 private:
  int64_t step_size_;
  double gamma_;
};

// lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / t_max)) / 2.
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min = 0.0);

 protected:
  double lr_at(double base_lr, int64_t epoch) const override;

 private:
  int64_t t_max_;
  double eta_min_;
};

}  // namespace pare::optim

#include "pare/optim/lr_scheduler.h"

#include <cmath>

namespace pare::optim {

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {
  for (ParamGroup& group : optimizer_.param_groups()) {
    // Like PyTorch's initial_lr: the rate the schedule starts from.
    group.options().values().emplace("initial_lr", group.lr());
    base_lrs_.push_back(group.option("initial_lr"));
  }
}

void LRScheduler::step() {
  ++last_epoch_;
  auto& groups = optimizer_.param_groups();
  for (size_t g = 0; g < groups.size() && g < base_lrs_.size(); ++g)
    groups[g].lr() = lr_at(base_lrs_[g], last_epoch_);
}

std::vector<double> LRScheduler::get_last_lr() const {
  std::vector<double> rates;
  for (const ParamGroup& group : optimizer_.param_groups())
    rates.push_back(group.options().get_lr());
  return rates;
}

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  PARE_CHECK(step_size > 0, "StepLR: step_size must be positive, got ", step_size);
}

double StepLR::lr_at(double base_lr, int64_t epoch) const {
  return base_lr * std::pow(gamma_, static_cast<double>(epoch / step_size_));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min)
    : LRScheduler(optimizer), t_max_(t_max), eta_min_(eta_min) {
  PARE_CHECK(t_max > 0, "CosineAnnealingLR: t_max must be positive, got ", t_max);
}

double CosineAnnealingLR::lr_at(double base_lr, int64_t epoch) const {
  return eta_min_ + (base_lr - eta_min_) * (1.0 + std::cos(M_PI * epoch / t_max_)) / 2.0;
}

}  // namespace pare::optim

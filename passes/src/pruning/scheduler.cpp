// BaseScheduler, LambdaSL and CubicSL.
#include "pare/passes/pruning/scheduler.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "pare/error.h"

namespace pare::pruning {

BaseScheduler::BaseScheduler(BaseSparsifier& sparsifier, int64_t last_epoch_in)
    : last_epoch(last_epoch_in), sparsifier_(sparsifier) {
  for (const nlohmann::json& group : sparsifier.groups) {
    PARE_CHECK(group.contains("sparsity_level") && group["sparsity_level"].is_number(),
               "scheduler: group '", group.value("tensor_fqn", std::string("?")),
               "' has no numeric sparsity_level");
    base_sl.push_back(group["sparsity_level"].get<double>());
  }
}

void BaseScheduler::initial_step() {
  step_count_ = 0;
  step();
}

void BaseScheduler::step() {
  ++step_count_;
  ++last_epoch;
  const std::vector<double> levels = get_sl();
  PARE_CHECK(levels.size() == sparsifier_.groups.size(), "scheduler: get_sl returned ",
             levels.size(), " levels for ", sparsifier_.groups.size(), " groups");
  for (size_t index = 0; index < levels.size(); ++index)
    sparsifier_.groups[index]["sparsity_level"] = levels[index];
  last_sl_ = levels;
  sparsifier_.enable_mask_update = true;
}

LambdaSL::LambdaSL(BaseSparsifier& sparsifier, Lambda sl_lambda, int64_t last_epoch_in)
    : LambdaSL(sparsifier, std::vector<Lambda>(sparsifier.groups.size(), std::move(sl_lambda)),
               last_epoch_in) {}

LambdaSL::LambdaSL(BaseSparsifier& sparsifier, std::vector<Lambda> sl_lambdas,
                   int64_t last_epoch_in)
    : BaseScheduler(sparsifier, last_epoch_in), sl_lambdas_(std::move(sl_lambdas)) {
  PARE_CHECK(sl_lambdas_.size() == sparsifier.groups.size(), "LambdaSL: expected ",
             sparsifier.groups.size(), " lambdas (one per group), got ", sl_lambdas_.size());
  initial_step();
}

std::vector<double> LambdaSL::get_sl() const {
  std::vector<double> levels;
  for (size_t index = 0; index < base_sl.size(); ++index)
    levels.push_back(base_sl[index] * sl_lambdas_[index](last_epoch));
  return levels;
}

CubicSL::CubicSL(BaseSparsifier& sparsifier, double init_sl, int64_t init_t, int64_t delta_t,
                 int64_t total_t, bool initially_zero, int64_t last_epoch_in)
    : BaseScheduler(sparsifier, last_epoch_in),
      init_sl_(init_sl),
      init_t_(init_t),
      delta_t_(delta_t),
      total_t_(total_t),
      initially_zero_(initially_zero) {
  PARE_CHECK(delta_t > 0 && total_t > 0, "CubicSL: delta_t and total_t must be positive, got ",
             delta_t, " and ", total_t);
  initial_step();
}

double CubicSL::sparsity_compute_fn(double s_0, double s_f, int64_t t, int64_t t_0, int64_t dt,
                                    int64_t n, bool initially_zero) {
  if (initially_zero && t < t_0) return 0.0;
  const double progress = static_cast<double>(t - t_0) / static_cast<double>(dt * n);
  const double s_t = s_f + (s_0 - s_f) * std::pow(1.0 - progress, 3);
  // PyTorch's _clamp(x, lo, hi) = max(lo, min(hi, x)).
  return std::max(s_0, std::min(s_f, s_t));
}

std::vector<double> CubicSL::get_sl() const {
  std::vector<double> levels;
  for (double final_level : base_sl)
    levels.push_back(sparsity_compute_fn(init_sl_, final_level, last_epoch, init_t_, delta_t_,
                                         total_t_, initially_zero_));
  return levels;
}

}  // namespace pare::pruning

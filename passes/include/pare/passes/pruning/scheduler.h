// Sparsity schedulers over group["sparsity_level"], as torch.ao.pruning's BaseScheduler,
// LambdaSL and CubicSL: every step() advances last_epoch and writes get_sl() into the groups
// (and re-enables mask updates).
//
//   pare::pruning::SaliencyPruner pruner({{"sparsity_level", 0.8}});
//   pruner.prepare(net);
//   pare::pruning::CubicSL scheduler(pruner, /*init_sl=*/0.0, /*init_t=*/0, /*delta_t=*/2,
//                                    /*total_t=*/5);
//   for (int epoch = 0; epoch < 20; ++epoch) {
//     train_one_epoch(net);
//     pruner.step();
//     scheduler.step();                          // sparsity_level follows the cubic ramp
//   }
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "pare/passes/pruning/base_sparsifier.h"

namespace pare::pruning {

class BaseScheduler {
 public:
  // Reads base_sl from the groups; the derived constructor performs PyTorch's initial step.
  explicit BaseScheduler(BaseSparsifier& sparsifier, int64_t last_epoch = -1);
  virtual ~BaseScheduler() = default;

  void step();
  // The sparsity level of every group at last_epoch.
  virtual std::vector<double> get_sl() const = 0;
  const std::vector<double>& get_last_sl() const { return last_sl_; }

  std::vector<double> base_sl;
  int64_t last_epoch;

 protected:
  // PyTorch's _initial_step (it calls the derived get_sl, so derived constructors run it).
  void initial_step();
  BaseSparsifier& sparsifier_;

 private:
  int64_t step_count_ = 0;
  std::vector<double> last_sl_;
};

// sparsity_level = base_sl * lambda(epoch), one lambda for all groups or one per group.
class LambdaSL : public BaseScheduler {
 public:
  using Lambda = std::function<double(int64_t epoch)>;
  LambdaSL(BaseSparsifier& sparsifier, Lambda sl_lambda, int64_t last_epoch = -1);
  LambdaSL(BaseSparsifier& sparsifier, std::vector<Lambda> sl_lambdas, int64_t last_epoch = -1);
  std::vector<double> get_sl() const override;

 private:
  std::vector<Lambda> sl_lambdas_;
};

// s_t = s_f + (s_0 - s_f) (1 - (t - t_0) / (dt * n))^3 clamped to [s_0, s_f], s_f = base_sl;
// 0 before t_0 with initially_zero.
class CubicSL : public BaseScheduler {
 public:
  CubicSL(BaseSparsifier& sparsifier, double init_sl = 0.0, int64_t init_t = 0,
          int64_t delta_t = 10, int64_t total_t = 100, bool initially_zero = false,
          int64_t last_epoch = -1);
  static double sparsity_compute_fn(double s_0, double s_f, int64_t t, int64_t t_0, int64_t dt,
                                    int64_t n, bool initially_zero = false);
  std::vector<double> get_sl() const override;

 private:
  double init_sl_;
  int64_t init_t_;
  int64_t delta_t_;
  int64_t total_t_;
  bool initially_zero_;
};

}  // namespace pare::pruning

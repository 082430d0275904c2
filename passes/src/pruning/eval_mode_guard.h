// Evaluation mode for a scope: the pruning passes run a model to measure what pruned channels
// emit, which must see BatchNorm's running statistics and no dropout, and must leave the model in
// the mode the user had it in (training, usually, between steps of a masked flow).
#pragma once

#include <memory>
#include <utility>

#include "pare/nn/module.h"

namespace pare::pruning {

class EvalModeGuard {
 public:
  explicit EvalModeGuard(std::shared_ptr<nn::Module> module)
      : module_(std::move(module)), was_training_(module_->is_training()) {
    module_->train(false);
  }
  ~EvalModeGuard() { module_->train(was_training_); }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  std::shared_ptr<nn::Module> module_;
  bool was_training_;
};

}  // namespace pare::pruning

// The loss modules of torch.nn (CrossEntropyLoss, NLLLoss, MSELoss, L1Loss) with libtorch's
// options: a module holds its options and calls the loss function of pare/loss.h with them, so the
// tracer records the same call_function node as for the function.
//
//   pare::nn::CrossEntropyLoss criterion(pare::nn::CrossEntropyLossOptions().label_smoothing(0.1));
//   auto loss = criterion(logits, labels);
//   pare::nn::MSELoss mse(pare::nn::MSELossOptions().reduction(pare::kSum));
#pragma once

#include "pare/loss.h"
#include "pare/nn/loss_options.h"
#include "pare/nn/module.h"

namespace pare::nn {

// The shared shape of the four: options in, forward(input, target) out. Not leaf layers: the
// loss function itself is what a trace records.
template <typename Options>
class LossModule : public Module {
 public:
  explicit LossModule(const Options& options) : options_(options) {}
  virtual Tensor forward(const Tensor& input, const Tensor& target) = 0;
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  const Options& options() const { return options_; }
  Options& options() { return options_; }

 private:
  Options options_;
};

// A class weight is registered as the buffer "weight", as PyTorch does (it is in state_dict()).
class CrossEntropyLossImpl : public LossModule<CrossEntropyLossOptions> {
 public:
  explicit CrossEntropyLossImpl(const CrossEntropyLossOptions& options = {}) : LossModule(options) {
    if (options.weight().defined()) register_buffer("weight", options.weight());
  }
  Tensor forward(const Tensor& input, const Tensor& target) override {
    return cross_entropy(input, target, options().reduction(), options().label_smoothing(),
                         class_weight(), options().ignore_index());
  }
  Tensor class_weight() const { return has_buffer("weight") ? get_buffer("weight") : Tensor(); }
};
using CrossEntropyLoss = ModuleHolder<CrossEntropyLossImpl>;

class NLLLossImpl : public LossModule<NLLLossOptions> {
 public:
  explicit NLLLossImpl(const NLLLossOptions& options = {}) : LossModule(options) {
    if (options.weight().defined()) register_buffer("weight", options.weight());
  }
  Tensor forward(const Tensor& input, const Tensor& target) override {
    return nll_loss(input, target, options().reduction(), class_weight(), options().ignore_index());
  }
  Tensor class_weight() const { return has_buffer("weight") ? get_buffer("weight") : Tensor(); }
};
using NLLLoss = ModuleHolder<NLLLossImpl>;

class MSELossImpl : public LossModule<MSELossOptions> {
 public:
  explicit MSELossImpl(const MSELossOptions& options = {}) : LossModule(options) {}
  Tensor forward(const Tensor& input, const Tensor& target) override {
    return mse_loss(input, target, options().reduction());
  }
};
using MSELoss = ModuleHolder<MSELossImpl>;

class L1LossImpl : public LossModule<L1LossOptions> {
 public:
  explicit L1LossImpl(const L1LossOptions& options = {}) : LossModule(options) {}
  Tensor forward(const Tensor& input, const Tensor& target) override {
    return l1_loss(input, target, options().reduction());
  }
};
using L1Loss = ModuleHolder<L1LossImpl>;

}  // namespace pare::nn

// The 21 activation modules of docs/pruning.md, leaf layers with PyTorch's arguments, defaults
// and printing. A module that is one fixed function says which (activation(), in kernels' terms)
// and its constructor arguments (config()); ActivationModule's forward() computes it with
// pare::activation (functional.h), so such a module is a few inline lines here.
//
//   pare::nn::Sequential mlp(pare::nn::Linear(4, 8), pare::nn::ReLU(), pare::nn::Linear(8, 2));
//   pare::nn::LeakyReLU leaky(0.2);
//   pare::nn::GELU gelu("tanh");
//   pare::nn::PReLU prelu(16);                   // parameter "weight" [16], filled with 0.25
//   std::cout << *leaky;                         // LeakyReLU(negative_slope=0.2)
//   leaky->activation()->alpha;                  // 0.2f: kernels::Activation::leaky_relu's slope
//   prelu->activation();                         // std::nullopt: a learnt weight, not one function
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "pare/arg.h"
#include "pare/kernels/activation.h"
#include "pare/nn/module.h"

namespace pare::nn {

// A leaf layer applying one elementwise activation. It prints config() as keyword arguments.
class ActivationModule : public UnaryModule {
 public:
  using UnaryModule::UnaryModule;
  bool is_leaf_layer() const override { return true; }
  std::string extra_repr() const override;
  // The elementwise function forward() computes, in kernels' terms (kind, alpha, beta), so that a
  // compiler can run or fuse it without knowing the module's class; std::nullopt where it is not
  // one fixed function (PReLU: a learnt weight; RReLU in training mode: random slopes).
  virtual std::optional<kernels::ActivationParams> activation() const = 0;
  // pare::activation(input, *activation(), config()): config() holds the function's keyword
  // arguments under torch.nn.functional's names, as for every fixed-function activation.
  // Modules that are not always one fixed function (PReLU, RReLU) override it.
  Tensor forward(const Tensor& input) override;
  ModuleKind kind() const override;
};

class ReLUImpl : public ActivationModule {
 public:
  std::optional<kernels::ActivationParams> activation() const override {
    return kernels::default_activation_params(kernels::Activation::relu);
  }
};
using ReLU = ModuleHolder<ReLUImpl>;

// Randomised leaky ReLU: a random slope in [lower, upper] when training, (lower + upper) / 2
// in evaluation mode.
class RReLUImpl : public ActivationModule {
 public:
  explicit RReLUImpl(double lower = 1.0 / 8.0, double upper = 1.0 / 3.0);
  Tensor forward(const Tensor& input) override;
  std::optional<kernels::ActivationParams> activation() const override;
  Attrs config() const override { return {{"lower", lower_}, {"upper", upper_}}; }
  double lower() const { return lower_; }
  double upper() const { return upper_; }

 private:
  double lower_;
  double upper_;
};
using RReLU = ModuleHolder<RReLUImpl>;

class HardtanhImpl : public ActivationModule {
 public:
  explicit HardtanhImpl(double min_val = -1.0, double max_val = 1.0);
  std::optional<kernels::ActivationParams> activation() const override {
    return kernels::activation_params(kernels::Activation::hardtanh, min_val_, max_val_);
  }
  Attrs config() const override { return {{"min_val", min_val_}, {"max_val", max_val_}}; }
  double min_val() const { return min_val_; }
  double max_val() const { return max_val_; }

 private:
  double min_val_;
  double max_val_;
};
using Hardtanh = ModuleHolder<HardtanhImpl>;

class ReLU6Impl : public ActivationModule {
 public:
  std::optional<kernels::ActivationParams> activation() const override {
    return kernels::default_activation_params(kernels::Activation::relu6);
  }
};
using ReLU6 = ModuleHolder<ReLU6Impl>;

class SigmoidImpl : public ActivationModule {
 public:
  std::optional<kernels::ActivationParams> activation() const override {
    return kernels::default_activation_params(kernels::Activation::sigmoid);
  }
};
using Sigmoid = ModuleHolder<SigmoidImpl>;

class HardsigmoidImpl : public ActivationModule {
 public:
  std::optional<kernels::ActivationParams> activation() const override {
    return kernels::default_activation_params(kernels::Activation::hardsigmoid);
  }
};
using Hardsigmoid = ModuleHolder<HardsigmoidImpl>;

class TanhImpl : public ActivationModule {
 public:
  std::optional<kernels::ActivationParams> activation() const override {
    return kernels::default_activation_params(kernels::Activation::tanh);
  }
};
using Tanh = ModuleHolder<TanhImpl>;

class SiLUImpl : public ActivationModule {
 public:
  std::optional<kernels::ActivationParams> activation() const override {
    return kernels::default_activation_params(kernels::Activation::silu);
  }
};
using SiLU = ModuleHolder<SiLUImpl>;

class MishImpl : public ActivationModule {
 public:
  std::optional<kernels::ActivationParams> activation() const override {
    return kernels::default_activation_params(kernels::Activation::mish);
  }
};
using Mish = ModuleHolder<MishImpl>;

class HardswishImpl : public ActivationModule {
 public:
  std::optional<kernels::ActivationParams> activation() const override {
    return kernels::default_activation_params(kernels::Activation::hardswish);
  }
};
using Hardswish = ModuleHolder<HardswishImpl>;

class ELUImpl : public ActivationModule {
 public:
  explicit ELUImpl(double alpha = 1.0) : alpha_(alpha) {}
  std::optional<kernels::ActivationParams> activation() const override {
    return kernels::activation_params(kernels::Activation::elu, alpha_);
  }
  Attrs config() const override { return {{"alpha", alpha_}}; }
  double alpha() const { return alpha_; }

 private:
  double alpha_;
};
using ELU = ModuleHolder<ELUImpl>;

class CELUImpl : public ActivationModule {
 public:
  explicit CELUImpl(double alpha = 1.0);
  std::optional<kernels::ActivationParams> activation() const override {
    return kernels::activation_params(kernels::Activation::celu, alpha_);
  }
  Attrs config() const override { return {{"alpha", alpha_}}; }
  double alpha() const { return alpha_; }

 private:
  double alpha_;
};
using CELU = ModuleHolder<CELUImpl>;

class SELUImpl : public ActivationModule {
 public:
  std::optional<kernels::ActivationParams> activation() const override {
    return kernels::default_activation_params(kernels::Activation::selu);
  }
};
using SELU = ModuleHolder<SELUImpl>;

// Zeroes values in [-lambd, lambd]. Prints as PyTorch does: "Hardshrink(0.5)".
class HardshrinkImpl : public ActivationModule {
 public:
  explicit HardshrinkImpl(double lambd = 0.5) : lambd_(lambd) {}
  std::optional<kernels::ActivationParams> activation() const override {
    return kernels::activation_params(kernels::Activation::hardshrink, lambd_);
  }
  Attrs config() const override { return {{"lambd", lambd_}}; }
  std::string extra_repr() const override;
  double lambd() const { return lambd_; }

 private:
  double lambd_;
};
using Hardshrink = ModuleHolder<HardshrinkImpl>;

class LeakyReLUImpl : public ActivationModule {
 public:
  explicit LeakyReLUImpl(double negative_slope = 0.01) : negative_slope_(negative_slope) {}
  std::optional<kernels::ActivationParams> activation() const override {
    return kernels::activation_params(kernels::Activation::leaky_relu, negative_slope_);
  }
  Attrs config() const override { return {{"negative_slope", negative_slope_}}; }
  double negative_slope() const { return negative_slope_; }

 private:
  double negative_slope_;
};
using LeakyReLU = ModuleHolder<LeakyReLUImpl>;

class LogSigmoidImpl : public ActivationModule {
 public:
  std::optional<kernels::ActivationParams> activation() const override {
    return kernels::default_activation_params(kernels::Activation::logsigmoid);
  }
};
using LogSigmoid = ModuleHolder<LogSigmoidImpl>;

// log(1 + exp(beta x)) / beta, linear where beta x > threshold.
class SoftplusImpl : public ActivationModule {
 public:
  explicit SoftplusImpl(double beta = 1.0, double threshold = 20.0)
      : beta_(beta), threshold_(threshold) {}
  std::optional<kernels::ActivationParams> activation() const override {
    return kernels::activation_params(kernels::Activation::softplus, beta_, threshold_);
  }
  Attrs config() const override { return {{"beta", beta_}, {"threshold", threshold_}}; }
  double beta() const { return beta_; }
  double threshold() const { return threshold_; }

 private:
  double beta_;
  double threshold_;
};
using Softplus = ModuleHolder<SoftplusImpl>;

// A learnt negative slope: one shared ("weight" [1]) or one per channel ("weight" [C]).
class PReLUImpl : public ActivationModule {
 public:
  static constexpr ModuleKind kKind = ModuleKind::prelu;
  explicit PReLUImpl(int64_t num_parameters = 1, double init = 0.25);
  ModuleKind kind() const override { return kKind; }
  Tensor forward(const Tensor& input) override;
  std::optional<kernels::ActivationParams> activation() const override;
  void reset_parameters();
  Attrs config() const override;
  Tensor weight() const { return get_parameter("weight"); }
  int64_t num_parameters() const { return num_parameters_; }
  // Replaces the per-channel weight by `weight` ([num_parameters]), e.g. when a pruning pass
  // removes channels.
  void set_weight(const Tensor& weight);

 private:
  int64_t num_parameters_;
  double init_;
};
using PReLU = ModuleHolder<PReLUImpl>;

class SoftsignImpl : public ActivationModule {
 public:
  std::optional<kernels::ActivationParams> activation() const override {
    return kernels::default_activation_params(kernels::Activation::softsign);
  }
};
using Softsign = ModuleHolder<SoftsignImpl>;

class TanhshrinkImpl : public ActivationModule {
 public:
  std::optional<kernels::ActivationParams> activation() const override {
    return kernels::default_activation_params(kernels::Activation::tanhshrink);
  }
};
using Tanhshrink = ModuleHolder<TanhshrinkImpl>;

// approximate: "none" (exact, with erf) or "tanh".
class GELUImpl : public ActivationModule {
 public:
  explicit GELUImpl(std::string approximate = "none");
  std::optional<kernels::ActivationParams> activation() const override {
    return kernels::default_activation_params(
        approximate_ == "tanh" ? kernels::Activation::gelu_tanh : kernels::Activation::gelu);
  }
  Attrs config() const override { return {{"approximate", approximate_}}; }
  const std::string& approximate() const { return approximate_; }

 private:
  std::string approximate_;
};
using GELU = ModuleHolder<GELUImpl>;

// x - lambd above lambd, x + lambd below -lambd, 0 between (lambd >= 0, as PyTorch checks). It has
// no kernel of its own: forward() is pare::softshrink (functional.h), so activation() is
// std::nullopt and the compiled path runs it as the interpreter does. Prints "Softshrink(0.5)".
//
//   pare::nn::Softshrink shrink(pare::nn::SoftshrinkOptions().lambda(0.3));  // or Softshrink(0.3)
struct SoftshrinkOptions {
  PARE_ARG(double, lambda) = 0.5;
};
class SoftshrinkImpl : public ActivationModule {
 public:
  explicit SoftshrinkImpl(double lambd = 0.5);
  explicit SoftshrinkImpl(const SoftshrinkOptions& options) : SoftshrinkImpl(options.lambda()) {}
  Tensor forward(const Tensor& input) override;
  std::optional<kernels::ActivationParams> activation() const override { return std::nullopt; }
  Attrs config() const override { return {{"lambd", lambd_}}; }
  std::string extra_repr() const override;
  double lambd() const { return lambd_; }

 private:
  double lambd_;
};
using Softshrink = ModuleHolder<SoftshrinkImpl>;

}  // namespace pare::nn

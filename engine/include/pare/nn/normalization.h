// Normalisation layers with PyTorch's parameters, buffers and defaults (weight 1, bias 0).
//
//   pare::nn::LayerNorm norm(pare::nn::LayerNormOptions({16}).eps(1e-6));
//   pare::nn::BatchNorm2d bn(16);          // weight, bias; running_mean, running_var,
//                                          // num_batches_tracked (int64) as buffers
//   bn->eval();                            // normalise with the running statistics
//   auto y = bn(x);                        // x: [N, 16, H, W]
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "pare/nn/module.h"

namespace pare::nn {

class LayerNormOptions {
 public:
  explicit LayerNormOptions(Shape normalized_shape)
      : normalized_shape_(std::move(normalized_shape)) {}
  LayerNormOptions& normalized_shape(Shape value) {
    normalized_shape_ = std::move(value);
    return *this;
  }
  LayerNormOptions& eps(double value) {
    eps_ = value;
    return *this;
  }
  LayerNormOptions& elementwise_affine(bool value) {
    elementwise_affine_ = value;
    return *this;
  }
  const Shape& normalized_shape() const { return normalized_shape_; }
  double eps() const { return eps_; }
  bool elementwise_affine() const { return elementwise_affine_; }

 private:
  Shape normalized_shape_;
  double eps_ = 1e-5;
  bool elementwise_affine_ = true;
};

// Normalises over the trailing normalized_shape dims. With elementwise_affine, parameters
// "weight" and "bias" of shape normalized_shape (otherwise registered as absent).
class LayerNormImpl : public UnaryModule {
 public:
  static constexpr ModuleKind kKind = ModuleKind::layer_norm;
  explicit LayerNormImpl(const LayerNormOptions& options);
  explicit LayerNormImpl(Shape normalized_shape);

  Tensor forward(const Tensor& input) override;
  void reset_parameters();

  Tensor weight() const { return get_parameter("weight"); }
  Tensor bias() const { return get_parameter("bias"); }
  const LayerNormOptions& options() const { return options_; }
  LayerNormOptions& options() { return options_; }

  bool is_leaf_layer() const override { return true; }
  ModuleKind kind() const override { return kKind; }
  Attrs config() const override;
  std::string extra_repr() const override;

 private:
  LayerNormOptions options_;
};

using LayerNorm = ModuleHolder<LayerNormImpl>;

class BatchNorm2dOptions {
 public:
  explicit BatchNorm2dOptions(int64_t num_features) : num_features_(num_features) {}
  BatchNorm2dOptions& num_features(int64_t value) {
    num_features_ = value;
    return *this;
  }
  BatchNorm2dOptions& eps(double value) {
    eps_ = value;
    return *this;
  }
  // std::nullopt: the cumulative moving average (each batch weighted 1 / num_batches_tracked), as
  // PyTorch's momentum=None.
  BatchNorm2dOptions& momentum(std::optional<double> value) {
    momentum_ = value;
    return *this;
  }
  BatchNorm2dOptions& affine(bool value) {
    affine_ = value;
    return *this;
  }
  BatchNorm2dOptions& track_running_stats(bool value) {
    track_running_stats_ = value;
    return *this;
  }
  int64_t num_features() const { return num_features_; }
  double eps() const { return eps_; }
  std::optional<double> momentum() const { return momentum_; }
  bool affine() const { return affine_; }
  bool track_running_stats() const { return track_running_stats_; }

 private:
  int64_t num_features_;
  double eps_ = 1e-5;
  std::optional<double> momentum_ = 0.1;
  bool affine_ = true;
  bool track_running_stats_ = true;
};

// Batch normalisation over [N, C, H, W]. In training mode it normalises with the batch
// statistics and (with track_running_stats) updates running_mean / running_var with `momentum`
// and counts num_batches_tracked; in evaluation mode it uses the running statistics.
class BatchNorm2dImpl : public UnaryModule {
 public:
  static constexpr ModuleKind kKind = ModuleKind::batch_norm2d;
  explicit BatchNorm2dImpl(const BatchNorm2dOptions& options);
  explicit BatchNorm2dImpl(int64_t num_features);

  Tensor forward(const Tensor& input) override;
  // Running statistics back to mean 0, variance 1, no batches tracked.
  void reset_running_stats();
  void reset_parameters();

  Tensor weight() const { return get_parameter("weight"); }
  Tensor bias() const { return get_parameter("bias"); }
  Tensor running_mean() const { return get_buffer("running_mean"); }
  Tensor running_var() const { return get_buffer("running_var"); }
  Tensor num_batches_tracked() const { return get_buffer("num_batches_tracked"); }
  const BatchNorm2dOptions& options() const { return options_; }
  BatchNorm2dOptions& options() { return options_; }

  bool is_leaf_layer() const override { return true; }
  ModuleKind kind() const override { return kKind; }
  Attrs config() const override;
  std::string extra_repr() const override;

 private:
  BatchNorm2dOptions options_;
};

using BatchNorm2d = ModuleHolder<BatchNorm2dImpl>;

}  // namespace pare::nn

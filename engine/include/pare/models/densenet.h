// DenseNet in torchvision's layout ("features.denseblock2.denselayer3.conv1",
// "features.transition1.conv", "classifier"): each dense layer reads the concatenation of all
// earlier outputs of its block (BatchNorm, ReLU, 1x1 conv, BatchNorm, ReLU, 3x3 conv) and adds
// `growth_rate` channels; transitions halve channels and resolution.
//
//   auto net = pare::models::densenet121();                           // 7,978,856 parameters
//   auto tiny = pare::models::densenet(pare::models::DenseNetOptions()
//                                          .growth_rate(8).block_config({2, 2}).init_features(16)
//                                          .num_classes(10));
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pare/nn/nn.h"

namespace pare::models {

class DenseNetOptions {
 public:
  DenseNetOptions& growth_rate(int64_t value) {
    growth_rate_ = value;
    return *this;
  }
  // Dense layers per block (densenet121: {6, 12, 24, 16}).
  DenseNetOptions& block_config(std::vector<int64_t> value) {
    block_config_ = std::move(value);
    return *this;
  }
  DenseNetOptions& init_features(int64_t value) {
    init_features_ = value;
    return *this;
  }
  // The bottleneck's width as a multiple of growth_rate.
  DenseNetOptions& bn_size(int64_t value) {
    bn_size_ = value;
    return *this;
  }
  DenseNetOptions& num_classes(int64_t value) {
    num_classes_ = value;
    return *this;
  }
  DenseNetOptions& in_channels(int64_t value) {
    in_channels_ = value;
    return *this;
  }
  int64_t growth_rate() const { return growth_rate_; }
  const std::vector<int64_t>& block_config() const { return block_config_; }
  int64_t init_features() const { return init_features_; }
  int64_t bn_size() const { return bn_size_; }
  int64_t num_classes() const { return num_classes_; }
  int64_t in_channels() const { return in_channels_; }

 private:
  int64_t growth_rate_ = 32;
  std::vector<int64_t> block_config_ = {6, 12, 24, 16};
  int64_t init_features_ = 64;
  int64_t bn_size_ = 4;
  int64_t num_classes_ = 1000;
  int64_t in_channels_ = 3;
};

// Runs named children in the order they were added (torchvision's Sequential(OrderedDict)).
class NamedStagesImpl : public nn::UnaryModule {
 public:
  explicit NamedStagesImpl(std::string type_name) : nn::UnaryModule(std::move(type_name)) {}
  void add(const std::string& name, std::shared_ptr<nn::Module> module);
  Tensor forward(const Tensor& x) override;

 private:
  std::vector<std::string> order_;
};

class DenseLayerImpl : public nn::UnaryModule {
 public:
  DenseLayerImpl(int64_t in_channels, int64_t growth_rate, int64_t bn_size);
  // `x` is the concatenation of the block's input and every earlier layer's output.
  Tensor forward(const Tensor& x) override;

  nn::BatchNorm2d norm1{nullptr}, norm2{nullptr};
  nn::ReLU relu1{nullptr}, relu2{nullptr};
  nn::Conv2d conv1{nullptr}, conv2{nullptr};
};

class DenseBlockImpl : public nn::UnaryModule {
 public:
  DenseBlockImpl(int64_t layers, int64_t in_channels, int64_t growth_rate, int64_t bn_size);
  Tensor forward(const Tensor& x) override;

  std::vector<std::shared_ptr<DenseLayerImpl>> layers;
};

class DenseNetImpl : public nn::UnaryModule {
 public:
  explicit DenseNetImpl(const DenseNetOptions& options = {});
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<NamedStagesImpl> features;
  nn::Linear classifier{nullptr};
};
using DenseNet = nn::ModuleHolder<DenseNetImpl>;

DenseNet densenet(const DenseNetOptions& options = {});
DenseNet densenet121(int64_t num_classes = 1000);

}  // namespace pare::models

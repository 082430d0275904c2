// ResNets in torchvision's layout: the same module names ("layer1.0.conv1",
// "layer2.0.downsample.0", "fc"), parameter shapes and forward as
// torchvision.models.resnet18/34/50, so a torchvision state dict loads by name and pruning results
// compare one to one with PyTorch tools. Options shrink the network for small images
// (Fashion-MNIST, CIFAR) without changing its structure.
//
//   auto net = pare::models::resnet18();                               // 11,689,512 parameters
//   auto y = net(pare::randn({1, 3, 224, 224}));                       // [1, 1000]
//   auto small = pare::models::resnet18(pare::models::ResNetOptions()
//                                           .num_classes(10).in_channels(1).base_width(16)
//                                           .small_input(true));       // 28 x 28 grey images
#pragma once

#include <cstdint>
#include <vector>

#include "pare/nn/nn.h"

namespace pare::models {

class ResNetOptions {
 public:
  ResNetOptions& num_classes(int64_t value) {
    num_classes_ = value;
    return *this;
  }
  ResNetOptions& in_channels(int64_t value) {
    in_channels_ = value;
    return *this;
  }
  // Channels of the stem and of layer1 (torchvision: 64); layer k has base_width * 2^(k-1).
  ResNetOptions& base_width(int64_t value) {
    base_width_ = value;
    return *this;
  }
  // A 3x3 stride-1 stem without the max pool (the CIFAR variant), for inputs of ~32 pixels.
  ResNetOptions& small_input(bool value) {
    small_input_ = value;
    return *this;
  }
  int64_t num_classes() const { return num_classes_; }
  int64_t in_channels() const { return in_channels_; }
  int64_t base_width() const { return base_width_; }
  bool small_input() const { return small_input_; }

 private:
  int64_t num_classes_ = 1000;
  int64_t in_channels_ = 3;
  int64_t base_width_ = 64;
  bool small_input_ = false;
};

// Two 3x3 convs with BatchNorm and a residual add (ResNet-18/34).
class BasicBlockImpl : public nn::UnaryModule {
 public:
  static constexpr int64_t kExpansion = 1;
  // A 1x1 stride-`stride` conv + BatchNorm shortcut ("downsample") when the shape changes.
  BasicBlockImpl(int64_t in_channels, int64_t channels, int64_t stride);
  Tensor forward(const Tensor& x) override;

  nn::Conv2d conv1{nullptr}, conv2{nullptr};
  nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  nn::ReLU relu{nullptr};
  nn::Sequential downsample{nullptr};
};

// 1x1 reduce, 3x3 (carrying the stride, torchvision's "v1.5"), 1x1 expand by 4 (ResNet-50/101).
class BottleneckImpl : public nn::UnaryModule {
 public:
  static constexpr int64_t kExpansion = 4;
  BottleneckImpl(int64_t in_channels, int64_t channels, int64_t stride);
  Tensor forward(const Tensor& x) override;

  nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  nn::ReLU relu{nullptr};
  nn::Sequential downsample{nullptr};
};

enum class ResidualBlock { basic, bottleneck };

class ResNetImpl : public nn::UnaryModule {
 public:
  // `blocks_per_stage`: torchvision's `layers` ({2, 2, 2, 2} for ResNet-18).
  ResNetImpl(ResidualBlock block, const std::vector<int64_t>& blocks_per_stage,
             const ResNetOptions& options = {});
  Tensor forward(const Tensor& x) override;

  nn::Conv2d conv1{nullptr};
  nn::BatchNorm2d bn1{nullptr};
  nn::ReLU relu{nullptr};
  nn::MaxPool2d maxpool{nullptr};      // absent with small_input
  std::vector<nn::Sequential> stages;  // "layer1" .. "layer4"
  nn::AdaptiveAvgPool2d avgpool{nullptr};
  nn::Linear fc{nullptr};
};
using ResNet = nn::ModuleHolder<ResNetImpl>;

ResNet resnet18(const ResNetOptions& options = {});
ResNet resnet34(const ResNetOptions& options = {});
ResNet resnet50(const ResNetOptions& options = {});

}  // namespace pare::models

// ResNets as torchvision.models.resnet builds them (torchvision 0.14), module for module.
#include "pare/models/resnet.h"

#include <string>

#include "pare/elementwise.h"

namespace pare::models {
namespace {

nn::Conv2d conv(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in_channels, out_channels, kernel)
                        .stride(stride)
                        .padding(kernel / 2)
                        .bias(false));
}

// torchvision adds the shortcut conv only where the block changes the shape.
nn::Sequential shortcut(int64_t in_channels, int64_t out_channels, int64_t stride) {
  if (stride == 1 && in_channels == out_channels) return nullptr;
  return nn::Sequential(conv(in_channels, out_channels, 1, stride), nn::BatchNorm2d(out_channels));
}

}  // namespace

BasicBlockImpl::BasicBlockImpl(int64_t in_channels, int64_t channels, int64_t stride)
    : nn::UnaryModule("BasicBlock") {
  conv1 = register_module("conv1", conv(in_channels, channels, 3, stride));
  bn1 = register_module("bn1", nn::BatchNorm2d(channels));
  relu = register_module("relu", nn::ReLU());
  conv2 = register_module("conv2", conv(channels, channels, 3, 1));
  bn2 = register_module("bn2", nn::BatchNorm2d(channels));
  if (auto path = shortcut(in_channels, channels * kExpansion, stride)) {
    downsample = register_module("downsample", path);
  }
}

Tensor BasicBlockImpl::forward(const Tensor& x) {
  Tensor out = relu(bn1(conv1(x)));
  out = bn2(conv2(out));
  return relu(out + (downsample ? downsample(x) : x));
}

BottleneckImpl::BottleneckImpl(int64_t in_channels, int64_t channels, int64_t stride)
    : nn::UnaryModule("Bottleneck") {
  conv1 = register_module("conv1", conv(in_channels, channels, 1, 1));
  bn1 = register_module("bn1", nn::BatchNorm2d(channels));
  conv2 = register_module("conv2", conv(channels, channels, 3, stride));
  bn2 = register_module("bn2", nn::BatchNorm2d(channels));
  conv3 = register_module("conv3", conv(channels, channels * kExpansion, 1, 1));
  bn3 = register_module("bn3", nn::BatchNorm2d(channels * kExpansion));
  relu = register_module("relu", nn::ReLU());
  if (auto path = shortcut(in_channels, channels * kExpansion, stride)) {
    downsample = register_module("downsample", path);
  }
}

Tensor BottleneckImpl::forward(const Tensor& x) {
  Tensor out = relu(bn1(conv1(x)));
  out = relu(bn2(conv2(out)));
  out = bn3(conv3(out));
  return relu(out + (downsample ? downsample(x) : x));
}

ResNetImpl::ResNetImpl(ResidualBlock block, const std::vector<int64_t>& blocks_per_stage,
                       const ResNetOptions& options)
    : nn::UnaryModule("ResNet") {
  PARE_CHECK(!blocks_per_stage.empty(), "ResNet: expected at least one stage");
  PARE_CHECK(options.base_width() > 0 && options.num_classes() > 0 && options.in_channels() > 0,
             "ResNet: base_width, num_classes and in_channels must be positive");
  const int64_t width = options.base_width();
  conv1 = register_module(
      "conv1", options.small_input() ? conv(options.in_channels(), width, 3, 1)
                                     : nn::Conv2d(nn::Conv2dOptions(options.in_channels(), width, 7)
                                                      .stride(2)
                                                      .padding(3)
                                                      .bias(false)));
  bn1 = register_module("bn1", nn::BatchNorm2d(width));
  relu = register_module("relu", nn::ReLU());
  if (!options.small_input()) {
    maxpool =
        register_module("maxpool", nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1)));
  }
  const int64_t expansion =
      block == ResidualBlock::basic ? BasicBlockImpl::kExpansion : BottleneckImpl::kExpansion;
  int64_t in_channels = width;
  for (size_t stage = 0; stage < blocks_per_stage.size(); ++stage) {
    const int64_t channels = width << stage;
    nn::Sequential blocks;
    for (int64_t index = 0; index < blocks_per_stage[stage]; ++index) {
      const int64_t stride = stage > 0 && index == 0 ? 2 : 1;
      if (block == ResidualBlock::basic) {
        blocks->push_back(std::make_shared<BasicBlockImpl>(in_channels, channels, stride));
      } else {
        blocks->push_back(std::make_shared<BottleneckImpl>(in_channels, channels, stride));
      }
      in_channels = channels * expansion;
    }
    stages.push_back(register_module("layer" + std::to_string(stage + 1), blocks));
  }
  avgpool = register_module("avgpool", nn::AdaptiveAvgPool2d(1));
  fc = register_module("fc", nn::Linear(in_channels, options.num_classes()));
}

Tensor ResNetImpl::forward(const Tensor& x) {
  Tensor h = relu(bn1(conv1(x)));
  if (maxpool) h = maxpool(h);
  for (nn::Sequential& stage : stages) h = stage(h);
  return fc(flatten(avgpool(h), 1));
}

ResNet resnet18(const ResNetOptions& options) {
  return ResNet(ResidualBlock::basic, std::vector<int64_t>{2, 2, 2, 2}, options);
}
ResNet resnet34(const ResNetOptions& options) {
  return ResNet(ResidualBlock::basic, std::vector<int64_t>{3, 4, 6, 3}, options);
}
ResNet resnet50(const ResNetOptions& options) {
  return ResNet(ResidualBlock::bottleneck, std::vector<int64_t>{3, 4, 6, 3}, options);
}

}  // namespace pare::models

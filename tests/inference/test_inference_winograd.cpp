// Winograd convolutions on the compiled path (InferenceOptions::winograd): which convs of a
// ResNet-shaped net take it (3x3, stride 1, 32 channels and more; at batch 1, 16 input channels
// once the graph is in Winograd's layout), that every conv then stays in Winograd's blocked layout
// with no reorder between them, the outputs against the interpreter and against the compiled path
// with the switch off, and the switch itself.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "inference_test_models.h"
#include "pare/inference/inference.h"
#include "pare/kernels/prepared_conv2d.h"

namespace {

using pare::Tensor;
using pare::inference::CompiledGraph;
using pare::inference::InferenceOptions;
using pare::testing::contains;
using pare::testing::count;

// A stem of 3 -> 64 channels (too few input channels for Winograd), a basic block 64 -> 64 (two
// Winograd convs, the second accumulating the identity shortcut) and one 64 -> 128 at stride 2
// (its first conv strided, its 1x1 downsample pointwise: direct; its second conv Winograd), on
// 16 x 16 images: ResNet-18's first two stages, narrower planes.
pare::ir::GraphModule resnet_stages() {
  auto net = pare::testing::conv_bn_relu(3, 64);
  net->push_back(std::make_shared<pare::models::BasicBlockImpl>(64, 64, 1));
  net->push_back(std::make_shared<pare::models::BasicBlockImpl>(64, 128, 2));
  return pare::testing::traced(net.ptr(), {pare::randn({1, 3, 16, 16})}, 90);
}

// A narrow ResNet (the demo's width 4 on 28 x 28 images): stages of 4, 8, 16 and 32 channels, so
// only the last stage's 3x3 convs take Winograd, and Winograd's 16-channel blocked layout would
// leave the 4- and 8-channel convs with oneDNN's reference kernel.
pare::ir::GraphModule narrow_resnet() {
  auto net = pare::testing::conv_bn_relu(1, 4);
  net->push_back(std::make_shared<pare::models::BasicBlockImpl>(4, 4, 1));
  net->push_back(std::make_shared<pare::models::BasicBlockImpl>(4, 8, 2));
  net->push_back(std::make_shared<pare::models::BasicBlockImpl>(8, 16, 2));
  net->push_back(std::make_shared<pare::models::BasicBlockImpl>(16, 32, 2));
  net->push_back(std::make_shared<pare::models::BasicBlockImpl>(32, 32, 1));
  return pare::testing::traced(net.ptr(), {pare::randn({1, 1, 28, 28})}, 91);
}

// The demo CNN pruned to half its widths (1 -> 16 -> 32 -> 64 channels on 28 x 28 images, max
// pools between, the adaptive pool to 3 x 3, a Linear), or without its last conv when `last_conv`
// is false (then no conv has the 32 input channels Winograd needs on its own).
pare::ir::GraphModule pruned_demo_cnn(bool last_conv) {
  namespace nn = pare::nn;
  auto conv = [](int64_t in, int64_t out) {
    return nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1));
  };
  auto net = nn::Sequential(conv(1, 16), nn::ReLU(), nn::MaxPool2d(2), conv(16, 32), nn::ReLU(),
                            nn::MaxPool2d(2));
  const int64_t channels = last_conv ? 64 : 32;
  if (last_conv) {
    net->push_back(conv(32, 64));
    net->push_back(nn::ReLU());
  }
  net->push_back(nn::AdaptiveAvgPool2d(3));
  net->push_back(nn::Flatten());
  net->push_back(nn::Linear(channels * 9, 10));
  return pare::testing::traced(net.ptr(), {pare::randn({1, 1, 28, 28})}, 92);
}

// A 3x3, stride-1, padding-1 conv of `channels` to `channels` on one size x size image.
pare::kernels::Conv2dParams conv3x3(int64_t channels, int64_t size) {
  pare::kernels::Conv2dParams p;
  p.batch = 1;
  p.in_channels = p.out_channels = channels;
  p.in_h = p.in_w = size;
  p.kernel_h = p.kernel_w = 3;
  p.pad_h = p.pad_w = 1;
  return p;
}

bool cpu_has_winograd() {
  return pare::kernels::cpu::PreparedConv2d::winograd_supported(conv3x3(64, 16));
}

}  // namespace

TEST_CASE("inference: Winograd convs on a ResNet stage match the interpreter and the switch off") {
  pare::NoGradGuard no_grad;
  pare::ir::GraphModule graph_module = resnet_stages();
  for (int64_t batch : {1, 4}) {
    CAPTURE(batch);
    const std::vector<Tensor> inputs = pare::testing::images(3, 16)(batch);
    const std::vector<pare::ir::TensorMeta> metas = {{inputs[0].sizes(), inputs[0].dtype()}};
    const Tensor expected = graph_module.interpret(inputs).tensor();

    CompiledGraph winograd(graph_module, metas, {});
    CAPTURE(winograd.describe());
    CompiledGraph direct(graph_module, metas, {.winograd = false});
    CAPTURE(direct.describe());
    CHECK(direct.stats().winograd_convs == 0);
    CHECK(count(direct.describe(), "[winograd]") == 0);
    CHECK(direct.stats().prepared_convs == 6);
    CHECK(winograd.stats().prepared_convs == 6);
    if (cpu_has_winograd()) {
      CHECK(winograd.stats().winograd_convs == 3);
      CHECK(count(winograd.describe(), "[winograd]") == 3);
    } else {
      MESSAGE("no Winograd convolution from oneDNN on this CPU: direct convs only");
      CHECK(winograd.stats().winograd_convs == 0);
    }
    // The stem writes Winograd's layout and every later conv keeps it: nothing converts between
    // the convs, both adds fuse in place, and the only reorder is the output's (the last add
    // accumulates into its blocked shortcut), as without Winograd.
    CHECK(winograd.stats().layout_reorders == 1);
    CHECK(direct.stats().layout_reorders == 1);
    CHECK(winograd.stats().fused_residual_adds == 2);
    CHECK(winograd.stats().in_place_adds == 2);
    CHECK(winograd.stats().interpreted_nodes == 0);
    CHECK(winograd.stats().reference_convs == 0);
    CHECK(direct.stats().reference_convs == 0);

    const Tensor with_winograd = winograd.run(inputs).tensor();
    const Tensor without = direct.run(inputs).tensor();
    CHECK(pare::testing::max_abs_diff(with_winograd, expected) <= 1e-4);
    CHECK(pare::testing::max_abs_diff(without, expected) <= 1e-4);
    CHECK(pare::testing::max_abs_diff(with_winograd, without) <= 1e-4);
    // Twice: the second call reuses the arena (and the in-place shortcuts) the first one filled.
    CHECK(pare::testing::max_abs_diff(winograd.run(inputs).tensor(), with_winograd) == 0.0);
  }
}

TEST_CASE("inference: Winograd needs the prepared, blocked path") {
  pare::NoGradGuard no_grad;
  pare::ir::GraphModule graph_module = resnet_stages();
  const std::vector<Tensor> inputs = pare::testing::images(3, 16)(2);
  const std::vector<pare::ir::TensorMeta> metas = {{inputs[0].sizes(), inputs[0].dtype()}};
  const Tensor expected = graph_module.interpret(inputs).tensor();
  for (const auto& [name, options] : std::vector<std::pair<std::string, InferenceOptions>>{
           {"blocked_layout off", {.blocked_layout = false}},
           {"prepack_weights off", {.prepack_weights = false}}}) {
    CAPTURE(name);
    CompiledGraph compiled(graph_module, metas, options);
    CHECK(compiled.stats().winograd_convs == 0);
    CHECK_FALSE(contains(compiled.describe(), "[winograd]"));
    CHECK(pare::testing::max_abs_diff(compiled.run(inputs).tensor(), expected) <= 1e-4);
  }
}

TEST_CASE("inference: a narrow net keeps its narrow convs out of Winograd's layout") {
  pare::NoGradGuard no_grad;
  pare::ir::GraphModule graph_module = narrow_resnet();
  const std::vector<Tensor> inputs = pare::testing::images(1, 28)(2);
  const std::vector<pare::ir::TensorMeta> metas = {{inputs[0].sizes(), inputs[0].dtype()}};
  CompiledGraph compiled(graph_module, metas, {});
  CAPTURE(compiled.describe());
  // Every conv has an optimised kernel (the reference one ran a 4-channel conv 500 times slower).
  CHECK(compiled.stats().reference_convs == 0);
  CHECK_FALSE(contains(compiled.describe(), "[reference kernel]"));
  if (cpu_has_winograd()) CHECK(compiled.stats().winograd_convs == 3);
  CHECK(pare::testing::max_abs_diff(compiled.run(inputs).tensor(),
                                    graph_module.interpret(inputs).tensor()) <= 1e-4);
}

TEST_CASE("kernels: a 4-channel conv and Winograd's layout") {
  const pare::kernels::Conv2dParams p = conv3x3(4, 28);
  pare::kernels::cpu::PreparedConv2dOptions own;
  own.blocked_dst = true;
  CHECK(pare::kernels::cpu::PreparedConv2d::has_optimized_kernel(p, own));
  // Reading it: the src is reordered in run() rather than taken as it is by the reference kernel.
  pare::kernels::cpu::PreparedConv2dOptions reading = own;
  reading.src_layout = pare::kernels::cpu::PreparedConv2d::winograd_layout({1, 4, 28, 28});
  CHECK(pare::kernels::cpu::PreparedConv2d::has_optimized_kernel(p, reading));
}

TEST_CASE("inference: in Winograd's layout at batch 1, a conv of 16 input channels takes it too") {
  pare::NoGradGuard no_grad;
  for (bool last_conv : {true, false}) {
    CAPTURE(last_conv);
    pare::ir::GraphModule graph_module = pruned_demo_cnn(last_conv);
    for (int64_t batch : {1, 3}) {
      CAPTURE(batch);
      const std::vector<Tensor> inputs = pare::testing::images(1, 28)(batch);
      const std::vector<pare::ir::TensorMeta> metas = {{inputs[0].sizes(), inputs[0].dtype()}};
      CompiledGraph compiled(graph_module, metas, {});
      CAPTURE(compiled.describe());
      CHECK(compiled.stats().prepared_convs == (last_conv ? 3 : 2));
      CHECK(compiled.stats().reference_convs == 0);
      CHECK(compiled.stats().interpreted_nodes == 0);
      // With the 32 -> 64 conv the graph is in Winograd's layout, and at batch 1 the 16 -> 32
      // conv joins it; without, nothing pays for that layout and the 16 -> 32 conv stays direct.
      const int expected = last_conv ? (batch == 1 ? 2 : 1) : 0;
      if (cpu_has_winograd()) CHECK(compiled.stats().winograd_convs == expected);
      CHECK(count(compiled.describe(), "[winograd]") == compiled.stats().winograd_convs);
      CHECK(pare::testing::max_abs_diff(compiled.run(inputs).tensor(),
                                        graph_module.interpret(inputs).tensor()) <= 1e-4);
    }
  }
}

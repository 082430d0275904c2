// The model zoo (pare/models/) against torchvision: parameter counts and state-dict layout of the
// full-size models (numbers published by torchvision 0.14, independent of this code), the conv +
// linear MACs of ResNet-18 at 224 x 224, and the small variants traced and run through the IR.
// The attention of the transformer block is checked against a naive per-head loop.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "pare/ir/ir.h"
#include "pare/models/models.h"
#include "pare/nn/skip_init.h"
#include "pare/pare.h"

namespace {

using pare::Shape;

int64_t parameter_count(pare::nn::Module& module) {
  int64_t count = 0;
  for (const auto& [name, tensor] : module.named_parameters()) count += tensor.numel();
  return count;
}

std::map<std::string, Shape> state_shapes(pare::nn::Module& module) {
  std::map<std::string, Shape> shapes;
  for (const auto& [name, tensor] : module.state_dict()) shapes[name] = tensor.sizes();
  return shapes;
}

void check_shapes(pare::nn::Module& module, const std::map<std::string, Shape>& expected) {
  const std::map<std::string, Shape> shapes = state_shapes(module);
  for (const auto& [name, shape] : expected) {
    INFO(name);
    REQUIRE(shapes.count(name) == 1);
    CHECK(shapes.at(name) == shape);
  }
}

float max_abs_difference(const pare::Tensor& a, const pare::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  const pare::Tensor x = a.contiguous(), y = b.contiguous();
  float worst = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    worst = std::max(worst, std::fabs(x.data_ptr<float>()[i] - y.data_ptr<float>()[i]));
  }
  return worst;
}

// The traced graph computes what the eager model computes.
template <typename Holder>
void check_traced(Holder& model, const pare::Tensor& input, const Shape& output_shape) {
  model->eval();
  pare::NoGradGuard no_grad;
  const pare::Tensor eager = model(input);
  CHECK(eager.sizes() == output_shape);
  pare::ir::GraphModule traced = pare::ir::trace(model.ptr(), {input});
  const pare::Tensor replayed = traced.forward({input});
  CHECK(max_abs_difference(replayed, eager) < 1e-5f);
}

}  // namespace

TEST_CASE("full-size models have torchvision's parameter counts and state-dict layout") {
  pare::nn::SkipInitGuard no_init;  // shapes only: the weights are never read
  SUBCASE("resnet18") {
    auto net = pare::models::resnet18();
    CHECK(parameter_count(*net) == 11'689'512);
    check_shapes(*net, {{"conv1.weight", {64, 3, 7, 7}},
                        {"layer1.0.conv1.weight", {64, 64, 3, 3}},
                        {"layer2.0.downsample.0.weight", {128, 64, 1, 1}},
                        {"layer2.0.downsample.1.running_var", {128}},
                        {"layer4.1.bn2.bias", {512}},
                        {"fc.weight", {1000, 512}}});
    CHECK(state_shapes(*net).count("layer1.0.downsample.0.weight") == 0);
  }
  SUBCASE("resnet34") { CHECK(parameter_count(*pare::models::resnet34()) == 21'797'672); }
  SUBCASE("resnet50") {
    auto net = pare::models::resnet50();
    CHECK(parameter_count(*net) == 25'557'032);
    check_shapes(*net, {{"layer1.0.conv1.weight", {64, 64, 1, 1}},
                        {"layer1.0.conv3.weight", {256, 64, 1, 1}},
                        {"layer1.0.downsample.0.weight", {256, 64, 1, 1}},
                        {"layer3.0.conv2.weight", {256, 256, 3, 3}},
                        {"fc.weight", {1000, 2048}}});
  }
  SUBCASE("mobilenet_v2") {
    auto net = pare::models::mobilenet_v2();
    CHECK(parameter_count(*net) == 3'504'872);
    check_shapes(*net, {{"features.0.0.weight", {32, 3, 3, 3}},
                        {"features.1.conv.0.0.weight", {32, 1, 3, 3}},
                        {"features.1.conv.1.weight", {16, 32, 1, 1}},
                        {"features.2.conv.0.0.weight", {96, 16, 1, 1}},
                        {"features.2.conv.1.0.weight", {96, 1, 3, 3}},
                        {"features.2.conv.2.weight", {24, 96, 1, 1}},
                        {"features.2.conv.3.running_mean", {24}},
                        {"features.18.0.weight", {1280, 320, 1, 1}},
                        {"classifier.1.weight", {1000, 1280}}});
  }
  SUBCASE("densenet121") {
    auto net = pare::models::densenet121();
    CHECK(parameter_count(*net) == 7'978'856);
    check_shapes(*net, {{"features.conv0.weight", {64, 3, 7, 7}},
                        {"features.denseblock1.denselayer1.norm1.weight", {64}},
                        {"features.denseblock1.denselayer6.conv1.weight", {128, 224, 1, 1}},
                        {"features.transition1.conv.weight", {128, 256, 1, 1}},
                        {"features.denseblock4.denselayer16.conv2.weight", {32, 128, 3, 3}},
                        {"features.norm5.weight", {1024}},
                        {"classifier.weight", {1000, 1024}}});
  }
}

TEST_CASE("ResNet-18's conv and linear MACs at 224 x 224") {
  // Traced on a small image; shape inference gives the 224 x 224 counts.
  auto net = pare::models::resnet18();
  net->eval();
  pare::ir::GraphModule traced = pare::ir::trace(net.ptr(), {pare::randn({1, 3, 32, 32})});
  const pare::ir::ModelStats stats =
      pare::ir::model_stats(traced, {pare::ir::TensorMeta{{1, 3, 224, 224}}});
  CHECK(stats.params == 11'689'512);
  CHECK(stats.macs == 1'814'073'344);
}

TEST_CASE("small variants trace and run through the IR") {
  pare::manual_seed(7);
  SUBCASE("resnet18, grey 28 x 28") {
    auto net = pare::models::resnet18(
        pare::models::ResNetOptions().num_classes(10).in_channels(1).base_width(8).small_input(
            true));
    check_traced(net, pare::randn({2, 1, 28, 28}), {2, 10});
  }
  SUBCASE("resnet50, narrow") {
    auto net = pare::models::resnet50(pare::models::ResNetOptions().num_classes(5).base_width(4));
    check_traced(net, pare::randn({1, 3, 64, 64}), {1, 5});
  }
  SUBCASE("mobilenet_v2, width 0.25") {
    auto net = pare::models::mobilenet_v2(
        pare::models::MobileNetV2Options().width_mult(0.25).num_classes(10));
    check_traced(net, pare::randn({1, 3, 32, 32}), {1, 10});
  }
  SUBCASE("densenet, two small blocks") {
    auto net = pare::models::densenet(pare::models::DenseNetOptions()
                                          .growth_rate(4)
                                          .block_config({2, 3})
                                          .init_features(8)
                                          .num_classes(10));
    check_traced(net, pare::randn({2, 3, 32, 32}), {2, 10});
  }
  SUBCASE("transformer encoder") {
    auto net = pare::models::transformer_encoder(pare::models::TransformerEncoderOptions()
                                                     .image_size(28)
                                                     .patch_size(7)
                                                     .in_channels(1)
                                                     .embedding(16)
                                                     .heads(4)
                                                     .mlp_hidden(32));
    check_traced(net, pare::randn({2, 1, 28, 28}), {2, 10});
  }
}

TEST_CASE("self-attention equals a naive per-head loop") {
  pare::manual_seed(3);
  const int64_t batch = 2, tokens = 3, embedding = 6, heads = 3, head_dim = embedding / heads;
  auto attention = std::make_shared<pare::models::SelfAttentionImpl>(embedding, heads);
  pare::NoGradGuard no_grad;
  const pare::Tensor x = pare::randn({batch, tokens, embedding});
  const pare::Tensor got = attention->call(x).contiguous();
  const pare::Tensor q = attention->q(x).contiguous(), k = attention->k(x).contiguous(),
                     v = attention->v(x).contiguous();
  const float* Q = q.data_ptr<float>();
  const float* K = k.data_ptr<float>();
  const float* V = v.data_ptr<float>();
  std::vector<float> mixed(batch * tokens * embedding);
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t i = 0; i < tokens; ++i) {
        std::vector<double> weights(tokens);
        double total = 0;
        for (int64_t j = 0; j < tokens; ++j) {
          double dot = 0;
          for (int64_t d = 0; d < head_dim; ++d) {
            const int64_t column = h * head_dim + d;
            dot += double(Q[(n * tokens + i) * embedding + column]) *
                   K[(n * tokens + j) * embedding + column];
          }
          weights[j] = std::exp(dot / std::sqrt(double(head_dim)));
          total += weights[j];
        }
        for (int64_t d = 0; d < head_dim; ++d) {
          const int64_t column = h * head_dim + d;
          double sum = 0;
          for (int64_t j = 0; j < tokens; ++j) {
            sum += weights[j] / total * V[(n * tokens + j) * embedding + column];
          }
          mixed[(n * tokens + i) * embedding + column] = static_cast<float>(sum);
        }
      }
    }
  }
  pare::Tensor mixed_tensor = pare::empty({batch, tokens, embedding});
  std::copy(mixed.begin(), mixed.end(), mixed_tensor.data_ptr<float>());
  const pare::Tensor expected = attention->proj(mixed_tensor);
  CHECK(max_abs_difference(got, expected) < 1e-5f);
}

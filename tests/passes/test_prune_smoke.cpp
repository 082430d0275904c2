// prune() on small hand-built models: the masked model's output against the pruned one, shapes
// and options after pruning, the padded-consumer rule, and the refusals of the plan.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "pare/pare.h"
#include "pare/passes/pruning/pruning.h"
#include "pruning_test_util.h"

namespace {

namespace nn = pare::nn;
namespace pruning = pare::pruning;
using nlohmann::json;
using pare::Tensor;
using pare::testing::FixedMaskPruner;
using pare::testing::max_abs_diff;

struct Mlp : nn::Module {
  Mlp() : nn::Module("Mlp") {
    fc1 = register_module("fc1", nn::Linear(6, 5));
    fc2 = register_module("fc2", nn::Linear(5, 4));
    fc3 = register_module("fc3", nn::Linear(4, 3));
  }
  Tensor forward(const Tensor& x) { return fc3(pare::sigmoid(fc2(pare::leaky_relu(fc1(x), 0.5)))); }
  nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};
};

TEST_CASE("prune: Linear chains match the masked model, with sigma(0) != 0 folded") {
  for (bool prune_bias : {true, false}) {
    CAPTURE(prune_bias);
    pare::manual_seed(3);
    auto net = std::make_shared<Mlp>();
    FixedMaskPruner pruner;
    pruner.prepare(
        net, {{{"tensor_fqn", "fc1.weight"}, {"mask", {1, 0, 1, 0, 1}}, {"prune_bias", prune_bias}},
              {{"tensor_fqn", "fc2.weight"}, {"mask", {0, 1, 1, 1}}}});
    const Tensor x = pare::randn({7, 6});
    const Tensor masked = net->forward(x);
    pare::ir::GraphModule pruned = pruner.prune({x});
    CHECK(net->fc1->options().out_features() == 3);
    CHECK(net->fc2->options().in_features() == 3);
    CHECK(net->fc2->weight().sizes() == pare::Shape{3, 3});
    CHECK(net->fc3->weight().sizes() == pare::Shape{3, 3});
    CHECK(!pare::nn::is_parametrized(*net->fc1));
    CHECK(max_abs_diff(pruned.forward({x}), masked) <= 1e-5f);
    CHECK(max_abs_diff(net->forward(x), masked) <= 1e-5f);
  }
}

struct Cnn : nn::Module {
  explicit Cnn(int64_t padding) : nn::Module("Cnn") {
    conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(2, 6, 3).padding(1)));
    conv2 = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(6, 4, 3).padding(padding)));
    pool = register_module("pool", nn::AdaptiveAvgPool2d(2));
    fc = register_module("fc", nn::Linear(16, 3));
  }
  Tensor forward(const Tensor& x) {
    Tensor y = conv2(pare::max_pool2d(pare::sigmoid(conv1(x)), 2));
    return fc(pare::flatten(pool(pare::relu(y)), 1));
  }
  nn::Conv2d conv1{nullptr}, conv2{nullptr};
  nn::AdaptiveAvgPool2d pool{nullptr};
  nn::Linear fc{nullptr};
};

TEST_CASE("prune: conv chains; a padded consumer keeps shape only when a constant is not 0") {
  for (int64_t padding : {0, 1}) {
    CAPTURE(padding);
    pare::manual_seed(5);
    auto net = std::make_shared<Cnn>(padding);
    FixedMaskPruner pruner;
    pruner.prepare(net, {{{"tensor_fqn", "conv1.weight"}, {"mask", {1, 0, 1, 1, 0, 1}}},
                         {{"tensor_fqn", "conv2.weight"}, {"mask", {1, 1, 0, 1}}}});
    const Tensor x = pare::randn({2, 2, 10, 10});
    const Tensor masked = net->forward(x);
    pare::ir::GraphModule pruned = pruner.prune({x});
    // sigmoid(0) = 0.5 reaches conv2: folded when unpadded, the padded-consumer rule otherwise.
    const int64_t expected_conv1 = padding == 0 ? 4 : 6;
    CHECK(net->conv1->options().out_channels() == expected_conv1);
    CHECK(net->conv2->options().in_channels() == expected_conv1);
    CHECK(net->conv2->options().out_channels() == 3);  // relu(0) = 0: always removable
    CHECK(net->fc->options().in_features() == 12);
    CHECK(max_abs_diff(pruned.forward({x}), masked) <= 1e-4f);
  }
}

TEST_CASE("prune: refusals name the module and the patterns tried") {
  auto net = std::make_shared<Mlp>();
  FixedMaskPruner pruner;
  pruner.patterns = pruning::PatternTable();
  pruner.prepare(net, {{{"tensor_fqn", "fc1.weight"}, {"mask", {1, 0, 1, 0, 1}}}});
  const Tensor x = pare::randn({2, 6});
  CHECK_THROWS_WITH_AS(pruner.prune({x}), doctest::Contains("'fc1' (Linear) is masked"),
                       pare::Error);
  CHECK(pare::nn::is_parametrized(*net->fc1));  // nothing changed
}

}  // namespace

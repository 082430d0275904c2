// prune() end to end against hand-computed numbers: the pruners' choices carried through prune
// (saliency keeps the rows of largest L1 norm, FPGM prunes the filter nearest the geometric
// median, LSTMSaliencyPruner prunes per gate and keeps the units of weight_hh's output gate),
// the pruned widths and parameter counts of a small MLP and CNN, and the PyTorch-style flow
// (prepare, a few SGD steps, step, prune) on the user's own model object.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "pare/pare.h"
#include "pare/passes/pruning/pruning.h"
#include "pruning_test_util.h"

namespace {

namespace nn = pare::nn;
namespace pruning = pare::pruning;
using Indices = std::vector<int64_t>;
using nlohmann::json;
using pare::Tensor;
using pare::testing::assign;
using pare::testing::kept_indices;
using pare::testing::mask_values;
using pare::testing::max_abs_diff;
using pare::testing::near;
using pare::testing::Net;
using pare::testing::parameter_count;
using pare::testing::take_along;
using pare::testing::values;

}  // namespace

// ---------------------------------------------------------------- pruners through prune()

TEST_CASE("SaliencyPruner through prune keeps exactly the rows of largest L1 norm") {
  // Row L1 norms: 3, 0.5, 3.5, 1, 4.5.
  const std::vector<float> weight = {2, -1, 0, 0.25f, 0.25f, 0, -1, 1, 1.5f, 0, 0, -1, 4, 0, -0.5f};
  struct Case {
    double level;
    Indices kept;
  };
  // k = trunc(5 * level): 0.2 -> 1 (row 1), 0.5 -> 2 (rows 1, 3), 0.7 -> 3 (rows 1, 3, 0).
  for (const Case& c : {Case{0.2, {0, 2, 3, 4}}, Case{0.5, {0, 2, 4}}, Case{0.7, {2, 4}}}) {
    CAPTURE(c.level);
    pare::manual_seed(21);
    auto net = std::make_shared<Net>();
    nn::Linear fc1 = net->register_module("fc1", nn::Linear(3, 5));
    nn::Linear fc2 = net->register_module("fc2", nn::Linear(5, 2));
    net->body = [=](const Tensor& x) { return fc2(pare::relu(fc1(x))); };
    assign(fc1->weight(), weight);
    const Tensor b1 = fc1->bias().clone();
    const Tensor w2 = fc2->weight().clone();
    const std::vector<float> b2 = values(fc2->bias());
    pruning::SaliencyPruner pruner({{"sparsity_level", c.level}});
    pruner.prepare(net, {{{"tensor_fqn", "fc1.weight"}}});
    pruner.step();
    const Tensor x = pare::randn({4, 3});
    const Tensor masked = net->forward(x);
    pare::ir::GraphModule pruned = pruner.prune({x});
    CHECK(values(fc1->weight()) == take_along(pare::tensor(weight, {5, 3}), 0, c.kept));
    CHECK(values(fc1->bias()) == take_along(b1, 0, c.kept));
    CHECK(values(fc2->weight()) == take_along(w2, 1, c.kept));
    CHECK(values(fc2->bias()) == b2);  // relu(0) = 0: nothing to fold
    CHECK(max_abs_diff(pruned.forward({x}), masked) <= 1e-5);
  }
}

TEST_CASE("FPGMPruner through prune removes the filter nearest the geometric median") {
  // 1x1 filters (v, v) with v = 1, -2, 4, 8, 20: pairwise distances are |dv| times sqrt(2) (L2)
  // or 2 (L1), so the sums rank like sum |dv|: 32, 41, 29, 33, 69. Filter 2 (v = 4) is nearest
  // the median; filter 0 has the smallest norm (what saliency would prune).
  const std::vector<float> filters = {1, 1, -2, -2, 4, 4, 8, 8, 20, 20};
  struct Case {
    std::string pruner;
    double level;
    Indices kept;
  };
  const std::vector<Case> cases = {{"FPGM L2", 0.2, {0, 1, 3, 4}},
                                   {"FPGM L1", 0.2, {0, 1, 3, 4}},
                                   {"FPGM L2", 0.4, {1, 3, 4}},  // then filter 0 (32)
                                   {"Saliency", 0.2, {1, 2, 3, 4}}};
  for (const Case& c : cases) {
    CAPTURE(c.pruner);
    CAPTURE(c.level);
    pare::manual_seed(22);
    auto net = std::make_shared<Net>();
    nn::Conv2d conv1 = net->register_module("conv1", nn::Conv2d(2, 5, 1));
    nn::Conv2d conv2 = net->register_module("conv2", nn::Conv2d(5, 3, 1));
    net->body = [=](const Tensor& x) { return conv2(pare::relu(conv1(x))); };
    assign(conv1->weight(), filters);
    const Tensor w2 = conv2->weight().clone();
    std::unique_ptr<pruning::BaseStructuredSparsifier> pruner;
    if (c.pruner == "Saliency")
      pruner = std::make_unique<pruning::SaliencyPruner>(json{{"sparsity_level", c.level}});
    else
      pruner = std::make_unique<pruning::FPGMPruner>(c.level, c.pruner == "FPGM L1" ? "L1" : "L2");
    pruner->prepare(net, {{{"tensor_fqn", "conv1.weight"}}});
    pruner->step();
    const Tensor x = pare::randn({1, 2, 4, 4});
    const Tensor masked = net->forward(x);
    pare::ir::GraphModule pruned = pruner->prune({x});
    CHECK(values(conv1->weight()) == take_along(pare::tensor(filters, {5, 2, 1, 1}), 0, c.kept));
    CHECK(values(conv2->weight()) == take_along(w2, 1, c.kept));
    CHECK(max_abs_diff(pruned.forward({x}), masked) <= 1e-4);
  }
}

TEST_CASE("LSTMSaliencyPruner through prune: one row per gate, kept units from the output gate") {
  struct LstmNet : nn::Module {
    LstmNet() : nn::Module("LstmNet") {
      lstm = register_module("lstm", nn::LSTM(2, 3));
      fc = register_module("fc", nn::Linear(3, 2));
    }
    Tensor forward(const Tensor& x) { return fc(std::get<0>(lstm(x))); }
    nn::LSTM lstm{nullptr};
    nn::Linear fc{nullptr};
  };
  pare::manual_seed(23);
  auto net = std::make_shared<LstmNet>();
  // Row L1 norms a, stored as rows (a/2, -a/2) and (a/2, 0, -a/2). Per gate (i, f, g, o):
  //   weight_ih: (3, 1, 2) (2, 3, 1) (0.5, 0.6, 3) (2, 2.5, 1.5) -> prunes units 1, 2, 0, 2
  //   weight_hh: (1, 1.2, 6) (4, 2, 9) (7, 8, 3) (5, 1.5, 6)     -> prunes units 0, 1, 2, 1
  // A saliency over all 12 rows would prune g0, g1, i1, f2 and i0, i1, o1, f1 instead.
  const std::vector<float> ih_norms = {3, 1, 2, 2, 3, 1, 0.5f, 0.6f, 3, 2, 2.5f, 1.5f};
  const std::vector<float> hh_norms = {1, 1.2f, 6, 4, 2, 9, 7, 8, 3, 5, 1.5f, 6};
  std::vector<float> w_ih;
  std::vector<float> w_hh;
  for (float a : ih_norms) w_ih.insert(w_ih.end(), {a / 2, -a / 2});
  for (float a : hh_norms) w_hh.insert(w_hh.end(), {a / 2, 0, -a / 2});
  assign(net->lstm->get_parameter("weight_ih_l0"), w_ih);
  assign(net->lstm->get_parameter("weight_hh_l0"), w_hh);
  const Tensor w_fc = net->fc->weight().clone();
  pruning::LSTMSaliencyPruner pruner({{"sparsity_level", 0.34}});  // trunc(3 * 0.34) = 1 per gate
  pruner.prepare(net,
                 {{{"tensor_fqn", "lstm.weight_ih_l0"}}, {{"tensor_fqn", "lstm.weight_hh_l0"}}});
  pruner.step();
  const Tensor x = pare::randn({1, 2, 2});
  const Tensor masked_hidden = std::get<0>(net->lstm(x));
  pruner.prune({x});

  // weight_hh's output gate keeps units 0 and 2. Rows (units 0, 2 of i, f, g, o), with the rows
  // pruned in their own gate zeroed: ih f2, g0, o2; hh i0, g2.
  CHECK(net->lstm->options().hidden_size() == 2);
  CHECK(values(net->lstm->get_parameter("weight_ih_l0")) ==
        std::vector<float>{1.5f, -1.5f, 1, -1, 1, -1, 0, 0, 0, 0, 1.5f, -1.5f, 1, -1, 0, 0});
  CHECK(values(net->lstm->get_parameter("weight_hh_l0")) ==
        std::vector<float>{0, 0, 3, -3, 2, -2, 4.5f, -4.5f, 3.5f, -3.5f, 0, 0, 2.5f, -2.5f, 3, -3});
  CHECK(values(net->fc->weight()) == take_along(w_fc, 1, {0, 2}));
  CHECK(near(values(std::get<0>(net->lstm(x))), take_along(masked_hidden, 2, {0, 2})));
}

TEST_CASE("pruned widths and parameter counts of a small MLP and CNN") {
  SUBCASE("MLP 8 -> 6 -> 4 -> 3, fc1 and fc2 at 0.5") {
    pare::manual_seed(24);
    auto net = std::make_shared<Net>();
    nn::Linear fc1 = net->register_module("fc1", nn::Linear(8, 6));
    nn::Linear fc2 = net->register_module("fc2", nn::Linear(6, 4));
    nn::Linear fc3 = net->register_module("fc3", nn::Linear(4, 3));
    net->body = [=](const Tensor& x) { return fc3(pare::relu(fc2(pare::relu(fc1(x))))); };
    CHECK(parameter_count(*net) == (8 * 6 + 6) + (6 * 4 + 4) + (4 * 3 + 3));  // 97
    pruning::SaliencyPruner pruner({{"sparsity_level", 0.5}});
    pruner.prepare(net, {{{"tensor_fqn", "fc1.weight"}}, {{"tensor_fqn", "fc2.weight"}}});
    pruner.step();
    const Tensor x = pare::randn({5, 8});
    const Tensor masked = net->forward(x);
    pare::ir::GraphModule pruned = pruner.prune({x});
    CHECK(fc1->weight().sizes() == pare::Shape{3, 8});
    CHECK(fc2->weight().sizes() == pare::Shape{2, 3});
    CHECK(fc3->weight().sizes() == pare::Shape{3, 2});
    CHECK(fc2->options().in_features() == 3);
    CHECK(fc3->options().in_features() == 2);
    // fc1 3 x 8 + 3, fc2 2 x 3 + 2, fc3 3 x 2 + 3.
    CHECK(parameter_count(*net) == 27 + 8 + 9);
    CHECK(max_abs_diff(pruned.forward({x}), masked) <= 1e-5);
  }
  SUBCASE("CNN conv(3->8) pool conv(8->16) head(64->10), both convs at 0.5") {
    pare::manual_seed(25);
    auto net = std::make_shared<Net>();
    nn::Conv2d conv1 =
        net->register_module("conv1", nn::Conv2d(nn::Conv2dOptions(3, 8, 3).padding(1)));
    nn::Conv2d conv2 =
        net->register_module("conv2", nn::Conv2d(nn::Conv2dOptions(8, 16, 3).padding(1)));
    nn::AdaptiveAvgPool2d pool = net->register_module("pool", nn::AdaptiveAvgPool2d(2));
    nn::Linear fc = net->register_module("fc", nn::Linear(64, 10));
    net->body = [=](const Tensor& x) {
      Tensor h = pare::max_pool2d(pare::relu(conv1(x)), 2);
      return fc(pare::flatten(pool(pare::relu(conv2(h))), 1));
    };
    CHECK(parameter_count(*net) == (3 * 8 * 9 + 8) + (8 * 16 * 9 + 16) + (64 * 10 + 10));  // 2042
    pruning::SaliencyPruner pruner({{"sparsity_level", 0.5}});
    pruner.prepare(net, {{{"tensor_fqn", "conv1.weight"}}, {{"tensor_fqn", "conv2.weight"}}});
    pruner.step();
    const Tensor x = pare::randn({2, 3, 8, 8});
    const Tensor masked = net->forward(x);
    pare::ir::GraphModule pruned = pruner.prune({x});
    CHECK(conv1->weight().sizes() == pare::Shape{4, 3, 3, 3});
    CHECK(conv2->weight().sizes() == pare::Shape{8, 4, 3, 3});
    CHECK(fc->weight().sizes() == pare::Shape{10, 32});
    // conv1 4 x 3 x 9 + 4, conv2 8 x 4 x 9 + 8, fc 10 x 32 + 10.
    CHECK(parameter_count(*net) == 112 + 296 + 330);
    CHECK(max_abs_diff(pruned.forward({x}), masked) <= 1e-4);
  }
}

TEST_CASE("the PyTorch flow: prepare, train with SGD, step, prune; the user's model shrinks") {
  struct ConvNet : nn::Module {
    ConvNet() : nn::Module("ConvNet") {
      conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(1, 4, 3).padding(1)));
      conv2 = register_module("conv2", nn::Conv2d(4, 6, 3));
      pool = register_module("pool", nn::AdaptiveAvgPool2d(1));
      flatten = register_module("flatten", nn::Flatten());
      fc = register_module("fc", nn::Linear(6, 2));
    }
    Tensor forward(const Tensor& x) {
      Tensor h = pare::max_pool2d(pare::relu(conv1(x)), 2);
      return fc(flatten(pool(pare::relu(conv2(h)))));
    }
    nn::Conv2d conv1{nullptr};
    nn::Conv2d conv2{nullptr};
    nn::AdaptiveAvgPool2d pool{nullptr};
    nn::Flatten flatten{nullptr};
    nn::Linear fc{nullptr};
  };
  pare::manual_seed(26);
  auto net = std::make_shared<ConvNet>();
  pruning::SaliencyPruner pruner({{"sparsity_level", 0.5}});
  pruner.prepare(net, {{{"tensor_fqn", "conv1.weight"}}, {{"tensor_fqn", "conv2.weight"}}});
  const Tensor x = pare::randn({4, 1, 10, 10});
  const Tensor target = pare::randn({4, 2});
  pare::optim::SGD sgd(net->parameters(), pare::optim::SGDOptions(0.1));
  std::vector<float> losses;
  for (int step = 0; step < 5; ++step) {
    sgd.zero_grad();
    Tensor loss = pare::mse_loss(net->forward(x), target);
    loss.backward();
    sgd.step();
    losses.push_back(loss.item<float>());
  }
  CHECK(losses.back() < losses.front());  // the masked model trains
  pruner.step();

  // The masks are the L1 choice on the trained weights: per filter, the 50% lowest norms.
  for (const std::string name : {"conv1", "conv2"}) {
    CAPTURE(name);
    const Tensor trained = net->get_submodule(name)->parametrization("weight")->original();
    const int64_t rows = trained.size(0);
    const std::vector<float> flat = values(trained);
    const int64_t per_row = trained.numel() / rows;
    std::vector<double> norms(static_cast<size_t>(rows), 0.0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < per_row; ++j) norms[r] += std::fabs(flat[r * per_row + j]);
    Indices order(static_cast<size_t>(rows));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return norms[a] < norms[b]; });
    std::vector<bool> expected(static_cast<size_t>(rows), true);
    for (int64_t i = 0; i < rows / 2; ++i) expected[order[i]] = false;
    CHECK(mask_values(pruner.state.at(name + ".weight").at("mask")) == expected);
  }
  const Indices conv1_kept = kept_indices(mask_values(pruner.state.at("conv1.weight").at("mask")));
  const Tensor conv1_trained = net->conv1->parametrization("weight")->original().clone();

  const Tensor masked = net->forward(x);
  pare::ir::GraphModule pruned = pruner.prune({x});
  CHECK(net->conv1->options().out_channels() == 2);
  CHECK(net->conv2->options().in_channels() == 2);
  CHECK(net->conv2->options().out_channels() == 3);
  CHECK(net->fc->options().in_features() == 3);
  CHECK(values(net->conv1->weight()) == take_along(conv1_trained, 0, conv1_kept));
  // The user's own object runs at the new widths, like the returned graph.
  const Tensor again = net->forward(x);
  CHECK(again.sizes() == pare::Shape{4, 2});
  CHECK(max_abs_diff(again, masked) <= 1e-4);
  CHECK(max_abs_diff(pruned.forward({x}), masked) <= 1e-4);
  // And keeps training with a new optimizer over the new parameters.
  pare::optim::SGD after(net->parameters(), pare::optim::SGDOptions(0.1));
  after.zero_grad();
  pare::mse_loss(net->forward(x), target).backward();
  after.step();
  CHECK(net->conv1->weight().sizes() == pare::Shape{2, 1, 3, 3});
}

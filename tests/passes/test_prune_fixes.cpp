// One test per point of "Fixed in pare" (docs/pruning.md), each written so that PyTorch's
// behaviour fails it: the comment above each test says what torch.ao.pruning's pruner does there
// and which assertion that breaks. Expected values are computed by hand (in the comments) or by
// plain loops over the original weights, and the pruned model is compared with the masked one.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <memory>
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
using pare::testing::error_of;
using pare::testing::FixedMaskPruner;
using pare::testing::max_abs_diff;
using pare::testing::near;
using pare::testing::Net;
using pare::testing::take_along;
using pare::testing::values;

// Row-major [4, 3] weight and its bias for the first Linear of the hand-computed chains.
const std::vector<float> kW1 = {1, 2, 3, -1, 0, 1, 2, 2, -2, 0.5f, -1, 1};
const std::vector<float> kB1 = {0.5f, -1.5f, 2, 3};
// Rows [1, 0, 2, -1], [0.5, 1, -1, 2], [-2, 1, 0, 1]: the [3, 4] weight of the second Linear.
const std::vector<float> kW2 = {1, 0, 2, -1, 0.5f, 1, -1, 2, -2, 1, 0, 1};
const std::vector<float> kB2 = {0.1f, 0.2f, 0.3f};
const std::vector<float> kX = {0.5f, -1, 2, 1, 1, -3};  // [2, 3]

struct TwoLinears {
  std::shared_ptr<Net> net = std::make_shared<Net>();
  nn::Linear fc1{nullptr};
  nn::Linear fc2{nullptr};
};

// fc1 (3 -> 4) -> act -> fc2 (4 -> 3) with the weights above; act may be empty (identity).
TwoLinears two_linears(std::function<Tensor(const Tensor&)> act,
                       const std::vector<float>& b1 = kB1) {
  TwoLinears model;
  model.fc1 = model.net->register_module("fc1", nn::Linear(3, 4));
  model.fc2 = model.net->register_module("fc2", nn::Linear(4, 3));
  assign(model.fc1->weight(), kW1);
  assign(model.fc1->bias(), b1);
  assign(model.fc2->weight(), kW2);
  assign(model.fc2->bias(), kB2);
  nn::Linear fc1 = model.fc1;
  nn::Linear fc2 = model.fc2;
  model.net->body = [fc1, fc2, act](const Tensor& x) {
    Tensor h = fc1(x);
    return fc2(act ? act(h) : h);
  };
  return model;
}

}  // namespace

// Fix 1. PyTorch's prune_linear removes the bias handles and, with prune_bias = False, never puts
// `_bias` back: the terminal Linear ends with bias = None, so `fc.bias` below is undefined there
// and its output lacks b[K] (5.0 would be 4.5).
TEST_CASE("fix 1: a terminal Linear with prune_bias = false keeps its kept bias entries") {
  auto net = std::make_shared<Net>();
  nn::Linear fc = net->register_module("fc", nn::Linear(3, 4));
  assign(fc->weight(), kW1);
  assign(fc->bias(), kB1);
  net->body = [fc](const Tensor& x) { return fc(x); };
  FixedMaskPruner pruner;
  pruner.prepare(net,
                 {{{"tensor_fqn", "fc.weight"}, {"mask", {1, 0, 1, 0}}, {"prune_bias", false}}});
  const Tensor x = pare::tensor(kX, {2, 3});
  const Tensor masked = net->forward(x);
  pare::ir::GraphModule pruned = pruner.prune({x});

  CHECK(fc->options().out_features() == 2);
  REQUIRE(fc->bias().defined());
  CHECK(fc->options().bias());
  CHECK(values(fc->bias()) == std::vector<float>{0.5f, 2});
  // y[n, r] = W[r] . x[n] + b[r], r in {0, 2}: n0: 4.5 + 0.5, -5 + 2; n1: -6 + 0.5, 10 + 2.
  const std::vector<float> expected = {5, -3, -5.5f, 12};
  CHECK(near(values(pruned.forward({x})), expected));
  CHECK(near(values(net->forward(x)), expected));
  CHECK(near(take_along(masked, 1, {0, 2}), expected));
}

// Fix 2. PyTorch's prepare sets `prune_bias` only on modules that have a bias, so for this conv
// getattr(conv, "prune_bias", False) is False, _propagate_module_bias returns None and
// prune_conv2d_pool_flatten_linear iterates over it: TypeError, prune() never returns.
TEST_CASE("fix 2: Conv2d without bias -> AdaptiveAvgPool2d -> Flatten -> Linear prunes") {
  for (bool prune_bias : {true, false}) {
    CAPTURE(prune_bias);
    pare::manual_seed(11);
    auto net = std::make_shared<Net>();
    nn::Conv2d conv =
        net->register_module("conv", nn::Conv2d(nn::Conv2dOptions(2, 4, 3).bias(false)));
    nn::AdaptiveAvgPool2d pool = net->register_module("pool", nn::AdaptiveAvgPool2d(2));
    nn::Flatten flat = net->register_module("flat", nn::Flatten());
    nn::Linear fc = net->register_module("fc", nn::Linear(16, 3));
    net->body = [=](const Tensor& x) { return fc(flat(pool(conv(x)))); };
    const Tensor conv_weight = conv->weight().clone();
    const Tensor fc_weight = fc->weight().clone();
    const std::vector<float> fc_bias = values(fc->bias());
    FixedMaskPruner pruner;
    pruner.prepare(
        net, {{{"tensor_fqn", "conv.weight"}, {"mask", {1, 0, 1, 1}}, {"prune_bias", prune_bias}}});
    const Tensor x = pare::randn({2, 2, 7, 7});
    const Tensor masked = net->forward(x);
    pare::ir::GraphModule pruned = pruner.prune({x});

    CHECK(conv->options().out_channels() == 3);
    CHECK_FALSE(conv->options().bias());
    CHECK_FALSE(conv->bias().defined());
    CHECK(values(conv->weight()) == take_along(conv_weight, 0, {0, 2, 3}));
    // 4 features per channel (2 x 2 pool), channel-major: channel 1 is features 4..7.
    CHECK(fc->options().in_features() == 12);
    CHECK(values(fc->weight()) ==
          take_along(fc_weight, 1, {0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15}));
    CHECK(values(fc->bias()) == fc_bias);  // nothing to fold: no bias, so c = 0
    CHECK(max_abs_diff(pruned.forward({x}), masked) <= 1e-4);
    CHECK(max_abs_diff(net->forward(x), masked) <= 1e-4);
  }
}

// Fix 3. In PyTorch the fold of fc1 (prune_bias = False) is written to fc2.bias, but fc2 is
// masked and keeps its original bias in fc2._bias; pruning fc2 with prune_bias = True then reads
// `_bias` and discards the fold: fc2.bias would be {0.1, 0.3} instead of {-2.9, 1.8}.
TEST_CASE("fix 3: mixed prune_bias across consecutive layers keeps the folded bias") {
  struct Case {
    bool fc1_prune_bias;
    bool fc2_prune_bias;
    std::vector<float> fc2_bias;
  };
  // fc1 prunes rows 1 and 3 (b1 = -1.5, 3); fc2 = W2 x + b2 keeps rows 0 and 2.
  // Fold: W2[:, 1] * -1.5 + W2[:, 3] * 3 = {0 - 3, -1.5 + 6, -1.5 + 3} = {-3, 4.5, 1.5}.
  const std::vector<Case> cases = {
      {false, true, {0.1f - 3, 0.3f + 1.5f}},  // folded, then fc2's kept rows
      {true, false, {0.1f, 0.3f}},             // nothing to fold; fc2 keeps b2[K] (fix 1)
      {false, false, {0.1f - 3, 0.3f + 1.5f}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.fc1_prune_bias);
    CAPTURE(c.fc2_prune_bias);
    TwoLinears model = two_linears(nullptr);
    FixedMaskPruner pruner;
    pruner.prepare(
        model.net,
        {{{"tensor_fqn", "fc1.weight"}, {"mask", {1, 0, 1, 0}}, {"prune_bias", c.fc1_prune_bias}},
         {{"tensor_fqn", "fc2.weight"}, {"mask", {1, 0, 1}}, {"prune_bias", c.fc2_prune_bias}}});
    const Tensor x = pare::tensor(kX, {2, 3});
    const Tensor masked = model.net->forward(x);
    pare::ir::GraphModule pruned = pruner.prune({x});
    REQUIRE(model.fc2->bias().defined());
    CHECK(near(values(model.fc2->bias()), c.fc2_bias));
    CHECK(model.fc2->weight().sizes() == pare::Shape{2, 2});
    CHECK(max_abs_diff(pruned.forward({x}), pare::tensor(take_along(masked, 1, {0, 2}), {2, 2})) <=
          1e-5);
  }
}

// Fix 4. PyTorch calls the matched call_function target with the pruned biases only, so
// F.leaky_relu folds with its default slope 0.01: fc2.bias would be {0.14, 0.1, 0.24}, and the
// pruned model would differ from the masked one.
TEST_CASE("fix 4: leaky_relu(x, 0.5) folds with slope 0.5") {
  // fc1's pruned rows 1 and 3 emit b1 = -2 and -4 (prune_bias = false); leaky_relu(., 0.5) gives
  // -1 and -2. Fold: W2[:, 1] * -1 + W2[:, 3] * -2 = {0 + 2, -1 - 4, -1 - 2} = {2, -5, -3}.
  TwoLinears model =
      two_linears([](const Tensor& h) { return pare::leaky_relu(h, 0.5); }, {0.5f, -2, 2, -4});
  FixedMaskPruner pruner;
  pruner.prepare(model.net,
                 {{{"tensor_fqn", "fc1.weight"}, {"mask", {1, 0, 1, 0}}, {"prune_bias", false}}});
  const Tensor x = pare::tensor(kX, {2, 3});
  const Tensor masked = model.net->forward(x);
  pare::ir::GraphModule pruned = pruner.prune({x});
  const std::vector<float> bias = values(model.fc2->bias());
  CHECK(near(bias, {0.1f + 2, 0.2f - 5, 0.3f - 3}));
  // With the default slope 0.01 (v = -0.02, -0.04) the fold would be {0.04, -0.1, -0.06}.
  CHECK_FALSE(near(bias, {0.14f, 0.1f, 0.24f}, 1e-2));
  CHECK(values(model.fc2->weight()) == take_along(kW2, {3, 4}, 1, {0, 2}));
  CHECK(max_abs_diff(pruned.forward({x}), masked) <= 1e-5);
}

// Fix 5. PyTorch's BiasHook reshapes the bias to [1, -1, 1, ...] (axis 1) whatever the rank, so a
// Linear on [N, L, F] (L = 5 != F = 4) and a conv on unbatched [C, H, W] (W = 4 != C = 3) fail to
// broadcast in the masked forward: `masked` below cannot even be computed there.
TEST_CASE("fix 5: the bias hook follows the channel axis, and prune matches on those ranks") {
  SUBCASE("Linear on [N, L, F]") {
    TwoLinears model = two_linears([](const Tensor& h) { return pare::tanh(h); });
    FixedMaskPruner pruner;
    pruner.prepare(model.net,
                   {{{"tensor_fqn", "fc1.weight"}, {"mask", {0, 1, 1, 1}}, {"prune_bias", false}}});
    const Tensor x = pare::tensor(pare::testing::random_floats(2 * 5 * 3, 17), {2, 5, 3});
    const Tensor masked = model.net->forward(x);
    CHECK(masked.sizes() == pare::Shape{2, 5, 3});
    pare::ir::GraphModule pruned = pruner.prune({x});
    // Pruned row 0 emits b1[0] = 0.5 everywhere; fc2 absorbs tanh(0.5) * W2[:, 0].
    const float t = std::tanh(0.5f);
    CHECK(near(values(model.fc2->bias()), {0.1f + t, 0.2f + 0.5f * t, 0.3f - 2 * t}));
    CHECK(max_abs_diff(pruned.forward({x}), masked) <= 1e-5);
  }
  SUBCASE("Conv2d on unbatched [C, H, W]") {
    pare::manual_seed(2);
    auto net = std::make_shared<Net>();
    nn::Conv2d conv1 = net->register_module("conv1", nn::Conv2d(2, 3, 1));
    nn::Conv2d conv2 = net->register_module("conv2", nn::Conv2d(3, 2, 1));
    net->body = [=](const Tensor& x) { return conv2(pare::relu(conv1(x))); };
    assign(conv1->bias(), {0.25f, 0.75f, -1});
    const std::vector<float> w2 = values(conv2->weight());  // [2, 3, 1, 1]
    const std::vector<float> b2 = values(conv2->bias());
    FixedMaskPruner pruner;
    pruner.prepare(net,
                   {{{"tensor_fqn", "conv1.weight"}, {"mask", {1, 0, 1}}, {"prune_bias", false}}});
    const Tensor x = pare::randn({2, 4, 4});
    const Tensor masked = net->forward(x);
    CHECK(masked.sizes() == pare::Shape{2, 4, 4});
    pare::ir::GraphModule pruned = pruner.prune({x});
    CHECK(conv1->options().out_channels() == 2);
    // relu(0.75) reaches conv2 through channel 1 at every pixel.
    CHECK(near(values(conv2->bias()), {b2[0] + 0.75f * w2[1], b2[1] + 0.75f * w2[4]}));
    CHECK(max_abs_diff(pruned.forward({x}), masked) <= 1e-4);
  }
}

// Fix 6. PyTorch's prune_conv2d_activation_conv2d calls prune_conv2d_padded(conv1) whenever
// conv2 has padding and conv1 has a bias, so conv1 keeps its 4 channels (and conv2 its 4 inputs)
// even though relu / tanh / gelu of the 0 a pruned channel emits is 0.
TEST_CASE("fix 6: a padded consumer with sigma(0) = 0 and prune_bias removes the channels") {
  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>> activations = {
      {"relu", [](const Tensor& h) { return pare::relu(h); }},
      {"tanh", [](const Tensor& h) { return pare::tanh(h); }},
      {"gelu", [](const Tensor& h) { return pare::gelu(h); }}};
  for (const auto& [act_name, act] : activations) {
    CAPTURE(act_name);
    pare::manual_seed(6);
    auto net = std::make_shared<Net>();
    nn::Conv2d conv1 =
        net->register_module("conv1", nn::Conv2d(nn::Conv2dOptions(2, 4, 3).padding(1)));
    nn::Conv2d conv2 =
        net->register_module("conv2", nn::Conv2d(nn::Conv2dOptions(4, 3, 3).padding(1)));
    auto activation = act;
    net->body = [=](const Tensor& x) { return conv2(activation(conv1(x))); };
    const Tensor w1 = conv1->weight().clone();
    const Tensor b1 = conv1->bias().clone();
    const Tensor w2 = conv2->weight().clone();
    const std::vector<float> b2 = values(conv2->bias());
    FixedMaskPruner pruner;
    pruner.prepare(net, {{{"tensor_fqn", "conv1.weight"}, {"mask", {1, 0, 0, 1}}}});
    const Tensor x = pare::randn({2, 2, 6, 6});
    const Tensor masked = net->forward(x);
    pare::ir::GraphModule pruned = pruner.prune({x});
    CHECK(conv1->options().out_channels() == 2);
    CHECK(conv1->weight().sizes() == pare::Shape{2, 2, 3, 3});
    CHECK(values(conv1->weight()) == take_along(w1, 0, {0, 3}));
    CHECK(values(conv1->bias()) == take_along(b1, 0, {0, 3}));
    CHECK(conv2->options().in_channels() == 2);
    CHECK(values(conv2->weight()) == take_along(w2, 1, {0, 3}));
    CHECK(values(conv2->bias()) == b2);  // nothing folded
    CHECK(max_abs_diff(pruned.forward({x}), masked) <= 1e-4);
  }
}

// Fix 7. PyTorch slices each gate block of weight_hh by its own mask (W_hi[M_hi][:, M_hi], ...),
// so gate masks that disagree give blocks of different widths and torch.cat fails; it sets
// hidden_size from M_hi and the Linear from M_ho. pare keeps, per layer, the units whose
// output-gate row of weight_hh is kept, takes those units' rows in every gate (a pruned gate row
// inside a kept unit stays zero, exactly as in the masked model) and refuses layers that keep
// different unit counts.
TEST_CASE("fix 7: LSTM gate masks that differ are pruned exactly, or refused clearly") {
  struct LstmNet : nn::Module {
    explicit LstmNet(int64_t layers) : nn::Module("LstmNet") {
      lstm = register_module("lstm", nn::LSTM(nn::LSTMOptions(2, 3).num_layers(layers)));
      fc = register_module("fc", nn::Linear(3, 2));
    }
    Tensor forward(const Tensor& x) {
      auto [out, state] = lstm(x);
      return fc(out);
    }
    nn::LSTM lstm{nullptr};
    nn::Linear fc{nullptr};
  };

  SUBCASE("weight_ih without weight_hh") {
    auto net = std::make_shared<LstmNet>(1);
    FixedMaskPruner pruner;
    CHECK_THROWS_WITH_AS(pruner.prepare(net, {{{"tensor_fqn", "lstm.weight_ih_l0"}}}),
                         doctest::Contains("weight_ih_l0 without weight_hh_l0"), pare::Error);
    CHECK_FALSE(net->lstm->is_parametrized());
    // The same half-masked layer reached through load_state_dict: an error naming the LSTM and
    // the missing weight, at load or at prune, never a crash or a silent stale mask.
    FixedMaskPruner other;
    other.prepare(net, {{{"tensor_fqn", "fc.weight"}}});
    pruning::SparsifierStateDict state;
    state.groups = {{{"tensor_fqn", "lstm.weight_ih_l0"}}};
    state.state["lstm.weight_ih_l0"]["mask"] = pare::ones({12}, pare::kBool);
    const Tensor x = pare::randn({1, 2, 2});
    const std::string message = error_of([&] {
      other.load_state_dict(state);
      other.prune({x});
    });
    CAPTURE(message);
    CHECK(message.find("'lstm'") != std::string::npos);
    CHECK(message.find("weight_hh_l0") != std::string::npos);
  }

  SUBCASE("per-gate masks: kept units follow weight_hh's output gate") {
    pare::manual_seed(7);
    auto net = std::make_shared<LstmNet>(1);
    const Tensor w_ih = net->lstm->get_parameter("weight_ih_l0").clone();  // [12, 2]
    const Tensor w_hh = net->lstm->get_parameter("weight_hh_l0").clone();  // [12, 3]
    const Tensor b_ih = net->lstm->get_parameter("bias_ih_l0").clone();
    const Tensor b_hh = net->lstm->get_parameter("bias_hh_l0").clone();
    const Tensor w_fc = net->fc->weight().clone();
    const std::vector<float> b_fc = values(net->fc->bias());
    // Gate blocks i, f, g, o of 3 rows. weight_hh: i prunes unit 2, f unit 1, o unit 1 (so units
    // 0 and 2 are kept); weight_ih: g prunes unit 0.
    const std::vector<int> hh_mask = {1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 1};
    const std::vector<int> ih_mask = {1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1};
    FixedMaskPruner pruner;
    pruner.prepare(net, {{{"tensor_fqn", "lstm.weight_ih_l0"}, {"mask", ih_mask}},
                         {{"tensor_fqn", "lstm.weight_hh_l0"}, {"mask", hh_mask}}});
    const Tensor x = pare::randn({1, 2, 2});  // one time step from the zero state
    const Tensor masked_hidden = std::get<0>(net->lstm(x));
    pruner.prune({x});

    const Indices rows = {0, 2, 3, 5, 6, 8, 9, 11};  // units 0 and 2 of every gate
    auto masked_rows = [&](const Tensor& weight, const std::vector<int>& mask) {
      const int64_t width = weight.size(1);
      std::vector<float> out = take_along(weight, 0, rows);
      for (size_t r = 0; r < rows.size(); ++r)
        if (!mask[static_cast<size_t>(rows[r])])
          for (int64_t j = 0; j < width; ++j) out[r * width + j] = 0.0f;
      return out;
    };
    CHECK(net->lstm->options().hidden_size() == 2);
    CHECK_FALSE(net->lstm->is_parametrized());
    CHECK(values(net->lstm->get_parameter("weight_ih_l0")) == masked_rows(w_ih, ih_mask));
    const std::vector<float> hh_rows = masked_rows(w_hh, hh_mask);  // [8, 3], row 2 zero
    CHECK(values(net->lstm->get_parameter("weight_hh_l0")) ==
          take_along(hh_rows, {8, 3}, 1, {0, 2}));
    CHECK(values(net->lstm->get_parameter("bias_ih_l0")) == take_along(b_ih, 0, rows));
    CHECK(values(net->lstm->get_parameter("bias_hh_l0")) == take_along(b_hh, 0, rows));
    CHECK(values(net->fc->weight()) == take_along(w_fc, 1, {0, 2}));

    // One step from zero: the kept units compute what they did in the masked model.
    const Tensor pruned_hidden = std::get<0>(net->lstm(x));
    const std::vector<float> kept_hidden = take_along(masked_hidden, 2, {0, 2});  // [1, 2, 2]
    CHECK(near(values(pruned_hidden), kept_hidden));
    // And the Linear reads only them: y[n, o] = sum_k W_fc[o, k] h[n, k] + b[o], k in {0, 2}.
    const std::vector<float> w = values(w_fc);
    std::vector<float> expected;
    for (int n = 0; n < 2; ++n)
      for (int o = 0; o < 2; ++o)
        expected.push_back(w[o * 3 + 0] * kept_hidden[n * 2 + 0] +
                           w[o * 3 + 2] * kept_hidden[n * 2 + 1] + b_fc[o]);
    CHECK(near(values(net->forward(x)), expected));
  }

  SUBCASE("layers keeping different unit counts are refused, naming the LSTM") {
    auto net = std::make_shared<LstmNet>(2);
    const std::vector<int> all(12, 1);
    FixedMaskPruner pruner;
    pruner.prepare(
        net, {{{"tensor_fqn", "lstm.weight_ih_l0"}, {"mask", all}},
              {{"tensor_fqn", "lstm.weight_hh_l0"}, {"mask", {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1}}},
              {{"tensor_fqn", "lstm.weight_ih_l1"}, {"mask", all}},
              {{"tensor_fqn", "lstm.weight_hh_l1"}, {"mask", all}}});
    const Tensor x = pare::randn({3, 1, 2});
    const Tensor before = net->forward(x);
    CHECK_THROWS_WITH_AS(pruner.prune({x}),
                         doctest::Contains("'lstm' (LSTM): layer 0 keeps 2 hidden units but "
                                           "layer 1 keeps 3"),
                         pare::Error);
    CHECK(net->lstm->is_parametrized("weight_hh_l0"));
    CHECK(net->lstm->options().hidden_size() == 3);
    CHECK(max_abs_diff(net->forward(x), before) == 0.0);
  }
}

// Fix 8. PyTorch's load_state_dict looks for FakeSparsity (the unstructured one): it adds a second
// FakeSparsity parametrization instead of restoring the FakeStructuredSparsity mask, which stays
// all ones, so the target's fc1 would keep 3 rows. Its squash_mask removes parametrizations only:
// `_bias` and the BiasHook stay. And a second prepare stacks another parametrization.
TEST_CASE("fix 8: load_state_dict restores structured masks; squash_mask resolves the bias") {
  SUBCASE("load_state_dict, then prune, gives the source's pruned model") {
    pare::manual_seed(8);
    TwoLinears source =
        two_linears([](const Tensor& h) { return pare::relu(h); }, {0.5f, 1.5f, 2, 3});
    TwoLinears target =
        two_linears([](const Tensor& h) { return pare::relu(h); }, {0.5f, 1.5f, 2, 3});
    FixedMaskPruner source_pruner({{"prune_bias", false}});
    source_pruner.prepare(source.net, {{{"tensor_fqn", "fc1.weight"}, {"mask", {1, 0, 1, 0}}}});
    const Tensor x = pare::tensor(kX, {2, 3});
    const Tensor masked = source.net->forward(x);

    FixedMaskPruner target_pruner;  // prune_bias true, every row kept
    target_pruner.prepare(target.net, {{{"tensor_fqn", "fc1.weight"}}});
    target_pruner.load_state_dict(source_pruner.state_dict());
    CHECK(max_abs_diff(target.net->forward(x), masked) <= 1e-6);
    pare::ir::GraphModule pruned = target_pruner.prune({x});
    CHECK(target.fc1->options().out_features() == 2);
    // relu(b1[1]) = 1.5 and relu(b1[3]) = 3 fold: W2[:, 1] * 1.5 + W2[:, 3] * 3 = {-3, 7.5, 4.5}.
    CHECK(near(values(target.fc2->bias()), {0.1f - 3, 0.2f + 7.5f, 0.3f + 4.5f}));
    CHECK(max_abs_diff(pruned.forward({x}), masked) <= 1e-5);
  }
  SUBCASE("squash_mask on a conv; prepare again only after it") {
    pare::manual_seed(9);
    auto net = std::make_shared<Net>();
    nn::Conv2d conv = net->register_module("conv", nn::Conv2d(2, 3, 3));
    net->body = [conv](const Tensor& x) { return conv(x); };
    const std::vector<float> bias = values(conv->bias());
    FixedMaskPruner pruner;
    pruner.prepare(net, {{{"tensor_fqn", "conv.weight"}, {"mask", {1, 0, 1}}}});
    const Tensor x = pare::randn({1, 2, 5, 5});
    const Tensor masked = net->forward(x);
    FixedMaskPruner other;
    CHECK_THROWS_WITH_AS(other.prepare(net), doctest::Contains("conv.weight"), pare::Error);
    pruner.squash_mask();
    CHECK_FALSE(conv->is_parametrized());
    CHECK_FALSE(conv->has_hooks());
    CHECK_FALSE(conv->has_parameter("_bias"));
    REQUIRE(conv->bias().defined());
    CHECK(values(conv->bias()) == std::vector<float>{bias[0], 0, bias[2]});
    CHECK(max_abs_diff(net->forward(x), masked) <= 1e-6);
    pruner.prepare(net, {{{"tensor_fqn", "conv.weight"}}});  // allowed again after squash_mask
    CHECK(conv->has_hook_with_tag(pruning::BiasHook::kTag));
  }
}

// Fix 9. PyTorch's prune_conv2d_activation_pool_conv2d only looks at conv2's padding: with an
// unpadded conv2 it folds sigma(c_p) as if the padded average pool passed a constant through,
// so conv1 shrinks to 2 channels and the border pixels of the pruned model differ.
TEST_CASE("fix 9: an average pool with padding between convs keeps the producer's shape") {
  struct Case {
    std::string label;
    bool prune_bias;
    std::function<Tensor(const Tensor&)> act;
    std::function<Tensor(const Tensor&)> pool;
    bool removable;  // every constant the pool sees is 0
  };
  nn::AvgPool2d pool_module(nn::AvgPool2dOptions(3).stride(1).padding(1));
  const std::vector<Case> cases = {
      {"relu + AvgPool2d, prune_bias = false", false, [](const Tensor& h) { return pare::relu(h); },
       [pool_module](const Tensor& h) { return pool_module(h); }, false},
      {"sigmoid + avg_pool2d, prune_bias = true", true,
       [](const Tensor& h) { return pare::sigmoid(h); },
       [](const Tensor& h) { return pare::avg_pool2d(h, 3, 1, 1); }, false},
      // relu(0) = 0 with prune_bias: the pool passes 0 everywhere, so the channels go.
      {"relu + AvgPool2d, prune_bias = true", true, [](const Tensor& h) { return pare::relu(h); },
       [pool_module](const Tensor& h) { return pool_module(h); }, true},
  };
  for (const Case& c : cases) {
    CAPTURE(c.label);
    pare::manual_seed(10);
    auto net = std::make_shared<Net>();
    nn::Conv2d conv1 = net->register_module("conv1", nn::Conv2d(2, 4, 3));
    nn::Conv2d conv2 = net->register_module("conv2", nn::Conv2d(4, 3, 3));
    net->register_module("pool", pool_module);
    const auto act = c.act;
    const auto pool = c.pool;
    net->body = [=](const Tensor& x) { return conv2(pool(act(conv1(x)))); };
    // Without prune_bias, relu(0.7) and relu(0.4) (with it, sigmoid(0) = 0.5) reach a pool that
    // averages them with zero padding: 0.7 * 4/9 in a corner, 0.7 in the middle. No single bias
    // of conv2 absorbs that.
    const std::vector<float> b1 = {0.1f, 0.7f, -0.2f, 0.4f};
    assign(conv1->bias(), b1);
    const Tensor w1 = conv1->weight().clone();
    const Tensor w2 = conv2->weight().clone();
    const std::vector<float> b2 = values(conv2->bias());
    FixedMaskPruner pruner;
    pruner.prepare(
        net,
        {{{"tensor_fqn", "conv1.weight"}, {"mask", {1, 0, 1, 0}}, {"prune_bias", c.prune_bias}}});
    const Tensor x = pare::randn({1, 2, 8, 8});
    const Tensor masked = net->forward(x);
    pare::ir::GraphModule pruned = pruner.prune({x});
    CHECK_FALSE(conv1->is_parametrized());
    CHECK_FALSE(conv1->has_hooks());
    CHECK(max_abs_diff(pruned.forward({x}), masked) <= 1e-4);
    if (c.removable) {
      CHECK(conv1->options().out_channels() == 2);
      CHECK(values(conv1->weight()) == take_along(w1, 0, {0, 2}));
      CHECK(values(conv2->weight()) == take_along(w2, 1, {0, 2}));
      CHECK(values(conv2->bias()) == b2);
      continue;
    }
    CHECK(conv1->options().out_channels() == 4);
    std::vector<float> expected_w1 = values(w1);
    for (int64_t row : {1, 3})
      for (int64_t j = 0; j < 18; ++j) expected_w1[row * 18 + j] = 0.0f;
    CHECK(values(conv1->weight()) == expected_w1);
    // The pruned rows' bias holds their constant: b[p] without prune_bias, 0 with it.
    const std::vector<float> expected_b1 =
        c.prune_bias ? std::vector<float>{0.1f, 0, -0.2f, 0} : b1;
    CHECK(values(conv1->bias()) == expected_b1);
    CHECK(conv2->options().in_channels() == 4);
    CHECK(values(conv2->weight()) == values(w2));
    CHECK(values(conv2->bias()) == b2);
  }
}

// Fix 10. PyTorch's prune() skips what no pattern matches and then raises
// "Error: Linear(in_features=3, ...) still contains FakeStructuredSparsity parametrizations!":
// no qualified name, no chain, no pattern, no reason.
TEST_CASE("fix 10: refusals name the module, the chain, the patterns and the reason") {
  SUBCASE("no pattern matches") {
    auto net = std::make_shared<Net>();
    nn::Linear fc1 = net->register_module("fc1", nn::Linear(3, 4));
    nn::LayerNorm norm = net->register_module("norm", nn::LayerNorm(pare::Shape{4}));
    nn::Linear fc2 = net->register_module("fc2", nn::Linear(4, 2));
    net->body = [=](const Tensor& x) { return fc2(norm(fc1(x))); };
    FixedMaskPruner pruner;
    pruner.prepare(net, {{{"tensor_fqn", "fc1.weight"}, {"mask", {1, 0, 1, 1}}}});
    const Tensor x = pare::randn({2, 3});
    const std::string message = error_of([&] { pruner.prune({x}); });
    CHECK(message.find("'fc1' (Linear)") != std::string::npos);
    CHECK(message.find("fc1 -> norm -> fc2") != std::string::npos);  // the chain it found
    CHECK(message.find("(Linear, output)") != std::string::npos);
    CHECK(message.find("(Linear, Linear)") != std::string::npos);
    CHECK(message.find("(Linear, act, Linear)") != std::string::npos);
    CHECK(message.find("no pattern matches") != std::string::npos);  // why
    CHECK(fc1->is_parametrized());
  }
  SUBCASE("a prune function that cannot handle its match") {
    auto net = std::make_shared<Net>();
    nn::Conv2d conv1 = net->register_module("conv1", nn::Conv2d(2, 4, 3));
    nn::Conv2d conv2 =
        net->register_module("conv2", nn::Conv2d(nn::Conv2dOptions(4, 4, 3).groups(2)));
    net->body = [=](const Tensor& x) { return conv2(pare::relu(conv1(x))); };
    FixedMaskPruner pruner;
    pruner.prepare(net, {{{"tensor_fqn", "conv1.weight"}, {"mask", {1, 0, 1, 1}}}});
    const Tensor x = pare::randn({1, 2, 7, 7});
    const Tensor before = net->forward(x);
    const std::string message = error_of([&] { pruner.prune({x}); });
    CHECK(message.find("conv1 -> relu -> conv2") != std::string::npos);
    CHECK(message.find("'conv2' (Conv2d) has groups = 2") != std::string::npos);
    CHECK(message.find("prune_conv2d_activation_conv2d (Conv2d, act, Conv2d)") !=
          std::string::npos);
    CHECK(conv1->is_parametrized());
    CHECK(max_abs_diff(net->forward(x), before) == 0.0);
  }
}

// Fix 11. PyTorch's prune_linear_activation_linear with prune_bias = True only drops fc1's
// pruned bias entries and folds nothing, so fc2.bias stays b2 although the masked model feeds
// sigma(0) != 0 into fc2 through the pruned rows: pruned(x) != masked(x) there.
TEST_CASE("fix 11: with prune_bias, sigma(0) != 0 of the pruned channels is folded") {
  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>> activations = {
      {"sigmoid", [](const Tensor& h) { return pare::sigmoid(h); }},
      {"hardsigmoid", [](const Tensor& h) { return pare::hardsigmoid(h); }},
      {"softplus", [](const Tensor& h) { return pare::softplus(h); }},
      {"logsigmoid", [](const Tensor& h) { return pare::logsigmoid(h); }}};
  const float log2 = std::log(2.0f);
  const std::vector<float> sigma_of_zero = {0.5f, 0.5f, log2, -log2};
  for (size_t i = 0; i < activations.size(); ++i) {
    CAPTURE(activations[i].first);
    TwoLinears model = two_linears(activations[i].second);
    FixedMaskPruner pruner;  // prune_bias defaults to true
    pruner.prepare(model.net, {{{"tensor_fqn", "fc1.weight"}, {"mask", {1, 0, 1, 0}}}});
    const Tensor x = pare::tensor(kX, {2, 3});
    const Tensor masked = model.net->forward(x);
    pare::ir::GraphModule pruned = pruner.prune({x});
    // Rows 1 and 3 emit 0, so fc2 sees sigma(0): the fold is sigma(0) * (W2[:, 1] + W2[:, 3])
    // = sigma(0) * {-1, 3, 2}.
    const float s = sigma_of_zero[i];
    const std::vector<float> bias = values(model.fc2->bias());
    CHECK(near(bias, {0.1f - s, 0.2f + 3 * s, 0.3f + 2 * s}));
    CHECK_FALSE(near(bias, kB2, 0.1));  // the unfolded bias differs by W2[:, P] sigma(0)
    CHECK(max_abs_diff(pruned.forward({x}), masked) <= 1e-5);
    CHECK(max_abs_diff(model.net->forward(x), masked) <= 1e-5);
  }
}

// Fix 11 on pare's CNN head (Conv2d, act, adaptive pool, flatten, Linear): PyTorch has no such
// pattern, and its (Conv2d, adaptive pool, flatten, Linear) with prune_bias folds nothing. Here
// hardsigmoid(0) = 0.5 reaches every one of the s = 4 features of a pruned channel.
TEST_CASE("fix 11: sigma(0) folds through adaptive pool and flatten, repeated per feature") {
  pare::manual_seed(12);
  auto net = std::make_shared<Net>();
  nn::Conv2d conv = net->register_module("conv", nn::Conv2d(2, 4, 3));
  nn::AdaptiveAvgPool2d pool = net->register_module("pool", nn::AdaptiveAvgPool2d(2));
  nn::Linear fc = net->register_module("fc", nn::Linear(16, 3));
  net->body = [=](const Tensor& x) {
    return fc(pare::flatten(pool(pare::hardsigmoid(conv(x))), 1));
  };
  const std::vector<float> w = values(fc->weight());  // [3, 16]
  const std::vector<float> b = values(fc->bias());
  FixedMaskPruner pruner;
  pruner.prepare(net, {{{"tensor_fqn", "conv.weight"}, {"mask", {0, 1, 1, 0}}}});
  const Tensor x = pare::randn({2, 2, 6, 6});
  const Tensor masked = net->forward(x);
  pare::ir::GraphModule pruned = pruner.prune({x});
  // Channels 0 and 3 are features 0..3 and 12..15.
  std::vector<float> expected = b;
  for (int o = 0; o < 3; ++o)
    for (int f : {0, 1, 2, 3, 12, 13, 14, 15}) expected[o] += 0.5f * w[o * 16 + f];
  CHECK(near(values(fc->bias()), expected));
  CHECK(fc->options().in_features() == 8);
  CHECK(conv->options().out_channels() == 2);
  CHECK(max_abs_diff(pruned.forward({x}), masked) <= 1e-4);
}

// The masked model after prepare: state_dict keys, masked forward against hand-computed outputs
// (pruned channels emit 0 with prune_bias, bias[p] without), the bias hook on Linear [N, L, F]
// and on unbatched conv input, squash_mask, state_dict round trips, and the refusals (mask
// length, a second prepare, half-configured LSTM layers).
#include <doctest/doctest.h>

#include <algorithm>
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
using pare::testing::assign;
using pare::testing::contains;
using pare::testing::error_of;
using pare::testing::FixedMaskPruner;
using pare::testing::mask_values;

std::vector<std::string> state_keys(const nn::Module& module) {
  std::vector<std::string> keys;
  for (const auto& [name, tensor] : module.state_dict()) keys.push_back(name);
  std::sort(keys.begin(), keys.end());
  return keys;
}

const std::vector<float> kWeight = {1, 2, 3, -1, 0, 1, 2, 2, -2, 0.5f, -1, 1};  // [4, 3]
const std::vector<float> kBias = {0.5f, -1.5f, 2, 3};

std::shared_ptr<nn::Module> linear_model() {
  auto model = std::make_shared<nn::Module>("Net");
  auto fc = model->register_module("fc", nn::Linear(3, 4));
  assign(fc->weight(), kWeight);
  assign(fc->bias(), kBias);
  return model;
}

// y[n, r] = mask[r] (W[r] . x[n]) + (mask[r] or !prune_bias ? b[r] : 0), by hand.
std::vector<float> masked_linear(const std::vector<float>& x, const std::vector<bool>& mask,
                                 bool prune_bias) {
  std::vector<float> y;
  for (size_t n = 0; n < x.size() / 3; ++n)
    for (size_t r = 0; r < 4; ++r) {
      float value = 0;
      if (mask[r])
        for (size_t i = 0; i < 3; ++i) value += kWeight[r * 3 + i] * x[n * 3 + i];
      if (mask[r] || !prune_bias) value += kBias[r];
      y.push_back(value);
    }
  return y;
}

}  // namespace

TEST_CASE("prepare parametrizes the weight and moves the bias to _bias") {
  auto model = linear_model();
  FixedMaskPruner pruner;
  pruner.prepare(model, {{{"tensor_fqn", "fc.weight"}, {"mask", {true, false, true, true}}}});
  const std::vector<std::string> expected = {"fc._bias", "fc.parametrizations.weight.0.mask",
                                             "fc.parametrizations.weight.original"};
  CHECK(state_keys(*model) == expected);
  auto fc = std::dynamic_pointer_cast<nn::LinearImpl>(model->get_submodule("fc"));
  CHECK_FALSE(fc->bias().defined());
  CHECK_FALSE(fc->options().bias());
  CHECK(fc->has_hook_with_tag("BiasHook"));
  const Tensor mask = pruner.state.at("fc.weight").at("mask");
  CHECK(mask.is_same(pruning::structured_mask(*fc, "weight")));
  CHECK(mask_values(mask) == std::vector<bool>{true, false, true, true});
  // The weight read by forward is the masked one.
  const std::vector<float> weight = pare::to_float_vector(fc->weight());
  for (size_t i = 0; i < 3; ++i) CHECK(weight[3 + i] == 0.0f);
  CHECK(weight[0] == 1.0f);
}

TEST_CASE("the masked Linear emits 0 (prune_bias) or bias[p] on pruned rows") {
  const std::vector<float> x = {0.5f, -1, 2, 1, 1, -3};
  const std::vector<bool> mask = {true, false, true, false};
  for (bool prune_bias : {true, false}) {
    CAPTURE(prune_bias);
    auto model = linear_model();
    FixedMaskPruner pruner({{"prune_bias", prune_bias}});
    pruner.prepare(model, {{{"tensor_fqn", "fc.weight"}, {"mask", {1, 0, 1, 0}}}});
    auto fc = std::dynamic_pointer_cast<nn::LinearImpl>(model->get_submodule("fc"));
    const Tensor y = (*fc)(pare::tensor(x, {2, 3}));
    CHECK(y.sizes() == pare::Shape{2, 4});
    CHECK(pare::testing::max_abs_diff(pare::to_float_vector(y),
                                      masked_linear(x, mask, prune_bias)) <= 1e-6);
    // The side bias itself is untouched: zeroing is applied on the fly.
    CHECK(pare::to_float_vector(fc->get_parameter("_bias")) == kBias);
  }
}

TEST_CASE("the bias hook adds along the last axis of a Linear on [N, L, F]") {
  auto model = linear_model();
  FixedMaskPruner pruner({{"prune_bias", false}});
  pruner.prepare(model, {{{"tensor_fqn", "fc.weight"}, {"mask", {0, 1, 1, 1}}}});
  auto fc = std::dynamic_pointer_cast<nn::LinearImpl>(model->get_submodule("fc"));
  const std::vector<float> x = pare::testing::random_floats(2 * 3 * 3, 7);
  const Tensor y = (*fc)(pare::tensor(x, {2, 3, 3}));
  CHECK(y.sizes() == pare::Shape{2, 3, 4});
  CHECK(pare::testing::max_abs_diff(pare::to_float_vector(y),
                                    masked_linear(x, {false, true, true, true}, false)) <= 1e-5);
  const Tensor unbatched = (*fc)(pare::tensor({1, 2, 3}, {3}));
  CHECK(pare::testing::max_abs_diff(pare::to_float_vector(unbatched),
                                    masked_linear({1, 2, 3}, {false, true, true, true}, false)) <=
        1e-5);
}

TEST_CASE("the bias hook adds along the channel axis of batched and unbatched conv output") {
  // 1x1 conv, 2 -> 3 channels: y[c, h, w] = sum_i W[c, i] x[i, h, w] + b[c].
  const std::vector<float> weight = {1, -1, 2, 0.5f, -3, 1};
  const std::vector<float> bias = {0.25f, -2, 4};
  const std::vector<bool> mask = {true, false, true};
  for (bool prune_bias : {true, false}) {
    CAPTURE(prune_bias);
    auto model = std::make_shared<nn::Module>("Net");
    auto conv = model->register_module("conv", nn::Conv2d(2, 3, 1));
    assign(conv->weight(), weight);
    assign(conv->bias(), bias);
    FixedMaskPruner pruner({{"prune_bias", prune_bias}});
    pruner.prepare(model, {{{"tensor_fqn", "conv.weight"}, {"mask", {1, 0, 1}}}});
    const std::vector<float> x = pare::testing::random_floats(2 * 2 * 2, 3);  // [2, 2, 2]
    std::vector<float> expected;
    for (size_t c = 0; c < 3; ++c)
      for (size_t p = 0; p < 4; ++p) {
        float value = 0;
        if (mask[c]) value = weight[c * 2] * x[p] + weight[c * 2 + 1] * x[4 + p];
        if (mask[c] || !prune_bias) value += bias[c];
        expected.push_back(value);
      }
    const Tensor unbatched = (*conv)(pare::tensor(x, {2, 2, 2}));
    CHECK(unbatched.sizes() == pare::Shape{3, 2, 2});
    CHECK(pare::testing::max_abs_diff(pare::to_float_vector(unbatched), expected) <= 1e-5);
    const Tensor batched = (*conv)(pare::tensor(x, {1, 2, 2, 2}));
    CHECK(batched.sizes() == pare::Shape{1, 3, 2, 2});
    CHECK(pare::testing::max_abs_diff(pare::to_float_vector(batched), expected) <= 1e-5);
  }
}

TEST_CASE("a module without bias gets no _bias and still runs") {
  auto model = std::make_shared<nn::Module>("Net");
  auto fc = model->register_module("fc", nn::Linear(nn::LinearOptions(3, 4).bias(false)));
  assign(fc->weight(), kWeight);
  FixedMaskPruner pruner;
  pruner.prepare(model, {{{"tensor_fqn", "fc.weight"}, {"mask", {1, 1, 0, 1}}}});
  CHECK_FALSE(fc->has_parameter("_bias"));
  const std::vector<float> y = pare::to_float_vector((*fc)(pare::tensor({1, 0, 0}, {1, 3})));
  CHECK(y == std::vector<float>{1, -1, 0, 0.5f});
}

TEST_CASE("a config mask of the wrong length or with bad entries names the module") {
  auto model = linear_model();
  FixedMaskPruner pruner;
  std::string message = error_of([&] {
    pruner.prepare(model, {{{"tensor_fqn", "fc.weight"}, {"mask", {1, 0}}}});
  });
  CHECK(contains(message, "module 'fc'"));
  CHECK(contains(message, "4 rows"));
  CHECK(contains(message, "2 entries"));
  CHECK_FALSE(model->get_submodule("fc")->is_parametrized());
  message = error_of([&] {
    pruner.prepare(model, {{{"tensor_fqn", "fc.weight"}, {"mask", {1, 0, 2, 1}}}});
  });
  CHECK(contains(message, "module 'fc'"));
  CHECK(contains(message, "0/1"));
}

TEST_CASE("squash_mask restores plain modules with masked weights and resolved biases") {
  const std::vector<float> x = {0.5f, -1, 2, 1, 1, -3};
  for (bool prune_bias : {true, false}) {
    CAPTURE(prune_bias);
    auto model = linear_model();
    FixedMaskPruner pruner({{"prune_bias", prune_bias}});
    pruner.prepare(model, {{{"tensor_fqn", "fc.weight"}, {"mask", {1, 0, 1, 0}}}});
    pruner.squash_mask();
    auto fc = std::dynamic_pointer_cast<nn::LinearImpl>(model->get_submodule("fc"));
    CHECK(state_keys(*model) == std::vector<std::string>{"fc.bias", "fc.weight"});
    CHECK_FALSE(fc->is_parametrized());
    CHECK_FALSE(fc->has_hooks());
    CHECK(fc->options().bias());
    std::vector<float> expected_bias = kBias;
    if (prune_bias) expected_bias[1] = expected_bias[3] = 0;
    CHECK(pare::to_float_vector(fc->bias()) == expected_bias);
    const std::vector<float> weight = pare::to_float_vector(fc->weight());
    CHECK(weight[3] == 0.0f);
    CHECK(weight[9] == 0.0f);
    CHECK(weight[6] == 2.0f);
    const Tensor y = (*fc)(pare::tensor(x, {2, 3}));
    CHECK(pare::testing::max_abs_diff(pare::to_float_vector(y),
                                      masked_linear(x, {true, false, true, false}, prune_bias)) <=
          1e-6);
  }
}

TEST_CASE("state_dict / load_state_dict round-trip masks, groups and user keys") {
  auto source_model = linear_model();
  source_model->register_module("head", nn::Linear(4, 2));
  auto target_model = linear_model();
  target_model->register_module("head", nn::Linear(4, 2));
  target_model->load_state_dict(source_model->state_dict());
  FixedMaskPruner source({{"prune_bias", false}});
  source.prepare(source_model,
                 {{{"tensor_fqn", "fc.weight"}, {"mask", {0, 1, 1, 0}}, {"my_key", 7}},
                  {{"tensor_fqn", "head.weight"}, {"mask", {1, 0}}}});
  source.state["fc.weight"]["extra"] = pare::tensor({1.5f});
  const pruning::SparsifierStateDict saved = source.state_dict();
  CHECK_FALSE(saved.groups[0].contains("module_fqn"));
  CHECK_FALSE(saved.groups[0].contains("tensor_name"));
  CHECK(saved.groups[0]["my_key"] == 7);

  // The target sparsifier prepared fc only (all rows kept): fc's mask is copied in place, head
  // gets its parametrization, side bias and hook from the loaded state.
  FixedMaskPruner target;
  target.prepare(target_model, {{{"tensor_fqn", "fc.weight"}}});
  const Tensor fc_mask = target.state.at("fc.weight").at("mask");
  target.load_state_dict(saved);

  REQUIRE(target.groups.size() == 2);
  CHECK(target.groups[0]["my_key"] == 7);
  CHECK(target.groups[0]["module_fqn"] == "fc");
  CHECK_FALSE(target.groups[0]["prune_bias"].get<bool>());
  CHECK(target.group_modules[1] == target_model->get_submodule("head"));
  CHECK(target.state.at("fc.weight").at("mask").is_same(fc_mask));
  CHECK(mask_values(fc_mask) == std::vector<bool>{false, true, true, false});
  CHECK(pare::to_float_vector(target.state.at("fc.weight").at("extra")) ==
        std::vector<float>{1.5f});
  auto head = target_model->get_submodule("head");
  const Tensor head_mask = target.state.at("head.weight").at("mask");
  CHECK(head_mask.is_same(pruning::structured_mask(*head, "weight")));
  CHECK(mask_values(head_mask) == std::vector<bool>{true, false});
  CHECK(head->has_hook_with_tag("BiasHook"));

  // Same masks and the same prune_bias: the two models compute the same function.
  const Tensor x = pare::tensor(pare::testing::random_floats(6, 5), {2, 3});
  auto run = [&](const std::shared_ptr<nn::Module>& model) {
    auto fc = std::dynamic_pointer_cast<nn::LinearImpl>(model->get_submodule("fc"));
    auto out = std::dynamic_pointer_cast<nn::LinearImpl>(model->get_submodule("head"));
    return pare::to_float_vector((*out)((*fc)(x)));
  };
  CHECK(pare::testing::max_abs_diff(run(source_model), run(target_model)) <= 1e-6);
  CHECK(state_keys(*source_model) == state_keys(*target_model));
}

TEST_CASE("a second prepare of the same model is an error") {
  auto model = linear_model();
  FixedMaskPruner pruner;
  pruner.prepare(model, {{{"tensor_fqn", "fc.weight"}}});
  CHECK(contains(error_of([&] { pruner.prepare(model); }), "already prepared"));
  FixedMaskPruner other;
  CHECK(contains(error_of([&] { other.prepare(model); }), "fc.weight"));
}

TEST_CASE("LSTM: both weights of a layer must be configured, and biases stay") {
  auto model = std::make_shared<nn::Module>("Net");
  auto lstm = model->register_module("lstm", nn::LSTM(nn::LSTMOptions(3, 2).num_layers(2)));
  FixedMaskPruner pruner;
  const std::string message = error_of([&] {
    pruner.prepare(model, {{{"tensor_fqn", "lstm.weight_ih_l0"}},
                           {{"tensor_fqn", "lstm.weight_hh_l0"}},
                           {{"tensor_fqn", "lstm.weight_ih_l1"}}});
  });
  CHECK(contains(message, "'lstm'"));
  CHECK(contains(message, "weight_ih_l1 without weight_hh_l1"));
  CHECK_FALSE(lstm->is_parametrized());
  CHECK(contains(error_of([&] {
                   pruner.prepare(model, {{{"tensor_fqn", "lstm.weight_hh_l0"}}});
                 }),
                 "weight_hh_l0 without weight_ih_l0"));

  pruner.prepare(model);  // every layer's pair
  REQUIRE(pruner.groups.size() == 4);
  CHECK(mask_values(pruner.state.at("lstm.weight_hh_l1").at("mask")).size() == 8);
  CHECK(lstm->has_parameter("bias_ih_l0"));
  CHECK_FALSE(lstm->has_parameter("_bias"));
  CHECK_FALSE(lstm->has_hooks());
  auto [output, state] = (*lstm)(pare::tensor(pare::testing::random_floats(2 * 3, 1), {2, 1, 3}));
  CHECK(output.sizes() == pare::Shape{2, 1, 2});
}

TEST_CASE("training through the masks: pruned rows get no gradient") {
  auto model = linear_model();
  FixedMaskPruner pruner;
  pruner.prepare(model, {{{"tensor_fqn", "fc.weight"}, {"mask", {1, 0, 1, 1}}}});
  auto fc = std::dynamic_pointer_cast<nn::LinearImpl>(model->get_submodule("fc"));
  const Tensor x = pare::tensor({1, 2, 3, -1, 0.5f, 2}, {2, 3});
  (*fc)(x).sum().backward();
  // d(sum y)/dW[r, i] = mask[r] * sum_n x[n, i]; d/db[r] = mask[r] * N (prune_bias).
  const std::vector<float> weight_grad =
      pare::to_float_vector(fc->parametrization("weight")->original().grad());
  const std::vector<float> column_sums = {0, 2.5f, 5};
  for (size_t r = 0; r < 4; ++r)
    for (size_t i = 0; i < 3; ++i)
      CHECK(weight_grad[r * 3 + i] == doctest::Approx(r == 1 ? 0.0f : column_sums[i]));
  CHECK(pare::to_float_vector(fc->get_parameter("_bias").grad()) == std::vector<float>{2, 0, 2, 2});
}

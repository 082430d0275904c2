// BaseSparsifier: config building in PyTorch's order, groups merged with defaults, config errors
// naming the entry, step / enable_mask_update, squash_mask's kept params, printing, a second
// prepare, and the LambdaSL / CubicSL sequences computed by hand.
#include <doctest/doctest.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "pare/pare.h"
#include "pare/passes/pruning/pruning.h"
#include "test_util.h"

namespace {

namespace nn = pare::nn;
namespace pruning = pare::pruning;
using nlohmann::json;
using pare::testing::contains;
using pare::testing::error_of;

struct Block : nn::Module {
  Block() {
    register_module("inner", nn::Linear(4, 4));
    register_module("lstm", nn::LSTM(nn::LSTMOptions(4, 3).num_layers(2)));
  }
};

// root: features (Sequential: Conv2d, ReLU, Sequential(Linear)), fc1, block, fc2.
std::shared_ptr<nn::Module> nested_model() {
  auto root = std::make_shared<nn::Module>("Root");
  root->register_module("features", nn::Sequential(nn::Conv2d(1, 2, 1), nn::ReLU(),
                                                   nn::Sequential(nn::Linear(3, 3))));
  root->register_module("fc1", nn::Linear(4, 5));
  root->register_module("block", std::make_shared<Block>());
  root->register_module("fc2", nn::Linear(5, 2));
  return root;
}

std::vector<std::string> fqns(const std::vector<json>& config) {
  std::vector<std::string> names;
  for (const json& entry : config) names.push_back(entry["tensor_fqn"].get<std::string>());
  return names;
}

// Records the groups update_mask sees.
class RecordingPruner : public pruning::BaseStructuredSparsifier {
 public:
  using BaseStructuredSparsifier::BaseStructuredSparsifier;
  std::string name() const override { return "RecordingPruner"; }
  void update_mask(const std::shared_ptr<nn::Module>& module, const std::string& tensor_name,
                   json& group) override {
    seen.push_back(group["tensor_fqn"].get<std::string>());
    CHECK(module->is_parametrized(tensor_name));
  }
  std::vector<std::string> seen;
};

}  // namespace

TEST_CASE("make_config_from_model follows PyTorch's LIFO walk over named_children") {
  RecordingPruner pruner;
  auto model = nested_model();
  // Pop root: fc1, fc2 listed; features, block pushed. Pop block: inner, then the LSTM's two
  // layers (its children are not walked). Pop features: "0"; push
  // ReLU and the inner Sequential; pop the inner Sequential: "2.0".
  const std::vector<std::string> expected = {"fc1.weight",
                                             "fc2.weight",
                                             "block.inner.weight",
                                             "block.lstm.weight_ih_l0",
                                             "block.lstm.weight_hh_l0",
                                             "block.lstm.weight_ih_l1",
                                             "block.lstm.weight_hh_l1",
                                             "features.0.weight",
                                             "features.2.0.weight"};
  CHECK(fqns(pruner.make_config_from_model(model)) == expected);

  pruner.prepare(model);
  REQUIRE(pruner.groups.size() == expected.size());
  pruner.step();
  CHECK(pruner.seen == expected);
}

TEST_CASE("groups are the defaults overridden by the entry, plus the derived names") {
  auto model = nested_model();
  pruning::SaliencyPruner pruner({{"sparsity_level", 0.5}, {"prune_bias", true}});
  pruner.prepare(model, {{{"tensor_fqn", "fc1.weight"}, {"sparsity_level", 0.25}},
                         {{"tensor_fqn", "block.inner.weight"}, {"note", "mine"}}});
  REQUIRE(pruner.groups.size() == 2);
  const json& first = pruner.groups[0];
  CHECK(first["sparsity_level"].get<double>() == 0.25);
  CHECK(first["prune_bias"].get<bool>());
  CHECK(first["module_fqn"] == "fc1");
  CHECK(first["tensor_name"] == "weight");
  CHECK(pruner.group_modules[0] == model->get_submodule("fc1"));
  const json& second = pruner.groups[1];
  CHECK(second["sparsity_level"].get<double>() == 0.5);
  CHECK(second["note"] == "mine");
  CHECK(second["module_fqn"] == "block.inner");
  CHECK(pruner.group_modules[1] == model->get_submodule("block.inner"));
  CHECK(pruner.defaults == json({{"sparsity_level", 0.5}, {"prune_bias", true}}));
}

TEST_CASE("a JSON array config prepares the same groups") {
  auto model = nested_model();
  pruning::SaliencyPruner pruner({{"sparsity_level", 0.5}});
  const json config =
      json::parse(R"([{"tensor_fqn": "fc2.weight"}, {"tensor_fqn": "fc1.weight"}])");
  pruner.prepare(model, config);
  REQUIRE(pruner.groups.size() == 2);
  CHECK(pruner.groups[0]["tensor_fqn"] == "fc2.weight");
  CHECK(pruner.groups[1]["tensor_fqn"] == "fc1.weight");
}

TEST_CASE("config errors name the entry and leave the model untouched") {
  auto model = nested_model();
  pruning::SaliencyPruner pruner({{"sparsity_level", 0.5}});
  std::string message = error_of([&] {
    pruner.prepare(model, {{{"tensor_fqn", "fc1.weight"}}, {{"tensor_fqn", "nope.weight"}}});
  });
  CHECK(contains(message, "nope.weight"));
  CHECK(contains(message, "no module 'nope'"));
  CHECK_FALSE(model->get_submodule("fc1")->is_parametrized("weight"));
  CHECK_FALSE(pruner.is_prepared());

  message = error_of([&] { pruner.prepare(model, {{{"tensor_fqn", "fc1.gamma"}}}); });
  CHECK(contains(message, "fc1.gamma"));
  CHECK(contains(message, "no tensor 'gamma'"));

  message = error_of([&] {
    pruner.prepare(model, {{{"tensor_fqn", "fc1.weight"}, {"module_fqn", "fc2"}}});
  });
  CHECK(contains(message, "contradicts"));
  CHECK(contains(message, "fc1.weight"));

  message = error_of([&] { pruner.prepare(model, {{{"sparsity_level", 0.5}}}); });
  CHECK(contains(message, "tensor_fqn"));

  message = error_of([&] {
    pruner.prepare(model, {{{"tensor_fqn", "fc2.bias"}}, {{"tensor_fqn", "fc2.bias"}}});
  });
  CHECK(contains(message, "configured twice"));
  CHECK_FALSE(model->get_submodule("fc2")->is_parametrized());
}

TEST_CASE("step respects enable_mask_update") {
  auto model = nested_model();
  RecordingPruner pruner;
  pruner.prepare(model, {{{"tensor_fqn", "fc1.weight"}}, {{"tensor_fqn", "fc2.weight"}}});
  pruner.enable_mask_update = false;
  pruner.step();
  CHECK(pruner.seen.empty());
  pruner.enable_mask_update = true;
  pruner.step();
  CHECK(pruner.seen == std::vector<std::string>{"fc1.weight", "fc2.weight"});
}

TEST_CASE("a second prepare of a prepared model is an error") {
  auto model = nested_model();
  pruning::SaliencyPruner pruner({{"sparsity_level", 0.5}});
  pruner.prepare(model, {{{"tensor_fqn", "fc1.weight"}}});
  std::string message = error_of([&] { pruner.prepare(model, {{{"tensor_fqn", "fc1.weight"}}}); });
  CHECK(contains(message, "already prepared"));
  pruning::SaliencyPruner other({{"sparsity_level", 0.5}});
  message = error_of([&] { other.prepare(model, {{{"tensor_fqn", "fc1.weight"}}}); });
  CHECK(contains(message, "fc1.weight"));
  CHECK(contains(message, "already carries a parametrization"));
  // After squash_mask the model is plain again and can be prepared anew.
  pruner.squash_mask();
  CHECK_NOTHROW(pruner.prepare(model, {{{"tensor_fqn", "fc1.weight"}}}));
}

TEST_CASE("squash_mask keeps the requested group keys per module") {
  auto model = nested_model();
  pruning::SaliencyPruner pruner({{"sparsity_level", 0.5}, {"tag", 3}});
  pruner.prepare(model,
                 {{{"tensor_fqn", "fc1.weight"}, {"extra", "a"}}, {{"tensor_fqn", "fc2.weight"}}});
  const auto kept = pruner.squash_mask({"sparsity_level"}, {{"fc1", {"extra", "tag"}}});
  REQUIRE(kept.size() == 2);
  CHECK(kept.at("fc1") == json({{"sparsity_level", 0.5}, {"extra", "a"}, {"tag", 3}}));
  CHECK(kept.at("fc2") == json({{"sparsity_level", 0.5}}));
  CHECK_FALSE(model->get_submodule("fc1")->is_parametrized());
  CHECK(pruner.squash_mask().empty());
}

TEST_CASE("printing lists every group like PyTorch's repr") {
  auto model = nested_model();
  pruning::SaliencyPruner pruner({{"sparsity_level", 0.5}});
  pruner.prepare(model, {{{"tensor_fqn", "fc2.weight"}}});
  std::ostringstream text;
  text << pruner;
  const std::string printed = text.str();
  CHECK(printed.rfind("SaliencyPruner (", 0) == 0);
  CHECK(contains(printed, "\tGroup 0\n"));
  CHECK(contains(printed, "\t    module: Linear(in_features=5, out_features=2, bias=False"));
  CHECK(contains(printed, "\t    module_fqn: fc2\n"));
  CHECK(contains(printed, "\t    sparsity_level: 0.5\n"));
  CHECK(contains(printed, "\t    tensor_fqn: fc2.weight\n"));
  CHECK(printed.back() == ')');
}

TEST_CASE("LambdaSL scales base_sl by the lambda of the epoch") {
  auto model = nested_model();
  pruning::SaliencyPruner pruner({{"sparsity_level", 0.5}});
  pruner.prepare(model, {{{"tensor_fqn", "fc1.weight"}},
                         {{"tensor_fqn", "fc2.weight"}, {"sparsity_level", 0.8}}});
  pruner.enable_mask_update = false;
  pruning::LambdaSL scheduler(pruner,
                              [](int64_t epoch) { return 1.0 / static_cast<double>(epoch + 1); });
  CHECK(scheduler.base_sl == std::vector<double>{0.5, 0.8});
  CHECK(scheduler.last_epoch == 0);
  CHECK(pruner.enable_mask_update);
  CHECK(pruner.groups[0]["sparsity_level"].get<double>() == doctest::Approx(0.5));
  scheduler.step();
  CHECK(scheduler.last_epoch == 1);
  CHECK(pruner.groups[0]["sparsity_level"].get<double>() == doctest::Approx(0.25));
  CHECK(pruner.groups[1]["sparsity_level"].get<double>() == doctest::Approx(0.4));
  scheduler.step();
  CHECK(scheduler.get_last_sl()[0] == doctest::Approx(0.5 / 3.0));
  CHECK(scheduler.get_last_sl()[1] == doctest::Approx(0.8 / 3.0));
}

TEST_CASE("CubicSL follows the cubic ramp, clamped, and zero before t0 when initially_zero") {
  auto model = nested_model();
  pruning::SaliencyPruner pruner({{"sparsity_level", 0.8}});
  pruner.prepare(model, {{{"tensor_fqn", "fc1.weight"}}});
  // s_t = 0.8 - 0.8 (1 - (t - 2) / 4)^3, clamped to [0, 0.8]: t = 0..7.
  pruning::CubicSL scheduler(pruner, 0.0, /*init_t=*/2, /*delta_t=*/1, /*total_t=*/4);
  const std::vector<double> expected = {0.0, 0.0, 0.0, 0.4625, 0.7, 0.7875, 0.8, 0.8};
  for (size_t t = 0; t < expected.size(); ++t) {
    CAPTURE(t);
    CHECK(scheduler.last_epoch == static_cast<int64_t>(t));
    CHECK(pruner.groups[0]["sparsity_level"].get<double>() == doctest::Approx(expected[t]));
    scheduler.step();
  }
  CHECK(pruning::CubicSL::sparsity_compute_fn(0.1, 0.8, 1, 2, 1, 4, true) == 0.0);
  CHECK(pruning::CubicSL::sparsity_compute_fn(0.1, 0.8, 1, 2, 1, 4, false) == doctest::Approx(0.1));
  CHECK(pruning::CubicSL::sparsity_compute_fn(0.1, 0.8, 2, 2, 1, 4, true) == doctest::Approx(0.1));
  // 0.8 - 0.7 * 0.75^3
  CHECK(pruning::CubicSL::sparsity_compute_fn(0.1, 0.8, 3, 2, 1, 4, true) ==
        doctest::Approx(0.5046875));
}

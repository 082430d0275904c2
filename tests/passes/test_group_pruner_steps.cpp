// Iterative GroupPruner: iterative_steps(n) and the schedule. Widths per step computed by hand
// (the ratio of step k is of the dense widths), global choices by hand from set BatchNorm scales,
// n steps against one prune at the same ratio where the scores cannot change between steps (the
// kept indices composed over the steps' reports), the report of each step, and the refusals.
#include <doctest/doctest.h>

#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "group_models.h"
#include "pare/pare.h"
#include "pare/passes/pruning/group_pruner.h"

namespace {

using pare::Shape;
using pare::pruning::GroupPruner;
using pare::pruning::GroupPrunerOptions;
using pare::pruning::Importance;
using pare::pruning::Normalizer;
using pare::testing::TracedModel;

// conv1 (3 -> 64, 1x1) -> bn -> relu -> conv2 (64 -> 4, 1x1), conv2's output the graph's output:
// one prunable group of 64 whose l2 scores read conv1's rows (3 fixed inputs), bn and conv2's
// columns (4 fixed outputs), so pruning some of its channels leaves the others' scores as they
// were.
TracedModel wide_chain() {
  return pare::testing::traced("wide_chain", {2, 3, 4, 4}, [](pare::testing::Net& net) {
    auto conv1 = pare::testing::conv(net, "conv1", 3, 64, 1);
    auto bn = pare::testing::batch_norm(net, "bn", 64);
    auto conv2 = pare::testing::conv(net, "conv2", 64, 4, 1);
    net.body = [=](const pare::Tensor& x) { return conv2(pare::relu(bn(conv1(x)))); };
  });
}

// Two independent groups of 8: x -> a -> bn_a -> relu -> head_a and the same through b, the heads
// added into the output. Neither group's members read the other's channels.
TracedModel two_branches() {
  return pare::testing::traced("two_branches", {2, 3, 4, 4}, [](pare::testing::Net& net) {
    auto a = pare::testing::conv(net, "a", 3, 8, 1);
    auto bn_a = pare::testing::batch_norm(net, "bn_a", 8);
    auto head_a = pare::testing::conv(net, "head_a", 8, 2, 1);
    auto b = pare::testing::conv(net, "b", 3, 8, 1);
    auto bn_b = pare::testing::batch_norm(net, "bn_b", 8);
    auto head_b = pare::testing::conv(net, "head_b", 8, 2, 1);
    net.body = [=](const pare::Tensor& x) {
      return head_a(pare::relu(bn_a(a(x)))) + head_b(pare::relu(bn_b(b(x))));
    };
  });
}

// two_branches with BatchNorm scales set, ranked together:
//   b3 .05, a1 .1, b0 .15, a5 .2, b7 .25, a3 .3, b5 .35, b2 .45, a7 .5, a2 .6, ...
TracedModel scaled_branches() {
  TracedModel model = two_branches();
  pare::NoGradGuard no_grad;
  auto set = [&](const std::string& name, std::vector<float> values) {
    pare::Tensor target = model.gm.attribute(name);
    target.copy_(pare::tensor(values, target.sizes()));
  };
  set("bn_a.weight", {0.8f, 0.1f, 0.6f, 0.3f, 0.9f, 0.2f, 0.7f, 0.5f});
  set("bn_b.weight", {0.15f, 0.95f, 0.45f, 0.05f, 0.85f, 0.35f, 0.65f, 0.25f});
  return model;
}

Importance raw_bn_scale() { return Importance::bn_scale().normalizer(Normalizer::none); }

int64_t rows(const TracedModel& model, const std::string& weight) {
  return model.gm.attribute(weight).size(0);
}

// The removed channels of the step's group rooted at `root`.
std::vector<int64_t> removed_of(const GroupPruner& pruner, const std::string& root) {
  for (const pare::pruning::GroupChoice& choice : pruner.choices())
    if (choice.group->roots.front() == root) return choice.removed;
  FAIL("no group rooted at ", root);
  return {};
}

// Prunes every step, and returns for each tensor the dense indices its kept entries along axis 0
// come from, composed from every step's report.
std::map<std::string, std::vector<int64_t>> prune_all_steps(GroupPruner& pruner,
                                                            const TracedModel& model,
                                                            int64_t steps) {
  std::map<std::string, std::vector<int64_t>> origin;
  for (const auto& [name, value] : model.gm.root_ptr()->state_dict()) {
    if (value.dim() == 0) continue;  // num_batches_tracked
    origin[name].resize(value.size(0));
    std::iota(origin[name].begin(), origin[name].end(), 0);
  }
  for (int64_t step = 1; step <= steps; ++step) {
    pruner.prune();
    const nlohmann::json report = pruner.report();
    CHECK(report["step"] == step);
    for (const auto& [name, change] : report["tensors"].items()) {
      if (!change["kept"].contains("0")) continue;
      std::vector<int64_t> composed;
      for (int64_t index : change["kept"]["0"].get<std::vector<int64_t>>())
        composed.push_back(origin.at(name).at(index));
      origin[name] = composed;
    }
  }
  return origin;
}

std::map<std::string, std::vector<int64_t>> prune_once(GroupPruner& pruner,
                                                       const TracedModel& model) {
  return prune_all_steps(pruner, model, 1);
}

using pare::testing::throws_with;

}  // namespace

TEST_CASE("local steps: each step's ratio is of the dense width, only the missing channels go") {
  SUBCASE("64 channels at 0.5 over 4 steps lose 8, 16, 24, 32") {
    TracedModel model = wide_chain();
    GroupPruner pruner(model.gm, GroupPrunerOptions().ratio(0.5).iterative_steps(4));
    for (int64_t kept : {56, 48, 40, 32}) {
      pruner.prune();
      CHECK(rows(model, "conv1.weight") == kept);
      CHECK(model.gm.attribute("conv2.weight").size(1) == kept);
      CHECK(model.gm.attribute("bn.running_mean").size(0) == kept);
    }
  }
  SUBCASE("round_to 16: int(64 * 7/8) = 56 -> 48, 48, 40 -> 32, 32") {
    TracedModel model = wide_chain();
    GroupPruner pruner(model.gm, GroupPrunerOptions().ratio(0.5).round_to(16).iterative_steps(4));
    for (int64_t kept : {48, 48, 32, 32}) {
      pruner.step();
      // The second and fourth steps find their target already met: nothing goes.
      CHECK(pruner.choices()[0].removed.size() ==
            static_cast<size_t>(rows(model, "conv1.weight") - kept));
      pruner.prune();
      CHECK(rows(model, "conv1.weight") == kept);
    }
  }
  SUBCASE("ResNet blocks at 0.5 over 2 steps: 8 -> 6 -> 4 and 12 -> 9 -> 6; round_to 4") {
    TracedModel model = pare::testing::resnet_blocks();
    GroupPruner pruner(model.gm, GroupPrunerOptions().ratio(0.5).iterative_steps(2));
    pruner.prune();
    CHECK(rows(model, "conv1.weight") == 6);
    CHECK(rows(model, "layer1_conv1.weight") == 6);
    CHECK(rows(model, "layer2_conv1.weight") == 9);
    CHECK(rows(model, "layer2_conv2.weight") == 9);
    pruner.prune();
    CHECK(rows(model, "conv1.weight") == 4);
    CHECK(rows(model, "layer1_conv1.weight") == 4);
    CHECK(rows(model, "layer2_conv1.weight") == 6);
    CHECK(rows(model, "layer2_conv2.weight") == 6);

    TracedModel rounded = pare::testing::resnet_blocks();
    const Shape output_shape = [&] {
      pare::NoGradGuard no_grad;
      return rounded.gm.interpret({rounded.input}).tensor().sizes();
    }();
    GroupPruner rounding(rounded.gm,
                         GroupPrunerOptions().ratio(0.5).round_to(4).iterative_steps(2));
    rounding.prune();  // 6 -> 4, 9 -> 8
    CHECK(rows(rounded, "conv1.weight") == 4);
    CHECK(rows(rounded, "layer2_conv1.weight") == 8);
    rounding.prune();  // 4 stays, 6 -> 4
    CHECK(rows(rounded, "conv1.weight") == 4);
    CHECK(rows(rounded, "layer2_conv1.weight") == 4);
    pare::NoGradGuard no_grad;
    CHECK(rounded.gm.interpret({rounded.input}).tensor().sizes() == output_shape);
  }
  SUBCASE("per-layer ratios are scheduled too: conv1 at 0.75 and the rest at 0.5 over 3 steps") {
    TracedModel model = pare::testing::conv_bn_relu();
    GroupPruner pruner(
        model.gm, GroupPrunerOptions().ratio(0.5).layer_ratio("conv1", 0.75).iterative_steps(3));
    // conv1: int(8 * 0.75) = 6, int(8 * 0.5) = 4, int(8 * 0.25) = 2;
    // conv2: int(6 * 5/6) = 5, int(6 * 2/3) = 4, int(6 * 0.5) = 3.
    for (auto [conv1, conv2] : {std::pair{6, 5}, std::pair{4, 4}, std::pair{2, 3}}) {
      pruner.prune();
      CHECK(rows(model, "conv1.weight") == conv1);
      CHECK(rows(model, "conv2.weight") == conv2);
      CHECK(model.gm.attribute("fc.weight").size(1) == conv2);
    }
  }
  SUBCASE("a grouped conv's blocks: 4 per block -> 3 -> 2, groups = 4 throughout") {
    TracedModel model = pare::testing::resnext_block();
    GroupPruner pruner(model.gm, GroupPrunerOptions().ratio(0.5).iterative_steps(2));
    pruner.prune();
    CHECK(model.gm.attribute("grouped.weight").sizes() == Shape{12, 3, 3, 3});
    pruner.prune();
    CHECK(model.gm.attribute("grouped.weight").sizes() == Shape{8, 2, 3, 3});
    const auto* grouped = pare::nn::as<pare::nn::Conv2dImpl>(model.gm.module("grouped").get());
    REQUIRE(grouped != nullptr);
    CHECK(grouped->options().groups() == 4);
  }
  SUBCASE("groups that share roots (concats cut a layer's output) keep their own dense widths") {
    // Groups {c, a: 2}, {d, a: 2}, {d, b: 4}, {next: 5}: per step int(n * 0.75), int(n * 0.5).
    TracedModel model = pare::testing::crossed_concats();
    GroupPruner pruner(model.gm, GroupPrunerOptions().ratio(0.5).iterative_steps(2));
    pruner.prune();
    CHECK(rows(model, "a.weight") == 2);  // 1 + 1
    CHECK(rows(model, "b.weight") == 3);
    CHECK(rows(model, "c.weight") == 1);
    CHECK(rows(model, "d.weight") == 4);  // 1 + 3
    CHECK(rows(model, "next.weight") == 3);
    pruner.prune();
    CHECK(rows(model, "a.weight") == 2);
    CHECK(rows(model, "b.weight") == 2);
    CHECK(rows(model, "c.weight") == 1);
    CHECK(rows(model, "d.weight") == 3);  // 1 + 2
    CHECK(rows(model, "next.weight") == 2);
  }
}

TEST_CASE("global steps: the lowest scores of all groups until that share of the dense total") {
  SUBCASE("ratio 0.5 over 2 steps: 4 of 16 channels, then 4 more") {
    TracedModel model = scaled_branches();
    GroupPruner pruner(
        model.gm,
        GroupPrunerOptions().importance(raw_bn_scale()).global(true).ratio(0.5).iterative_steps(2));
    pruner.step();
    REQUIRE(pruner.choices().size() == 2);
    // b3, a1, b0, a5.
    CHECK(removed_of(pruner, "a") == std::vector<int64_t>{1, 5});
    CHECK(removed_of(pruner, "b") == std::vector<int64_t>{0, 3});
    pruner.prune();
    pruner.step();
    // b7, a3, b5, b2: a's dense 3 is now its index 2 (of 0 2 3 4 6 7); b's 2, 5, 7 its 1, 3, 5
    // (of 1 2 4 5 6 7).
    REQUIRE(pruner.choices().size() == 2);
    CHECK(removed_of(pruner, "a") == std::vector<int64_t>{2});
    CHECK(removed_of(pruner, "b") == std::vector<int64_t>{1, 3, 5});
    pruner.prune();
    CHECK(rows(model, "a.weight") == 5);
    CHECK(rows(model, "b.weight") == 3);
  }
  SUBCASE("max_ratio caps the loss of the dense width, earlier steps' included") {
    TracedModel model = scaled_branches();
    GroupPruner pruner(model.gm, GroupPrunerOptions()
                                     .importance(raw_bn_scale())
                                     .global(true)
                                     .ratio(0.5)
                                     .max_ratio(0.5)
                                     .iterative_steps(2));
    const std::map<std::string, std::vector<int64_t>> kept = prune_all_steps(pruner, model, 2);
    // Step 2: b7, a3, b5 (b has lost 4 of 8: capped), b2 skipped, a7.
    CHECK(kept.at("bn_a.weight") == std::vector<int64_t>{0, 2, 4, 6});
    CHECK(kept.at("bn_b.weight") == std::vector<int64_t>{1, 2, 4, 6});
  }
  SUBCASE("target_macs 0.5 over 2 steps: at most 75% of the dense MACs, then 50%") {
    TracedModel model = pare::testing::resnet_blocks();
    GroupPruner pruner(model.gm, GroupPrunerOptions().target_macs(0.5).iterative_steps(2));
    pruner.prune();
    const nlohmann::json first = pruner.report();
    const double dense = first["macs"]["before"].get<double>();
    CHECK(first["macs"]["after"].get<double>() <= 0.75 * dense);
    // One channel less would have left the step's budget unmet: the smallest step is under 10%.
    CHECK(first["macs"]["after"].get<double>() > 0.65 * dense);
    pruner.prune();
    const nlohmann::json second = pruner.report();
    CHECK(second["macs"]["before"].get<double>() == dense);
    CHECK(second["macs"]["after"].get<double>() <= 0.5 * dense);
    CHECK(second["macs"]["after"].get<double>() > 0.4 * dense);
  }
}

TEST_CASE("n steps keep the same channels as one prune where the scores do not change") {
  SUBCASE("local l2 on one group of 64, with round_to") {
    TracedModel once = wide_chain(), stepped = wide_chain();
    GroupPruner one_shot(once.gm, GroupPrunerOptions().ratio(0.6).round_to(4));
    GroupPruner iterative(stepped.gm,
                          GroupPrunerOptions().ratio(0.6).round_to(4).iterative_steps(3));
    const auto expected = prune_once(one_shot, once);
    const auto actual = prune_all_steps(iterative, stepped, 3);
    CHECK(actual.at("conv1.weight").size() == 24);  // int(64 * 0.4) = 25 -> 24
    CHECK(actual.at("conv1.weight") == expected.at("conv1.weight"));
    CHECK(actual.at("bn.weight") == expected.at("bn.weight"));
    pare::NoGradGuard no_grad;
    CHECK(pare::to_float_vector(stepped.gm.interpret({stepped.input}).tensor()) ==
          pare::to_float_vector(once.gm.interpret({once.input}).tensor()));
  }
  SUBCASE("global raw l2 and raw bn_scale on two independent groups") {
    for (const Importance& importance :
         {Importance::l2().normalizer(Normalizer::none), raw_bn_scale()}) {
      CAPTURE(importance.name());
      TracedModel once = scaled_branches(), stepped = scaled_branches();
      GroupPruner one_shot(once.gm,
                           GroupPrunerOptions().importance(importance).global(true).ratio(0.7));
      GroupPruner iterative(
          stepped.gm,
          GroupPrunerOptions().importance(importance).global(true).ratio(0.7).iterative_steps(4));
      const auto expected = prune_once(one_shot, once);
      const auto actual = prune_all_steps(iterative, stepped, 4);
      CHECK(actual.at("a.weight").size() + actual.at("b.weight").size() == 4);  // int(16 * 0.3)
      CHECK(actual.at("a.weight") == expected.at("a.weight"));
      CHECK(actual.at("b.weight") == expected.at("b.weight"));
    }
  }
}

TEST_CASE("the schedule, the report of each step and the refusals") {
  SUBCASE("a custom schedule: called with (target, k, n), its ratio of the dense width") {
    TracedModel model = wide_chain();
    std::vector<std::vector<double>> calls;
    GroupPruner pruner(model.gm, GroupPrunerOptions().ratio(0.5).iterative_steps(2).schedule(
                                     [&](double target, int64_t step, int64_t steps) {
                                       calls.push_back({target, double(step), double(steps)});
                                       return step == 1 ? 0.375 : target;  // 64 -> 40 -> 32
                                     }));
    pruner.prune();
    CHECK(rows(model, "conv1.weight") == 40);
    pruner.prune();
    CHECK(rows(model, "conv1.weight") == 32);
    CHECK(calls == std::vector<std::vector<double>>{{0.5, 1, 2}, {0.5, 2, 2}});
    CHECK(pare::pruning::linear_schedule(0.3, 3, 3) == 0.3);
    CHECK(pare::pruning::linear_schedule(0.5, 1, 4) == 0.125);
  }
  SUBCASE("the report: params and macs before are the dense model's, the rest this step's") {
    TracedModel model = wide_chain();
    GroupPruner pruner(model.gm, GroupPrunerOptions().ratio(0.5).iterative_steps(4));
    pruner.prune();
    const nlohmann::json first = pruner.report();
    pruner.step();
    const nlohmann::json chosen = pruner.report();
    CHECK(chosen["step"] == 2);
    CHECK(chosen["steps"] == 4);
    CHECK(chosen["tensors"].empty());
    CHECK(chosen["params"]["after"] == first["params"]["after"]);
    pruner.prune();
    const nlohmann::json second = pruner.report();
    CHECK(second["params"]["before"] == first["params"]["before"]);
    CHECK(second["macs"]["before"] == first["macs"]["before"]);
    // Dense: conv1 64 * 3 + 64, bn 2 * 64, conv2 4 * 64 + 4; after step 2 the 64 are 48.
    CHECK(first["params"]["before"] == 64 * 3 + 64 + 128 + 4 * 64 + 4);
    CHECK(second["params"]["after"] == 48 * 3 + 48 + 96 + 4 * 48 + 4);
    REQUIRE(second["groups"].size() == 1);
    CHECK(second["groups"][0]["size_before"] == 56);
    CHECK(second["groups"][0]["size_after"] == 48);
    CHECK(second["groups"][0]["removed"].size() == 8);
    CHECK(second["tensors"]["conv1.weight"]["before"].get<Shape>() == Shape{56, 3, 1, 1});
    CHECK(second["tensors"]["conv1.weight"]["after"].get<Shape>() == Shape{48, 3, 1, 1});
    CHECK(second["tensors"]["conv1.weight"]["kept"]["0"].size() == 48);
  }
  SUBCASE("past the last step, step() and prune() throw; the graph stays as pruned") {
    TracedModel model = wide_chain();
    GroupPruner pruner(model.gm, GroupPrunerOptions().ratio(0.5).iterative_steps(2));
    pruner.prune();
    pruner.prune();
    CHECK(pruner.current_step() == 2);
    CHECK(throws_with(
        [&] { pruner.step(); },
        {"GroupPruner::step", "all 2 iterative steps are done", "build a new GroupPruner"}));
    CHECK(throws_with([&] { pruner.prune(); }, {"all 2 iterative steps are done"}));
    CHECK(rows(model, "conv1.weight") == 32);
    TracedModel single = wide_chain();
    GroupPruner once(single.gm, GroupPrunerOptions().ratio(0.5));
    once.prune();
    CHECK(throws_with([&] { once.step(); }, {"all 1 iterative steps are done"}));
  }
  SUBCASE("a refused step takes no step: taylor runs once its gradients are there") {
    TracedModel model = wide_chain();
    GroupPruner pruner(
        model.gm,
        GroupPrunerOptions().importance(Importance::taylor()).ratio(0.5).iterative_steps(2));
    CHECK(throws_with([&] { pruner.step(); }, {"taylor", "accumulate_gradients"}));
    CHECK(pruner.current_step() == 0);
    pare::pruning::accumulate_gradients(model.gm, {model.input}, [](const pare::Tensor& output) {
      return pare::sum(output * output);
    });
    pruner.prune();
    CHECK(pruner.current_step() == 1);
    CHECK(rows(model, "conv1.weight") == 48);
  }
  SUBCASE("options and schedules out of range") {
    TracedModel model = wide_chain();
    CHECK(throws_with([&] { GroupPruner(model.gm, GroupPrunerOptions().iterative_steps(0)); },
                      {"iterative_steps 0", "at least 1"}));
    GroupPruner overshoot(model.gm, GroupPrunerOptions().ratio(0.5).iterative_steps(2).schedule(
                                        [](double, int64_t, int64_t) { return 1.5; }));
    CHECK(throws_with([&] { overshoot.step(); },
                      {"the schedule gives 1.5 at step 1 of 2", "ratio 0.5", "[0, 1)"}));
    CHECK(throws_with(
        [&] {
          GroupPruner pruner(model.gm,
                             GroupPrunerOptions().ratio(0.9).round_to(16).iterative_steps(3));
          pruner.step();
          pruner.step();
          pruner.step();
        },
        // Step 3: int(64 * 0.1) = 6, fewer than 16.
        {"'conv1'", "64 channels", "ratio 0.9 at step 3 of 3", "round_to 16"}));
    CHECK(rows(model, "conv1.weight") == 64);
  }
}

// GroupPruner's choices and refusals, and every importance criterion against values computed by
// hand on a tiny conv -> bn -> relu -> conv chain with set weights.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "group_models.h"
#include "pare/pare.h"
#include "pare/passes/pruning/group_pruner.h"

namespace {

using pare::pruning::GroupPruner;
using pare::pruning::GroupPrunerOptions;
using pare::pruning::GroupReduction;
using pare::pruning::Importance;
using pare::pruning::Normalizer;
using pare::testing::TracedModel;

// conv1 (2 -> 3, 1x1) -> bn -> relu -> conv2 (3 -> 2, 1x1), conv2's output the graph's output:
// the one prunable group is conv1's three channels. By channel:
//   conv1.weight rows     [1, 2]     [0.5, -0.5]   [3, 0]
//   bn.weight             0.5        2             1
//   conv2.weight columns  [1, 0]     [1, 3]        [-2, 1]
TracedModel tiny_chain() {
  TracedModel model =
      pare::testing::traced("tiny_chain", {1, 2, 3, 3}, [](pare::testing::Net& net) {
        auto conv1 = pare::testing::conv(net, "conv1", 2, 3, 1);
        auto bn = pare::testing::batch_norm(net, "bn", 3);
        auto conv2 = pare::testing::conv(net, "conv2", 3, 2, 1);
        net.body = [=](const pare::Tensor& x) { return conv2(pare::relu(bn(conv1(x)))); };
      });
  pare::NoGradGuard no_grad;
  auto set = [&](const std::string& name, std::vector<float> values) {
    pare::Tensor target = model.gm.attribute(name);
    target.copy_(pare::tensor(values, target.sizes()));
  };
  set("conv1.weight", {1, 2, 0.5f, -0.5f, 3, 0});
  set("bn.weight", {0.5f, 2, 1});
  set("conv2.weight", {1, 1, -2, 0, 3, 1});
  return model;
}

const pare::pruning::Group& only_prunable(const pare::pruning::DependencyGraph& graph) {
  const pare::pruning::Group* found = nullptr;
  for (const pare::pruning::Group& group : graph.groups())
    if (group.prunable) {
      REQUIRE(found == nullptr);
      found = &group;
    }
  REQUIRE(found != nullptr);
  return *found;
}

void check_scores(const std::vector<double>& actual, const std::vector<double>& expected) {
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    CAPTURE(i);
    CHECK(actual[i] == doctest::Approx(expected[i]).epsilon(1e-6));
  }
}

// The channels the pruner removes from the tiny chain's group at `ratio` with `importance`.
std::vector<int64_t> removed_by(const Importance& importance, double ratio) {
  TracedModel model = tiny_chain();
  GroupPruner pruner(model.gm, GroupPrunerOptions().importance(importance).ratio(ratio));
  pruner.step();
  REQUIRE(pruner.choices().size() == 1);
  return pruner.choices()[0].removed;
}

using pare::testing::throws_with;

}  // namespace

TEST_CASE("l1 and l2: the members' slice sums, their mean, over the group's mean") {
  TracedModel model = tiny_chain();
  const pare::pruning::DependencyGraph graph(model.gm);
  const pare::pruning::Group& group = only_prunable(graph);
  // l1: conv1 rows 3, 1, 3; bn 0.5, 2, 1; conv2 columns 1, 4, 3 (biases do not count).
  check_scores(Importance::l1().reduced(model.gm, group), {4.5 / 3, 7.0 / 3, 7.0 / 3});
  const double l1_mean = (4.5 + 7 + 7) / 9;
  check_scores(Importance::l1()(model.gm, group),
               {1.5 / l1_mean, 7.0 / 3 / l1_mean, 7.0 / 3 / l1_mean});
  // l2: conv1 rows 5, 0.5, 9; bn 0.25, 4, 1; conv2 columns 1, 10, 5.
  check_scores(Importance::l2().reduced(model.gm, group), {6.25 / 3, 14.5 / 3, 15.0 / 3});
  const double l2_mean = (6.25 + 14.5 + 15) / 9;
  check_scores(Importance::l2()(model.gm, group),
               {6.25 / 3 / l2_mean, 14.5 / 3 / l2_mean, 15.0 / 3 / l2_mean});
  // Ratio 0.5 of 3 channels: int(1.5) = 1 stays. l1 ties channels 1 and 2: the lower goes.
  CHECK(removed_by(Importance::l1(), 0.5) == std::vector<int64_t>{0, 1});
  CHECK(removed_by(Importance::l2(), 0.3) == std::vector<int64_t>{0});
}

TEST_CASE("group reductions and normalisers") {
  TracedModel model = tiny_chain();
  const pare::pruning::DependencyGraph graph(model.gm);
  const pare::pruning::Group& group = only_prunable(graph);
  auto l1 = [](GroupReduction reduction) {
    return Importance::l1().reduction(reduction).normalizer(Normalizer::none);
  };
  check_scores(l1(GroupReduction::sum)(model.gm, group), {4.5, 7, 7});
  check_scores(l1(GroupReduction::max)(model.gm, group), {3, 4, 3});
  check_scores(l1(GroupReduction::prod)(model.gm, group), {1.5, 8, 9});
  // first: conv1's rows alone.
  check_scores(l1(GroupReduction::first)(model.gm, group), {3, 1, 3});
  CHECK(removed_by(Importance::l1().reduction(GroupReduction::first), 0.3) ==
        std::vector<int64_t>{1});

  const std::vector<double> mean{1.5, 7.0 / 3, 7.0 / 3};
  check_scores(Importance::l1().normalizer(Normalizer::max)(model.gm, group),
               {1.5 / (7.0 / 3), 1, 1});
  const double sum = 1.5 + 14.0 / 3;
  check_scores(Importance::l1().normalizer(Normalizer::sum)(model.gm, group),
               {1.5 / sum, 7.0 / 3 / sum, 7.0 / 3 / sum});
  check_scores(
      Importance::l1().normalizer(Normalizer::standardization)(model.gm, group),
      {0, (7.0 / 3 - 1.5) / (7.0 / 3 - 1.5 + 1e-8), (7.0 / 3 - 1.5) / (7.0 / 3 - 1.5 + 1e-8)});
  check_scores(Importance::l1().normalizer(Normalizer::none)(model.gm, group), mean);
}

TEST_CASE("bn_scale, fpgm, lamp and random") {
  TracedModel model = tiny_chain();
  const pare::pruning::DependencyGraph graph(model.gm);
  const pare::pruning::Group& group = only_prunable(graph);
  // bn_scale: |gamma| alone, over its mean 3.5 / 3.
  check_scores(Importance::bn_scale()(model.gm, group),
               {0.5 / (3.5 / 3), 2 / (3.5 / 3), 1 / (3.5 / 3)});
  CHECK(removed_by(Importance::bn_scale(), 0.3) == std::vector<int64_t>{0});

  // fpgm: conv1's filters [1, 2], [0.5, -0.5], [3, 0]; |f0 - f1| = |f1 - f2| = sqrt(6.5),
  // |f0 - f2| = sqrt(8). Filter 1 is nearest the others: it goes.
  const double d01 = std::sqrt(6.5), d02 = std::sqrt(8.0), d12 = std::sqrt(6.5);
  const std::vector<double> distances{d01 + d02, d01 + d12, d02 + d12};
  const double fpgm_mean = (distances[0] + distances[1] + distances[2]) / 3;
  check_scores(Importance::fpgm()(model.gm, group),
               {distances[0] / fpgm_mean, distances[1] / fpgm_mean, distances[2] / fpgm_mean});
  CHECK(removed_by(Importance::fpgm(), 0.3) == std::vector<int64_t>{1});

  // lamp on the l2 means 6.25 / 3, 14.5 / 3, 5 (ascending): each over the sum of itself and
  // everything above it.
  const double total = (6.25 + 14.5 + 15) / 3;
  check_scores(Importance::lamp()(model.gm, group),
               {6.25 / 3 / total, 14.5 / 3 / (total - 6.25 / 3), 1.0});

  // random: seeded, in [0, 1), the lowest go.
  const std::vector<double> first = Importance::random(4)(model.gm, group);
  CHECK(first == Importance::random(4)(model.gm, group));
  CHECK(first != Importance::random(5)(model.gm, group));
  for (double score : first) CHECK((score >= 0.0 && score < 1.0));
  const int64_t lowest = std::min_element(first.begin(), first.end()) - first.begin();
  CHECK(removed_by(Importance::random(4), 0.3) == std::vector<int64_t>{lowest});
  CHECK(Importance::named("lamp").name() == "lamp");
  CHECK(throws_with([] { Importance::named("hessian"); }, {"hessian", "l1, l2"}));
}

TEST_CASE("l2 in an inverted residual: the depthwise conv does not score, as in Torch-Pruning") {
  TracedModel model = pare::testing::inverted_residual();
  const pare::pruning::DependencyGraph graph(model.gm);
  const std::vector<const pare::pruning::Group*> found = graph.groups_of("expand.weight", 0);
  REQUIRE(found.size() == 1);
  const pare::pruning::Group& group = *found[0];
  REQUIRE(group.member("depthwise.weight", 0) != nullptr);
  // By hand: expand's rows [24, 8, 1, 1], the two BatchNorms' gammas, project's columns
  // [8, 24, 1, 1]; squared and summed per channel, averaged over these four members.
  const std::vector<float> expand = pare::to_float_vector(model.gm.attribute("expand.weight"));
  const std::vector<float> gamma1 = pare::to_float_vector(model.gm.attribute("expand_bn.weight"));
  const std::vector<float> gamma2 =
      pare::to_float_vector(model.gm.attribute("depthwise_bn.weight"));
  const std::vector<float> project = pare::to_float_vector(model.gm.attribute("project.weight"));
  std::vector<double> expected(24, 0.0);
  for (int64_t c = 0; c < 24; ++c) {
    double rows = 0.0, columns = 0.0;
    for (int64_t i = 0; i < 8; ++i) rows += double(expand[c * 8 + i]) * expand[c * 8 + i];
    for (int64_t o = 0; o < 8; ++o) columns += double(project[o * 24 + c]) * project[o * 24 + c];
    expected[c] =
        (rows + double(gamma1[c]) * gamma1[c] + double(gamma2[c]) * gamma2[c] + columns) / 4;
  }
  check_scores(Importance::l2().reduced(model.gm, group), expected);
}

TEST_CASE("taylor: |sum of w * dL/dw| over each member's slice, from the held gradients") {
  TracedModel model = tiny_chain();
  const pare::pruning::DependencyGraph graph(model.gm);
  const pare::pruning::Group& group = only_prunable(graph);
  CHECK(throws_with([&] { Importance::taylor()(model.gm, group); },
                    {"taylor", "'conv1.weight' has no gradient", "accumulate_gradients"}));
  auto set_gradient = [&](const std::string& name, std::vector<float> values) {
    const pare::Tensor parameter = model.gm.attribute(name);
    parameter.mutable_grad() = pare::tensor(values, parameter.sizes());
  };
  // w * g summed per slice: conv1 rows 1 + 2, 1 + 0, -3 + 0; bn 1, -2, 0.5; conv2 columns
  // 1 + 0, 0 + 3, -2 + 1. Their absolute values, averaged: 5/3, 2, 1.5.
  set_gradient("conv1.weight", {1, 1, 2, 0, -1, 1});
  set_gradient("bn.weight", {2, -1, 0.5f});
  set_gradient("conv2.weight", {1, 0, 1, 1, 1, 1});
  set_gradient("conv1.bias", {100, 100, 100});  // biases do not count
  check_scores(Importance::taylor().normalizer(Normalizer::none)(model.gm, group),
               {5.0 / 3, 2, 1.5});
  GroupPruner pruner(model.gm, GroupPrunerOptions().importance(Importance::taylor()).ratio(0.3));
  pruner.step();
  CHECK(pruner.choices()[0].removed == std::vector<int64_t>{2});
}

TEST_CASE("accumulate_gradients sums the gradients of every calibration batch") {
  TracedModel model = pare::testing::conv_bn_relu();
  const pare::Tensor a = pare::testing::random_tensor({2, 3, 6, 6}, 21);
  const pare::Tensor b = pare::testing::random_tensor({2, 3, 6, 6}, 22);
  auto loss = [](const pare::Tensor& output) { return pare::sum(output * output); };
  auto gradient_after = [&](const std::vector<pare::Tensor>& batches) {
    pare::pruning::accumulate_gradients(model.gm, batches, loss);
    return pare::to_float_vector(model.gm.attribute("conv1.weight").grad());
  };
  const std::vector<float> from_a = gradient_after({a});
  const std::vector<float> from_b = gradient_after({b});
  const std::vector<float> both = gradient_after({a, b});
  REQUIRE(both.size() == from_a.size());
  for (size_t i = 0; i < both.size(); ++i)
    CHECK(both[i] == doctest::Approx(from_a[i] + from_b[i]).epsilon(1e-4));
  GroupPruner pruner(model.gm, GroupPrunerOptions().importance(Importance::taylor()).ratio(0.5));
  pruner.prune();
  CHECK(model.gm.attribute("conv1.weight").size(0) == 4);
  pare::NoGradGuard no_grad;
  CHECK(model.gm.interpret({a}).tensor().sizes() == pare::Shape{2, 4});
}

TEST_CASE("round_to, per-layer ratios and global ranking") {
  SUBCASE("round_to rounds the kept count down to a multiple") {
    TracedModel model = pare::testing::resnet_blocks();
    GroupPruner pruner(model.gm, GroupPrunerOptions().ratio(0.3).round_to(4));
    pruner.prune();
    // 8 channels keep int(5.6) = 5 -> 4; 12 keep int(8.4) = 8.
    CHECK(model.gm.attribute("conv1.weight").size(0) == 4);
    CHECK(model.gm.attribute("layer1_conv1.weight").size(0) == 4);
    CHECK(model.gm.attribute("layer2_conv1.weight").size(0) == 8);
    CHECK(model.gm.attribute("layer2_conv2.weight").size(0) == 8);
  }
  SUBCASE("a per-layer ratio overrides the ratio for the groups its layer roots") {
    TracedModel model = pare::testing::conv_bn_relu();
    GroupPruner pruner(model.gm, GroupPrunerOptions().ratio(0.5).layer_ratio("conv1", 0.75));
    pruner.prune();
    CHECK(model.gm.attribute("conv1.weight").sizes() == pare::Shape{2, 3, 3, 3});
    CHECK(model.gm.attribute("conv2.weight").sizes() == pare::Shape{3, 2, 3, 3});
    CHECK(model.gm.attribute("fc.weight").sizes() == pare::Shape{4, 3});
  }
  SUBCASE("global: the lowest normalised scores of all groups go, up to max_ratio per group") {
    TracedModel model = pare::testing::resnet_blocks();
    GroupPruner pruner(model.gm, GroupPrunerOptions().global(true).ratio(0.5).max_ratio(0.6));
    pruner.step();
    int64_t total = 0, removed = 0;
    double highest_removed = -1.0, lowest_kept_uncapped = 1e30;
    for (const pare::pruning::GroupChoice& choice : pruner.choices()) {
      const int64_t n = choice.group->size;
      total += n;
      removed += static_cast<int64_t>(choice.removed.size());
      CHECK(static_cast<double>(choice.removed.size()) <= 0.6 * static_cast<double>(n));
      for (int64_t c : choice.removed)
        highest_removed = std::max(highest_removed, choice.importance[c]);
      const bool capped =
          static_cast<int64_t>(choice.removed.size()) == static_cast<int64_t>(0.6 * n);
      if (!capped)
        for (int64_t c : choice.kept)
          lowest_kept_uncapped = std::min(lowest_kept_uncapped, choice.importance[c]);
    }
    CHECK(removed == total - static_cast<int64_t>(total * 0.5));
    CHECK(highest_removed <= lowest_kept_uncapped);
  }
  SUBCASE("target_macs: channels go in the global order until the MACs reach the budget") {
    TracedModel model = pare::testing::resnet_blocks();
    GroupPruner pruner(model.gm, GroupPrunerOptions().target_macs(0.5));
    pruner.prune();
    const nlohmann::json report = pruner.report();
    const double before = report["macs"]["before"].get<double>();
    const double after = report["macs"]["after"].get<double>();
    CHECK(after <= 0.5 * before);
    // One channel less would have left the budget unmet: the smallest step is well under 10%.
    CHECK(after > 0.4 * before);
  }
}

TEST_CASE("refusals name the layer and the reason") {
  TracedModel model = pare::testing::conv_bn_relu();
  CHECK(throws_with([&] { GroupPruner(model.gm, GroupPrunerOptions().ignore({"conv9"})); },
                    {"conv9", "not a module the graph calls"}));
  CHECK(throws_with([&] { GroupPruner(model.gm, GroupPrunerOptions().layer_ratio("fc", 0.5)); },
                    {"'fc'", "graph output 'output'", "path fc -> output"}));
  CHECK(throws_with(
      [&] {
        GroupPruner pruner(model.gm, GroupPrunerOptions().ratio(0.5).round_to(8));
        pruner.step();
      },
      {"'conv1'", "8 channels", "round_to 8", "lower the ratio or round_to"}));
  CHECK(throws_with([&] { GroupPruner(model.gm, GroupPrunerOptions().ratio(1.0)); },
                    {"ratio 1", "[0, 1)"}));
  // Nothing changed: every refusal came before any slicing.
  CHECK(model.gm.attribute("conv1.weight").sizes() == pare::Shape{8, 3, 3, 3});
}

TEST_CASE("the report: groups, members, tensors and what cannot be pruned") {
  TracedModel model = pare::testing::conv_bn_relu();
  GroupPruner pruner(model.gm, GroupPrunerOptions().ratio(0.5));
  pruner.prune();
  const nlohmann::json report = pruner.report();
  REQUIRE(report["groups"].size() == 2);
  const nlohmann::json& first = report["groups"][0];
  CHECK(first["root"] == "conv1");
  CHECK(first["unit"] == "channel");
  CHECK(first["size_before"] == 8);
  CHECK(first["size_after"] == 4);
  CHECK(first["removed"].size() == 4);
  CHECK(first["importance"].size() == 8);
  bool bn_member = false;
  for (const nlohmann::json& member : first["members"])
    bn_member |= member.value("tensor", "") == "bn1.running_var";
  CHECK(bn_member);
  // conv1's removed channels are the removed rows of conv1.weight and columns of conv2.weight.
  std::vector<int64_t> kept;
  for (int64_t c = 0; c < 8; ++c)
    if (std::find(first["removed"].begin(), first["removed"].end(), c) == first["removed"].end())
      kept.push_back(c);
  CHECK(report["tensors"]["conv1.weight"]["kept"]["0"].get<std::vector<int64_t>>() == kept);
  CHECK(report["tensors"]["conv2.weight"]["kept"]["1"].get<std::vector<int64_t>>() == kept);
  CHECK(report["tensors"]["bn1.running_mean"]["after"].get<pare::Shape>() == pare::Shape{4});
  REQUIRE(report["not_prunable"].size() == 1);
  CHECK(report["not_prunable"][0]["layer"] == "fc");
  CHECK(report["not_prunable"][0]["path"] == nlohmann::json::array({"fc", "output"}));
  // Parameters: conv1 4*3*9 + 4, bn1 2*4, conv2 3*4*9 + 3, bn2 2*3, fc 4*3 + 4.
  CHECK(report["params"]["after"] == 4 * 27 + 4 + 8 + 108 + 3 + 6 + 12 + 4);
}

TEST_CASE(
    "l2 over a grouped conv's blocks: each tensor's blocks summed, its in-columns per group") {
  // grouped_conv: conv1 (4 -> 8) feeds conv2 (8 -> 8, groups = 2). Channel j of the group is
  // conv1's rows j and 4 + j; conv2's column j reads both, and Torch-Pruning repeats its score per
  // group: (rows_j + rows_{4+j} + 2 * column_j) / 2 (two tensors scored).
  TracedModel model = pare::testing::grouped_conv();
  const pare::pruning::DependencyGraph graph(model.gm);
  const std::vector<const pare::pruning::Group*> found = graph.groups_of("conv2.weight", 1);
  REQUIRE(found.size() == 1);
  const std::vector<float> conv1 = pare::to_float_vector(model.gm.attribute("conv1.weight"));
  const std::vector<float> conv2 = pare::to_float_vector(model.gm.attribute("conv2.weight"));
  // conv1.weight [8, 4, 3, 3]: 36 per row; conv2.weight [8, 4, 3, 3]: column j is [o, j, :, :].
  std::vector<double> expected(4, 0.0);
  for (int64_t j = 0; j < 4; ++j) {
    double rows = 0.0, columns = 0.0;
    for (int64_t row : {j, j + 4})
      for (int64_t k = 0; k < 36; ++k) rows += double(conv1[row * 36 + k]) * conv1[row * 36 + k];
    for (int64_t o = 0; o < 8; ++o)
      for (int64_t k = 0; k < 9; ++k) {
        const double w = conv2[(o * 4 + j) * 9 + k];
        columns += w * w;
      }
    expected[j] = (rows + 2 * columns) / 2;
  }
  check_scores(Importance::l2().reduced(model.gm, *found[0]), expected);
}

TEST_CASE("grouped convs keep the same channels in every block and their groups") {
  SUBCASE("ResNeXt block at ratio 0.5: 2 of each block's 4 channels stay, groups = 4") {
    TracedModel model = pare::testing::resnext_block();
    GroupPruner pruner(model.gm, GroupPrunerOptions().ratio(0.5));
    pruner.prune();
    CHECK(model.gm.attribute("reduce.weight").sizes() == pare::Shape{8, 4, 1, 1});
    CHECK(model.gm.attribute("grouped.weight").sizes() == pare::Shape{8, 2, 3, 3});
    CHECK(model.gm.attribute("expand.weight").sizes() == pare::Shape{4, 8, 1, 1});
    const auto* grouped = pare::nn::as<pare::nn::Conv2dImpl>(model.gm.module("grouped").get());
    REQUIRE(grouped != nullptr);
    CHECK(grouped->options().groups() == 4);
    CHECK(grouped->options().in_channels() == 8);
    CHECK(grouped->options().out_channels() == 8);
    const nlohmann::json report = pruner.report();
    for (const char* name : {"reduce.weight", "grouped.weight"}) {
      CAPTURE(name);
      const std::vector<int64_t> kept =
          report["tensors"][name]["kept"]["0"].get<std::vector<int64_t>>();
      REQUIRE(kept.size() == 8);
      // The same two indices j in each block of 4: kept = {j0, j1, 4 + j0, 4 + j1, ...}.
      for (size_t b = 1; b < 4; ++b)
        for (size_t i = 0; i < 2; ++i) CHECK(kept[b * 2 + i] == kept[i] + 4 * int64_t(b));
    }
    int64_t blocked = 0;
    for (const nlohmann::json& group : report["groups"])
      if (group.value("blocks", 1) == 4) {
        ++blocked;
        CHECK(group["size_before"] == 4);
        CHECK(group["size_after"] == 2);
      }
    CHECK(blocked == 2);
    pare::NoGradGuard no_grad;
    CHECK(model.gm.interpret({model.input}).tensor().sizes() == pare::Shape{2, 3});
  }
  SUBCASE("a depthwise conv with a channel multiplier keeps it: groups = in, out = 2 * in") {
    TracedModel model = pare::testing::depthwise_multiplier();
    GroupPruner pruner(model.gm, GroupPrunerOptions().ratio(0.5));
    pruner.prune();
    const auto* depthwise = pare::nn::as<pare::nn::Conv2dImpl>(model.gm.module("depthwise").get());
    REQUIRE(depthwise != nullptr);
    CHECK(depthwise->options().in_channels() == 2);
    CHECK(depthwise->options().groups() == 2);
    CHECK(depthwise->options().out_channels() == 4);
    CHECK(model.gm.attribute("depthwise.weight").sizes() == pare::Shape{4, 1, 3, 3});
    pare::NoGradGuard no_grad;
    CHECK(model.gm.interpret({model.input}).tensor().sizes() == pare::Shape{2, 2});
  }
  SUBCASE("round_to counts every block's channels; a ratio that cannot keep equal blocks fails") {
    TracedModel model = pare::testing::grouped_conv();
    {
      TracedModel rounded = pare::testing::grouped_conv();
      // conv3's 6 channels would keep 3 (no multiple of 4): it is ignored.
      GroupPruner pruner(rounded.gm, GroupPrunerOptions().ratio(0.5).round_to(4).ignore({"conv3"}));
      pruner.prune();
      // 2 of each block's 4: 4 channels, a multiple of 4.
      CHECK(rounded.gm.attribute("conv1.weight").size(0) == 4);
      CHECK(rounded.gm.attribute("conv2.weight").sizes() == pare::Shape{4, 2, 3, 3});
    }
    // Ratio 0.7 keeps int(1.2) = 1 channel per block: 2 in all, no multiple of 4.
    CHECK(throws_with(
        [&] {
          GroupPruner pruner(model.gm,
                             GroupPrunerOptions().ratio(0.7).round_to(4).ignore({"conv3"}));
          pruner.step();
        },
        {"'conv1'", "2 blocks of 4 channels", "per block", "round_to 4", "multiple of 2",
         "lower the ratio or round_to"}));
    CHECK(model.gm.attribute("conv1.weight").sizes() == pare::Shape{8, 4, 3, 3});
  }
}

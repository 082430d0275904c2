// The masked flow on dependency groups (GroupSparsifier): a residual CNN prepared with masks,
// trained a few steps, stepped, trained again and pruned. Where every reader of a group's channels
// can absorb the constants the removed channels carry (1x1 convs, Linear), the pruned model equals
// the masked one; where a padded 3x3 conv reads them, that group is reported as not folded and the
// pruned model equals the masked model with that group's removed channels zeroed on every edge
// (the test-only group_slicing.h, on an independent copy), which differs from the masked model.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "group_models.h"
#include "group_slicing.h"
#include "pare/ir/ir.h"
#include "pare/pare.h"
#include "pare/passes/pruning/group_sparsifier.h"

namespace {

using pare::Tensor;
using pare::testing::TracedModel;

// stem 3x3 (3 -> 8) -> BN -> ReLU = h; a 1x1 bottleneck (8 -> 12 -> 8) with BN, added to h;
// ReLU; a reader conv (8 -> 6, 1x1 or 3x3 with padding) -> BN -> ReLU -> pool -> flatten -> fc.
// BatchNorm makes every removed channel carry a non-zero constant.
TracedModel residual_cnn(int64_t reader_kernel) {
  return pare::testing::traced("residual_cnn", {4, 3, 6, 6}, [=](pare::testing::Net& net) {
    auto stem = pare::testing::conv(net, "stem", 3, 8, 3);
    auto stem_bn = pare::testing::batch_norm(net, "stem_bn", 8);
    auto expand = pare::testing::conv(net, "expand", 8, 12, 1);
    auto expand_bn = pare::testing::batch_norm(net, "expand_bn", 12);
    auto project = pare::testing::conv(net, "project", 12, 8, 1);
    auto project_bn = pare::testing::batch_norm(net, "project_bn", 8);
    auto reader = pare::testing::conv(net, "reader", 8, 6, reader_kernel);
    auto reader_bn = pare::testing::batch_norm(net, "reader_bn", 6);
    auto fc = net.register_module("fc", pare::nn::Linear(6, 4));
    net.body = [=](const Tensor& x) {
      Tensor h = pare::relu(stem_bn(stem(x)));
      h = pare::relu(project_bn(project(pare::relu(expand_bn(expand(h))))) + h);
      h = pare::relu(reader_bn(reader(h)));
      return fc(pare::adaptive_avg_pool2d(h, 1).flatten(1));
    };
  });
}

void train(pare::ir::GraphModule& gm, int steps, uint32_t seed) {
  gm.train();
  pare::optim::SGD sgd(gm.root().parameters(), pare::optim::SGDOptions(0.05));
  for (int step = 0; step < steps; ++step) {
    const Tensor x = pare::testing::random_tensor({4, 3, 6, 6}, seed + step);
    const Tensor labels = pare::tensor(std::vector<int64_t>{0, 1, 2, 3}, {4});
    sgd.zero_grad();
    pare::cross_entropy(gm.forward({x}), labels).backward();
    sgd.step();
  }
  gm.eval();
}

Tensor eval(pare::ir::GraphModule& gm, const Tensor& x) {
  pare::NoGradGuard no_grad;
  return gm.interpret({x});
}

// A second masked copy of `masked` (same architecture, same sparsifier options, its state loaded),
// so that the reference can be rewired without touching the model under test.
struct MaskedCopy {
  TracedModel model;
  pare::pruning::GroupSparsifier sparsifier;
};

const pare::pruning::GroupChoice& choice_rooted_at(const pare::pruning::GroupSparsifier& s,
                                                   const std::string& root) {
  for (const pare::pruning::GroupChoice& choice : s.pruner().choices())
    if (std::find(choice.group->roots.begin(), choice.group->roots.end(), root) !=
        choice.group->roots.end())
      return choice;
  FAIL("no group rooted at " << root);
  throw;
}

pare::pruning::GroupPrunerOptions options() {
  return pare::pruning::GroupPrunerOptions().importance(pare::pruning::Importance::l2()).ratio(0.5);
}

}  // namespace

TEST_CASE("masked groups with 1x1 and Linear readers fold exactly: pruned == masked") {
  TracedModel model = residual_cnn(1);
  pare::pruning::GroupSparsifier sparsifier(options());
  sparsifier.prepare(model.gm);
  // Every producing weight of the three prunable groups is masked (fc's output is the graph's).
  for (const std::string layer : {"stem", "expand", "project", "reader"})
    CHECK(pare::pruning::find_structured_sparsity(*model.gm.module(layer), "weight") != nullptr);
  CHECK(pare::pruning::find_structured_sparsity(*model.gm.module("fc"), "weight") == nullptr);

  train(model.gm, 3, 100);
  sparsifier.step();
  train(model.gm, 3, 200);
  // The masks say what step() chose: half of each group's rows, in every producing layer.
  const auto& stream = choice_rooted_at(sparsifier, "stem");
  CHECK(stream.removed.size() == 4);
  for (const std::string layer : {"stem", "project"}) {
    const std::vector<bool> mask = pare::testing::mask_values(
        pare::pruning::structured_mask(*model.gm.module(layer), "weight"));
    for (int64_t c = 0; c < 8; ++c)
      CHECK(mask[c] == !std::binary_search(stream.removed.begin(), stream.removed.end(), c));
  }

  // Dropping the removed channels' constants (every group zeroed on its edges, in an independent
  // copy) changes the output: the equality below needs the fold.
  TracedModel copy = residual_cnn(1);
  pare::pruning::GroupSparsifier copy_sparsifier(options());
  copy_sparsifier.prepare(copy.gm);
  copy.gm.root().load_state_dict(model.gm.root().state_dict());
  copy.gm.eval();
  for (const pare::pruning::GroupChoice& choice : sparsifier.pruner().choices())
    pare::testing::zero_group_edges(copy.gm, *choice.group, choice.kept);

  const Tensor x = pare::testing::random_tensor({4, 3, 6, 6}, 300);
  CHECK(pare::testing::max_abs_diff(eval(copy.gm, x), eval(model.gm, x)) > 1e-3);
  // A second input too: the fold does not depend on the inputs it was measured on.
  const Tensor other = pare::testing::random_tensor({4, 3, 6, 6}, 301);
  const Tensor masked = eval(model.gm, x);
  const Tensor masked_other = eval(model.gm, other);
  const int64_t params_before = pare::ir::model_stats(model.gm).params;
  sparsifier.prune({x});
  CHECK(pare::testing::max_abs_diff(eval(model.gm, x), masked) <= 1e-4);
  CHECK(pare::testing::max_abs_diff(eval(model.gm, other), masked_other) <= 1e-4);
  CHECK(model.gm.module("stem")->get_parameter("weight").size(0) == 4);
  CHECK(model.gm.module("expand")->get_parameter("weight").size(0) == 6);
  CHECK(model.gm.module("reader")->get_parameter("weight").sizes() == pare::Shape{3, 4, 1, 1});
  CHECK(pare::ir::model_stats(model.gm).params < params_before);

  const nlohmann::json report = sparsifier.report();
  CHECK(report["flow"] == "masked");
  REQUIRE(report["groups"].size() == 3);
  for (const nlohmann::json& group : report["groups"]) {
    CHECK(group["folded"] == true);
    CHECK(!group.contains("not_folded"));
  }
  // Each group's constants went into layers that read it (those where a constant is not 0).
  const std::vector<std::pair<std::string, std::vector<std::string>>> readers = {
      {"stem", {"expand", "reader"}}, {"expand", {"project"}}, {"reader", {"fc"}}};
  size_t folds = 0;
  for (const nlohmann::json& group : report["groups"])
    for (const auto& [root, allowed] : readers) {
      if (group["root"] != root) continue;
      for (const std::string layer : group["folded_into"]) {
        CHECK(std::find(allowed.begin(), allowed.end(), layer) != allowed.end());
        ++folds;
      }
    }
  CHECK(folds > 0);
}

TEST_CASE("a group read by a padded conv is sliced and reported as not folded") {
  TracedModel model = residual_cnn(3);
  pare::pruning::GroupSparsifier sparsifier(options());
  sparsifier.prepare(model.gm);
  train(model.gm, 3, 100);
  sparsifier.step();
  train(model.gm, 2, 200);

  // The reference: an independent copy of the masked model with the stream group's removed
  // channels zeroed on every edge (slicing's semantics for that group only).
  TracedModel copy = residual_cnn(3);
  pare::pruning::GroupSparsifier copy_sparsifier(options());
  copy_sparsifier.prepare(copy.gm);
  copy.gm.root().load_state_dict(model.gm.root().state_dict());
  copy.gm.eval();
  const auto& stream = choice_rooted_at(sparsifier, "stem");
  pare::testing::zero_group_edges(copy.gm, *stream.group, stream.kept);

  const Tensor x = pare::testing::random_tensor({4, 3, 6, 6}, 300);
  const Tensor masked = eval(model.gm, x);
  const Tensor reference = eval(copy.gm, x);
  // The stream's constants matter: dropping them changes the output.
  CHECK(pare::testing::max_abs_diff(reference, masked) > 1e-3);

  sparsifier.prune({x});
  const Tensor pruned = eval(model.gm, x);
  CHECK(pare::testing::max_abs_diff(pruned, reference) <= 1e-4);

  const nlohmann::json report = sparsifier.report();
  for (const nlohmann::json& group : report["groups"]) {
    if (group["root"] == "stem") {
      CHECK(group["folded"] == false);
      CHECK(group["folded_into"].empty());
      const std::string reason = group["not_folded"];
      CHECK(reason.find("'reader' pads its input") != std::string::npos);
    } else {
      CHECK(group["folded"] == true);
    }
  }
}

TEST_CASE("without BatchNorm and with prune_bias the removed channels carry 0: nothing to fold") {
  TracedModel model = pare::testing::traced("plain", {2, 3, 6, 6}, [](pare::testing::Net& net) {
    auto conv1 = pare::testing::conv(net, "conv1", 3, 8, 3);
    auto conv2 = pare::testing::conv(net, "conv2", 8, 6, 3);
    auto fc = net.register_module("fc", pare::nn::Linear(6, 3));
    net.body = [=](const Tensor& x) {
      Tensor h = pare::relu(conv2(pare::relu(conv1(x))));
      return fc(pare::adaptive_avg_pool2d(h, 1).flatten(1));
    };
  });
  pare::pruning::GroupSparsifier sparsifier(options(), /*prune_bias=*/true);
  sparsifier.prepare(model.gm);
  sparsifier.step();
  const Tensor masked = eval(model.gm, model.input);
  sparsifier.prune({model.input});
  CHECK(pare::testing::max_abs_diff(eval(model.gm, model.input), masked) <= 1e-4);
  for (const nlohmann::json& group : sparsifier.report()["groups"]) {
    CHECK(group["folded"] == true);  // exact although conv2 pads: the constants are 0
    CHECK(group["folded_into"].empty());
  }
}

TEST_CASE("later steps keep what earlier steps removed") {
  TracedModel model = residual_cnn(1);
  pare::pruning::GroupSparsifier sparsifier(options());
  sparsifier.prepare(model.gm);
  sparsifier.step();
  const std::vector<int64_t> first = choice_rooted_at(sparsifier, "expand").removed;
  // Make the removed channels the most important by the scores: their BatchNorm scales grow
  // (BatchNorm is not masked), so an unpinned choice would keep them.
  {
    pare::NoGradGuard no_grad;
    Tensor gamma = model.gm.module("expand_bn")->get_parameter("weight");
    for (int64_t c : first) gamma.data_ptr<float>()[c] = 100.0f;
  }
  sparsifier.step();
  CHECK(choice_rooted_at(sparsifier, "expand").removed == first);
}

TEST_CASE("GroupSparsifier refusals") {
  SUBCASE("an LSTM-rooted group cannot be masked") {
    TracedModel model = pare::testing::into_lstm();
    pare::pruning::GroupSparsifier sparsifier(options());
    const std::string message = pare::testing::error_of([&] { sparsifier.prepare(model.gm); });
    CHECK(message.find("LSTM") != std::string::npos);
    CHECK(message.find("ignore") != std::string::npos);
  }
  SUBCASE("prune needs example inputs, and a second prepare is refused") {
    TracedModel model = residual_cnn(1);
    pare::pruning::GroupSparsifier sparsifier(options());
    sparsifier.prepare(model.gm);
    CHECK(pare::testing::error_of([&] { sparsifier.prune({}); }).find("example inputs") !=
          std::string::npos);
    CHECK(pare::testing::error_of([&] { sparsifier.prepare(model.gm); }).find("already") !=
          std::string::npos);
  }
}

TEST_CASE("every coupling of the group tests: pruned == masked, except not-folded groups sliced") {
  const std::vector<std::function<TracedModel()>> builders = {
      pare::testing::conv_bn_relu,      pare::testing::resnet_blocks,
      pare::testing::inverted_residual, pare::testing::dense_concat,
      pare::testing::crossed_concats,   pare::testing::flatten_linear,
      pare::testing::grouped_conv,      pare::testing::resnext_block,
      pare::testing::grouped_chain,     pare::testing::depthwise_multiplier};
  int folded_with_constants = 0, not_folded = 0;
  for (const auto& build : builders) {
    for (const bool prune_bias : {true, false}) {
      TracedModel model = build();
      CAPTURE(model.name);
      CAPTURE(prune_bias);
      pare::pruning::GroupSparsifier sparsifier(options(), prune_bias);
      sparsifier.prepare(model.gm);
      sparsifier.step();

      TracedModel copy = build();
      pare::pruning::GroupSparsifier copy_sparsifier(options(), prune_bias);
      copy_sparsifier.prepare(copy.gm);
      copy.gm.root().load_state_dict(model.gm.root().state_dict());

      const Tensor masked = eval(model.gm, model.input);
      sparsifier.prune({model.input});
      bool all_folded = true;
      for (const pare::pruning::GroupChoice& choice : sparsifier.pruner().choices()) {
        const auto fold = sparsifier.folds().find(choice.group->id);
        REQUIRE(fold != sparsifier.folds().end());
        if (!fold->second.folded)
          pare::testing::zero_group_edges(copy.gm, *choice.group, choice.kept);
        not_folded += fold->second.folded ? 0 : 1;
        all_folded = all_folded && fold->second.folded;
        folded_with_constants += fold->second.folded_into.empty() ? 0 : 1;
      }
      CHECK(pare::testing::max_abs_diff(eval(model.gm, model.input), eval(copy.gm, model.input)) <=
            1e-4);
      if (all_folded)
        CHECK(pare::testing::max_abs_diff(eval(model.gm, model.input), masked) <= 1e-4);
    }
  }
  // Both outcomes occur across these models (BatchNorm shifts read by padded and unpadded convs).
  CHECK(folded_with_constants > 0);
  CHECK(not_folded > 0);
}

TEST_CASE("masked steps follow the schedule, then choose again at the full ratio") {
  TracedModel model = residual_cnn(1);
  pare::pruning::GroupSparsifier sparsifier(options().iterative_steps(2));
  sparsifier.prepare(model.gm);
  const auto masked_rows = [&](const std::string& layer) {
    const std::vector<bool> mask = pare::testing::mask_values(
        pare::pruning::structured_mask(*model.gm.module(layer), "weight"));
    return std::count(mask.begin(), mask.end(), false);
  };
  sparsifier.step();  // ratio 0.25 of the dense widths: 2 of 8, 3 of 12
  CHECK(masked_rows("stem") == 2);
  CHECK(masked_rows("expand") == 3);
  const std::vector<int64_t> first = choice_rooted_at(sparsifier, "expand").removed;
  sparsifier.step();  // 0.5: 4 of 8, 6 of 12, the first step's channels among them
  CHECK(masked_rows("stem") == 4);
  CHECK(masked_rows("expand") == 6);
  const std::vector<int64_t> second = choice_rooted_at(sparsifier, "expand").removed;
  CHECK(std::includes(second.begin(), second.end(), first.begin(), first.end()));
  sparsifier.step();  // past the schedule: the full ratio again, the same channels
  CHECK(choice_rooted_at(sparsifier, "expand").removed == second);
  const Tensor masked = eval(model.gm, model.input);
  sparsifier.prune({model.input});
  CHECK(model.gm.module("expand")->get_parameter("weight").size(0) == 6);
  CHECK(pare::testing::max_abs_diff(eval(model.gm, model.input), masked) <= 1e-4);
}

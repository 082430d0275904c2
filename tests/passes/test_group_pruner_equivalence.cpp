// GroupPruner against the test-only slicer (group_slicing.h): for every model, seed and ratio, the
// pruned model equals the dense model with every chosen group sliced by its kept channels
// (<= 1e-4), its state dict equals the slicer's exactly, and the report's `tensors` reproduce
// every changed tensor from the dense state dict by their `kept` indices. Where no LayerNorm
// normalises over a pruned group and no group is an LSTM's hidden units, the pruned model also
// equals the dense model with the removed channels zeroed on every edge of their groups.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "group_models.h"
#include "group_slicing.h"
#include "pare/ir/ir.h"
#include "pare/models/models.h"
#include "pare/pare.h"
#include "pare/passes/pruning/group_pruner.h"

namespace {

using pare::Tensor;
using pare::testing::TracedModel;

template <typename Holder>
TracedModel zoo(const std::string& name, Holder net, const pare::Shape& input_shape,
                uint32_t seed = 11) {
  pare::testing::randomize_parameters(*net.ptr(), seed);
  net->eval();
  const Tensor input = pare::testing::random_tensor(input_shape, seed + 1000);
  pare::ir::GraphModule gm = pare::ir::trace(net.ptr(), {input});
  return {name, nullptr, std::move(gm), input};
}

TracedModel small_resnet18() {
  pare::manual_seed(5);
  return zoo("resnet18",
             pare::models::resnet18(
                 pare::models::ResNetOptions().num_classes(5).base_width(8).small_input(true)),
             {2, 3, 12, 12});
}

TracedModel small_resnet50() {
  pare::manual_seed(6);
  return zoo("resnet50",
             pare::models::resnet50(pare::models::ResNetOptions().num_classes(5).base_width(4)),
             {1, 3, 32, 32});
}

TracedModel small_mobilenet_v2() {
  pare::manual_seed(8);
  return zoo("mobilenet_v2",
             pare::models::mobilenet_v2(
                 pare::models::MobileNetV2Options().width_mult(0.25).num_classes(4)),
             {1, 3, 32, 32});
}

TracedModel small_densenet() {
  pare::manual_seed(9);
  return zoo("densenet",
             pare::models::densenet(pare::models::DenseNetOptions()
                                        .growth_rate(4)
                                        .block_config({2, 3})
                                        .init_features(8)
                                        .num_classes(5)),
             {2, 3, 16, 16});
}

TracedModel small_transformer() {
  pare::manual_seed(10);
  return zoo("transformer_encoder",
             pare::models::transformer_encoder(pare::models::TransformerEncoderOptions()
                                                   .image_size(12)
                                                   .patch_size(4)
                                                   .in_channels(3)
                                                   .embedding(16)
                                                   .heads(4)
                                                   .mlp_hidden(24)
                                                   .depth(2)
                                                   .num_classes(3)),
             {2, 3, 12, 12});
}

std::map<std::string, Tensor> state_of(pare::ir::GraphModule& gm) {
  std::map<std::string, Tensor> state;
  for (const auto& [name, value] : gm.root().named_parameters()) state[name] = value;
  for (const auto& [name, value] : gm.root().named_buffers()) state[name] = value;
  return state;
}

bool same_tensor(const Tensor& a, const Tensor& b) {
  return a.sizes() == b.sizes() && pare::to_float_vector(a) == pare::to_float_vector(b);
}

bool zeroing_differs(pare::ir::GraphModule& gm, const pare::pruning::Group& group) {
  for (const pare::pruning::GroupMember& member : group.members) {
    if (member.kind != pare::pruning::GroupMember::Kind::parameter) continue;
    const size_t dot = member.name.rfind('.');
    if (dot == std::string::npos) continue;
    const pare::nn::ModuleKind kind = gm.module(member.name.substr(0, dot))->kind();
    if (kind == pare::nn::ModuleKind::layer_norm) return true;
    // An LSTM's hidden units feed back into the layer, past any edge a mask could zero.
    if (kind == pare::nn::ModuleKind::lstm && member.name.find(".weight_hh_l") != std::string::npos)
      return true;
  }
  return false;
}

void check_model(const std::function<TracedModel()>& build,
                 const pare::pruning::GroupPrunerOptions& options) {
  TracedModel pruned = build();
  TracedModel sliced = build();
  TracedModel zeroed = build();
  const std::map<std::string, Tensor> dense_state = state_of(sliced.gm);
  CAPTURE(pruned.name);

  pare::pruning::GroupPruner pruner(pruned.gm, options);
  pruner.step();
  std::vector<std::pair<const pare::pruning::Group*, std::vector<int64_t>>> chosen;
  bool zeroable = true;
  int64_t removed = 0;
  for (const pare::pruning::GroupChoice& choice : pruner.choices()) {
    if (choice.removed.empty()) continue;
    chosen.emplace_back(choice.group, choice.kept);
    removed += static_cast<int64_t>(choice.removed.size());
    zeroable &= !zeroing_differs(zeroed.gm, *choice.group);
  }
  REQUIRE(removed > 0);
  pruner.prune();
  pare::testing::slice_groups(sliced.gm, chosen);

  pare::NoGradGuard no_grad;
  const Tensor actual = pruned.gm.interpret({pruned.input}).tensor();
  const Tensor expected = sliced.gm.interpret({sliced.input}).tensor();
  REQUIRE(actual.sizes() == expected.sizes());
  CHECK(pare::testing::max_abs_diff(actual, expected) <= 1e-4);
  if (zeroable) {
    for (const auto& [group, kept] : chosen)
      pare::testing::zero_group_edges(zeroed.gm, *group, kept);
    // The zeroed model sums over more (zero) terms in another order: relative to the outputs'
    // magnitude, which deep random models make large.
    double scale = 1.0;
    for (float value : pare::to_float_vector(expected))
      scale = std::max(scale, static_cast<double>(std::abs(value)));
    CAPTURE(scale);
    CHECK(pare::testing::max_abs_diff(actual, zeroed.gm.interpret({zeroed.input}).tensor()) <=
          1e-5 * scale);
  }

  // The state dicts: the slicer's exactly, and the report's kept indices reproduce them.
  const std::map<std::string, Tensor> after = state_of(pruned.gm);
  const std::map<std::string, Tensor> reference = state_of(sliced.gm);
  REQUIRE(after.size() == reference.size());
  const nlohmann::json report = pruner.report();
  for (const auto& [name, value] : after) {
    CAPTURE(name);
    CHECK(same_tensor(value, reference.at(name)));
    const Tensor& dense = dense_state.at(name);
    if (dense.sizes() == value.sizes()) {
      CHECK_FALSE(report["tensors"].contains(name));
      continue;
    }
    REQUIRE(report["tensors"].contains(name));
    const nlohmann::json& entry = report["tensors"][name];
    CHECK(entry["before"].get<pare::Shape>() == dense.sizes());
    CHECK(entry["after"].get<pare::Shape>() == value.sizes());
    Tensor rebuilt = dense;
    for (const auto& [axis, kept] : entry["kept"].items()) {
      const std::vector<int64_t> indices = kept.get<std::vector<int64_t>>();
      rebuilt = pare::index_select(rebuilt, std::stoll(axis),
                                   pare::tensor(indices, {static_cast<int64_t>(indices.size())}));
    }
    CHECK(same_tensor(rebuilt.contiguous(), value));
  }
  CHECK(report["params"]["after"].get<int64_t>() < report["params"]["before"].get<int64_t>());
  CHECK(report["macs"]["after"].get<int64_t>() <= report["macs"]["before"].get<int64_t>());
}

using Builders = std::vector<std::function<TracedModel()>>;

const Builders& group_models() {
  static const Builders models{
      &pare::testing::conv_bn_relu,      &pare::testing::resnet_blocks,
      &pare::testing::inverted_residual, &pare::testing::dense_concat,
      &pare::testing::crossed_concats,   &pare::testing::flatten_linear,
      &pare::testing::layer_norm_stream, &pare::testing::softmax_over_channels,
      &pare::testing::grouped_conv,      &pare::testing::resnext_block,
      &pare::testing::grouped_chain,     &pare::testing::depthwise_multiplier,
      &pare::testing::into_lstm,         &pare::testing::two_layer_lstm};
  return models;
}

const Builders& zoo_models() {
  static const Builders models{&small_resnet18, &small_resnet50, &small_mobilenet_v2,
                               &small_densenet, &small_transformer};
  return models;
}

Builders all_models() {
  Builders models = group_models();
  models.insert(models.end(), zoo_models().begin(), zoo_models().end());
  return models;
}

}  // namespace

TEST_CASE("local l2 at ratios 0.3, 0.5 and 0.7: pruned equals sliced, state dicts and report") {
  for (double ratio : {0.3, 0.5, 0.7})
    for (const auto& build : all_models()) {
      CAPTURE(ratio);
      check_model(build, pare::pruning::GroupPrunerOptions().ratio(ratio));
    }
}

TEST_CASE("random importance with three seeds: other channels, the same equivalence") {
  for (uint64_t seed : {1u, 2u, 3u}) {
    CAPTURE(seed);
    const auto options = pare::pruning::GroupPrunerOptions()
                             .importance(pare::pruning::Importance::random(seed))
                             .ratio(0.4);
    for (const auto& build : group_models()) check_model(build, options);
    // The zoo's variants once per seed, each on another one.
    check_model(zoo_models()[seed % zoo_models().size()], options);
    check_model(zoo_models()[(seed + 2) % zoo_models().size()], options);
  }
}

TEST_CASE("global ranking, fpgm, lamp and bn_scale keep the equivalence") {
  for (const auto& build : all_models())
    check_model(build, pare::pruning::GroupPrunerOptions().global(true).ratio(0.5));
  Builders some = group_models();
  some.push_back(&small_mobilenet_v2);
  some.push_back(&small_transformer);
  for (const auto& build : some) {
    check_model(build, pare::pruning::GroupPrunerOptions()
                           .importance(pare::pruning::Importance::fpgm())
                           .ratio(0.5));
    check_model(build, pare::pruning::GroupPrunerOptions()
                           .importance(pare::pruning::Importance::lamp())
                           .global(true)
                           .ratio(0.3));
  }
  for (const auto& build :
       {&pare::testing::conv_bn_relu, &pare::testing::resnet_blocks, &small_resnet18})
    check_model(build, pare::pruning::GroupPrunerOptions()
                           .importance(pare::pruning::Importance::bn_scale())
                           .ratio(0.5));
}

TEST_CASE("the transformer's heads, FFN units and residual stream prune as groups") {
  TracedModel model = small_transformer();
  pare::pruning::GroupPruner pruner(model.gm, pare::pruning::GroupPrunerOptions().ratio(0.5));
  pruner.prune();
  const nlohmann::json report = pruner.report();
  int64_t head_groups = 0;
  for (const nlohmann::json& group : report["groups"]) {
    if (group["unit"] != "head") continue;
    ++head_groups;
    // 4 heads of 4 channels: two whole heads go.
    CHECK(group["size_before"] == 4);
    CHECK(group["size_after"] == 2);
    bool q_rows = false;
    for (const nlohmann::json& member : group["members"])
      if (member.value("tensor", "").ends_with("attn.q.weight") && member["axis"] == 0) {
        CHECK(member["block"] == 4);
        CHECK(member["unit"] == "head");
        q_rows = true;
      }
    CHECK(q_rows);
  }
  CHECK(head_groups == 2);
  // Embedding 16 -> 8 (residual stream), heads 4 x 4 -> 2 x 4, FFN 24 -> 12.
  CHECK(model.gm.attribute("blocks.0.attn.q.weight").sizes() == pare::Shape{8, 8});
  CHECK(model.gm.attribute("blocks.1.fc1.weight").sizes() == pare::Shape{12, 8});
  CHECK(model.gm.attribute("blocks.1.fc2.weight").sizes() == pare::Shape{8, 12});
  CHECK(model.gm.attribute("head.weight").sizes() == pare::Shape{3, 8});
  // Whole heads: the kept rows of q are two blocks of four consecutive channels.
  const std::vector<int64_t> kept =
      report["tensors"]["blocks.0.attn.q.weight"]["kept"]["0"].get<std::vector<int64_t>>();
  REQUIRE(kept.size() == 8);
  for (size_t i = 0; i < kept.size(); i += 4) {
    CHECK(kept[i] % 4 == 0);
    for (size_t r = 1; r < 4; ++r) CHECK(kept[i + r] == kept[i] + static_cast<int64_t>(r));
  }
}

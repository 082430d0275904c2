// The independent check of dependency groups: for every prunable group of every model, keep a
// seeded random subset of its channels, slice every member as the group says (a copy of the
// model), and compare with the dense model whose removed channels are zeroed on the group's edges.
// A group that misses a member, holds a wrong one or maps indices wrongly fails: the sliced model
// refuses to run (widths disagree) or computes something else. Where a LayerNorm normalises over
// the group's channels, or the group is an LSTM's hidden units (which feed back inside the layer),
// the two legitimately differ; there the sliced model must still run, with the dense output's
// shape.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <numeric>
#include <random>
#include <vector>

#include "group_models.h"
#include "group_slicing.h"
#include "pare/pare.h"
#include "pare/passes/pruning/dependency_graph.h"

namespace {

using pare::Tensor;
using pare::testing::TracedModel;

std::vector<int64_t> random_kept(int64_t size, uint32_t seed) {
  std::mt19937 generator(seed);
  std::vector<int64_t> order(static_cast<size_t>(size));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), generator);
  const int64_t keep = size == 1 ? 1 : 1 + static_cast<int64_t>(generator() % (size - 1));
  std::vector<int64_t> kept(order.begin(), order.begin() + keep);
  std::sort(kept.begin(), kept.end());
  return kept;
}

bool zeroing_differs(const pare::ir::GraphModule& gm, const pare::pruning::Group& group) {
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

void check_every_group(const std::function<TracedModel()>& build) {
  const TracedModel reference = build();
  const pare::pruning::DependencyGraph graph(reference.gm);
  int64_t checked = 0;
  for (const pare::pruning::Group& group : graph.groups()) {
    if (!group.prunable) continue;
    for (uint32_t seed = 1; seed <= 3; ++seed) {
      const std::vector<int64_t> kept = random_kept(group.size, seed * 31 + group.id);
      CAPTURE(reference.name);
      CAPTURE(group);
      CAPTURE(pare::str_cat(kept));
      TracedModel sliced = build();
      TracedModel dense = build();
      pare::testing::slice_group(sliced.gm, group, kept);
      pare::testing::zero_group_edges(dense.gm, group, kept);
      const Tensor expected = dense.gm.interpret({dense.input}).tensor();
      Tensor actual;
      REQUIRE_NOTHROW(actual = sliced.gm.interpret({sliced.input}).tensor());
      REQUIRE(actual.sizes() == expected.sizes());
      if (!zeroing_differs(reference.gm, group)) {
        CHECK(pare::testing::max_abs_diff(pare::to_float_vector(actual),
                                          pare::to_float_vector(expected)) <= 1e-4);
      }
      ++checked;
    }
  }
  CHECK(checked > 0);
}

}  // namespace

TEST_CASE("every prunable group, sliced by a random subset, equals the dense model zeroed there") {
  for (const auto& build : std::vector<std::function<TracedModel()>>{
           &pare::testing::conv_bn_relu, &pare::testing::resnet_blocks,
           &pare::testing::inverted_residual, &pare::testing::dense_concat,
           &pare::testing::crossed_concats, &pare::testing::flatten_linear,
           &pare::testing::layer_norm_stream, &pare::testing::softmax_over_channels,
           &pare::testing::grouped_conv, &pare::testing::resnext_block,
           &pare::testing::grouped_chain, &pare::testing::depthwise_multiplier,
           &pare::testing::into_lstm, &pare::testing::two_layer_lstm}) {
    check_every_group(build);
  }
}

// Dependency-group pruning of a traced or loaded graph: score the channels of every prunable group
// (pare/passes/pruning/importance.h), choose which go, then slice every member of every group by
// the kept indices and report what changed.
//
//   pare::ir::GraphModule gm = pare::ir::trace(net, {pare::randn({1, 3, 32, 32})});
//   pare::pruning::GroupPruner pruner(gm, pare::pruning::GroupPrunerOptions()
//                                             .importance(pare::pruning::Importance::l2())
//                                             .ratio(0.5)
//                                             .round_to(8)
//                                             .ignore({"fc"}));
//   pruner.step();                                   // choose (nothing changes yet)
//   pare::ir::GraphModule& pruned = pruner.prune();  // gm itself, now smaller
//   std::cout << pruner.report().dump(2);            // params, MACs, groups, tensors, refusals
//
// How many go. Local (the default): each group of n channels loses n - int(n * (1 - ratio)), the
// kept count then rounded down to a multiple of round_to when n >= round_to (as Torch-Pruning);
// a ratio that leaves fewer than round_to channels is refused. A group of a grouped conv's blocks
// (Group::blocks > 1) keeps the same indices in every block, chosen by its scores summed over the
// blocks (as Torch-Pruning does), so n, the ratio's count and the kept count are per block and
// round_to applies to the kept channels of all blocks together (a ratio that cannot keep them a
// multiple of it, with equal blocks, is refused naming the layer). Per-layer ratios (keyed by a
// root's name) override the ratio for the groups that layer roots. Global: the normalised scores of
// every group without a per-layer ratio are ranked together and the lowest go until that many
// channels (ratio of their total) are gone, no group losing more than max_ratio of its channels;
// with target_macs, until the Conv2d and Linear modules' MACs (model_stats' count, each layer's
// scaled by the share of its input and output channels that stays) reach that share of the dense
// count. prune() plans every change first (so that a refusal leaves the graph as it was), then
// slices parameters and buffers, sets the layers' widths (Conv2d in/out channels, a depthwise
// conv's groups (with a channel multiplier m, out = m * in stays), a grouped conv's groups
// unchanged, BatchNorm2d num_features, LayerNorm normalized_shape, Linear in/out features, PReLU
// slopes) and rewrites the shape literal of every view / reshape whose output a group shrinks.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "pare/ir/graph_module.h"
#include "pare/passes/pruning/dependency_graph.h"
#include "pare/passes/pruning/importance.h"

namespace pare::pruning {

class GroupPrunerOptions {
 public:
  GroupPrunerOptions& importance(Importance value) {
    importance_ = std::move(value);
    return *this;
  }
  // The share of each group's channels that goes (local), or of all channels (global).
  GroupPrunerOptions& ratio(double value) {
    ratio_ = value;
    return *this;
  }
  // Kept counts are multiples of this (for groups of at least this many channels).
  GroupPrunerOptions& round_to(int64_t value) {
    round_to_ = value;
    return *this;
  }
  // Layers (module qualified names) that are never roots; they stay members of their groups.
  GroupPrunerOptions& ignore(std::vector<std::string> value) {
    ignored_ = std::move(value);
    return *this;
  }
  // The ratio of the groups rooted at `layer`, instead of ratio().
  GroupPrunerOptions& layer_ratio(const std::string& layer, double value) {
    layer_ratios_[layer] = value;
    return *this;
  }
  // Global pruning to a MAC budget: channels go in the global order until the Conv2d and Linear
  // layers' MACs are at most `value` of what they were (instead of a channel ratio).
  GroupPrunerOptions& target_macs(double value) {
    target_macs_ = value;
    global_ = true;
    return *this;
  }
  GroupPrunerOptions& global(bool value) {
    global_ = value;
    return *this;
  }
  // Global pruning: the most any group may lose.
  GroupPrunerOptions& max_ratio(double value) {
    max_ratio_ = value;
    return *this;
  }
  GroupPrunerOptions& allow_output_change(bool value) {
    allow_output_change_ = value;
    return *this;
  }

  const Importance& importance() const { return importance_; }
  double ratio() const { return ratio_; }
  int64_t round_to() const { return round_to_; }
  const std::vector<std::string>& ignored() const { return ignored_; }
  const std::map<std::string, double>& layer_ratios() const { return layer_ratios_; }
  bool global() const { return global_; }
  std::optional<double> target_macs() const { return target_macs_; }
  double max_ratio() const { return max_ratio_; }
  bool allow_output_change() const { return allow_output_change_; }

 private:
  Importance importance_ = Importance::l2();
  double ratio_ = 0.5;
  int64_t round_to_ = 1;
  std::vector<std::string> ignored_;
  std::map<std::string, double> layer_ratios_;
  bool global_ = false;
  std::optional<double> target_macs_;
  double max_ratio_ = 0.9;
  bool allow_output_change_ = false;
};

// What step() chose for one prunable group.
struct GroupChoice {
  const Group* group = nullptr;
  // Normalised importance per channel (empty when the criterion reads no member of the group:
  // then nothing goes).
  std::vector<double> importance;
  // The channels that go and those that stay, in increasing order.
  std::vector<int64_t> removed;
  std::vector<int64_t> kept;
};

class GroupPruner {
 public:
  // Analyses `graph_module` (which prune() changes in place); throws for an ignored or per-layer
  // name that no call in the graph has, and for a per-layer ratio on a layer that cannot be
  // pruned (naming why and the path).
  GroupPruner(ir::GraphModule& graph_module, GroupPrunerOptions options = {});
  // The choices point into graph(): not copyable.
  GroupPruner(const GroupPruner&) = delete;
  GroupPruner& operator=(const GroupPruner&) = delete;

  const DependencyGraph& graph() const { return graph_; }
  // Scores every prunable group and chooses what goes; changes nothing.
  void step();
  const std::vector<GroupChoice>& choices() const { return choices_; }
  // Channels of `group` that every later step() removes first, whatever they score (they still
  // count towards the ratio): a masked flow's earlier steps, whose masked weights no longer say
  // what the channels were worth.
  void pin_removed(const Group& group, std::vector<int64_t> channels);
  // Slices every member by the kept indices (step() first when it has not run); returns the
  // graph module given to the constructor, pruned.
  ir::GraphModule& prune();
  // The contract's JSON: params and macs before and after, groups, changed tensors,
  // not_prunable. After prune(); before it, "after" equals "before" and "tensors" is empty.
  nlohmann::json report() const;

 private:
  void choose_local(bool only_layer_ratios = false);
  void choose_global();
  std::vector<int64_t> finish(const GroupChoice& choice, int64_t removed_count) const;
  std::optional<double> layer_ratio(const Group& group) const;

  ir::GraphModule& gm_;
  GroupPrunerOptions options_;
  DependencyGraph graph_;
  std::vector<GroupChoice> choices_;
  std::map<int64_t, std::vector<int64_t>> pinned_;  // group id -> channels removed first
  bool stepped_ = false;
  bool pruned_ = false;
  int64_t params_before_ = 0, macs_before_ = 0, params_after_ = 0, macs_after_ = 0;
  // Qualified tensor name -> (shape before, shape after, kept indices per shrunk axis).
  struct TensorChange {
    Shape before;
    Shape after;
    std::map<int64_t, std::vector<int64_t>> kept;
  };
  std::map<std::string, TensorChange> tensors_;
};

}  // namespace pare::pruning

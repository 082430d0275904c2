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
//
// Iterative pruning (Torch-Pruning's iterative_steps and its ratio scheduler): with
// iterative_steps(n), each step() advances one step k of n and aims at schedule(ratio, k, n) of the
// ORIGINAL widths (linear by default: a group of 64 at ratio 0.5 over 4 steps has lost 8, 16, 24,
// then 32), so that the prune() after it removes only what is still missing; the user fine-tunes
// between steps. Per-layer ratios are scheduled alike, global pruning counts the channels gone of
// the original total, max_ratio caps a group's loss of its original width, and target_macs aims
// at 1 - schedule(1 - target_macs, k, n) of the dense MACs. A group's original width is found
// again after slicing by its roots (layer names survive pruning; group ids do not).
//
//   GroupPruner pruner(gm, GroupPrunerOptions().ratio(0.5).iterative_steps(4));
//   for (int step = 0; step < 4; ++step) {
//     pruner.prune();        // step() then slicing: 8, 16, 24, 32 of a 64-channel group gone
//     fine_tune(gm);         // your training loop
//   }
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "pare/ir/graph_module.h"
#include "pare/passes/latency/latency_profile.h"
#include "pare/passes/pruning/dependency_graph.h"
#include "pare/passes/pruning/importance.h"

namespace pare::pruning {

// The ratio (of the original widths) that has gone after step `step` of `steps`, for a final
// ratio `target`; it should reach `target` at the last step.
using RatioSchedule = std::function<double(double target, int64_t step, int64_t steps)>;

// target * step / steps, written (step / steps) * target so that the last step gives exactly
// `target` (as Torch-Pruning's linear_scheduler computes it).
double linear_schedule(double target, int64_t step, int64_t steps);

// A latency budget for GroupPrunerOptions::target_latency: a share of the dense model's
// predicted latency (`fraction`), or milliseconds (`ms`, when positive), at `threads`, predicted
// by a measured profile (pare/passes/latency/latency_profile.h; `pare profile` writes one).
struct LatencyTarget {
  std::shared_ptr<const latency::LatencyProfile> profile;
  double fraction = 1.0;
  double ms = 0.0;
  int64_t threads = 1;
};

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
  // Latency-aware widths: every group the profile measured keeps the candidate width that keeps
  // the most importance while the predicted latency stays within the target (HALP's
  // formulation: pare/passes/latency/width_choice.h), honouring round_to and max_ratio; groups
  // the profile has no table for keep their width. Instead of ratio / target_macs; with
  // iterative_steps, each step aims at 1 - schedule(1 - target, k, n) of the dense latency.
  GroupPrunerOptions& target_latency(LatencyTarget value) {
    target_latency_ = std::move(value);
    return *this;
  }
  // How many step() / prune() rounds reach the ratio (or target_macs); 1 prunes at once.
  GroupPrunerOptions& iterative_steps(int64_t value) {
    iterative_steps_ = value;
    return *this;
  }
  // How far each step goes (linear_schedule by default).
  GroupPrunerOptions& schedule(RatioSchedule value) {
    schedule_ = std::move(value);
    return *this;
  }

  const Importance& importance() const { return importance_; }
  double ratio() const { return ratio_; }
  int64_t round_to() const { return round_to_; }
  const std::vector<std::string>& ignored() const { return ignored_; }
  const std::map<std::string, double>& layer_ratios() const { return layer_ratios_; }
  bool global() const { return global_; }
  std::optional<double> target_macs() const { return target_macs_; }
  const std::optional<LatencyTarget>& target_latency() const { return target_latency_; }
  double max_ratio() const { return max_ratio_; }
  bool allow_output_change() const { return allow_output_change_; }
  int64_t iterative_steps() const { return iterative_steps_; }
  const RatioSchedule& schedule() const { return schedule_; }

 private:
  Importance importance_ = Importance::l2();
  double ratio_ = 0.5;
  int64_t round_to_ = 1;
  std::vector<std::string> ignored_;
  std::map<std::string, double> layer_ratios_;
  bool global_ = false;
  std::optional<double> target_macs_;
  std::optional<LatencyTarget> target_latency_;
  double max_ratio_ = 0.9;
  bool allow_output_change_ = false;
  int64_t iterative_steps_ = 1;
  RatioSchedule schedule_ = linear_schedule;
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

  // The analysis the current step chose from (the next step() re-analyses a pruned graph).
  const DependencyGraph& graph() const { return graph_; }
  // Advances one step and chooses what goes; changes nothing. After a prune() it first re-analyses
  // the pruned graph (its groups get new ids). Throws past the last of iterative_steps.
  void step();
  // The current step's choices; after prune() still those it applied.
  const std::vector<GroupChoice>& choices() const { return choices_; }
  // Steps taken so far (1 after the first step()).
  int64_t current_step() const { return step_; }
  // Chooses again for the current step, from the weights as they are now (a masked flow trains
  // between its choices and calls this once its steps are done); throws before the first step().
  void rechoose();
  // Channels of `group` that every later choice removes first, whatever they score (they still
  // count towards the ratio): a masked flow's earlier choices, whose masked weights no longer say
  // what the channels were worth.
  void pin_removed(const Group& group, std::vector<int64_t> channels);
  // target_latency's iterative mode (prune a step, fine-tune, re-measure): the profile the next
  // step() predicts with, such as one measured on the model as pruned so far (its groups at
  // their present widths). Budgets stay shares of the dense model's latency as the first
  // profile predicted it. Throws without target_latency.
  void set_latency_profile(std::shared_ptr<const latency::LatencyProfile> profile);
  // Slices every member by the kept indices (step() first when no step has chosen since the last
  // prune()); returns the graph module given to the constructor, pruned.
  ir::GraphModule& prune();
  // The contract's JSON. "params" and "macs": "before" is always the dense model's (as it was when
  // the pruner was built), "after" the model as it is now (before any prune(), equal to
  // "before"). "groups" and "tensors" cover the current step only: its groups' widths and the kept
  // indices are those of the graph that step started from ("tensors" is empty until its prune()).
  // "step" and "steps": the current step and iterative_steps.
  nlohmann::json report() const;

 private:
  // Scores every prunable group of graph_ and chooses for the current step.
  void choose();
  void choose_local(bool only_layer_ratios = false);
  void choose_global();
  void choose_latency();
  std::vector<int64_t> finish(const GroupChoice& choice, int64_t removed_count) const;
  std::optional<double> layer_ratio(const Group& group) const;
  // `target` as scheduled for the current step, checked to be a ratio in [0, 1).
  double scheduled(double target, const std::string& what) const;
  // The group's width (per block) in the dense model.
  int64_t original_size(const Group& group) const;

  ir::GraphModule& gm_;
  GroupPrunerOptions options_;
  DependencyGraph graph_;
  std::vector<GroupChoice> choices_;
  // Steps taken; whether the current step's choices still wait for prune(); whether graph_
  // describes the graph before the last prune() (so the next step() re-analyses).
  int64_t step_ = 0;
  std::map<int64_t, std::vector<int64_t>> pinned_;  // group id -> channels removed first
  bool stepped_ = false;
  bool pruned_ = false;
  // The groups of graph_ by a key that survives slicing (group_keys in the .cpp), and the dense
  // width (per block) of each key.
  std::map<const Group*, std::string> keys_;
  std::map<std::string, int64_t> original_sizes_;
  int64_t params_before_ = 0, macs_before_ = 0, params_after_ = 0, macs_after_ = 0;
  // Qualified tensor name -> (shape before, shape after, kept indices per shrunk axis).
  struct TensorChange {
    Shape before;
    Shape after;
    std::map<int64_t, std::vector<int64_t>> kept;
  };
  std::map<std::string, TensorChange> tensors_;
  nlohmann::json latency_report_;  // the current step's latency-aware choice, or null
  // The dense model's predicted latency, from the profile of the first latency-aware step.
  std::optional<double> dense_latency_ms_;
};

}  // namespace pare::pruning

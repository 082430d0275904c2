// The masked flow on dependency groups: the seed's prepare / train / step / prune, with a group's
// channels masked together in every layer that produces them. Masks let the network adapt to the
// channels going before they are really gone; prune() then removes them and keeps what the masked
// model computed wherever that is exact.
//
//   pare::ir::GraphModule gm = pare::ir::trace(net, {pare::randn({1, 3, 32, 32})});
//   pare::pruning::GroupSparsifier sparsifier(pare::pruning::GroupPrunerOptions()
//                                                 .importance(pare::pruning::Importance::l2())
//                                                 .ratio(0.5));
//   sparsifier.prepare(gm);      // an all-true FakeStructuredSparsity on every producing weight
//   train(gm);                   // gm.forward runs the masked model (the optimizer sees the same
//                                // parameters: parametrizations.weight.original)
//   sparsifier.step();           // chooses per group, writes the masks (call again to go further)
//   train(gm);
//   pare::ir::GraphModule& pruned = sparsifier.prune({x});   // gm, smaller
//   std::cout << sparsifier.report().dump(2);                // per group: "folded" true / false
//
// What is masked: the rows (axis 0) of every Conv2d and Linear weight whose output channels are
// in a prunable group (its roots, and the layers ignore() keeps from being roots: they are still
// members), with the bias behind a BiasHook as the seed does (prune_bias: a removed channel's bias
// is zeroed too). BatchNorm, activations and the consumers' input columns are not masked, so a
// removed channel carries a constant onwards: the producer's bias (0 with prune_bias) shifted by
// BatchNorm and mapped by the activation.
//
// prune(example_inputs) measures those constants (on the example inputs and on a seeded random
// input of the same shapes, the model in eval mode), squashes the masks and, per group, folds the
// constants into the bias of every layer that reads the group's channels when that is exact: the
// constant reached each reading layer unchanged at every position, each reader is a Linear or a
// Conv2d without padding and with groups = 1 (or the constant is 0), and the channels leave the
// group nowhere else (no graph output, no LayerNorm over them, no reduction over them; a matmul
// only when the constant is 0). Such a group is "folded": the pruned model computes what the masked
// one did. Any other group is sliced as GroupPruner slices (the masked model minus the removed
// channels' constants) and the report says why it was not folded. The choices are GroupPruner's
// (the same options), each step() keeping what earlier steps removed.
//
// LSTM-rooted groups are not masked here (their gates would need the seed's LSTM masks): prepare()
// refuses them, naming the layer; ignore() them or prune them with GroupPruner.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pare/ir/graph_module.h"
#include "pare/passes/pruning/group_pruner.h"
#include "pare/passes/pruning/structured.h"

namespace pare::pruning {

// Per group, after prune(): whether the removed channels' constants were folded, why not, and the
// layers whose bias took them.
struct GroupFold {
  bool folded = false;
  std::string reason;
  std::vector<std::string> folded_into;
};

class GroupSparsifier : public BaseStructuredSparsifier {
 public:
  explicit GroupSparsifier(GroupPrunerOptions options = {}, bool prune_bias = true);
  std::string name() const override { return "GroupSparsifier"; }

  // Analyses `graph_module`'s groups and masks every producing weight of every prunable group
  // (all rows kept). The graph module must outlive the sparsifier's prune().
  void prepare(ir::GraphModule& graph_module);
  // Chooses the channels of every group (GroupPruner's rules, the masked weights scored, channels
  // masked by earlier steps going first) and writes the masks. With iterative_steps(n) the first n
  // calls follow the schedule (ratio * k / n of each group by default); later calls choose again
  // at the full ratio. Does nothing when enable_mask_update is false.
  void step();
  // Not called directly: step() writes each tensor's mask from the group choice.
  void update_mask(const std::shared_ptr<nn::Module>& module, const std::string& tensor_name,
                   nlohmann::json& group) override;

  // Folds where exact, squashes the masks and slices every group (see the header comment);
  // step() first when it has not run. Returns the graph module given to prepare(), pruned.
  ir::GraphModule& prune(const std::vector<Tensor>& example_inputs);

  // GroupPruner's report with each group's "folded", "folded_into" and, when not folded,
  // "not_folded" (the reason).
  nlohmann::json report() const;
  const std::map<int64_t, GroupFold>& folds() const { return folds_; }
  // The pruner that analysed the graph (its groups and choices).
  const GroupPruner& pruner() const { return *pruner_; }

 private:
  GroupPrunerOptions options_;
  bool prune_bias_;
  ir::GraphModule* graph_module_ = nullptr;
  std::unique_ptr<GroupPruner> pruner_;
  // Masked weight (qualified name) -> its (group, member) pairs.
  std::map<std::string, std::vector<std::pair<const Group*, const GroupMember*>>> masked_;
  bool stepped_ = false;
  bool pruned_ = false;
  std::map<int64_t, GroupFold> folds_;
};

}  // namespace pare::pruning

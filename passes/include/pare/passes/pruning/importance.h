// How important each channel of a dependency group is: every member that a criterion reads scores
// its slice for each channel, the scores are reduced over those members, then normalised within
// the group. The lowest scores are pruned first; ties go to the lower index.
//
//   pare::pruning::DependencyGraph graph(gm);
//   const pare::pruning::Importance importance = pare::pruning::Importance::l2();
//   std::vector<double> scores = importance(gm, graph.groups()[0]);   // one per channel
//   auto bn = pare::pruning::Importance::bn_scale().normalizer(pare::pruning::Normalizer::none);
//
// Criteria (Torch-Pruning v1.6's, so that the same model and ratio keep the same channels):
//   l1 / l2   each Conv2d / Linear weight member scores sum |w|^p over its slice (axis 0: the
//             output rows, axis 1: the input columns over every other axis), each BatchNorm2d /
//             LayerNorm weight |gamma|^p; biases and running statistics do not count. A depthwise
//             conv (groups = in = out) does not score, as in Torch-Pruning, whose depthwise
//             handlers are not the conv handlers its magnitude criterion reads. A grouped conv's
//             channels are one member per block: a tensor's members add up (the blocks summed,
//             as Torch-Pruning does), its in-member's column scores counted once per group.
//   bn_scale  |gamma| of the BatchNorm2d / LayerNorm members only (network slimming).
//   fpgm      per root: the summed Euclidean distance of each output filter to the others
//             (filters near the geometric median are redundant and score low).
//   lamp      the l2 scores normalised by LAMP: score / (sum of the scores not below it).
//   random    uniform in [0, 1), seeded by the seed and the group's id; not normalised.
//   taylor    |sum over the slice of w * dL/dw| (first-order Taylor, Molchanov et al. 2019) for
//             the members l1 / l2 read, from the gradients the parameters hold: accumulate them
//             over calibration batches first (accumulate_gradients below, or your own backward).
// A member whose index map is not the identity scores all the positions a channel maps to
// (a flatten's block, a head's width) together.
// Reductions over the members that scored: mean (default), sum, max, prod, first (the first
// root's output rows only). Normalisers: mean (default), max, sum, standardization
// ((s - min) / (max - min + 1e-8)), none.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pare/ir/graph_module.h"
#include "pare/passes/pruning/dependency_graph.h"

namespace pare::pruning {

enum class GroupReduction { mean, sum, max, prod, first };
enum class Normalizer { mean, max, sum, standardization, none };

class Importance {
 public:
  enum class Criterion { magnitude, bn_scale, fpgm, lamp, random, taylor };

  static Importance l1();
  static Importance l2();
  static Importance bn_scale();
  static Importance fpgm();
  static Importance lamp();
  static Importance random(uint64_t seed = 0);
  static Importance taylor();
  // By name: "l1", "l2", "bn_scale", "fpgm", "lamp", "random", "taylor"; throws naming the known
  // ones.
  static Importance named(const std::string& name, uint64_t seed = 0);

  Importance& reduction(GroupReduction value) {
    reduction_ = value;
    return *this;
  }
  Importance& normalizer(Normalizer value) {
    normalizer_ = value;
    return *this;
  }

  // One normalised score per channel of `group` (group.size of them); empty when no member of the
  // group is one the criterion reads (the group is then left alone, as Torch-Pruning does).
  std::vector<double> operator()(const ir::GraphModule& graph_module, const Group& group) const;
  // The reduced scores before normalisation.
  std::vector<double> reduced(const ir::GraphModule& graph_module, const Group& group) const;

  Criterion criterion() const { return criterion_; }
  // "l2", "bn_scale", ...
  std::string name() const;

 private:
  Importance(Criterion criterion, double p) : criterion_(criterion), p_(p) {}

  Criterion criterion_;
  double p_;
  uint64_t seed_ = 0;
  GroupReduction reduction_ = GroupReduction::mean;
  Normalizer normalizer_ = Normalizer::mean;
};

// Runs `graph_module` on every batch and back-propagates `loss(output)`, so that the parameters'
// gradients are summed over the batches (what taylor reads). Gradients are zeroed first.
//   pare::pruning::accumulate_gradients(gm, batches, [&](const pare::Tensor& logits) {
//     return pare::cross_entropy(logits, labels);
//   });
void accumulate_gradients(ir::GraphModule& graph_module, const std::vector<Tensor>& batches,
                          const std::function<Tensor(const Tensor& output)>& loss);

// The order in which a group's channels go: lowest score first, ties to the lower index.
std::vector<int64_t> pruning_order(const std::vector<double>& scores);

}  // namespace pare::pruning

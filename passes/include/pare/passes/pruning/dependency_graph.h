// Dependency groups: which channels of a traced or loaded graph must be pruned together. Every
// tensor axis of the graph (a node's output along one axis) and every parameter axis a layer's
// rule names is a channel space; the op and layer definitions' channel rules
// (pare/ir/channel_rule.h) tie spaces together, and a group is the smallest set of
// (parameter or edge, axis, index map) that must lose the same channel indices. A concat makes
// one output axis the union of ranges that may belong to different groups: every space is cut
// into segments at the boundaries its links imply (to a fixpoint), and groups are found by
// union-find over the segments, in time linear in the graph for graphs without concats.
//
//   pare::ir::GraphModule gm = pare::ir::trace(net, {pare::randn({1, 3, 32, 32})});
//   pare::pruning::DependencyGraph graph(gm, {.ignored_layers = {"fc"}});
//   for (const pare::pruning::Group& group : graph.groups())
//     if (group.prunable) std::cout << group;      // members, size, roots
//   std::cout << graph.explain();                  // and why the other layers cannot be pruned
//
// A group is prunable when nothing blocks it and a root (a Conv2d or Linear, not ignored, whose
// output channels are in it, or an LSTM whose hidden units are) produces its channels. A grouped
// conv's in and out spaces are each `groups` blocks that lose the same indices: such a group's
// channel c is a member's index c of every block (one member per block, at its offset), and
// Group::blocks counts them. Graph inputs block; graph outputs block unless allow_output_change; an
// axis an op's rule does not state blocks, naming the op. The analysis reads the graph's shapes
// (the tracer's or a loaded file's placeholder meta) and changes nothing.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "pare/ir/graph_module.h"

namespace pare::pruning {

struct DependencyGraphOptions {
  // Let the graph's outputs change shape (their channels are then ordinary members).
  bool allow_output_change = false;
  // Module qualified names that are never roots; they stay members of the groups they are in.
  std::vector<std::string> ignored_layers;
};

// One (tensor, axis) of a group. Group channel c is this member's indices
// [offset + c * block, offset + (c + 1) * block) along `axis`.
struct GroupMember {
  enum class Kind { parameter, edge };
  Kind kind = Kind::parameter;
  // parameter: its qualified name ("layer1.0.bn2.weight"); edge: the node producing the tensor
  // ("relu_1"; "split[1]" for item 1 of a tuple result).
  std::string name;
  int64_t axis = 0;
  int64_t offset = 0;
  int64_t block = 1;
  bool operator==(const GroupMember&) const = default;
  // The indices along `axis` that group channels `channels` map to, in their order.
  std::vector<int64_t> positions(const std::vector<int64_t>& channels) const;
};

struct Group {
  int64_t id = 0;
  // The number of channels (units) that can go.
  int64_t size = 0;
  // Parameters and edges, in the order the graph reaches them.
  std::vector<GroupMember> members;
  // The Conv2d / Linear modules whose output channels are in the group, and the LSTMs whose hidden
  // units are, that are not ignored.
  std::vector<std::string> roots;
  // The elements of a root's output axis per channel of the group: 1, or a head's width where a
  // view splits the axis into heads.
  int64_t unit = 1;
  // How many blocks of the first root's output channels each channel of the group stands for: a
  // grouped conv's `groups` where the group holds its in or out space (channel c is index c of
  // every block, so every block keeps the same count), else 1.
  int64_t blocks = 1;
  bool prunable = false;
  // Why not, and the nodes from a root (or the group's first member) to what blocks it.
  std::string reason;
  std::vector<std::string> path;

  // The member `name` along `axis`, or nullptr.
  const GroupMember* member(const std::string& name, int64_t axis) const;
};

std::ostream& operator<<(std::ostream& stream, const Group& group);

// A Conv2d, Linear or LSTM whose output (hidden) channels cannot be pruned, and why.
struct NotPrunableLayer {
  std::string layer;
  std::string reason;
  std::vector<std::string> path;
};

class DependencyGraph {
 public:
  // Counts of the analysis, for tests of its cost.
  struct Stats {
    int64_t spaces = 0;
    int64_t links = 0;
    int64_t segments = 0;
    // Links taken from the refinement worklist: the number of links when no concat cuts a space.
    int64_t link_visits = 0;
  };

  explicit DependencyGraph(const ir::GraphModule& graph_module,
                           DependencyGraphOptions options = {});

  // The groups that tie at least one parameter to the graph's tensors, in the order the graph
  // reaches them.
  const std::vector<Group>& groups() const { return groups_; }
  // The groups holding parameter `name` along `axis` (several where a concat or split cuts it).
  std::vector<const Group*> groups_of(const std::string& name, int64_t axis) const;
  // Every Conv2d, Linear and LSTM called by the graph whose output (hidden) channels cannot be
  // pruned.
  const std::vector<NotPrunableLayer>& not_prunable() const { return not_prunable_; }
  // The groups, then every layer that cannot be pruned with the reason and the path.
  std::string explain() const;
  const Stats& stats() const { return stats_; }

 private:
  std::vector<Group> groups_;
  std::vector<NotPrunableLayer> not_prunable_;
  Stats stats_;
};

}  // namespace pare::pruning

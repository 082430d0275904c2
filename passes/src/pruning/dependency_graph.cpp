// DependencyGraph: channel spaces from the graph's symbols, links from the definitions' channel
// rules, segments refined to a fixpoint across the links, then union-find over the segments.
// Everything is planned from the graph and nothing in it changes.
#include "pare/passes/pruning/dependency_graph.h"

#include <algorithm>
#include <deque>
#include <map>
#include <numeric>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "pare/error.h"
#include "pare/ir/channel_rule.h"
#include "pare/ir/layer_definition.h"
#include "pare/ir/op_definition.h"
#include "pare/ir/shape_inference.h"
#include "pare/nn/module_kind.h"

namespace pare::pruning {

std::vector<int64_t> GroupMember::positions(const std::vector<int64_t>& channels) const {
  std::vector<int64_t> result;
  result.reserve(channels.size() * static_cast<size_t>(block));
  for (int64_t c : channels)
    for (int64_t r = 0; r < block; ++r) result.push_back(offset + c * block + r);
  return result;
}

const GroupMember* Group::member(const std::string& name, int64_t axis) const {
  for (const GroupMember& candidate : members)
    if (candidate.name == name && candidate.axis == axis) return &candidate;
  return nullptr;
}

std::ostream& operator<<(std::ostream& stream, const Group& group) {
  stream << "group " << group.id << ": " << group.size << (group.unit == 1 ? " channels" : " units")
         << (group.unit == 1 ? "" : str_cat(" of ", group.unit, " channels"))
         << (group.blocks == 1 ? "" : str_cat(" in each of ", group.blocks, " blocks"));
  if (!group.roots.empty()) {
    stream << ", roots";
    for (const std::string& root : group.roots) stream << " " << root;
  }
  if (group.prunable) {
    stream << ", prunable\n";
  } else {
    stream << ", not prunable: " << group.reason;
    if (!group.path.empty()) {
      stream << " (path";
      for (size_t i = 0; i < group.path.size(); ++i) stream << (i ? " -> " : " ") << group.path[i];
      stream << ")";
    }
    stream << "\n";
  }
  for (const GroupMember& member : group.members) {
    stream << "  " << (member.kind == GroupMember::Kind::parameter ? "" : "edge ") << member.name
           << " axis " << member.axis;
    if (member.offset != 0) stream << " offset " << member.offset;
    if (member.block != 1) stream << " block " << member.block;
    stream << "\n";
  }
  return stream;
}

namespace {

constexpr int64_t kNoNode = -1;

struct Block {
  std::string reason;
  int64_t node = kNoNode;  // the node whose rule (or role) blocks the space
};

// One axis of one tensor: a node's output (an edge) or a parameter.
struct Space {
  GroupMember::Kind kind = GroupMember::Kind::edge;
  std::string name;
  int64_t axis = 0;
  int64_t size = 0;
  // Segment boundaries, sorted, always holding 0 and size.
  std::vector<int64_t> cuts;
  std::vector<int64_t> links;
  std::optional<Block> block;
  // One block of a repeated axis (ChannelRule::repeat): it ties the blocks together and is no
  // member of any group.
  bool internal = false;
};

struct Link {
  int64_t narrow;
  int64_t wide;
  ir::AxisMap map;
  int64_t node;
};

// Union-find with path halving and union by size.
class DisjointSets {
 public:
  explicit DisjointSets(size_t count) : parent_(count), size_(count, 1) {
    std::iota(parent_.begin(), parent_.end(), 0);
  }
  int64_t find(int64_t x) {
    while (parent_[x] != x) {
      parent_[x] = parent_[parent_[x]];
      x = parent_[x];
    }
    return x;
  }
  void unite(int64_t a, int64_t b) {
    a = find(a);
    b = find(b);
    if (a == b) return;
    if (size_[a] < size_[b]) std::swap(a, b);
    parent_[b] = a;
    size_[a] += size_[b];
  }

 private:
  std::vector<int64_t> parent_;
  std::vector<int64_t> size_;
};

bool is_root_kind(nn::ModuleKind kind) {
  return kind == nn::ModuleKind::conv2d || kind == nn::ModuleKind::linear ||
         kind == nn::ModuleKind::lstm;
}

// The parameter axis that holds a root's output channels: weight dim 0, or an LSTM's hidden units
// (weight_hh_l0's columns, which its channel rule ties to every layer's gates).
std::pair<std::string, int64_t> root_axis(nn::ModuleKind kind, const std::string& target) {
  if (kind == nn::ModuleKind::lstm) return {target + ".weight_hh_l0", 1};
  return {target + ".weight", 0};
}

// The analysis, step by step; DependencyGraph keeps only its results.
class Analysis {
 public:
  Analysis(const ir::GraphModule& graph_module, DependencyGraphOptions options)
      : gm_(graph_module), options_(std::move(options)), nodes_(gm_.graph().nodes()) {}

  void run(std::vector<Group>& groups, std::vector<NotPrunableLayer>& not_prunable,
           DependencyGraph::Stats& stats) {
    compute_symbols();
    for (size_t i = 0; i < nodes_.size(); ++i) apply_node(static_cast<int64_t>(i));
    refine();
    build_segments();
    collect_groups(groups);
    collect_not_prunable(groups, not_prunable);
    stats.spaces = static_cast<int64_t>(spaces_.size());
    stats.links = static_cast<int64_t>(links_.size());
    stats.segments = static_cast<int64_t>(segment_space_.size());
    stats.link_visits = link_visits_;
  }

 private:
  // ---- Symbols and values ----

  void compute_symbols() {
    std::vector<ir::TensorMeta> inputs;
    for (const ir::Node* placeholder : gm_.graph().placeholders()) {
      PARE_CHECK(placeholder->meta.size() == 1, "DependencyGraph: input '", placeholder->name(),
                 "' has no recorded shape; trace the model or run infer_shapes first");
      inputs.push_back(placeholder->meta[0]);
    }
    // A node no rule can infer (a user's module) keeps the shapes the tracer recorded.
    auto recorded = [](const ir::Node& node, const std::vector<ir::Symbol>&) {
      PARE_CHECK(node.meta.size() == 1 && !node.produces_tuple, "DependencyGraph: node '",
                 node.name(), "' (", node.target(),
                 ") has no shape rule and no recorded single-tensor shape");
      return ir::Symbol::of(node.meta[0].shape, node.meta[0].dtype);
    };
    symbols_ = ir::infer_symbols(gm_, inputs, recorded);
    for (size_t i = 0; i < nodes_.size(); ++i) index_[nodes_[i]] = static_cast<int64_t>(i);
    edge_spaces_.resize(nodes_.size());
  }

  const ir::Symbol& symbol_of(const ir::Node* node) const { return symbols_[index_.at(node)]; }

  // The space of axis `axis` of the tensor `node` produces (item `item` of its tuple, or -1),
  // created on first use; a get_attr node's tensor is the parameter it names.
  int64_t edge_space(const ir::Node* node, int64_t item, int64_t axis, const std::string& what) {
    const ir::Symbol& whole = symbol_of(node);
    const ir::Symbol* symbol = &whole;
    if (item >= 0) {
      PARE_CHECK(whole.is_tuple() && item < static_cast<int64_t>(whole.items.size()), what,
                 ": item ", item, " of node '", node->name(), "', which produces ",
                 whole.describe());
      symbol = &whole.items[item];
    }
    PARE_CHECK(symbol->is_tensor(), what, ": node '", node->name(), "' produces ",
               symbol->describe(), ", not a tensor");
    const Shape& shape = symbol->meta.shape;
    PARE_CHECK(axis >= 0 && axis < static_cast<int64_t>(shape.size()), what, ": axis ", axis,
               " is out of range for the tensor of shape ", shape, " that '", node->name(),
               "' produces");
    if (node->op() == ir::OpKind::get_attr) return parameter_space(node->target(), shape, axis);
    auto& by_key = edge_spaces_[index_.at(node)];
    const auto key = std::make_pair(item, axis);
    auto found = by_key.find(key);
    if (found != by_key.end()) return found->second;
    const std::string name = item >= 0 ? str_cat(node->name(), "[", item, "]") : node->name();
    const int64_t id = new_space(GroupMember::Kind::edge, name, axis, shape[axis]);
    by_key.emplace(key, id);
    return id;
  }

  int64_t parameter_space(const std::string& qualified, const Shape& shape, int64_t axis) {
    const auto key = std::make_pair(qualified, axis);
    auto found = parameter_spaces_.find(key);
    if (found != parameter_spaces_.end()) return found->second;
    const int64_t id = new_space(GroupMember::Kind::parameter, qualified, axis, shape[axis]);
    parameter_spaces_.emplace(key, id);
    return id;
  }

  int64_t new_space(GroupMember::Kind kind, const std::string& name, int64_t axis, int64_t size) {
    Space space;
    space.kind = kind;
    space.name = name;
    space.axis = axis;
    space.size = size;
    space.cuts = {0, size};
    spaces_.push_back(std::move(space));
    return static_cast<int64_t>(spaces_.size()) - 1;
  }

  void block(int64_t space, std::string reason, int64_t node) {
    if (!spaces_[space].block) spaces_[space].block = Block{std::move(reason), node};
  }

  // ---- The rules ----

  // The tensors a node reads, as its rule names them, with the node and tuple item behind each.
  struct TensorInput {
    ir::ChannelTensor tensor;
    const ir::Node* producer;
    int64_t item;
  };

  std::vector<TensorInput> tensor_inputs(const ir::Node& node) const {
    std::vector<TensorInput> inputs;
    const std::vector<ir::Argument>& args = node.args();
    for (size_t i = 0; i < args.size(); ++i) {
      const int64_t index = static_cast<int64_t>(i);
      if (args[i].is_node()) {
        const ir::Node* producer = args[i].to_node();
        const ir::Symbol& symbol = symbol_of(producer);
        if (symbol.is_tensor()) {
          inputs.push_back({ir::ChannelTensor::input(index), producer, -1});
        } else {
          for (size_t k = 0; k < symbol.items.size(); ++k) {
            if (!symbol.items[k].is_tensor()) continue;
            const int64_t item = static_cast<int64_t>(k);
            inputs.push_back({ir::ChannelTensor::input(index, item), producer, item});
          }
        }
      } else if (args[i].is_list()) {
        const ir::Argument::List& list = args[i].to_list();
        for (size_t k = 0; k < list.size(); ++k) {
          if (!list[k].is_node() || !symbol_of(list[k].to_node()).is_tensor()) continue;
          inputs.push_back(
              {ir::ChannelTensor::input(index, static_cast<int64_t>(k)), list[k].to_node(), -1});
        }
      }
    }
    return inputs;
  }

  // The tensors a node produces: itself, or the tensor items of its tuple.
  std::vector<ir::ChannelTensor> tensor_outputs(const ir::Node& node) const {
    const ir::Symbol& symbol = symbol_of(&node);
    if (symbol.is_tensor()) return {ir::ChannelTensor::output()};
    std::vector<ir::ChannelTensor> outputs;
    for (size_t k = 0; k < symbol.items.size(); ++k)
      if (symbol.items[k].is_tensor())
        outputs.push_back(ir::ChannelTensor::output(static_cast<int64_t>(k)));
    return outputs;
  }

  std::string label(const ir::Node& node) const {
    std::string text = str_cat("node '", node.name(), "' (", node.target());
    if (node.op() == ir::OpKind::call_module) text += ": " + gm_.module(node.target())->type_name();
    return text + ")";
  }

  // The space a rule's axis names.
  int64_t resolve(const ir::Node& node, const ir::ChannelAxis& axis) {
    const std::string what = str_cat(label(node), ", channel rule's ", axis);
    const ir::ChannelTensor& tensor = axis.tensor;
    switch (tensor.kind) {
      case ir::ChannelTensor::Kind::output:
        return edge_space(&node, tensor.item, axis.axis, what);
      case ir::ChannelTensor::Kind::parameter: {
        const std::string qualified = str_cat(node.target(), ".", tensor.name);
        const Tensor value = gm_.attribute(qualified);
        PARE_CHECK(axis.axis >= 0 && axis.axis < value.dim(), what, ": ", qualified, " has shape ",
                   value.sizes());
        return parameter_space(qualified, value.sizes(), axis.axis);
      }
      case ir::ChannelTensor::Kind::input:
        break;
    }
    const std::vector<ir::Argument>& args = node.args();
    PARE_CHECK(tensor.index >= 0 && tensor.index < static_cast<int64_t>(args.size()), what,
               ": the node has ", args.size(), " arguments");
    const ir::Argument& argument = args[tensor.index];
    if (argument.is_list()) {
      const ir::Argument::List& list = argument.to_list();
      PARE_CHECK(tensor.item >= 0 && tensor.item < static_cast<int64_t>(list.size()) &&
                     list[tensor.item].is_node(),
                 what, ": no tensor at that item of the list");
      return edge_space(list[tensor.item].to_node(), -1, axis.axis, what);
    }
    PARE_CHECK(argument.is_node(), what, ": the argument is not a tensor");
    return edge_space(argument.to_node(), tensor.item, axis.axis, what);
  }

  ir::ChannelRule rule_of(const ir::Node& node, bool& has_rule) {
    std::vector<ir::Symbol> args;
    for (const ir::Argument& argument : node.args()) args.push_back(gather(argument));
    const ir::Symbol& output = symbol_of(&node);
    has_rule = false;
    if (node.op() == ir::OpKind::call_function) {
      const ir::OpDefinition* definition = ir::find_op_definition(node.target());
      if (definition == nullptr || definition->channel_rule == nullptr) return {};
      has_rule = true;
      const ir::OpCall call(*definition, node, &args);
      return definition->channel_rule(call, output);
    }
    const std::shared_ptr<nn::Module> module = gm_.module(node.target());
    const ir::LayerDefinition* definition = ir::find_layer_definition(module->kind());
    if (definition == nullptr || definition->channel_rule == nullptr) return {};
    has_rule = true;
    return definition->channel_rule(*module, args, output);
  }

  ir::Symbol gather(const ir::Argument& argument) const {
    if (argument.is_node()) return symbol_of(argument.to_node());
    if (argument.is_list()) {
      std::vector<ir::Symbol> items;
      for (const ir::Argument& item : argument.to_list()) items.push_back(gather(item));
      return ir::Symbol::tuple(std::move(items));
    }
    return ir::Symbol();
  }

  void block_all(const ir::Node& producer, int64_t item, const std::string& reason, int64_t node,
                 const std::string& what) {
    const ir::Symbol& whole = symbol_of(&producer);
    const ir::Symbol& symbol = item >= 0 ? whole.items[item] : whole;
    if (!symbol.is_tensor()) {
      for (size_t k = 0; k < symbol.items.size() && item < 0; ++k)
        block_all(producer, static_cast<int64_t>(k), reason, node, what);
      return;
    }
    for (size_t axis = 0; axis < symbol.meta.shape.size(); ++axis)
      block(edge_space(&producer, item, static_cast<int64_t>(axis), what), reason, node);
  }

  void apply_node(int64_t index) {
    const ir::Node& node = *nodes_[index];
    switch (node.op()) {
      case ir::OpKind::placeholder:
        block_all(node, -1, str_cat("graph input '", node.name(), "': its shape is fixed"), index,
                  label(node));
        return;
      case ir::OpKind::get_attr:
        return;
      case ir::OpKind::output:
        if (options_.allow_output_change) return;
        for (const ir::Argument& argument : node.args()) {
          argument.for_each_node([&](ir::Node* producer) {
            block_all(*producer, -1,
                      str_cat("its output is the graph output '", node.name(),
                              "' (allow the output to change to prune it)"),
                      index, "graph output");
          });
        }
        return;
      case ir::OpKind::call_module:
      case ir::OpKind::call_function:
        break;
    }
    bool has_rule = false;
    ir::ChannelRule rule;
    try {
      rule = rule_of(node, has_rule);
    } catch (const std::exception& error) {
      throw Error(str_cat("DependencyGraph: ", label(node), ": ", error.what()));
    }
    for (const ir::AxisLink& link : rule.links) {
      const int64_t narrow = resolve(node, link.narrow);
      const int64_t wide = resolve(node, link.wide);
      const Space& a = spaces_[narrow];
      const Space& b = spaces_[wide];
      PARE_CHECK(link.map.block >= 1 && link.map.offset >= 0 &&
                     link.map.offset + a.size * link.map.block <= b.size,
                 "DependencyGraph: ", label(node), ": channel rule maps ", link.narrow, " (size ",
                 a.size, ") into ", link.wide, " (size ", b.size, ") at offset ", link.map.offset,
                 " block ", link.map.block, ", past its end");
      add_link(narrow, wide, link.map, index);
    }
    for (const ir::AxisRepeat& repeat : rule.repeats) {
      const int64_t space = resolve(node, repeat.axis);
      const int64_t size = spaces_[space].size;
      PARE_CHECK(repeat.count >= 1 && size % repeat.count == 0, "DependencyGraph: ", label(node),
                 ": channel rule repeats ", repeat.axis, " (size ", size, ") in ", repeat.count,
                 " blocks, which do not divide it");
      if (repeat.count == 1) continue;
      // An internal space of one block's width maps into every block, so that index j of each
      // block lands in the same segment set.
      const int64_t width = size / repeat.count;
      const int64_t one_block =
          new_space(GroupMember::Kind::edge, spaces_[space].name, spaces_[space].axis, width);
      spaces_[one_block].internal = true;
      for (int64_t b = 0; b < repeat.count; ++b)
        add_link(one_block, space, {.offset = b * width, .block = 1}, index);
    }
    for (const ir::AxisStop& stop : rule.stops) {
      const int64_t space = resolve(node, stop.axis);
      if (stop.kind == ir::AxisStop::Kind::blocks) block(space, stop.reason, index);
    }
    // Every axis the rule leaves unstated blocks.
    const std::string missing =
        has_rule ? str_cat(label(node), ": its channel rule does not state ")
                 : str_cat(label(node), ": no channel rule for ", node.target(), "; ");
    for (const TensorInput& input : tensor_inputs(node)) {
      const ir::Symbol& whole = symbol_of(input.producer);
      const ir::Symbol& symbol = input.item >= 0 ? whole.items[input.item] : whole;
      for (size_t axis = 0; axis < symbol.meta.shape.size(); ++axis) {
        const ir::ChannelAxis stated{input.tensor, static_cast<int64_t>(axis)};
        if (rule.states(stated)) continue;
        block(edge_space(input.producer, input.item, stated.axis, label(node)),
              str_cat(missing, stated), index);
      }
    }
    const ir::Symbol& produced = symbol_of(&node);
    for (const ir::ChannelTensor& output : tensor_outputs(node)) {
      const ir::Symbol& symbol = output.item >= 0 ? produced.items[output.item] : produced;
      for (size_t axis = 0; axis < symbol.meta.shape.size(); ++axis) {
        const ir::ChannelAxis stated{output, static_cast<int64_t>(axis)};
        if (rule.states(stated)) continue;
        block(edge_space(&node, output.item, stated.axis, label(node)), str_cat(missing, stated),
              index);
      }
    }
  }

  void add_link(int64_t narrow, int64_t wide, ir::AxisMap map, int64_t node) {
    links_.push_back({narrow, wide, map, node});
    const int64_t id = static_cast<int64_t>(links_.size()) - 1;
    spaces_[narrow].links.push_back(id);
    if (wide != narrow) spaces_[wide].links.push_back(id);
  }

  // ---- Segments ----

  // Adds a boundary; true when it is new.
  static bool add_cut(Space& space, int64_t cut) {
    auto at = std::lower_bound(space.cuts.begin(), space.cuts.end(), cut);
    if (at != space.cuts.end() && *at == cut) return false;
    space.cuts.insert(at, cut);
    return true;
  }

  // Carries every boundary across every link until none is new: a concat's ranges cut the
  // spaces of its inputs' producers and consumers as far as they reach.
  void refine() {
    std::deque<int64_t> work;
    std::vector<bool> queued(links_.size(), true);
    for (size_t i = 0; i < links_.size(); ++i) work.push_back(static_cast<int64_t>(i));
    auto requeue = [&](int64_t space, int64_t except) {
      for (int64_t id : spaces_[space].links) {
        if (id == except || queued[id]) continue;
        queued[id] = true;
        work.push_back(id);
      }
    };
    while (!work.empty()) {
      const int64_t id = work.front();
      work.pop_front();
      queued[id] = false;
      ++link_visits_;
      const Link& link = links_[id];
      Space& narrow = spaces_[link.narrow];
      Space& wide = spaces_[link.wide];
      const int64_t offset = link.map.offset;
      const int64_t step = link.map.block;
      bool wide_changed = add_cut(wide, offset) | add_cut(wide, offset + narrow.size * step);
      for (int64_t cut : std::vector<int64_t>(narrow.cuts))
        wide_changed |= add_cut(wide, offset + cut * step);
      bool narrow_changed = false;
      for (int64_t cut : std::vector<int64_t>(wide.cuts)) {
        if (cut <= offset || cut >= offset + narrow.size * step) continue;
        if ((cut - offset) % step != 0) {
          // A range boundary inside one channel's block: part of a channel would go.
          block(link.narrow,
                str_cat("a range boundary falls inside the block of ", step,
                        " elements that one index of it maps to"),
                link.node);
          continue;
        }
        narrow_changed |= add_cut(narrow, (cut - offset) / step);
      }
      if (wide_changed) requeue(link.wide, id);
      if (narrow_changed) requeue(link.narrow, id);
    }
  }

  int64_t segment_at(int64_t space, int64_t start) const {
    const std::vector<int64_t>& cuts = spaces_[space].cuts;
    const auto at = std::lower_bound(cuts.begin(), cuts.end(), start);
    return segment_base_[space] + (at - cuts.begin());
  }

  void build_segments() {
    for (size_t s = 0; s < spaces_.size(); ++s) {
      segment_base_.push_back(static_cast<int64_t>(segment_space_.size()));
      const std::vector<int64_t>& cuts = spaces_[s].cuts;
      for (size_t k = 0; k + 1 < cuts.size(); ++k) {
        segment_space_.push_back(static_cast<int64_t>(s));
        segment_start_.push_back(cuts[k]);
        segment_length_.push_back(cuts[k + 1] - cuts[k]);
      }
    }
    sets_.emplace(segment_space_.size());
    adjacency_.resize(segment_space_.size());
    for (const Link& link : links_) {
      const std::vector<int64_t>& cuts = spaces_[link.narrow].cuts;
      for (size_t k = 0; k + 1 < cuts.size(); ++k) {
        const int64_t a = segment_base_[link.narrow] + static_cast<int64_t>(k);
        const int64_t b = segment_at(link.wide, link.map.offset + cuts[k] * link.map.block);
        sets_->unite(a, b);
        adjacency_[a].push_back({b, link.node});
        adjacency_[b].push_back({a, link.node});
      }
    }
  }

  // ---- Groups ----

  // The nearest blocked segment from `start` over the links (breadth first), with the nodes on
  // the way; nullopt when nothing blocks.
  std::optional<std::pair<Block, std::vector<std::string>>> nearest_block(int64_t start) const {
    std::unordered_map<int64_t, std::pair<int64_t, int64_t>> came_from;  // segment -> (from, node)
    std::deque<int64_t> queue{start};
    came_from[start] = {-1, kNoNode};
    while (!queue.empty()) {
      const int64_t segment = queue.front();
      queue.pop_front();
      const Space& space = spaces_[segment_space_[segment]];
      if (space.block) {
        std::vector<int64_t> nodes{space.block->node};
        for (int64_t at = segment; came_from.at(at).first >= 0; at = came_from.at(at).first)
          nodes.push_back(came_from.at(at).second);
        std::vector<std::string> path;
        for (auto it = nodes.rbegin(); it != nodes.rend(); ++it)
          if (*it != kNoNode && (path.empty() || path.back() != nodes_[*it]->name()))
            path.push_back(nodes_[*it]->name());
        return std::make_pair(*space.block, path);
      }
      for (const auto& [next, node] : adjacency_[segment]) {
        if (came_from.count(next)) continue;
        came_from[next] = {segment, node};
        queue.push_back(next);
      }
    }
    return std::nullopt;
  }

  void collect_groups(std::vector<Group>& groups) {
    std::unordered_map<int64_t, std::vector<int64_t>> by_set;
    std::vector<int64_t> order;
    for (size_t segment = 0; segment < segment_space_.size(); ++segment) {
      const int64_t set = sets_->find(static_cast<int64_t>(segment));
      auto [at, inserted] = by_set.try_emplace(set);
      if (inserted) order.push_back(set);
      at->second.push_back(static_cast<int64_t>(segment));
    }
    // Roots: the output channels of every Conv2d and Linear the graph calls (weight dim 0).
    std::unordered_set<std::string> ignored(options_.ignored_layers.begin(),
                                            options_.ignored_layers.end());
    std::unordered_map<int64_t, std::vector<std::string>> roots_by_set;
    std::unordered_map<int64_t, int64_t> root_segment_by_set;
    for (const ir::Node* node : nodes_) {
      if (node->op() != ir::OpKind::call_module) continue;
      const nn::ModuleKind kind = gm_.module(node->target())->kind();
      if (!is_root_kind(kind) || ignored.count(node->target())) continue;
      auto found = parameter_spaces_.find(root_axis(kind, node->target()));
      if (found == parameter_spaces_.end()) continue;
      const std::vector<int64_t>& cuts = spaces_[found->second].cuts;
      for (size_t k = 0; k + 1 < cuts.size(); ++k) {
        const int64_t segment = segment_base_[found->second] + static_cast<int64_t>(k);
        std::vector<std::string>& roots = roots_by_set[sets_->find(segment)];
        if (std::find(roots.begin(), roots.end(), node->target()) != roots.end()) continue;
        roots.push_back(node->target());
        root_segment_by_set.try_emplace(sets_->find(segment), segment);
      }
    }
    for (int64_t set : order) {
      const std::vector<int64_t>& segments = by_set[set];
      // Only groups that tie parameters to the graph's tensors: a kernel's window axes, a
      // broadcast slope, are parameters alone.
      bool has_parameter = false;
      bool has_edge = false;
      int64_t unit = segment_length_[segments[0]];
      for (int64_t segment : segments) {
        if (spaces_[segment_space_[segment]].internal) continue;
        const bool parameter =
            spaces_[segment_space_[segment]].kind == GroupMember::Kind::parameter;
        has_parameter |= parameter;
        has_edge |= !parameter;
        unit = std::min(unit, segment_length_[segment]);
      }
      if (!has_parameter || !has_edge || unit == 0) continue;
      Group group;
      group.id = static_cast<int64_t>(groups.size());
      group.size = unit;
      bool granular = true;
      int64_t first_parameter = -1;
      for (int64_t segment : segments) {
        const Space& space = spaces_[segment_space_[segment]];
        granular &= segment_length_[segment] % unit == 0;
        if (space.internal) continue;
        if (first_parameter < 0 && space.kind == GroupMember::Kind::parameter)
          first_parameter = segment;
        group.members.push_back({space.kind, space.name, space.axis, segment_start_[segment],
                                 segment_length_[segment] / unit});
      }
      auto roots = roots_by_set.find(set);
      if (roots != roots_by_set.end()) group.roots = roots->second;
      const int64_t start =
          roots != roots_by_set.end() ? root_segment_by_set.at(set) : first_parameter;
      if (roots != roots_by_set.end()) {
        group.unit = segment_length_[start] / unit;
        const auto [weight, axis] =
            root_axis(gm_.module(group.roots.front())->kind(), group.roots.front());
        group.blocks = std::count_if(group.members.begin(), group.members.end(),
                                     [&](const GroupMember& member) {
                                       return member.name == weight && member.axis == axis;
                                     });
      }
      const auto blocked = nearest_block(start);
      if (!granular) {
        group.reason = "its members split channels into blocks that do not line up";
      } else if (blocked) {
        group.reason = blocked->first.reason;
        group.path = blocked->second;
      } else if (group.roots.empty()) {
        group.reason = "no Conv2d or Linear (not ignored) produces these channels";
      } else {
        group.prunable = true;
      }
      groups.push_back(std::move(group));
    }
  }

  void collect_not_prunable(const std::vector<Group>& groups,
                            std::vector<NotPrunableLayer>& not_prunable) {
    std::unordered_set<std::string> seen;
    for (const ir::Node* node : nodes_) {
      if (node->op() != ir::OpKind::call_module) continue;
      if (!is_root_kind(gm_.module(node->target())->kind()) || !seen.insert(node->target()).second)
        continue;
      if (std::find(options_.ignored_layers.begin(), options_.ignored_layers.end(),
                    node->target()) != options_.ignored_layers.end()) {
        not_prunable.push_back({node->target(), "ignored", {node->target()}});
        continue;
      }
      const auto [weight, axis] = root_axis(gm_.module(node->target())->kind(), node->target());
      for (const Group& group : groups) {
        if (group.prunable || group.member(weight, axis) == nullptr) continue;
        not_prunable.push_back({node->target(), group.reason, group.path});
        break;
      }
    }
  }

  const ir::GraphModule& gm_;
  DependencyGraphOptions options_;
  std::vector<ir::Node*> nodes_;
  std::vector<ir::Symbol> symbols_;
  std::unordered_map<const ir::Node*, int64_t> index_;

  std::vector<Space> spaces_;
  std::vector<Link> links_;
  std::vector<std::map<std::pair<int64_t, int64_t>, int64_t>> edge_spaces_;
  std::map<std::pair<std::string, int64_t>, int64_t> parameter_spaces_;
  int64_t link_visits_ = 0;

  std::vector<int64_t> segment_base_;
  std::vector<int64_t> segment_space_;
  std::vector<int64_t> segment_start_;
  std::vector<int64_t> segment_length_;
  std::optional<DisjointSets> sets_;
  std::vector<std::vector<std::pair<int64_t, int64_t>>> adjacency_;  // (segment, node)
};

}  // namespace

DependencyGraph::DependencyGraph(const ir::GraphModule& graph_module,
                                 DependencyGraphOptions options) {
  Analysis(graph_module, std::move(options)).run(groups_, not_prunable_, stats_);
}

std::vector<const Group*> DependencyGraph::groups_of(const std::string& name, int64_t axis) const {
  std::vector<const Group*> found;
  for (const Group& group : groups_)
    if (group.member(name, axis) != nullptr) found.push_back(&group);
  return found;
}

std::string DependencyGraph::explain() const {
  std::ostringstream text;
  for (const Group& group : groups_) text << group;
  if (!not_prunable_.empty()) text << "not prunable:\n";
  for (const NotPrunableLayer& layer : not_prunable_) {
    text << "  " << layer.layer << ": " << layer.reason;
    if (!layer.path.empty()) {
      text << " (path";
      for (size_t i = 0; i < layer.path.size(); ++i) text << (i ? " -> " : " ") << layer.path[i];
      text << ")";
    }
    text << "\n";
  }
  return text.str();
}

}  // namespace pare::pruning

// What a latency profile measures (pare/passes/latency/profile_plan.h): groups, their candidate
// widths, and each layer's sides and input shape.
#include "pare/passes/latency/profile_plan.h"

#include <map>
#include <optional>

#include "pare/error.h"
#include "pare/ir/shape_inference.h"
#include "pare/nn/conv.h"
#include "pare/nn/lstm.h"
#include "pare/passes/latency/candidate_widths.h"
#include "pare/passes/pruning/dependency_graph.h"

namespace pare::latency {

namespace {

using pruning::DependencyGraph;
using pruning::Group;
using pruning::GroupMember;

// A group the profile gives candidate widths: one whose channel is one channel of every member
// (no grouped conv's blocks, no heads), produced by a layer.
bool profiled(const Group& group) {
  return group.prunable && group.blocks == 1 && group.unit == 1 && !group.roots.empty();
}

struct Side {
  std::string key;    // "" for a fixed side
  int64_t scale = 1;  // the layer's channels per group channel
};

// The group `parameter`'s `axis` (of `axis_size` channels) follows, when it is exactly one
// profiled group's channels; else a fixed side.
Side side_of(const DependencyGraph& graph, const std::string& parameter, int64_t axis,
             int64_t axis_size) {
  const std::vector<const Group*> groups = graph.groups_of(parameter, axis);
  if (groups.size() != 1 || !profiled(*groups.front())) return {};
  const Group& group = *groups.front();
  const GroupMember* member = group.member(parameter, axis);
  if (member == nullptr || member->offset != 0 || member->block * group.size != axis_size)
    return {};
  return {group.roots.front(), member->block};
}

// The recorded input shapes with the leading (batch) dimension replaced, as `pare bench` does.
std::vector<ir::TensorMeta> inputs_at_batch(const ir::GraphModule& graph_module, int64_t batch) {
  std::vector<ir::TensorMeta> inputs;
  for (const ir::Node* placeholder : graph_module.graph().placeholders()) {
    PARE_CHECK(!placeholder->meta.empty() && !placeholder->meta.front().shape.empty(),
               "latency profile: graph input '", placeholder->name(),
               "' has no recorded shape with a batch dimension; trace or save the model with an "
               "example input");
    ir::TensorMeta meta = placeholder->meta.front();
    meta.shape[0] = batch;
    inputs.push_back(meta);
  }
  return inputs;
}

// Sets a side's group key, widths and scale: the profiled group's candidates, or the layer's own
// channel count alone where the side is fixed.
void set_side(const Side& side, int64_t channels, const std::map<std::string, GroupWidths>& groups,
              std::string& key, std::vector<int64_t>& widths, int64_t& scale) {
  auto group = groups.find(side.key);
  if (side.key.empty() || group == groups.end()) {
    key.clear();
    widths = {channels};
    scale = 1;
    return;
  }
  key = side.key;
  widths = group->second.candidates;
  scale = side.scale;
}

}  // namespace

ProfilePlan plan_profile(const ir::GraphModule& graph_module, const ProfileOptions& options,
                         int64_t channel_block) {
  PARE_CHECK(options.batch >= 1, "latency profile: batch must be at least 1, got ", options.batch);
  const DependencyGraph graph(graph_module, {.ignored_layers = options.ignored_layers});

  ProfilePlan plan;
  std::map<std::string, GroupWidths> by_key;
  for (const Group& group : graph.groups()) {
    if (!profiled(group)) continue;
    GroupWidths widths;
    widths.key = group.roots.front();
    widths.roots = group.roots;
    widths.size = group.size;
    widths.candidates = options.present_widths_only
                            ? std::vector<int64_t>{group.size}
                            : candidate_widths({.size = group.size,
                                                .channel_block = channel_block,
                                                .round_to = options.round_to,
                                                .max_ratio = options.max_ratio});
    by_key[widths.key] = widths;
    plan.groups.push_back(std::move(widths));
  }

  const std::vector<ir::Symbol> symbols =
      ir::infer_symbols(graph_module, inputs_at_batch(graph_module, options.batch));
  const std::vector<ir::Node*> nodes = graph_module.graph().nodes();
  std::map<const ir::Node*, size_t> position;
  for (size_t i = 0; i < nodes.size(); ++i) position[nodes[i]] = i;

  for (const ir::Node* node : nodes) {
    if (node->op() != ir::OpKind::call_module) continue;
    const std::shared_ptr<nn::Module> module = graph_module.module(node->target());
    const nn::ModuleKind kind = module->kind();
    if (kind != nn::ModuleKind::conv2d && kind != nn::ModuleKind::linear &&
        kind != nn::ModuleKind::lstm)
      continue;
    PARE_CHECK(!node->args().empty() && node->args().front().is_node(), "latency profile: node '",
               node->name(), "' calls '", node->target(), "' without an input tensor");
    const ir::Symbol& input = symbols.at(position.at(node->args().front().to_node()));
    PARE_CHECK(input.is_tensor(), "latency profile: node '", node->name(), "' calls '",
               node->target(), "' on ", input.describe(), ", not one tensor");

    PlannedLayer layer;
    layer.node = node->name();
    layer.input = input.meta;
    layer.reads_graph_input = node->args().front().to_node()->op() == ir::OpKind::placeholder;
    LayerLatency& table = layer.table;
    table.layer = node->target();
    const std::string& name = node->target();
    Side in, out;
    int64_t in_channels = 0, out_channels = 0;
    if (kind == nn::ModuleKind::lstm) {
      const auto& lstm = static_cast<const nn::LSTMImpl&>(*module).options();
      table.type = "LSTM";
      in_channels = lstm.input_size();
      out_channels = lstm.hidden_size();
      in = side_of(graph, name + ".weight_ih_l0", 1, in_channels);
      out = side_of(graph, name + ".weight_hh_l0", 1, out_channels);
      // Every layer of a stacked LSTM has the one hidden size: its units must be one group.
      for (int64_t l = 1; l < lstm.num_layers() && !out.key.empty(); ++l)
        if (side_of(graph, str_cat(name, ".weight_hh_l", l), 1, out_channels).key != out.key)
          out = {};
    } else if (kind == nn::ModuleKind::conv2d) {
      const auto& conv = static_cast<const nn::Conv2dImpl&>(*module).options();
      table.type = "Conv2d";
      in_channels = conv.in_channels();
      out_channels = conv.out_channels();
      out = side_of(graph, name + ".weight", 0, out_channels);
      if (conv.groups() == 1) {
        in = side_of(graph, name + ".weight", 1, in_channels);
      } else if (conv.groups() == in_channels && !out.key.empty()) {
        // Depthwise: input channel c is outputs [c * m, (c + 1) * m).
        in = {out.key, 1};
      } else {
        out = {};  // a grouped conv's blocks: neither side is a profiled group
      }
    } else {
      table.type = "Linear";
      const Tensor weight = graph_module.attribute(name + ".weight");
      in_channels = weight.size(1);
      out_channels = weight.size(0);
      in = side_of(graph, name + ".weight", 1, in_channels);
      out = side_of(graph, name + ".weight", 0, out_channels);
    }
    set_side(in, in_channels, by_key, table.in_group, table.in_widths, layer.in_scale);
    set_side(out, out_channels, by_key, table.out_group, table.out_widths, layer.out_scale);
    plan.layers.push_back(std::move(layer));
  }
  return plan;
}

}  // namespace pare::latency

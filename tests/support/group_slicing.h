// The dependency-group tests' independent check: prune one group by hand, two ways, and compare.
// slice_group() removes the group's channels from every member as the members say (parameters
// and buffers sliced along their axis, the layers' options set to the new widths, the shape
// literal of every view / reshape whose output is a member rewritten); zero_group_edges() keeps
// the dense model and multiplies every edge member by a 0/1 mask instead. Where no member
// normalises over the channels (LayerNorm), the two compute the same, so a group that is missing a
// member, or has a wrong index map, fails the comparison or the sliced model's run.
//
//   pare::pruning::DependencyGraph graph(dense.gm);
//   const pare::pruning::Group& group = graph.groups()[0];
//   pare::testing::slice_group(sliced.gm, group, {0, 2, 3});
//   pare::testing::zero_group_edges(dense.gm, group, {0, 2, 3});
//   CHECK(max_abs_diff(sliced.gm.interpret({x}), dense.gm.interpret({x})) <= 1e-4);
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "pare/pare.h"
#include "pare/passes/pruning/dependency_graph.h"

namespace pare::testing {

// The indices of a member's axis that go when the group keeps channels `kept`: each removed
// channel c is [offset + c * block, offset + (c + 1) * block).
inline std::vector<int64_t> removed_positions(const pruning::GroupMember& member, int64_t size,
                                              const std::vector<int64_t>& kept) {
  const std::set<int64_t> keep(kept.begin(), kept.end());
  std::vector<int64_t> removed;
  for (int64_t c = 0; c < size; ++c) {
    if (keep.count(c)) continue;
    for (int64_t r = 0; r < member.block; ++r)
      removed.push_back(member.offset + c * member.block + r);
  }
  return removed;
}

// For each (tensor name, axis) of the group's members of `kind`: the positions that go.
inline std::map<std::pair<std::string, int64_t>, std::set<int64_t>> removals(
    const pruning::Group& group, pruning::GroupMember::Kind kind,
    const std::vector<int64_t>& kept) {
  std::map<std::pair<std::string, int64_t>, std::set<int64_t>> result;
  for (const pruning::GroupMember& member : group.members) {
    if (member.kind != kind) continue;
    std::set<int64_t>& removed = result[{member.name, member.axis}];
    for (int64_t position : removed_positions(member, group.size, kept)) removed.insert(position);
  }
  return result;
}

inline Tensor keep_along(const Tensor& value, int64_t axis, const std::set<int64_t>& removed) {
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < value.size(axis); ++i)
    if (!removed.count(i)) keep.push_back(i);
  return index_select(value, axis, tensor(keep, {static_cast<int64_t>(keep.size())})).contiguous();
}

// Sets a layer's width options from its (sliced) tensors.
inline void fit_options(nn::Module& module) {
  if (auto* conv = nn::as<nn::Conv2dImpl>(&module)) {
    const Tensor weight = module.get_parameter("weight");
    nn::Conv2dOptions& options = conv->options();
    const bool depthwise = options.groups() > 1 && options.groups() == options.in_channels();
    if (depthwise) {
      const int64_t multiplier = options.out_channels() / options.in_channels();
      const int64_t in = weight.size(0) / multiplier;
      options.in_channels(in).out_channels(weight.size(0)).groups(in);
    } else {
      options.in_channels(weight.size(1) * options.groups()).out_channels(weight.size(0));
    }
  } else if (auto* linear = nn::as<nn::LinearImpl>(&module)) {
    const Tensor weight = module.get_parameter("weight");
    linear->options().in_features(weight.size(1)).out_features(weight.size(0));
  } else if (auto* norm = nn::as<nn::BatchNorm2dImpl>(&module)) {
    for (const auto& [name, value] : module.named_buffers(false))
      if (name == "running_mean") norm->options().num_features(value.size(0));
    for (const auto& [name, value] : module.named_parameters(false))
      if (name == "weight") norm->options().num_features(value.size(0));
  } else if (auto* layer_norm = nn::as<nn::LayerNormImpl>(&module)) {
    layer_norm->options().normalized_shape({module.get_parameter("weight").size(0)});
  } else if (auto* lstm = nn::as<nn::LSTMImpl>(&module)) {
    lstm->options()
        .input_size(module.get_parameter("weight_ih_l0").size(1))
        .hidden_size(module.get_parameter("weight_hh_l0").size(1));
  }
}

using Removals = std::map<std::pair<std::string, int64_t>, std::set<int64_t>>;

inline void slice_removals(ir::GraphModule& gm, const Removals& parameters, const Removals& edges);

inline void slice_group(ir::GraphModule& gm, const pruning::Group& group,
                        const std::vector<int64_t>& kept) {
  slice_removals(gm, removals(group, pruning::GroupMember::Kind::parameter, kept),
                 removals(group, pruning::GroupMember::Kind::edge, kept));
}

// Several groups at once (each with its kept channels): the positions each removes from a tensor
// axis are united first, so groups that share an axis (the ranges of a concat, heads and the
// merged axis behind them) slice it once, at its original indices.
inline void slice_groups(
    ir::GraphModule& gm,
    const std::vector<std::pair<const pruning::Group*, std::vector<int64_t>>>& choices) {
  Removals parameters, edges;
  for (const auto& [group, kept] : choices) {
    for (const auto& [key, removed] : removals(*group, pruning::GroupMember::Kind::parameter, kept))
      parameters[key].insert(removed.begin(), removed.end());
    for (const auto& [key, removed] : removals(*group, pruning::GroupMember::Kind::edge, kept))
      edges[key].insert(removed.begin(), removed.end());
  }
  slice_removals(gm, parameters, edges);
}

inline void slice_removals(ir::GraphModule& gm, const Removals& parameters, const Removals& edges) {
  NoGradGuard no_grad;
  std::set<std::string> owners;
  for (const auto& [key, removed] : parameters) {
    const auto& [name, axis] = key;
    const size_t dot = name.rfind('.');
    const std::string owner_name = dot == std::string::npos ? "" : name.substr(0, dot);
    const std::string local = dot == std::string::npos ? name : name.substr(dot + 1);
    std::shared_ptr<nn::Module> owner = owner_name.empty() ? gm.root_ptr() : gm.module(owner_name);
    const Tensor sliced = keep_along(gm.attribute(name), axis, removed);
    if (owner->has_parameter(local)) {
      owner->register_parameter(local, sliced, owner->get_parameter(local).requires_grad());
    } else {
      owner->register_buffer(local, sliced);
    }
    owners.insert(owner_name);
  }
  for (const std::string& owner : owners)
    if (!owner.empty()) fit_options(*gm.module(owner));
  // Views and reshapes whose output is a member get the new sizes as their shape literal.
  for (const auto& [key, removed] : edges) {
    ir::Node* node = gm.graph().find(key.first);
    if (node == nullptr || node->op() != ir::OpKind::call_function) continue;
    if (node->target() != "view" && node->target() != "reshape") continue;
    Shape shape = node->meta.at(0).shape;
    shape[key.second] -= static_cast<int64_t>(removed.size());
    if (node->kwarg("shape") != nullptr) {
      node->set_kwarg("shape", ir::Argument(shape));
    } else if (node->kwarg("size") != nullptr) {
      node->set_kwarg("size", ir::Argument(shape));
    } else {
      node->set_args({node->args()[0], ir::Argument(shape)});
    }
  }
}

inline void zero_group_edges(ir::GraphModule& gm, const pruning::Group& group,
                             const std::vector<int64_t>& kept) {
  int64_t count = 0;
  for (const auto& [key, removed] : removals(group, pruning::GroupMember::Kind::edge, kept)) {
    ir::Node* producer = gm.graph().find(key.first);
    // Tuple items ("split[1]") are masked where their getitem node, also a member, reads them.
    if (producer == nullptr) continue;
    const Shape& shape = producer->meta.at(0).shape;
    Shape mask_shape(shape.size(), 1);
    mask_shape[key.second] = shape[key.second];
    std::vector<float> values(static_cast<size_t>(shape[key.second]), 1.0f);
    for (int64_t position : removed) values[static_cast<size_t>(position)] = 0.0f;
    // Fresh names, so that masking several groups one after another keeps every mask.
    std::string buffer;
    do buffer = str_cat("group_mask_", count++);
    while (gm.root().has_buffer(buffer));
    gm.root().register_buffer(buffer, tensor(values, mask_shape));
    const std::vector<ir::Node*> users = producer->users();
    ir::Node* masked = nullptr;
    {
      ir::Graph::InsertionPoint after(gm.graph(), producer, /*after=*/true);
      ir::Node* mask = gm.graph().get_attr(buffer);
      masked = gm.graph().call_function("mul", {producer, mask});
    }
    for (ir::Node* user : users) {
      std::vector<ir::Argument> args = user->args();
      for (ir::Argument& argument : args) argument.replace_node(producer, masked);
      user->set_args(std::move(args));
    }
  }
}

}  // namespace pare::testing

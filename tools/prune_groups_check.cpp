// The self-check of `pare prune --groups` (prune_groups_check.h).
#include "prune_groups_check.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>

#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/error.h"
#include "pare/indexing.h"
#include "pare/ir/model_stats.h"
#include "pare/ir/pare_file.h"

namespace pare::cli {

namespace {

constexpr double kRelativeTolerance = 1e-4;
constexpr const char* kMaskPrefix = "pare_prune_check_mask_";

using Positions = std::map<std::pair<std::string, int64_t>, std::set<int64_t>>;

Tensor select_indices(const Tensor& tensor, int64_t axis, const std::vector<int64_t>& indices) {
  return index_select(tensor, axis, pare::tensor(indices, {static_cast<int64_t>(indices.size())}));
}

std::vector<int64_t> complement(int64_t size, const std::set<int64_t>& removed) {
  std::vector<int64_t> kept;
  for (int64_t index = 0; index < size; ++index)
    if (!removed.count(index)) kept.push_back(index);
  return kept;
}

// Max |reference - actual| into `result`; a shape mismatch becomes its problem.
void accumulate_diff(const Tensor& reference, const Tensor& actual, const std::string& name,
                     CheckResult& result) {
  if (!result.problem.empty()) return;
  if (reference.sizes() != actual.sizes()) {
    result.problem =
        str_cat("'", name, "' should have shape ", reference.sizes(), " but has ", actual.sizes());
    return;
  }
  const std::vector<float> expected = to_float_vector(reference.contiguous());
  const std::vector<float> got = to_float_vector(actual.contiguous());
  for (size_t index = 0; index < expected.size(); ++index) {
    const double diff = std::fabs(double{expected[index]} - double{got[index]});
    result.max_diff = std::isnan(diff) ? INFINITY : std::max(result.max_diff, diff);
  }
}

std::map<std::string, Tensor> state_of(const ir::GraphModule& model) {
  std::map<std::string, Tensor> state;
  for (const auto& [name, value] : model.root_ptr()->state_dict()) state[name] = value;
  return state;
}

// 1. The report's kept indices rebuild every changed tensor from the dense one; the rest match.
CheckResult compare_tensors(const ir::GraphModule& dense, const nlohmann::json& report,
                            const ir::GraphModule& pruned) {
  const std::map<std::string, Tensor> before = state_of(dense), after = state_of(pruned);
  const nlohmann::json& changed = report.at("tensors");
  CheckResult result;
  result.what = str_cat("tensors: ", changed.size(), " sliced by the report's kept indices, ",
                        before.size() - std::min(before.size(), changed.size()), " unchanged");
  for (const auto& [name, value] : after)
    if (!before.count(name)) result.problem = str_cat("'", name, "' is not in the dense model");
  for (const auto& [name, dense_value] : before) {
    auto found = after.find(name);
    if (found == after.end()) {
      result.problem = str_cat("'", name, "' is missing from the pruned model");
      break;
    }
    Tensor expected = dense_value;
    if (changed.contains(name)) {
      const nlohmann::json& entry = changed.at(name);
      if (entry.at("before").get<Shape>() != dense_value.sizes()) {
        result.problem =
            str_cat("the report says '", name, "' had shape ", entry.at("before").dump(),
                    ", the dense file has ", dense_value.sizes());
        break;
      }
      for (const auto& [axis, kept] : entry.at("kept").items())
        expected = select_indices(expected, std::stoll(axis), kept.get<std::vector<int64_t>>());
    }
    accumulate_diff(expected, found->second, name, result);
  }
  // Slicing copies values: anything but exact equality is a wrong index or a changed value.
  result.tolerance = 0.0;
  return result;
}

// The positions each chosen group removes from each edge (producer node, axis).
Positions removed_edge_positions(const pruning::GroupPruner& pruner) {
  Positions positions;
  for (const pruning::GroupChoice& choice : pruner.choices()) {
    if (choice.removed.empty()) continue;
    for (const pruning::GroupMember& member : choice.group->members) {
      if (member.kind != pruning::GroupMember::Kind::edge) continue;
      std::set<int64_t>& removed = positions[{member.name, member.axis}];
      for (int64_t channel : choice.removed)
        for (int64_t r = 0; r < member.block; ++r)
          removed.insert(member.offset + channel * member.block + r);
    }
  }
  return positions;
}

// A chosen group with a LayerNorm member: zeroing its channels is not removing them.
std::string layer_norm_in_groups(const pruning::GroupPruner& pruner, const ir::GraphModule& gm) {
  for (const pruning::GroupChoice& choice : pruner.choices()) {
    if (choice.removed.empty()) continue;
    for (const pruning::GroupMember& member : choice.group->members) {
      if (member.kind == pruning::GroupMember::Kind::parameter) {
        const size_t dot = member.name.rfind('.');
        if (dot == std::string::npos) continue;
        if (gm.module(member.name.substr(0, dot))->kind() == nn::ModuleKind::layer_norm)
          return str_cat("group ", choice.group->id, " holds LayerNorm '",
                         member.name.substr(0, dot), "', which normalises over its channels");
      } else if (const ir::Node* node = gm.graph().find(member.name)) {
        for (const ir::Node* user : node->users())
          if (user->op() == ir::OpKind::call_function && user->target() == "layer_norm")
            return str_cat("group ", choice.group->id, " feeds layer_norm '", user->name(),
                           "', which normalises over its channels");
      }
    }
  }
  return "";
}

// Multiplies every edge by a 0/1 mask right after its producer, in the dense graph.
void zero_edges(ir::GraphModule& gm, const Positions& positions) {
  int64_t count = 0;
  for (const auto& [key, removed] : positions) {
    ir::Node* producer = gm.graph().find(key.first);
    // Tuple items ("split[1]") are zeroed where their getitem node, also a member, reads them.
    if (producer == nullptr) continue;
    const Shape& shape = producer->meta.at(0).shape;
    Shape mask_shape(shape.size(), 1);
    mask_shape[key.second] = shape[key.second];
    std::vector<float> values(static_cast<size_t>(shape[key.second]), 1.0f);
    for (int64_t position : removed) values[static_cast<size_t>(position)] = 0.0f;
    const std::string buffer = str_cat(kMaskPrefix, count++);
    gm.root().register_buffer(buffer, pare::tensor(values, mask_shape));
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
      ir::Kwargs kwargs = user->kwargs();
      for (auto& [name, argument] : kwargs) argument.replace_node(producer, masked);
      user->set_kwargs(std::move(kwargs));
    }
  }
}

// The node behind each output path ("", "0", "1.0", ...), as Value::flatten names them.
void output_nodes(const ir::Argument& argument, const std::string& path,
                  std::map<std::string, std::string>& nodes) {
  if (argument.is_node()) {
    nodes.emplace(path, argument.to_node()->name());
  } else if (argument.is_list()) {
    const ir::Argument::List& items = argument.to_list();
    for (size_t index = 0; index < items.size(); ++index)
      output_nodes(items[index],
                   path.empty() ? std::to_string(index) : path + "." + std::to_string(index),
                   nodes);
  }
}

}  // namespace

GroupCheck check_group_pruning(const std::string& dense_path, const pruning::GroupPruner& pruner,
                               const nlohmann::json& report, ir::GraphModule& pruned,
                               const std::vector<Tensor>& inputs) {
  GroupCheck check;
  ir::GraphModule dense = ir::load(dense_path);
  dense.eval();
  // Fills every node's shapes from the recorded inputs' (the masks below are sized from them).
  ir::model_stats(dense);
  check.results.push_back(compare_tensors(dense, report, pruned));

  check.outputs_not_compared = layer_norm_in_groups(pruner, dense);
  if (!check.outputs_not_compared.empty()) return check;

  std::map<std::string, std::string> producers;  // output path -> node, before any mask
  if (const ir::Node* output = dense.graph().output_node(); output && !output->args().empty())
    output_nodes(output->args()[0], "", producers);
  const Positions positions = removed_edge_positions(pruner);
  zero_edges(dense, positions);

  std::vector<std::pair<std::string, Tensor>> expected, actual;
  {
    NoGradGuard no_grad;
    expected = dense.interpret(inputs).flatten();
    actual = pruned.interpret(inputs).flatten();
  }
  PARE_CHECK(expected.size() == actual.size(), "the pruned graph returns ", actual.size(),
             " tensors, the dense one ", expected.size());
  for (size_t index = 0; index < expected.size(); ++index) {
    const auto& [path, zeroed] = expected[index];
    CheckResult result;
    result.what = path.empty() ? "output" : "output." + path;
    Tensor reference = zeroed;
    // An output that --allow-output-change let shrink: its kept positions.
    if (auto producer = producers.find(path); producer != producers.end()) {
      for (const auto& [key, removed] : positions) {
        if (key.first != producer->second || key.second >= reference.dim()) continue;
        const std::vector<int64_t> kept = complement(reference.size(key.second), removed);
        result.what += str_cat(", kept ", kept.size(), " of ", reference.size(key.second),
                               " along axis ", key.second);
        reference = select_indices(reference, key.second, kept);
      }
    }
    double magnitude = 1.0;
    for (float value : to_float_vector(reference.contiguous()))
      magnitude = std::max(magnitude, std::fabs(double{value}));
    result.tolerance = kRelativeTolerance * magnitude;
    accumulate_diff(reference, actual[index].second, result.what, result);
    check.results.push_back(result);
  }
  return check;
}

}  // namespace pare::cli

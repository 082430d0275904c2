#include "constant_fold.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "eval_mode_guard.h"
#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/error.h"
#include "pare/nn/conv.h"
#include "pare/nn/parametrize.h"
#include "pare/random.h"

namespace pare::pruning {
namespace {

// Where a member edge or a reader's input is read: node name, tuple item (-1 for a tensor), the
// channel axis and the removed positions along it.
struct Probe {
  std::string node;
  int64_t item = -1;
  int64_t axis = 0;
  std::vector<int64_t> positions;
  // Per position, over every run: the smallest and largest value, and whether any was not finite.
  std::vector<float> low, high;
  std::vector<bool> not_finite;
};

// "relu_1" -> ("relu_1", -1); "split[1]" -> ("split", 1).
std::pair<std::string, int64_t> split_edge_name(const std::string& name) {
  const size_t open = name.rfind('[');
  if (open == std::string::npos || name.back() != ']') return {name, -1};
  return {name.substr(0, open), std::stoll(name.substr(open + 1, name.size() - open - 2))};
}

std::string owner_of(const std::string& parameter) {
  const size_t dot = parameter.rfind('.');
  return dot == std::string::npos ? std::string() : parameter.substr(0, dot);
}

std::string local_of(const std::string& parameter) {
  const size_t dot = parameter.rfind('.');
  return dot == std::string::npos ? parameter : parameter.substr(dot + 1);
}

void measure(Probe& probe, const ir::Value& value) {
  const Tensor& whole = probe.item < 0 ? value.tensor() : value.items().at(probe.item).tensor();
  const int64_t axis = probe.axis < 0 ? probe.axis + whole.dim() : probe.axis;
  if (probe.low.empty()) {
    // First run: one slot per position.
    probe.low.assign(probe.positions.size(), std::numeric_limits<float>::infinity());
    probe.high.assign(probe.positions.size(), -std::numeric_limits<float>::infinity());
    probe.not_finite.assign(probe.positions.size(), false);
  }
  for (size_t i = 0; i < probe.positions.size(); ++i) {
    for (float v : to_float_vector(whole.select(axis, probe.positions[i]))) {
      if (!std::isfinite(v)) {
        probe.not_finite[i] = true;
        continue;
      }
      probe.low[i] = std::min(probe.low[i], v);
      probe.high[i] = std::max(probe.high[i], v);
    }
  }
}

// The value every measurement of position i agreed on, or nullopt.
std::optional<float> constant_at(const Probe& probe, size_t i) {
  if (probe.not_finite[i] || probe.low[i] > probe.high[i]) return std::nullopt;
  const float scale = std::max(1.0f, std::max(std::fabs(probe.low[i]), std::fabs(probe.high[i])));
  if (probe.high[i] - probe.low[i] > 1e-6f * scale) return std::nullopt;
  return probe.low[i];
}

std::vector<Tensor> random_like(const std::vector<Tensor>& inputs) {
  Generator generator(0xf01d);
  std::vector<Tensor> result;
  for (const Tensor& input : inputs)
    result.push_back(input.dtype() == kFloat32 ? randn(input.sizes(), generator) : input);
  return result;
}

// One group's readers and exits, found on the graph before anything runs.
struct GroupScan {
  const GroupChoice* choice = nullptr;
  std::string reason;  // the first thing that stops the fold, when found without running
  struct Reader {
    std::string layer;
    size_t probe = 0;
  };
  std::vector<Reader> readers;
  // Exits that are exact only when the constants there are 0 (matmul).
  std::vector<std::pair<std::string, size_t>> zero_exits;  // (node, probe)
};

class Planner {
 public:
  Planner(ir::GraphModule& gm, const std::vector<GroupChoice>& choices) : gm_(gm) {
    for (const ir::Node* node : gm_.graph().nodes()) {
      if (node->op() == ir::OpKind::call_module) calls_[node->target()].push_back(node);
    }
    for (const GroupChoice& choice : choices)
      if (!choice.removed.empty()) scans_.push_back(scan(choice));
  }

  std::map<int64_t, FoldPlan> plan(const std::vector<Tensor>& example_inputs) {
    if (!probes_.empty()) {
      NoGradGuard no_grad;
      EvalModeGuard eval(gm_.root_ptr());
      std::unordered_map<std::string, std::vector<size_t>> by_node;
      for (size_t i = 0; i < probes_.size(); ++i) by_node[probes_[i].node].push_back(i);
      const ir::GraphModule::NodeVisitor visit = [&](const ir::Node& node, const ir::Value& value) {
        auto found = by_node.find(node.name());
        if (found == by_node.end()) return;
        for (size_t i : found->second) measure(probes_[i], value);
      };
      gm_.interpret(example_inputs, visit);
      gm_.interpret(random_like(example_inputs), visit);
    }
    std::map<int64_t, FoldPlan> plans;
    for (const GroupScan& scan : scans_) plans[scan.choice->group->id] = decide(scan);
    return plans;
  }

 private:
  size_t add_probe(std::string node, int64_t item, int64_t axis, std::vector<int64_t> positions) {
    probes_.push_back({std::move(node), item, axis, std::move(positions), {}, {}, {}});
    return probes_.size() - 1;
  }

  GroupScan scan(const GroupChoice& choice) {
    GroupScan result;
    result.choice = &choice;
    const Group& group = *choice.group;
    std::unordered_set<std::string> edge_nodes;  // the nodes producing member edges
    // Edge name -> its members (a grouped conv's blocks are one member each, by offset).
    std::unordered_map<std::string, std::vector<const GroupMember*>> edges_by_name;
    std::unordered_map<std::string, std::vector<const GroupMember*>> parameters_by_owner;
    for (const GroupMember& member : group.members) {
      if (member.kind == GroupMember::Kind::edge) {
        edge_nodes.insert(split_edge_name(member.name).first);
        edges_by_name[member.name].push_back(&member);
      } else {
        parameters_by_owner[owner_of(member.name)].push_back(&member);
      }
    }
    auto refuse = [&](std::string why) {
      if (result.reason.empty()) result.reason = std::move(why);
    };

    // Readers: a layer with a weight member along axis 1 reads the group's channels.
    for (const auto& [owner, members] : parameters_by_owner) {
      const bool reads = std::any_of(members.begin(), members.end(), [](const GroupMember* m) {
        return m->axis == 1 && local_of(m->name).rfind("weight", 0) == 0;
      });
      if (!reads) continue;
      const auto& calls = calls_[owner];
      if (calls.size() != 1) {
        refuse(str_cat("layer '", owner, "', which reads the removed channels, is called ",
                       calls.size(), " times"));
        continue;
      }
      const ir::Node& call = *calls.front();
      const nn::Module& module = *gm_.module(owner);
      if (call.args().empty() || !call.args()[0].is_node() ||
          (module.kind() != nn::ModuleKind::conv2d && module.kind() != nn::ModuleKind::linear)) {
        refuse(str_cat("layer '", owner, "' (", module.type_name(),
                       ") reads the removed channels and is not a Linear or a Conv2d"));
        continue;
      }
      // The removed positions of the reader's input, every block of it. For a Linear and a Conv2d
      // with groups = 1 they are also the weight's columns.
      const ir::Node& input = *call.args()[0].to_node();
      auto edges = edges_by_name.find(input.name());
      if (edges == edges_by_name.end()) {
        refuse(str_cat("layer '", owner, "' reads the removed channels from '", input.name(),
                       "', which is not in the group"));
        continue;
      }
      std::vector<int64_t> positions;
      for (const GroupMember* edge : edges->second) {
        const std::vector<int64_t> more = edge->positions(choice.removed);
        positions.insert(positions.end(), more.begin(), more.end());
      }
      result.readers.push_back(
          {owner, add_probe(input.name(), -1, edges->second.front()->axis, std::move(positions))});
    }

    // Exits: every user of a member edge is another member edge, a layer holding members of the
    // group (BatchNorm, a depthwise conv, a reader), or a matmul over the channels.
    for (const GroupMember& member : group.members) {
      if (member.kind != GroupMember::Kind::edge) continue;
      const auto [node_name, item] = split_edge_name(member.name);
      const ir::Node* node = gm_.graph().find(node_name);
      if (node == nullptr) continue;
      for (const ir::Node* user : node->users()) {
        if (user->op() == ir::OpKind::output) {
          refuse(str_cat("its channels are a graph output (through '", node_name, "')"));
          continue;
        }
        if (item >= 0 && user->target() == "getitem" && user->args().size() > 1 &&
            user->args()[1].is_int() && user->args()[1].to_int() != item)
          continue;
        if (user->op() == ir::OpKind::call_module) {
          auto owned = parameters_by_owner.find(user->target());
          if (owned != parameters_by_owner.end()) {
            if (gm_.module(user->target())->kind() == nn::ModuleKind::layer_norm)
              refuse(str_cat("LayerNorm '", user->target(),
                             "' normalises over its channels, removed ones included"));
            continue;
          }
        }
        if (edge_nodes.count(user->name())) continue;
        const std::string target = user->target();
        if (user->op() == ir::OpKind::call_function &&
            (target == "matmul" || target == "bmm" || target == "mm")) {
          result.zero_exits.push_back({user->name(), add_probe(node_name, item, member.axis,
                                                               member.positions(choice.removed))});
          continue;
        }
        refuse(str_cat("its channels reach '", user->name(), "' (", target,
                       ") outside the group, which would see them disappear"));
      }
    }
    return result;
  }

  FoldPlan decide(const GroupScan& scan) {
    FoldPlan plan;
    std::string reason = scan.reason;
    auto refuse = [&](std::string why) {
      if (reason.empty()) reason = std::move(why);
    };
    for (const auto& [node, probe_index] : scan.zero_exits) {
      const Probe& probe = probes_[probe_index];
      for (size_t i = 0; i < probe.positions.size(); ++i) {
        const std::optional<float> v = constant_at(probe, i);
        if (!v || *v != 0.0f) {
          refuse(str_cat("'", node, "' multiplies its removed channels, which are not 0 there"));
          break;
        }
      }
    }
    for (const GroupScan::Reader& reader : scan.readers) {
      const Probe& probe = probes_[reader.probe];
      const nn::Module& module = *gm_.module(reader.layer);
      // The weight's columns (read from the stored tensor: the reader may be masked itself, and
      // evaluating its parametrization would copy the whole weight for one size).
      const std::shared_ptr<nn::ParametrizationList> list = module.parametrization("weight");
      const Tensor weight = list ? list->original() : module.get_parameter("weight");
      std::vector<float> constants(static_cast<size_t>(weight.size(1)), 0.0f);
      bool any_nonzero = false, varying = false;
      for (size_t i = 0; i < probe.positions.size(); ++i) {
        const std::optional<float> v = constant_at(probe, i);
        if (!v) {
          varying = true;
          break;
        }
        any_nonzero = any_nonzero || *v != 0.0f;
        const auto column = static_cast<size_t>(probe.positions[i]);
        if (column < constants.size()) constants[column] = *v;
      }
      if (varying) {
        refuse(str_cat("the removed channels reach layer '", reader.layer,
                       "' as values that change with the input or the position (a layer between "
                       "that is not masked, or padding)"));
        continue;
      }
      if (!any_nonzero) continue;
      const auto* conv = nn::as<nn::Conv2dImpl>(&module);
      if (conv != nullptr) {
        const IntPair padding = conv->options().padding();
        if (padding.first != 0 || padding.second != 0) {
          refuse(str_cat("layer '", reader.layer, "' pads its input, so its border taps read 0 ",
                         "where the masked model had the removed channels' constants"));
          continue;
        }
        if (conv->options().groups() != 1) {
          refuse(str_cat("layer '", reader.layer, "' is a grouped conv (groups = ",
                         conv->options().groups(), ") reading non-zero constants"));
          continue;
        }
      } else if (module.kind() != nn::ModuleKind::linear) {
        refuse(str_cat("layer '", reader.layer, "' (", module.type_name(),
                       ") reads non-zero constants and has no bias they could go to"));
        continue;
      }
      plan.readers.push_back({reader.layer, std::move(constants)});
    }
    plan.fold.folded = reason.empty();
    plan.fold.reason = reason;
    if (!plan.fold.folded) plan.readers.clear();
    for (const auto& [layer, constants] : plan.readers) plan.fold.folded_into.push_back(layer);
    return plan;
  }

  ir::GraphModule& gm_;
  std::unordered_map<std::string, std::vector<const ir::Node*>> calls_;
  std::vector<GroupScan> scans_;
  std::vector<Probe> probes_;
};

}  // namespace

std::map<int64_t, FoldPlan> plan_constant_folds(ir::GraphModule& masked,
                                                const std::vector<GroupChoice>& choices,
                                                const std::vector<Tensor>& example_inputs) {
  Planner planner(masked, choices);
  return planner.plan(example_inputs);
}

}  // namespace pare::pruning

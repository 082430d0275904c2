// GroupSparsifier: masks on the producing weights of every prunable group, GroupPruner's choices
// written into them step by step, then the fold plan (constant_fold.h), the squash and the slice.
#include "pare/passes/pruning/group_sparsifier.h"

#include <utility>

#include "constant_fold.h"
#include "layer_bias.h"
#include "pare/autograd.h"
#include "pare/error.h"

namespace pare::pruning {
namespace {

std::pair<std::string, std::string> split_parameter(const std::string& qualified) {
  const size_t dot = qualified.rfind('.');
  if (dot == std::string::npos) return {"", qualified};
  return {qualified.substr(0, dot), qualified.substr(dot + 1)};
}

}  // namespace

GroupSparsifier::GroupSparsifier(GroupPrunerOptions options, bool prune_bias)
    : options_(std::move(options)), prune_bias_(prune_bias) {}

void GroupSparsifier::prepare(ir::GraphModule& graph_module) {
  PARE_CHECK(!is_prepared() && pruner_ == nullptr, name(),
             "::prepare: this sparsifier already prepared a graph module; build a new one");
  auto pruner = std::make_unique<GroupPruner>(graph_module, options_);
  std::map<std::string, std::vector<std::pair<const Group*, const GroupMember*>>> masked;
  for (const Group& group : pruner->graph().groups()) {
    if (!group.prunable) continue;
    for (const GroupMember& member : group.members) {
      if (member.kind != GroupMember::Kind::parameter || member.axis != 0) continue;
      const auto [owner, local] = split_parameter(member.name);
      if (owner.empty()) continue;
      const nn::ModuleKind kind = graph_module.module(owner)->kind();
      if (kind == nn::ModuleKind::lstm)
        throw Error(str_cat(name(), "::prepare: LSTM '", owner, "' produces group ", group.id,
                            " (its hidden units), which the masked flow cannot mask; ignore it "
                            "(GroupPrunerOptions::ignore) or prune with GroupPruner"));
      if (local != "weight" || (kind != nn::ModuleKind::conv2d && kind != nn::ModuleKind::linear))
        continue;
      masked[member.name].push_back({&group, &member});
    }
  }
  std::vector<nlohmann::json> config;
  for (const auto& [tensor, members] : masked)
    config.push_back({{"tensor_fqn", tensor}, {"prune_bias", prune_bias_}});
  PARE_CHECK(!config.empty(), name(), "::prepare: the graph has no prunable group (",
             pruner->graph().not_prunable().size(),
             " layers cannot be pruned; DependencyGraph::explain() says why)");
  BaseSparsifier::prepare(graph_module.root_ptr(), config);
  graph_module_ = &graph_module;
  pruner_ = std::move(pruner);
  masked_ = std::move(masked);
}

void GroupSparsifier::step() {
  PARE_CHECK(pruner_ != nullptr && is_prepared(), name(), "::step: prepare() a graph module first");
  PARE_CHECK(!pruned_, name(), "::step: already pruned");
  if (!enable_mask_update) return;
  for (const GroupChoice& choice : pruner_->choices())
    pruner_->pin_removed(*choice.group, choice.removed);
  {
    NoGradGuard no_grad;  // the scores read the masked weights; nothing to differentiate
    // The schedule's steps (iterative_steps), then choices again at the full ratio.
    if (pruner_->current_step() < options_.iterative_steps()) {
      pruner_->step();
    } else {
      pruner_->rechoose();
    }
  }
  stepped_ = true;
  BaseSparsifier::step();
}

void GroupSparsifier::update_mask(const std::shared_ptr<nn::Module>& module,
                                  const std::string& tensor_name, nlohmann::json& group) {
  const std::string tensor = group["tensor_fqn"].get<std::string>();
  Tensor mask = structured_mask(*module, tensor_name);
  bool* keep = mask.data_ptr<bool>();
  std::fill(keep, keep + mask.numel(), true);
  auto members = masked_.find(tensor);
  if (members == masked_.end()) return;
  for (const auto& [masked_group, member] : members->second)
    for (const GroupChoice& choice : pruner_->choices()) {
      if (choice.group != masked_group) continue;
      for (int64_t row : member->positions(choice.removed)) keep[row] = false;
    }
}

ir::GraphModule& GroupSparsifier::prune(const std::vector<Tensor>& example_inputs) {
  PARE_CHECK(pruner_ != nullptr && is_prepared(), name(),
             "::prune: prepare() a graph module first");
  PARE_CHECK(!pruned_, name(), "::prune: already pruned");
  PARE_CHECK(!example_inputs.empty(), name(),
             "::prune: give example inputs (one per graph input); the removed channels' constants "
             "are measured on them");
  if (!stepped_) step();
  const std::map<int64_t, FoldPlan> plans =
      plan_constant_folds(*graph_module_, pruner_->choices(), example_inputs);
  squash_mask();
  for (const auto& [group, plan] : plans)
    for (const auto& [layer, constants] : plan.readers) {
      nn::Module& reader = *graph_module_->module(layer);
      add_to_bias(reader, constant_input_response(reader, constants));
    }
  pruner_->prune();
  for (const GroupChoice& choice : pruner_->choices()) {
    auto plan = plans.find(choice.group->id);
    // A group that removes nothing computes what the masked model did.
    folds_[choice.group->id] = plan == plans.end() ? GroupFold{true, "", {}} : plan->second.fold;
  }
  pruned_ = true;
  return *graph_module_;
}

nlohmann::json GroupSparsifier::report() const {
  PARE_CHECK(pruner_ != nullptr, name(), "::report: prepare() a graph module first");
  nlohmann::json report = pruner_->report();
  report["flow"] = "masked";
  for (nlohmann::json& entry : report["groups"]) {
    auto fold = folds_.find(entry["id"].get<int64_t>());
    if (fold == folds_.end()) continue;
    entry["folded"] = fold->second.folded;
    entry["folded_into"] = fold->second.folded_into;
    if (!fold->second.folded) entry["not_folded"] = fold->second.reason;
  }
  return report;
}

}  // namespace pare::pruning

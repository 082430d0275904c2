// prune_graph: plan every match first (so that a refusal changes nothing), then convert them in
// graph order.
#include "pare/passes/pruning/prune.h"

#include <unordered_map>

#include "pare/error.h"
#include "pare/nn/activation.h"
#include "pare/nn/parametrize.h"
#include "pare/passes/pruning/structured.h"

namespace pare::pruning {
namespace {

struct PlannedMatch {
  const Pattern* pattern;
  std::vector<ir::Node*> nodes;
};

std::string chain_text(const std::vector<ir::Node*>& chain) {
  std::string text;
  for (size_t i = 0; i < chain.size(); ++i) text += (i ? " -> " : "") + chain[i]->name();
  return text;
}

std::string tried_patterns(const PatternTable& patterns, const std::string& module_type) {
  std::string text;
  for (const Pattern* pattern : patterns.patterns_starting_with(module_type))
    text += (text.empty() ? "" : ", ") + pattern->describe();
  return text.empty() ? "none starts with " + module_type : text;
}

// The chain's channels must reach nothing outside it: every node before the last feeds only its
// successor (an LSTM's unused results, such as an unread (h_n, c_n), are fine).
void check_no_leak(const PlannedMatch& planned, const ir::GraphModule& graph_module) {
  for (size_t i = 0; i + 1 < planned.nodes.size(); ++i) {
    const ir::Node& node = *planned.nodes[i];
    for (const ir::Node* user : node.users()) {
      // An unread result (an LSTM's (h_n, c_n) nobody uses) is fine; the output node has no
      // users either but does read the channels.
      const bool unread = user->users().empty() && user->op() != ir::OpKind::output;
      if (user == planned.nodes[i + 1] || unread) continue;
      const std::string head = planned.nodes[0]->target();
      throw Error(str_cat("prune: '", head, "' (", graph_module.module(head)->type_name(),
                          "): its pruned channels reach '", user->name(), "' through '",
                          node.name(), "', outside the matched chain ", planned.pattern->describe(),
                          " (", chain_text(planned.nodes),
                          "); pruning would change that node's input. Leave '", head,
                          "' out of the config or add a pattern that covers the chain"));
    }
  }
}

// The modules a conversion resizes besides the head (the next layer, a per-channel PReLU, a
// LayerNorm) must not be called anywhere else: their new width would break the other call.
void check_not_shared(const PlannedMatch& planned, const ir::GraphModule& graph_module,
                      const std::unordered_map<const nn::Module*, std::vector<ir::Node*>>& calls) {
  for (size_t i = 1; i < planned.nodes.size(); ++i) {
    const ir::Node& node = *planned.nodes[i];
    if (node.op() != ir::OpKind::call_module) continue;
    std::shared_ptr<nn::Module> module = graph_module.module(node.target());
    // A PReLU with one shared slope keeps it whatever the width.
    const bool resizable = module->kind() == nn::ModuleKind::prelu
                               ? nn::as<nn::PReLUImpl>(module.get())->num_parameters() > 1
                               : !module->named_parameters().empty();
    const std::vector<ir::Node*>& nodes = calls.at(module.get());
    if (!resizable || nodes.size() == 1) continue;
    const ir::Node* other = nodes[0] == &node ? nodes[1] : nodes[0];
    const std::string head = planned.nodes[0]->target();
    throw Error(str_cat("prune: '", node.target(), "' (", module->type_name(), ") follows '", head,
                        "' in ", planned.pattern->describe(), " (", chain_text(planned.nodes),
                        ") but is also called by node '", other->name(), "'; pruning '", head,
                        "' would change its input width for that call too. Leave '", head,
                        "' out of the config"));
  }
}

}  // namespace

bool carries_structured_sparsity(const nn::Module& module) {
  std::shared_ptr<nn::Module> container = module.get_child("parametrizations");
  if (container == nullptr) return false;
  for (const auto& [name, list] : container->named_children()) {
    (void)list;
    if (find_structured_sparsity(module, name) != nullptr) return true;
  }
  return false;
}

void prune_graph(ir::GraphModule& graph_module, const PatternTable& patterns,
                 const std::vector<Tensor>& example_inputs) {
  if (!example_inputs.empty()) graph_module.record_meta(example_inputs);
  ir::Graph& graph = graph_module.graph();

  // Which modules the graph calls, and from which nodes.
  std::unordered_map<const nn::Module*, std::vector<ir::Node*>> calls;
  for (ir::Node* node : graph.nodes())
    if (node->op() == ir::OpKind::call_module)
      calls[graph_module.module(node->target()).get()].push_back(node);
  for (const auto& [module, nodes] : calls)
    PARE_CHECK(nodes.size() == 1 || !carries_structured_sparsity(*module), "prune: '",
               nodes[0]->target(), "' (", module->type_name(), ") is masked but called ",
               nodes.size(), " times in the graph (nodes '", nodes[0]->name(), "' and '",
               nodes[1]->name(),
               "'); a module shared between calls cannot change width for one of them only");

  // Plan: the first pattern (table order) matching at each masked module's node.
  std::vector<PlannedMatch> plan;
  for (ir::Node* node : graph.nodes()) {
    if (node->op() != ir::OpKind::call_module) continue;
    std::shared_ptr<nn::Module> module = graph_module.module(node->target());
    if (!carries_structured_sparsity(*module)) continue;
    PlannedMatch planned;
    planned.pattern = patterns.match(*node, graph_module, planned.nodes);
    if (planned.pattern == nullptr) {
      throw Error(str_cat(
          "prune: '", node->target(), "' (", module->type_name(),
          ") is masked but no pattern matches its chain ", chain_text(first_user_chain(*node, 5)),
          "; patterns tried: ", tried_patterns(patterns, module->type_name()),
          ". Add a pattern (PatternTable::add) or leave '", node->target(), "' out of the config"));
    }
    check_no_leak(planned, graph_module);
    check_not_shared(planned, graph_module, calls);
    plan.push_back(std::move(planned));
  }
  // A masked module the graph never calls would keep its mask silently.
  for (const auto& [name, module] : graph_module.root().named_modules()) {
    if (carries_structured_sparsity(*module) && !calls.count(module.get()))
      throw Error(str_cat("prune: '", name, "' (", module->type_name(),
                          ") is masked but the traced graph never calls it; there is nothing to "
                          "match a pattern against"));
  }

  for (PlannedMatch& planned : plan) {
    PatternMatch match{graph_module, planned.nodes};
    try {
      planned.pattern->prune(match);
    } catch (const std::exception& error) {
      throw Error(str_cat(error.what(), " [pattern ", planned.pattern->name, " ",
                          planned.pattern->describe(), "]"));
    }
  }
  if (!example_inputs.empty()) graph_module.record_meta(example_inputs);
}

}  // namespace pare::pruning

// Pattern elements, the pattern table with its first-element index, and the default table.
#include "pare/passes/pruning/patterns.h"

#include <algorithm>
#include <utility>

#include "pare/error.h"
#include "pare/ir/layer_definition.h"
#include "pare/ir/op_definition.h"
#include "pare/nn/module_kind.h"
#include "pare/passes/pruning/prune_functions.h"

namespace pare::pruning {
namespace {

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string text;
  for (size_t i = 0; i < parts.size(); ++i) text += (i ? separator : "") + parts[i];
  return text;
}

}  // namespace

bool PatternElement::matches(const ir::Node& node, const ir::GraphModule& graph_module) const {
  if (match_all) return true;
  switch (node.op()) {
    case ir::OpKind::output:
      return output;
    case ir::OpKind::call_function:
      return contains(function_names, node.target());
    case ir::OpKind::call_module:
      return !module_types.empty() &&
             contains(module_types, graph_module.module(node.target())->type_name());
    default:
      return false;
  }
}

std::string PatternElement::describe() const {
  if (!label.empty()) return label;
  if (match_all) return "MatchAllNode";
  std::vector<std::string> parts = module_types;
  parts.insert(parts.end(), function_names.begin(), function_names.end());
  if (output) parts.push_back("output");
  return join(parts, "|");
}

PatternElement module_type(const std::string& type) {
  PatternElement element;
  element.module_types = {type};
  return element;
}

PatternElement function_name(const std::string& name) {
  PatternElement element;
  element.function_names = {name};
  return element;
}

PatternElement output() {
  PatternElement element;
  element.output = true;
  return element;
}

PatternElement MatchAllNode() {  // NOLINT
  PatternElement element;
  element.match_all = true;
  return element;
}

PatternElement any_of(const std::vector<PatternElement>& elements, const std::string& label) {
  PatternElement merged;
  for (const PatternElement& element : elements) {
    merged.module_types.insert(merged.module_types.end(), element.module_types.begin(),
                               element.module_types.end());
    merged.function_names.insert(merged.function_names.end(), element.function_names.begin(),
                                 element.function_names.end());
    merged.output = merged.output || element.output;
    merged.match_all = merged.match_all || element.match_all;
  }
  merged.label = label;
  return merged;
}

const std::vector<std::string>& activation_module_types() {
  // The layer definitions of the activation kinds: the parameter-free activations and PReLU.
  static const std::vector<std::string> names = [] {
    std::vector<std::string> found;
    for (const ir::LayerDefinition* definition : ir::layer_definitions()) {
      if (definition->kind == nn::ModuleKind::activation ||
          definition->kind == nn::ModuleKind::prelu) {
        found.push_back(definition->type_name);
      }
    }
    return found;
  }();
  return names;
}

const std::vector<std::string>& activation_function_names() {
  // The definitions that say which activation a call computes: the 21 of docs/pruning.md.
  static const std::vector<std::string> names = [] {
    std::vector<std::string> found;
    for (const ir::OpDefinition* definition : ir::op_definitions())
      if (definition->activation != nullptr) found.push_back(definition->name);
    return found;
  }();
  return names;
}

namespace {

// An element accepting these module types and these function names, shown as `label`.
PatternElement alternatives(std::vector<std::string> module_types,
                            std::vector<std::string> function_names, std::string label) {
  PatternElement element;
  element.module_types = std::move(module_types);
  element.function_names = std::move(function_names);
  element.label = std::move(label);
  return element;
}

}  // namespace

PatternElement activation() {
  return alternatives(activation_module_types(), activation_function_names(), "act");
}

PatternElement pool2d() {
  return alternatives({"MaxPool2d", "AvgPool2d"}, {"max_pool2d", "avg_pool2d"}, "pool");
}

PatternElement adaptive_pool2d() {
  return alternatives({"AdaptiveAvgPool2d", "AdaptiveMaxPool2d"},
                      {"adaptive_avg_pool2d", "adaptive_max_pool2d"}, "adaptive pool");
}

PatternElement flatten() { return alternatives({"Flatten"}, {"flatten"}, "flatten"); }

std::shared_ptr<nn::Module> PatternMatch::module(size_t index) const {
  PARE_CHECK(index < nodes.size(), "PatternMatch: no node ", index, " in a match of ",
             nodes.size());
  const ir::Node& node = *nodes[index];
  PARE_CHECK(node.op() == ir::OpKind::call_module, "PatternMatch: node '", node.name(), "' (",
             ir::op_kind_name(node.op()), " ", node.target(), ") is not a module call");
  return graph_module.module(node.target());
}

std::string PatternMatch::describe() const {
  std::vector<std::string> names;
  for (const ir::Node* node : nodes) names.push_back(node->name());
  return join(names, " -> ");
}

std::string Pattern::describe() const {
  std::vector<std::string> parts;
  for (const PatternElement& element : chain) parts.push_back(element.describe());
  return str_cat("(", join(parts, ", "), ")");  // str_cat: GCC 12 warns on "(" + string
}

PatternTable::PatternTable(std::vector<Pattern> patterns) {
  for (Pattern& pattern : patterns) add(std::move(pattern));
}

void PatternTable::add(Pattern pattern) {
  PARE_CHECK(!pattern.chain.empty(), "PatternTable::add: pattern '", pattern.name,
             "' has an empty chain");
  PARE_CHECK(static_cast<bool>(pattern.prune), "PatternTable::add: pattern '", pattern.name, "' ",
             pattern.describe(), " has no prune function");
  for (Pattern& existing : patterns_) {
    if (existing.chain == pattern.chain) {
      existing.name = std::move(pattern.name);
      existing.prune = std::move(pattern.prune);
      return;
    }
  }
  patterns_.push_back(std::move(pattern));
  index(patterns_.size() - 1);
}

void PatternTable::index(size_t pattern_index) {
  const PatternElement& first = patterns_[pattern_index].chain.front();
  if (first.match_all) {
    starting_with_anything_.push_back(pattern_index);
    return;
  }
  for (const std::string& type : first.module_types) {
    std::vector<size_t>& list = by_module_type_[type];
    if (list.empty() || list.back() != pattern_index) list.push_back(pattern_index);
  }
  for (const std::string& name : first.function_names) {
    std::vector<size_t>& list = by_function_name_[name];
    if (list.empty() || list.back() != pattern_index) list.push_back(pattern_index);
  }
  if (first.output) starting_with_output_.push_back(pattern_index);
}

std::vector<size_t> PatternTable::candidates(const ir::Node& node,
                                             const ir::GraphModule& graph_module) const {
  const std::vector<size_t>* keyed = nullptr;
  if (node.op() == ir::OpKind::call_module) {
    auto found = by_module_type_.find(graph_module.module(node.target())->type_name());
    if (found != by_module_type_.end()) keyed = &found->second;
  } else if (node.op() == ir::OpKind::call_function) {
    auto found = by_function_name_.find(node.target());
    if (found != by_function_name_.end()) keyed = &found->second;
  } else if (node.op() == ir::OpKind::output) {
    keyed = &starting_with_output_;
  }
  std::vector<size_t> merged;
  if (keyed == nullptr) return starting_with_anything_;
  std::merge(keyed->begin(), keyed->end(), starting_with_anything_.begin(),
             starting_with_anything_.end(), std::back_inserter(merged));
  return merged;
}

std::vector<ir::Node*> first_user_chain(ir::Node& node, size_t length) {
  std::vector<ir::Node*> chain = {&node};
  while (chain.size() < length && !chain.back()->users().empty())
    chain.push_back(chain.back()->users().front());
  return chain;
}

const Pattern* PatternTable::match(ir::Node& node, const ir::GraphModule& graph_module,
                                   std::vector<ir::Node*>& matched) const {
  for (size_t pattern_index : candidates(node, graph_module)) {
    const Pattern& pattern = patterns_[pattern_index];
    std::vector<ir::Node*> chain = first_user_chain(node, pattern.chain.size());
    if (chain.size() != pattern.chain.size()) continue;
    bool all_match = true;
    for (size_t i = 0; i < chain.size() && all_match; ++i)
      all_match = pattern.chain[i].matches(*chain[i], graph_module);
    if (!all_match) continue;
    matched = std::move(chain);
    return &pattern;
  }
  return nullptr;
}

std::vector<const Pattern*> PatternTable::patterns_starting_with(
    const std::string& module_type) const {
  std::vector<const Pattern*> found;
  for (const Pattern& pattern : patterns_) {
    const PatternElement& first = pattern.chain.front();
    if (first.match_all || contains(first.module_types, module_type)) found.push_back(&pattern);
  }
  return found;
}

PatternTable default_pattern_table() {
  const PatternElement linear = module_type("Linear");
  const PatternElement conv = module_type("Conv2d");
  const PatternElement lstm = module_type("LSTM");
  const PatternElement act = activation();
  const PatternElement pool = pool2d();
  const PatternElement out = output();
  return PatternTable({
      {"prune_linear", {linear, out}, prune_linear},
      {"prune_linear_linear", {linear, linear}, prune_linear_linear},
      {"prune_linear_activation_linear", {linear, act, linear}, prune_linear_activation_linear},
      {"prune_conv2d", {conv, out}, prune_conv2d},
      {"prune_conv2d_conv2d", {conv, conv}, prune_conv2d_conv2d},
      {"prune_conv2d_activation_conv2d", {conv, act, conv}, prune_conv2d_activation_conv2d},
      {"prune_conv2d_activation_pool_conv2d",
       {conv, act, pool, conv},
       prune_conv2d_activation_pool_conv2d},
      {"prune_conv2d_pool_activation_conv2d",
       {conv, pool, act, conv},
       prune_conv2d_pool_activation_conv2d},
      {"prune_conv2d_pool_flatten_linear",
       {conv, adaptive_pool2d(), flatten(), linear},
       prune_conv2d_pool_flatten_linear},
      {"prune_lstm_output_linear",
       {lstm, function_name("getitem"), linear},
       prune_lstm_output_linear},
      {"prune_lstm_output_layernorm_linear",
       {lstm, function_name("getitem"), module_type("LayerNorm"), linear},
       prune_lstm_output_layernorm_linear},
      // pare's additions.
      {"prune_linear_activation", {linear, act, out}, prune_linear_activation},
      {"prune_conv2d_activation", {conv, act, out}, prune_conv2d_activation},
      {"prune_conv2d_activation_pool_flatten_linear",
       {conv, act, adaptive_pool2d(), flatten(), linear},
       prune_conv2d_activation_pool_flatten_linear},
  });
}

}  // namespace pare::pruning

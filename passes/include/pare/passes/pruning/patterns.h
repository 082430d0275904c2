// Patterns: which chains of graph nodes the pruning pass knows how to shrink, and the prune
// function that does it (docs/pruning.md, "prune(): pattern matching").
//
// A pattern is a chain (first, second, ...): element 0 must match the node, element 1 its first
// user, and so on. An element matches a call_module node by exact module type, a call_function
// node by function name, the output node (output()), or anything (MatchAllNode()).
//
//   pare::pruning::PatternTable table = pare::pruning::default_pattern_table();
//   table.add({"linear_dropout_linear",                          // a user pattern
//              {pare::pruning::module_type("Linear"), pare::pruning::module_type("Dropout"),
//               pare::pruning::module_type("Linear")},
//              [](pare::pruning::PatternMatch& match) {
//                pare::pruning::prune_linear_linear(match);   // dropout passes 0 through
//              }});
//   pruner.patterns = table;                                    // used by pruner.prune(...)
//
// The table indexes patterns by their first element, so finding the candidates of a node costs
// the same whatever the table's size; matching a whole graph is linear in its size.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pare/ir/graph_module.h"
#include "pare/nn/module.h"

namespace pare::pruning {

// One element of a pattern: the node kinds it accepts. Several alternatives may be listed (an
// "activation" element accepts 21 module types and 21 function names).
struct PatternElement {
  std::vector<std::string> module_types;    // call_module nodes of exactly one of these types
  std::vector<std::string> function_names;  // call_function nodes with one of these targets
  bool output = false;                      // the graph's output node
  bool match_all = false;                   // any node (PyTorch's MatchAllNode)

  bool matches(const ir::Node& node, const ir::GraphModule& graph_module) const;
  // "Linear", "act", "MaxPool2d|AvgPool2d|max_pool2d|avg_pool2d", "output", "MatchAllNode".
  std::string describe() const;
  bool operator==(const PatternElement&) const = default;
  // A short label instead of the full list of alternatives in describe() (e.g. "act").
  std::string label;
};

PatternElement module_type(const std::string& type);
PatternElement function_name(const std::string& name);
PatternElement output();
PatternElement MatchAllNode();  // NOLINT: PyTorch's name
// Any of the given elements (their alternatives merged), shown as `label`.
PatternElement any_of(const std::vector<PatternElement>& elements, const std::string& label);

// The element sets of the default table.
PatternElement activation();       // the 21 activations, as modules and as functions
PatternElement pool2d();           // MaxPool2d, AvgPool2d, max_pool2d, avg_pool2d
PatternElement adaptive_pool2d();  // AdaptiveAvgPool2d, AdaptiveMaxPool2d (and functions)
PatternElement flatten();          // Flatten, flatten

// The activation names, read from the definitions: module type names (the layers of kind
// activation or prelu: CELU, ..., Tanhshrink) and function names (the ops with an activation hook:
// relu, ...).
const std::vector<std::string>& activation_module_types();
const std::vector<std::string>& activation_function_names();

// A matched chain: one node per pattern element, in chain order.
struct PatternMatch {
  ir::GraphModule& graph_module;
  std::vector<ir::Node*> nodes;
  // The module of nodes[index] (a pare::Error if it is not a call_module node).
  std::shared_ptr<nn::Module> module(size_t index) const;
  // "conv1 -> relu -> conv2", for messages.
  std::string describe() const;
};

// Shrinks the modules of a match in place. Throws pare::Error naming the module and the reason
// when the chain cannot be pruned.
using PruneFunction = std::function<void(PatternMatch& match)>;

struct Pattern {
  std::string name;  // e.g. "prune_conv2d_activation_conv2d"
  std::vector<PatternElement> chain;
  PruneFunction prune;
  // "(Conv2d, act, Conv2d)".
  std::string describe() const;
};

class PatternTable {
 public:
  PatternTable() = default;
  explicit PatternTable(std::vector<Pattern> patterns);

  // Appends `pattern`; a pattern with the same chain as an existing one replaces that one's name
  // and prune function in place (PyTorch's dict update).
  void add(Pattern pattern);
  const std::vector<Pattern>& patterns() const { return patterns_; }
  size_t size() const { return patterns_.size(); }

  // The first pattern, in table order, whose chain starts at `node` and matches it; fills
  // `matched` with the chain's nodes. nullptr when none matches.
  const Pattern* match(ir::Node& node, const ir::GraphModule& graph_module,
                       std::vector<ir::Node*>& matched) const;
  // The patterns whose first element accepts a call_module node of `module_type`, for messages.
  std::vector<const Pattern*> patterns_starting_with(const std::string& module_type) const;

 private:
  // Candidate pattern indices for a node, ascending (table order).
  std::vector<size_t> candidates(const ir::Node& node, const ir::GraphModule& graph_module) const;
  void index(size_t pattern_index);

  std::vector<Pattern> patterns_;
  std::map<std::string, std::vector<size_t>> by_module_type_;
  std::map<std::string, std::vector<size_t>> by_function_name_;
  std::vector<size_t> starting_with_output_;
  std::vector<size_t> starting_with_anything_;
};

// PyTorch's default table plus pare's additions, in spec order.
PatternTable default_pattern_table();

// A chain of first users starting at `node` (at most `length` nodes), for matching by hand.
std::vector<ir::Node*> first_user_chain(ir::Node& node, size_t length);

}  // namespace pare::pruning

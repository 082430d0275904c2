// The graph part of a .pare file (docs/format.md, "The graph"): Graph <-> JSON text.
// Internal to pare_ir; pare_file.cpp joins it with the tensors.
//
//   std::string text = graph_to_json(graph, modules);          // modules: name, type, attrs
//   ParsedGraph parsed = parse_graph_json(text, "net.pare");   // validated; errors name source
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pare/ir/graph.h"
#include "pare/observer.h"

namespace pare::ir {

// One entry of "modules": a call_module target, its type and its constructor attributes.
struct ModuleSpec {
  std::string name;
  std::string type;
  Attrs attrs;
};

// Serialises `graph` with "inputs" from the placeholders' meta (each needs one tensor meta) and
// "modules" from `modules`. Throws pare::Error naming the node for what JSON cannot hold.
std::string graph_to_json(const Graph& graph, const std::vector<ModuleSpec>& modules);

struct ParsedGraph {
  std::shared_ptr<Graph> graph;
  std::vector<ModuleSpec> modules;  // in file order
};

// Parses and validates the JSON structure: every key and type, ops, call_function targets (those
// GraphModule runs: is_function_target),
// node references (to earlier nodes only), unique names, one output node at the end,
// call_module targets present in "modules", inputs[] matching the placeholders (whose meta it
// sets). Module attributes and tensors are checked by the caller. Errors start with `source`.
ParsedGraph parse_graph_json(const std::string& text, const std::string& source);

}  // namespace pare::ir

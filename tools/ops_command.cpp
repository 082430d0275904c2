// `pare ops [NAME...] [--json]`: the op definitions pare runs (ir/ops), with their signatures,
// MAC counts and how the compiled inference path runs them; --json adds the built-in layers.
// tools/pare_export.py reads `pare ops --json` when it exports: which torch functions and layers a
// .pare file may hold, the signatures it binds their arguments by and the layers' attributes, so
// the exporter and the engine cannot drift apart.
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "command.h"
#include "pare/ir/layer_definition.h"
#include "pare/ir/op_definition.h"

namespace pare::cli {

namespace {

using Json = nlohmann::ordered_json;

Json literal_json(const ir::Argument& literal) {
  if (literal.is_none()) return nullptr;
  if (literal.is_bool()) return literal.to_bool();
  if (literal.is_int()) return literal.to_int();
  if (literal.is_double()) return literal.to_double();
  if (literal.is_string()) return literal.to_string();
  Json items = Json::array();
  for (const ir::Argument& item : literal.to_list()) items.push_back(literal_json(item));
  return items;
}

// How the compiled inference path runs the op; an elementwise activation is its own kind of step
// (or a fused post-op), whatever its `lowering`.
const char* lowering_name(const ir::OpDefinition& op) {
  if (op.activation != nullptr) return "activation";
  switch (op.lowering) {
    case ir::Lowering::interpreter:
      return "interpreter";
    case ir::Lowering::alias:
      return op.alias_when != nullptr ? "alias (some calls)" : "alias";
    case ir::Lowering::pool2d:
      return "pool2d";
  }
  return "?";
}

Json definition_json(const ir::OpDefinition& op) {
  Json params = Json::array();
  for (const ir::OpParam& param : op.params) {
    Json entry = {{"name", param.name},
                  {"type", ir::param_type_name(param.type)},
                  {"position", param.position < 0 ? Json(nullptr) : Json(param.position)},
                  {"required", param.required}};
    if (!param.required) entry["default"] = literal_json(param.default_value);
    params.push_back(std::move(entry));
  }
  return {{"name", op.name},
          {"family", op.family},
          {"summary", op.summary},
          {"params", std::move(params)},
          {"macs", op.macs != nullptr},
          {"lowering", lowering_name(op)}};
}

// A built-in layer (call_module): what a .pare file declares it with. Its tensors' names and shapes
// follow from the attributes' values (LSTM's num_layers, Linear's bias), so only whether it has
// any is listed.
Json layer_json(const ir::LayerDefinition& layer) {
  return {{"type", layer.type_name},
          {"kind", std::string(nn::module_kind_name(layer.kind))},
          {"attributes", layer.attributes},
          {"in_files", layer.factory != nullptr},
          {"tensors", layer.layout != nullptr},
          {"macs", layer.macs != nullptr}};
}

// Python's spelling of a default: None, True, 0.5, "none", [1, 1].
std::string python_literal(const ir::Argument& literal) {
  if (literal.is_none()) return "None";
  if (literal.is_bool()) return literal.to_bool() ? "True" : "False";
  if (literal.is_string()) return "\"" + literal.to_string() + "\"";
  if (literal.is_list()) {
    std::string text = "[";
    for (const ir::Argument& item : literal.to_list())
      text += (text.size() > 1 ? ", " : "") + python_literal(item);
    return text + "]";
  }
  return literal_json(literal).dump();
}

// "max_pool2d(input: Tensor, kernel_size: int[2], stride: int[2]? = None, ...)"; keyword-only
// parameters follow a "*".
std::string signature_line(const ir::OpDefinition& op) {
  std::string text = op.name + "(";
  bool first = true;
  bool keyword_only = false;
  for (const ir::OpParam& param : op.params) {
    if (!first) text += ", ";
    if (param.position < 0 && !keyword_only) {
      text += "*, ";
      keyword_only = true;
    }
    text += param.name + ": " + ir::param_type_name(param.type);
    if (!param.required) text += " = " + python_literal(param.default_value);
    first = false;
  }
  return text + ")";
}

std::vector<const ir::OpDefinition*> selected(const std::vector<std::string>& names) {
  if (names.empty()) return ir::op_definitions();
  std::vector<const ir::OpDefinition*> chosen;
  for (const std::string& name : names) {
    const ir::OpDefinition* op = ir::find_op_definition(name);
    if (op == nullptr) throw UsageError("unknown op '" + name + "' (run 'pare ops' for the list)");
    chosen.push_back(op);
  }
  return chosen;
}

}  // namespace

Subcommand ops_command() {
  ArgParser parser("pare ops",
                   "Lists the ops graphs may call, with their signatures (--json: all of it).");
  parser.trailing_positionals("NAME", "only these ops")
      .flag("json",
            "print the definitions as JSON, with the built-in layers' (what tools/pare_export.py "
            "follows)");
  return {"ops", std::move(parser), [](const ParsedArgs& args) {
            const std::vector<const ir::OpDefinition*> ops = selected(args.positionals());
            if (args.flag("json")) {
              Json list = Json::array();
              for (const ir::OpDefinition* op : ops) list.push_back(definition_json(*op));
              Json dump = {{"ops", std::move(list)}};
              // The whole table also lists the built-in layers; a NAME selects ops only.
              if (args.positionals().empty()) {
                Json layers = Json::array();
                for (const ir::LayerDefinition* layer : ir::layer_definitions())
                  layers.push_back(layer_json(*layer));
                dump["layers"] = std::move(layers);
              }
              std::cout << dump.dump(2) << "\n";
              return 0;
            }
            Table rows = {{"op", "family", "MACs", "inference", "signature"}};
            for (const ir::OpDefinition* op : ops) {
              rows.push_back({op->name, op->family, op->macs != nullptr ? "yes" : "-",
                              lowering_name(*op), signature_line(*op)});
            }
            print_table(rows, {}, "", std::cout);
            return 0;
          }};
}

}  // namespace pare::cli

// Graph <-> the JSON of a .pare file. The parser trusts nothing: every key, type and reference
// is checked before use, and every error names the node, module or input it is about.
#include "graph_json.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "pare/bounded_json.h"
#include "pare/checked_math.h"
#include "pare/error.h"
#include "pare/ir/graph_module.h"
#include "pare/safetensors.h"

namespace pare::ir {

namespace {

using Json = nlohmann::ordered_json;

// Deeper nesting than this in args/kwargs is refused, so that hostile files cannot exhaust the
// stack of the recursive conversion; real graphs nest two or three levels.
constexpr int kMaxArgumentDepth = 16;

bool is_identifier(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// ---- writing ----

Json argument_to_json(const Argument& argument, const Node& node) {
  if (argument.is_none()) return nullptr;
  if (argument.is_bool()) return argument.to_bool();
  if (argument.is_int()) return argument.to_int();
  if (argument.is_double()) {
    double value = argument.to_double();
    PARE_CHECK(std::isfinite(value), "save: node '", node.name(), "' has the argument ", value,
               ", which JSON cannot hold");
    return value;
  }
  if (argument.is_string()) return argument.to_string();
  if (argument.is_node()) return Json{{"node", argument.to_node()->name()}};
  Json list = Json::array();
  for (const Argument& item : argument.to_list()) list.push_back(argument_to_json(item, node));
  return list;
}

Json attr_to_json(const AttrValue& value, const ModuleSpec& module, const std::string& key) {
  return std::visit(
      [&](const auto& held) -> Json {
        using T = std::decay_t<decltype(held)>;
        if constexpr (std::is_same_v<T, double>) {
          PARE_CHECK(std::isfinite(held), "save: module '", module.name, "': attribute '", key,
                     "' is ", held, ", which JSON cannot hold");
        }
        return Json(held);
      },
      value);
}

Json node_to_json(const Node& node) {
  Json entry = {{"name", node.name()}, {"op", op_kind_name(node.op())}, {"target", node.target()}};
  if (!node.args().empty()) {
    Json args = Json::array();
    for (const Argument& argument : node.args()) args.push_back(argument_to_json(argument, node));
    entry["args"] = std::move(args);
  }
  if (!node.kwargs().empty()) {
    Json kwargs = Json::object();
    for (const auto& [key, argument] : node.kwargs())
      kwargs[key] = argument_to_json(argument, node);
    entry["kwargs"] = std::move(kwargs);
  }
  return entry;
}

// ---- reading ----

// Parses one graph JSON document; every failure is a pare::Error starting with the source.
class GraphParser {
 public:
  explicit GraphParser(const std::string& source) : source_(source) {}

  ParsedGraph parse(const std::string& text) {
    Json root;
    try {
      root = parse_bounded_json<Json>(text, "pare.graph");
    } catch (const Error& error) {
      fail(error.what());
    }
    require(root.is_object(), "pare.graph must be a JSON object, got ", describe(root));
    for (auto it = root.begin(); it != root.end(); ++it) {
      require(it.key() == "inputs" || it.key() == "modules" || it.key() == "nodes",
              "pare.graph has an unknown key '", it.key(), "' (expected inputs, modules, nodes)");
    }
    for (const char* key : {"inputs", "modules", "nodes"})
      require(root.contains(key), "pare.graph has no \"", key, "\"");

    ParsedGraph parsed;
    parsed.graph = std::make_shared<Graph>();
    parsed.modules = parse_modules(root["modules"]);
    parse_nodes(root["nodes"], parsed);
    parse_inputs(root["inputs"], *parsed.graph);
    try {
      parsed.graph->lint();
    } catch (const Error& error) {
      fail(error.what());
    }
    return parsed;
  }

 private:
  template <typename... Parts>
  [[noreturn]] void fail(const Parts&... parts) const {
    throw Error(str_cat(source_, ": ", parts...));
  }
  template <typename... Parts>
  void require(bool condition, const Parts&... parts) const {
    if (!condition) fail(parts...);
  }
  // A value for a message: scalars as written, containers by their kind (never recursing).
  static std::string describe(const Json& value) {
    if (value.is_array()) return "an array";
    if (value.is_object()) return "an object";
    std::string text = value.dump();
    return text.size() > 40 ? text.substr(0, 37) + "..." : text;
  }

  bool fits_int64(const Json& value) const {
    return value.is_number_integer() &&
           (!value.is_number_unsigned() ||
            value.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
  }

  std::vector<ModuleSpec> parse_modules(const Json& modules) {
    require(modules.is_object(), "\"modules\" must be an object, got ", describe(modules));
    std::vector<ModuleSpec> specs;
    for (auto it = modules.begin(); it != modules.end(); ++it) {
      ModuleSpec spec;
      spec.name = it.key();
      const Json& entry = it.value();
      require(entry.is_object(), "module '", spec.name, "' must be an object, got ",
              describe(entry));
      require(entry.contains("type") && entry["type"].is_string(), "module '", spec.name,
              "' has no \"type\" string");
      spec.type = entry["type"].get<std::string>();
      for (auto attr = entry.begin(); attr != entry.end(); ++attr) {
        if (attr.key() == "type") continue;
        spec.attrs.emplace_back(attr.key(), parse_attr(attr.value(), spec.name, attr.key()));
      }
      module_names_.insert(spec.name);
      specs.push_back(std::move(spec));
    }
    return specs;
  }

  AttrValue parse_attr(const Json& value, const std::string& module, const std::string& key) {
    if (value.is_boolean()) return value.get<bool>();
    if (value.is_number_integer()) {
      require(fits_int64(value), "module '", module, "': attribute '", key,
              "' is too large for a 64-bit integer");
      return value.get<int64_t>();
    }
    if (value.is_number_float()) return value.get<double>();
    if (value.is_string()) return value.get<std::string>();
    if (value.is_array()) {
      std::vector<int64_t> ints;
      for (const Json& item : value) {
        require(fits_int64(item), "module '", module, "': attribute '", key,
                "' must be a list of integers, but holds ", describe(item));
        ints.push_back(item.get<int64_t>());
      }
      return ints;
    }
    fail("module '", module, "': attribute '", key,
         "' must be a bool, number, string or list of integers, got ", describe(value));
  }

  void parse_nodes(const Json& nodes, ParsedGraph& parsed) {
    require(nodes.is_array(), "\"nodes\" must be an array, got ", describe(nodes));
    // Every name first, so that a reference to a later node reads differently from a typo.
    std::unordered_set<std::string> all_names;
    for (size_t index = 0; index < nodes.size(); ++index) {
      const Json& entry = nodes[index];
      require(entry.is_object(), "nodes[", index, "] must be an object, got ", describe(entry));
      require(entry.contains("name") && entry["name"].is_string(), "nodes[", index,
              "] has no \"name\" string");
      const std::string name = entry["name"].get<std::string>();
      require(is_identifier(name), "nodes[", index, "]: node name '", name,
              "' must consist of letters, digits and '_'");
      require(all_names.insert(name).second, "duplicate node name '", name, "'");
    }
    bool output_seen = false;
    for (const Json& entry : nodes) {
      const std::string name = entry["name"].get<std::string>();
      require(!output_seen, "node '", name, "' comes after the output node");
      for (auto it = entry.begin(); it != entry.end(); ++it) {
        const std::string& key = it.key();
        require(key == "name" || key == "op" || key == "target" || key == "args" || key == "kwargs",
                "node '", name, "' has an unknown key '", key,
                "' (expected name, op, target, args, kwargs)");
      }
      require(entry.contains("op") && entry["op"].is_string(), "node '", name,
              "' has no \"op\" string");
      const std::string op_name = entry["op"].get<std::string>();
      OpKind op;
      require(parse_op_kind(op_name, op), "node '", name, "': unknown op '", op_name,
              "' (expected placeholder, call_module, call_function, get_attr or output)");
      require(entry.contains("target") && entry["target"].is_string(), "node '", name,
              "' has no \"target\" string");
      const std::string target = entry["target"].get<std::string>();
      require(!target.empty(), "node '", name, "' has an empty target");

      std::vector<Argument> args;
      if (entry.contains("args")) {
        const Json& json_args = entry["args"];
        require(json_args.is_array(), "node '", name, "': \"args\" must be an array, got ",
                describe(json_args));
        for (const Json& item : json_args) args.push_back(parse_argument(item, name, all_names, 0));
      }
      Kwargs kwargs;
      if (entry.contains("kwargs")) {
        const Json& json_kwargs = entry["kwargs"];
        require(json_kwargs.is_object(), "node '", name, "': \"kwargs\" must be an object, got ",
                describe(json_kwargs));
        for (auto it = json_kwargs.begin(); it != json_kwargs.end(); ++it)
          kwargs.emplace_back(it.key(), parse_argument(it.value(), name, all_names, 0));
      }

      switch (op) {
        case OpKind::placeholder:
        case OpKind::get_attr:
          require(args.empty() && kwargs.empty(), op_name, " node '", name,
                  "' must not have args or kwargs");
          break;
        case OpKind::call_module:
          require(module_names_.count(target), "node '", name, "': call_module target '", target,
                  "' is not in \"modules\"");
          break;
        case OpKind::call_function:
          require(is_function_target(target), "node '", name, "': unknown call_function target '",
                  target, "'");
          break;
        case OpKind::output:
          require(args.size() == 1 && kwargs.empty(), "output node '", name,
                  "' must have exactly one argument");
          require(only_node_references(args[0]), "output node '", name,
                  "': args[0] must be a node reference or an array of them");
          output_seen = true;
          break;
      }
      Node* node = parsed.graph->create_node(op, target, std::move(args), std::move(kwargs), name);
      defined_[name] = node;
    }
    require(output_seen, "the graph has no output node");
  }

  static bool only_node_references(const Argument& argument) {
    if (argument.is_node()) return true;
    if (!argument.is_list()) return false;
    const Argument::List& items = argument.to_list();
    return std::all_of(items.begin(), items.end(), only_node_references);
  }

  Argument parse_argument(const Json& value, const std::string& node,
                          const std::unordered_set<std::string>& all_names, int depth) {
    require(depth < kMaxArgumentDepth, "node '", node, "': arguments nest deeper than ",
            kMaxArgumentDepth, " levels");
    if (value.is_null()) return Argument();
    if (value.is_boolean()) return Argument(value.get<bool>());
    if (value.is_number_integer()) {
      require(fits_int64(value), "node '", node, "': an integer argument is too large for 64 bits");
      return Argument(value.get<int64_t>());
    }
    if (value.is_number_float()) return Argument(value.get<double>());
    if (value.is_string()) return Argument(value.get<std::string>());
    if (value.is_array()) {
      Argument::List items;
      for (const Json& item : value)
        items.push_back(parse_argument(item, node, all_names, depth + 1));
      return Argument(std::move(items));
    }
    require(value.is_object() && value.size() == 1 && value.contains("node") &&
                value["node"].is_string(),
            "node '", node, "': an object argument must be {\"node\": NAME}");
    const std::string referenced = value["node"].get<std::string>();
    auto found = defined_.find(referenced);
    if (found != defined_.end()) return Argument(found->second);
    require(!all_names.count(referenced), "node '", node, "' references node '", referenced,
            "', which comes later (nodes must be in topological order)");
    fail("node '", node, "' references unknown node '", referenced, "'");
  }

  void parse_inputs(const Json& inputs, Graph& graph) {
    require(inputs.is_array(), "\"inputs\" must be an array, got ", describe(inputs));
    std::vector<Node*> placeholders = graph.placeholders();
    require(inputs.size() == placeholders.size(), "\"inputs\" lists ", inputs.size(),
            " input(s) but the graph has ", placeholders.size(), " placeholder(s)");
    for (size_t index = 0; index < inputs.size(); ++index) {
      const Json& entry = inputs[index];
      Node* placeholder = placeholders[index];
      require(entry.is_object(), "inputs[", index, "] must be an object, got ", describe(entry));
      for (auto it = entry.begin(); it != entry.end(); ++it) {
        require(it.key() == "name" || it.key() == "shape" || it.key() == "dtype", "inputs[", index,
                "] has an unknown key '", it.key(), "' (expected name, shape, dtype)");
      }
      require(entry.contains("name") && entry["name"].is_string(), "inputs[", index,
              "] has no \"name\" string");
      const std::string name = entry["name"].get<std::string>();
      require(name == placeholder->name() || name == placeholder->target(), "inputs[", index,
              "] is named '", name, "' but placeholder ", index, " is '", placeholder->name(), "'");
      require(entry.contains("shape") && entry["shape"].is_array(), "input '", name,
              "' has no \"shape\" array");
      TensorMeta meta;
      for (const Json& dim : entry["shape"]) {
        require(fits_int64(dim) && dim.get<int64_t>() >= 0, "input '", name,
                "': shape entries must be non-negative integers, got ", describe(dim));
        meta.shape.push_back(dim.get<int64_t>());
      }
      require(entry.contains("dtype") && entry["dtype"].is_string(), "input '", name,
              "' has no \"dtype\" string");
      const std::string dtype = entry["dtype"].get<std::string>();
      require(parse_safetensors_dtype(dtype, meta.dtype), "input '", name, "': unknown dtype '",
              dtype, "' (expected F32, I64, U8 or BOOL)");
      // `pare run` allocates an input of this shape: no shape a tensor cannot have.
      try {
        checked_tensor_bytes(meta.shape, static_cast<int64_t>(element_size(meta.dtype)), "input '",
                             name, "'");
      } catch (const Error& error) {
        fail(error.what());
      }
      placeholder->meta = {meta};
    }
  }

  std::string source_;
  std::set<std::string> module_names_;
  std::unordered_map<std::string, Node*> defined_;
};

}  // namespace

std::string graph_to_json(const Graph& graph, const std::vector<ModuleSpec>& modules) {
  Json inputs = Json::array();
  for (const Node* placeholder : graph.placeholders()) {
    PARE_CHECK(placeholder->meta.size() == 1, "save: placeholder '", placeholder->name(),
               "' has no example shape in its meta (trace the model, or call "
               "GraphModule::record_meta before saving)");
    const TensorMeta& meta = placeholder->meta[0];
    inputs.push_back({{"name", placeholder->name()},
                      {"shape", meta.shape},
                      {"dtype", safetensors_dtype_name(meta.dtype)}});
  }
  Json json_modules = Json::object();
  for (const ModuleSpec& module : modules) {
    Json entry = {{"type", module.type}};
    for (const auto& [key, value] : module.attrs) {
      PARE_CHECK(key != "type", "save: module '", module.name,
                 "' has an attribute named 'type', which the format reserves");
      entry[key] = attr_to_json(value, module, key);
    }
    json_modules[module.name] = std::move(entry);
  }
  Json nodes = Json::array();
  for (const Node* node : graph.nodes()) nodes.push_back(node_to_json(*node));
  Json root = {{"inputs", std::move(inputs)},
               {"modules", std::move(json_modules)},
               {"nodes", std::move(nodes)}};
  try {
    return root.dump();
  } catch (const nlohmann::json::exception& error) {
    throw Error(str_cat("save: the graph cannot be written as JSON (", error.what(), ")"));
  }
}

ParsedGraph parse_graph_json(const std::string& text, const std::string& source) {
  return GraphParser(source).parse(text);
}

}  // namespace pare::ir

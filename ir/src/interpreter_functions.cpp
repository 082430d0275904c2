// The call_function targets GraphModule runs, each mapped to its pare op. A target's arguments
// follow torch.nn.functional / torch.Tensor: tensors come first as node references; the other
// parameters may be keyword arguments (what the tracer writes) or positional literals (what a
// torch.fx export may write), and are parsed once when the node is compiled.
#include "interpreter_functions.h"

#include <algorithm>
#include <limits>
#include <string_view>
#include <unordered_map>

#include "pare/error.h"
#include "pare/functional.h"
#include "pare/indexing.h"

namespace pare::ir::detail {

namespace {

// Where a parameter may sit among the positional args (kKeywordOnly: only as a kwarg).
constexpr int kKeywordOnly = -1;

struct ParamSpec {
  std::string_view name;
  int position;
};

// The non-tensor parameters of one node, by name: a kwarg, else a positional literal.
class Params {
 public:
  Params(const Node& node, std::vector<ParamSpec> specs) : node_(node), specs_(std::move(specs)) {
    for (const auto& [key, value] : node.kwargs()) {
      // torch's `inplace` flags change nothing about the result.
      bool known = key == "inplace";
      for (const ParamSpec& spec : specs_) known = known || spec.name == key;
      PARE_CHECK(known, node.target(), ": unknown keyword argument '", key, "'", expected());
      bool references_node = false;
      value.for_each_node([&](Node*) { references_node = true; });
      PARE_CHECK(!references_node, node.target(), ": keyword argument '", key,
                 "' must be a literal, got ", value);
    }
  }

  const Argument* find(std::string_view name) const {
    for (const auto& [key, value] : node_.kwargs())
      if (key == name) return &value;
    for (const ParamSpec& spec : specs_) {
      if (spec.name != name || spec.position < 0) continue;
      if (static_cast<size_t>(spec.position) < node_.args().size()) {
        const Argument& argument = node_.args()[spec.position];
        if (!argument.is_node()) return &argument;
      }
    }
    return nullptr;
  }
  bool has(std::string_view name) const {
    const Argument* argument = find(name);
    return argument != nullptr && !argument->is_none();
  }
  double number(std::string_view name, double fallback) const {
    return has(name) ? find(name)->to_double(what(name)) : fallback;
  }
  int64_t integer(std::string_view name, int64_t fallback) const {
    return has(name) ? find(name)->to_int(what(name)) : fallback;
  }
  int64_t required_integer(std::string_view name) const {
    require(name);
    return find(name)->to_int(what(name));
  }
  bool flag(std::string_view name, bool fallback) const {
    return has(name) ? find(name)->to_bool(what(name)) : fallback;
  }
  std::string text(std::string_view name, const std::string& fallback) const {
    return has(name) ? find(name)->to_string(what(name)) : fallback;
  }
  // A list of ints; one int is repeated `expand_to` times when expand_to > 0.
  std::vector<int64_t> ints(std::string_view name, size_t expand_to = 0) const {
    require(name);
    return find(name)->to_ints(what(name), expand_to);
  }
  std::vector<int64_t> ints_or(std::string_view name, std::vector<int64_t> fallback,
                               size_t expand_to = 0) const {
    return has(name) ? find(name)->to_ints(what(name), expand_to) : fallback;
  }
  void require(std::string_view name) const {
    PARE_CHECK(has(name), node_.target(), ": missing argument '", name, "'");
  }
  std::string what(std::string_view name) const {
    return str_cat(node_.target(), ": argument '", name, "'");
  }

 private:
  std::string expected() const {
    if (specs_.empty()) return " (it takes none)";
    std::string names;
    for (const ParamSpec& spec : specs_) names += str_cat(names.empty() ? "" : ", ", spec.name);
    return " (expected " + names + ")";
  }

  const Node& node_;
  std::vector<ParamSpec> specs_;
};

// Checks that the first `count` positional args are node references.
void require_tensor_args(const Node& node, size_t count) {
  PARE_CHECK(node.args().size() >= count, node.target(), ": expected ", count,
             " tensor argument(s), got ", node.args().size(), " argument(s)");
  for (size_t i = 0; i < count; ++i) {
    PARE_CHECK(node.args()[i].is_node(), node.target(), ": argument ", i,
               " must be a node reference, got ", node.args()[i]);
  }
}

const Tensor& tensor_at(const std::vector<Value>& args, size_t index) {
  PARE_CHECK(index < args.size() && args[index].is_tensor(), "argument ", index,
             " must be a tensor");
  return args[index].tensor();
}

// ---- Selecting, splitting, matrix products and reductions ----

using Compiler = FunctionKernel (*)(const Node&);

const std::unordered_map<std::string, Compiler>& compilers() {
  static const std::unordered_map<std::string, Compiler> table = {};
  return table;
}

}  // namespace

FunctionKernel compile_function(const Node& node) {
  if (const OpDefinition* definition = find_op_definition(node.target()))
    return definition->bind(OpCall(*definition, node, nullptr));
  const auto& table = compilers();
  auto found = table.find(node.target());
  PARE_CHECK(found != table.end(), "unknown call_function target '", node.target(), "'");
  return found->second(node);
}

}  // namespace pare::ir::detail

namespace pare::ir {

const std::vector<std::string>& function_targets() {
  static const std::vector<std::string> targets = [] {
    std::vector<std::string> names;
    for (const auto& [name, compiler] : detail::compilers()) names.push_back(name);
    for (const OpDefinition* definition : op_definitions()) names.push_back(definition->name);
    std::sort(names.begin(), names.end());
    return names;
  }();
  return targets;
}

bool is_function_target(const std::string& target) {
  return find_op_definition(target) != nullptr || detail::compilers().count(target) > 0;
}

}  // namespace pare::ir

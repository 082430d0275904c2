// The table of every op definition, built once from the families.
#include <algorithm>
#include <memory>

#include "families.h"
#include "pare/error.h"

namespace pare::ir {

namespace ops {

const Tensor& tensor_at(const std::vector<Value>& args, size_t index) {
  PARE_CHECK(index < args.size() && args[index].is_tensor(), "argument ", index,
             " must be a tensor");
  return args[index].tensor();
}

Tensor optional_tensor_at(const std::vector<Value>& args, size_t index) {
  return index < args.size() && args[index].is_tensor() ? args[index].tensor() : Tensor();
}

Value tuple_of(const std::vector<Tensor>& tensors) {
  return Value(std::vector<Value>(tensors.begin(), tensors.end()));
}

FunctionKernel unary_kernel(const OpCall& call, Tensor (*op)(const Tensor&)) {
  call.require_tensor_args(1);
  return [op](const std::vector<Value>& args) { return Value(op(tensor_at(args, 0))); };
}

FunctionKernel binary_kernel(const OpCall& call, Tensor (*op)(const Tensor&, const Tensor&)) {
  call.require_tensor_args(2);
  return [op](const std::vector<Value>& args) {
    return Value(op(tensor_at(args, 0), tensor_at(args, 1)));
  };
}

bool is_tensor_operand(const OpCall& call, size_t index, std::string_view name) {
  if (!call.is_node_arg(index)) return false;
  PARE_CHECK(call.node().kwarg(std::string(name)) == nullptr, call.target(), ": argument '", name,
             "' is given twice, as tensor argument ", index, " and as a keyword");
  return true;
}

}  // namespace ops

namespace {

struct Registry {
  std::vector<std::unique_ptr<OpDefinition>> owned;
  std::vector<const OpDefinition*> sorted;
};

const Registry& registry() {
  static const Registry table = [] {
    Registry built;
    for (auto family : {
             &ops::pooling_ops,
             &ops::activation_ops,
             &ops::elementwise_ops,
             &ops::comparison_ops,
             &ops::linalg_ops,
             &ops::reduction_ops,
             &ops::linear_ops,
             &ops::conv_ops,
             &ops::normalization_ops,
             &ops::recurrent_ops,
             &ops::softmax_ops,
             &ops::dropout_ops,
             &ops::shape_ops,
             &ops::joining_ops,
             &ops::indexing_ops,
         }) {
      for (OpDefinition& definition : family()) {
        PARE_CHECK(definition.infer != nullptr && definition.bind != nullptr, "op definition '",
                   definition.name, "' has no shape rule or no interpreter binding");
        built.owned.push_back(std::make_unique<OpDefinition>(std::move(definition)));
      }
    }
    for (const auto& definition : built.owned) built.sorted.push_back(definition.get());
    std::sort(built.sorted.begin(), built.sorted.end(),
              [](const OpDefinition* a, const OpDefinition* b) { return a->name < b->name; });
    for (size_t i = 1; i < built.sorted.size(); ++i) {
      PARE_CHECK(built.sorted[i - 1]->name != built.sorted[i]->name, "op '", built.sorted[i]->name,
                 "' is defined twice");
    }
    return built;
  }();
  return table;
}

}  // namespace

const std::vector<const OpDefinition*>& op_definitions() { return registry().sorted; }

const OpDefinition* find_op_definition(std::string_view name) {
  const auto& sorted = registry().sorted;
  auto found =
      std::lower_bound(sorted.begin(), sorted.end(), name,
                       [](const OpDefinition* a, std::string_view b) { return a->name < b; });
  return found != sorted.end() && (*found)->name == name ? *found : nullptr;
}

const OpDefinition& op_definition(std::string_view name) {
  const OpDefinition* definition = find_op_definition(name);
  PARE_CHECK(definition != nullptr, "unknown call_function target '", name, "'");
  return *definition;
}

}  // namespace pare::ir

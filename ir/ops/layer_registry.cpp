// The table of every built-in layer definition, built once from the families, and the helpers
// the families share.
#include <algorithm>

#include "layers.h"
#include "pare/error.h"

namespace pare::ir {

namespace ops {

void require_at_least(const AttrReader& attrs, const std::string& key,
                      const std::vector<int64_t>& values, int64_t minimum) {
  for (int64_t value : values)
    PARE_CHECK(value >= minimum, "module '", attrs.module_name(), "': attribute '", key,
               "' must be >= ", minimum, ", got ", values);
}

std::vector<int64_t> pair_at_least(const AttrReader& attrs, const std::string& key,
                                   int64_t minimum) {
  std::vector<int64_t> values = attrs.get_pair(key);
  require_at_least(attrs, key, values, minimum);
  return values;
}

int64_t int_at_least(const AttrReader& attrs, const std::string& key, int64_t minimum) {
  int64_t value = attrs.get_int(key);
  require_at_least(attrs, key, {value}, minimum);
  return value;
}

bool read_attributes(const std::function<void()>& read) {
  try {
    read();
    return true;
  } catch (const Error&) {
    return false;
  }
}

const AttrValue& config_value(const Attrs& config, const std::string& key,
                              const nn::Module& module) {
  for (const auto& [name, value] : config)
    if (name == key) return value;
  throw Error(str_cat(module.type_name(), ": its config() has no '", key, "'"));
}

int64_t config_int(const Attrs& config, const std::string& key, const nn::Module& module) {
  const AttrValue& value = config_value(config, key, module);
  PARE_CHECK(std::holds_alternative<int64_t>(value), module.type_name(), ": config '", key,
             "' is not an integer");
  return std::get<int64_t>(value);
}

bool config_bool(const Attrs& config, const std::string& key, const nn::Module& module) {
  const AttrValue& value = config_value(config, key, module);
  PARE_CHECK(std::holds_alternative<bool>(value), module.type_name(), ": config '", key,
             "' is not a bool");
  return std::get<bool>(value);
}

IntPair config_pair(const Attrs& config, const std::string& key, const nn::Module& module) {
  const AttrValue& value = config_value(config, key, module);
  if (std::holds_alternative<int64_t>(value)) return std::get<int64_t>(value);
  PARE_CHECK(std::holds_alternative<std::vector<int64_t>>(value), module.type_name(), ": config '",
             key, "' is not a list of integers");
  return IntPair(std::get<std::vector<int64_t>>(value));
}

std::optional<TensorMeta> tensor_meta_of(const nn::Module& module, const std::string& name) {
  Tensor tensor;
  if (module.has_parameter(name)) {
    tensor = module.get_parameter(name);
  } else if (module.has_buffer(name)) {
    tensor = module.get_buffer(name);
  }
  if (!tensor.defined()) return std::nullopt;
  return TensorMeta{tensor.sizes(), tensor.dtype()};
}

TensorMeta required_tensor(const nn::Module& module, const std::string& name) {
  std::optional<TensorMeta> meta = tensor_meta_of(module, name);
  PARE_CHECK(meta.has_value(), module.type_name(), ": has no parameter '", name, "'");
  return *meta;
}

const TensorMeta& single_input(const std::vector<Symbol>& args, const nn::Module& module) {
  PARE_CHECK(args.size() == 1, module.type_name(), ": expected one input tensor, got ", args.size(),
             " arguments");
  PARE_CHECK(args[0].is_tensor(), module.type_name(), ": expected a tensor input, got ",
             args[0].describe());
  return args[0].meta;
}

Shape parameter_shape(const nn::Module& module, const std::string& name) {
  PARE_CHECK(module.has_parameter(name), module.type_name(), ": has no parameter '", name, "'");
  const Tensor tensor = module.get_parameter(name);
  PARE_CHECK(tensor.defined(), module.type_name(), ": parameter '", name, "' is undefined");
  return tensor.sizes();
}

Symbol infer_layer_call(const nn::Module& module, const std::vector<Symbol>& args) {
  const LayerDefinition* definition = find_layer_definition(module.kind());
  if (definition == nullptr) {
    // A custom module called on something other than one tensor hears that first.
    single_input(args, module);
    throw Error(str_cat("no shape rule for module type '", module.type_name(), "'"));
  }
  return definition->infer(module, args);
}

}  // namespace ops

namespace {

struct Registry {
  std::vector<std::unique_ptr<LayerDefinition>> owned;
  std::vector<const LayerDefinition*> sorted;
};

const Registry& registry() {
  static const Registry table = [] {
    Registry built;
    for (auto family : {
             &ops::linear_layers,
             &ops::conv_layers,
             &ops::recurrent_layers,
             &ops::normalization_layers,
             &ops::pooling_layers,
             &ops::shape_layers,
             &ops::dropout_layers,
             &ops::activation_layers,
             &ops::sequential_layers,
         }) {
      for (LayerDefinition& definition : family()) {
        PARE_CHECK(definition.infer != nullptr && definition.kind != nn::ModuleKind::custom,
                   "layer definition '", definition.type_name,
                   "' has no shape rule or no built-in kind");
        built.owned.push_back(std::make_unique<LayerDefinition>(std::move(definition)));
      }
    }
    for (const auto& definition : built.owned) built.sorted.push_back(definition.get());
    std::sort(built.sorted.begin(), built.sorted.end(),
              [](const LayerDefinition* a, const LayerDefinition* b) {
                return a->type_name < b->type_name;
              });
    for (size_t i = 1; i < built.sorted.size(); ++i) {
      PARE_CHECK(built.sorted[i - 1]->type_name != built.sorted[i]->type_name, "layer '",
                 built.sorted[i]->type_name, "' is defined twice");
    }
    return built;
  }();
  return table;
}

}  // namespace

const std::vector<const LayerDefinition*>& layer_definitions() { return registry().sorted; }

const LayerDefinition* find_layer_definition(std::string_view type_name) {
  for (const LayerDefinition* definition : registry().sorted)
    if (definition->type_name == type_name) return definition;
  return nullptr;
}

const LayerDefinition* find_layer_definition(nn::ModuleKind kind) {
  if (kind == nn::ModuleKind::custom) return nullptr;
  for (const LayerDefinition* definition : registry().sorted)
    if (definition->kind == kind) return definition;
  return nullptr;
}

std::vector<LayerTensor> parameter_layout(const LayerDefinition& definition, const Attrs& attrs,
                                          const std::string& module_name) {
  std::vector<LayerTensor> tensors;
  if (definition.layout == nullptr) return tensors;
  definition.layout(AttrReader(attrs, definition.type_name, module_name),
                    [&](const LayerTensor& tensor) { tensors.push_back(tensor); });
  return tensors;
}

}  // namespace pare::ir

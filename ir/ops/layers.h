// The built-in layers' definitions (pare/ir/layer_definition.h): each family's list, and what
// their factories, layouts and shape rules share. Internal to pare_ir.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pare/ir/layer_definition.h"

namespace pare::ir::ops {

// Each family's layer definitions, in the ir/ops/ file of the functions they mirror;
// layer_registry.cpp lists the families.
std::vector<LayerDefinition> linear_layers();
std::vector<LayerDefinition> conv_layers();
std::vector<LayerDefinition> recurrent_layers();
std::vector<LayerDefinition> normalization_layers();
std::vector<LayerDefinition> pooling_layers();
std::vector<LayerDefinition> shape_layers();
std::vector<LayerDefinition> dropout_layers();
std::vector<LayerDefinition> activation_layers();
std::vector<LayerDefinition> sequential_layers();

// The shape rule of one call of any module: its kind's definition, else (a custom module) the
// "no shape rule" error. Sequential's rule recurses through it.
Symbol infer_layer_call(const nn::Module& module, const std::vector<Symbol>& args);

// ---- Shared by the factories ----

// Attribute values the layer constructors would accept but that no kernel can run.
void require_at_least(const AttrReader& attrs, const std::string& key,
                      const std::vector<int64_t>& values, int64_t minimum);
std::vector<int64_t> pair_at_least(const AttrReader& attrs, const std::string& key,
                                   int64_t minimum);
int64_t int_at_least(const AttrReader& attrs, const std::string& key, int64_t minimum);

// The factory of a layer without attributes.
template <typename Impl>
std::shared_ptr<nn::Module> build_without_attributes(const AttrReader&) {
  return std::make_shared<Impl>();
}

// ---- Shared by the layouts ----

// Runs `read` (a layout reading its attributes); false when it throws a pare::Error, which is then
// the factory's to report (a missing or mistyped attribute).
bool read_attributes(const std::function<void()>& read);

// ---- Shared by the shape rules (errors name the module's type) ----

const AttrValue& config_value(const Attrs& config, const std::string& key,
                              const nn::Module& module);
int64_t config_int(const Attrs& config, const std::string& key, const nn::Module& module);
bool config_bool(const Attrs& config, const std::string& key, const nn::Module& module);
IntPair config_pair(const Attrs& config, const std::string& key, const nn::Module& module);
// The meta of a registered parameter or buffer, or std::nullopt when it is absent.
std::optional<TensorMeta> tensor_meta_of(const nn::Module& module, const std::string& name);
TensorMeta required_tensor(const nn::Module& module, const std::string& name);
// The one tensor a single-input layer is called on.
const TensorMeta& single_input(const std::vector<Symbol>& args, const nn::Module& module);
// The shape rule of a layer that maps one tensor to one tensor.
template <Symbol (*rule)(const nn::Module& module, const TensorMeta& x)>
Symbol unary_layer(const nn::Module& module, const std::vector<Symbol>& args) {
  return rule(module, single_input(args, module));
}

// A parameter's shape, for the MAC rules.
Shape parameter_shape(const nn::Module& module, const std::string& name);

}  // namespace pare::ir::ops

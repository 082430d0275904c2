// One definition per built-in layer (a call_module's module): everything pare knows about a layer
// type, in one place that every consumer reads (the module registry's factories, the .pare
// reader's tensor checks, shape inference and model statistics). The call_function ops have their
// own definitions (op_definition.h); a layer's definition sits in the same ir/ops/ file as the
// function it mirrors (Linear beside linear, ...), so that both share one shape and MAC rule.
//
//   const pare::ir::LayerDefinition& conv = *pare::ir::find_layer_definition("Conv2d");
//   std::shared_ptr<pare::nn::Module> module =
//       pare::ir::create_module("Conv2d", attrs, "features.0");  // conv.factory, checked
//   for (const pare::ir::LayerTensor& tensor : pare::ir::parameter_layout(conv, attrs, "conv"))
//     std::cout << tensor.local_name << " " << tensor.shape << "\n";  // weight [16, 3, 3, 3], ...
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pare/ir/module_registry.h"
#include "pare/ir/op_definition.h"
#include "pare/nn/module_kind.h"

namespace pare::ir {

// One tensor a layer holds in its state_dict, as its attributes determine it.
struct LayerTensor {
  std::string local_name;  // the state_dict key within the module ("weight", "bias_hh_l1")
  Shape shape;
  DType dtype = kFloat32;
  // The attributes that fix the shape, for the reader's messages ("in_features=4, ...").
  std::string because;
};

// Receives a layout's tensors one at a time, so that a hostile file's num_layers=10^12 is refused
// at its first missing tensor instead of laid out in full first.
using ExpectTensor = std::function<void(const LayerTensor& tensor)>;

struct LayerDefinition {
  std::string type_name;  // what type_name() returns and a .pare file stores
  nn::ModuleKind kind = nn::ModuleKind::custom;
  // The attributes a .pare file gives (config()'s keys); any other is refused.
  std::vector<std::string> attributes;
  // Builds the module from attributes already checked against `attributes`; nullptr for a layer
  // a file cannot declare (Sequential: its children are modules of their own).
  std::shared_ptr<nn::Module> (*factory)(const AttrReader& attrs) = nullptr;
  // The tensors the module built from `attrs` holds, in state_dict order; it returns quietly
  // without expecting anything when an attribute is missing, mistyped or out of range (the
  // factory reports those). nullptr: the layer holds no tensors, whatever its attributes.
  void (*layout)(const AttrReader& attrs, const ExpectTensor& expect) = nullptr;
  // The shape rule of one call of `module` (of this kind) on `args`, with the engine's checks.
  Symbol (*infer)(const nn::Module& module, const std::vector<Symbol>& args) = nullptr;
  // The multiply-accumulates of one call on `input` (model_stats.h's convention); nullptr: none.
  int64_t (*macs)(const nn::Module& module, const TensorMeta& input) = nullptr;
  // How one call of `module` on `args` ties the axes of its inputs, its parameters and buffers
  // (ChannelTensor::parameter, by state_dict key) and its output (pare/ir/channel_rule.h);
  // nullptr: no rule, every axis blocks.
  ChannelRule (*channel_rule)(const nn::Module& module, const std::vector<Symbol>& args,
                              const Symbol& output) = nullptr;
};

// Every definition, sorted by type name.
const std::vector<const LayerDefinition*>& layer_definitions();
// The definition of `type_name`, or nullptr.
const LayerDefinition* find_layer_definition(std::string_view type_name);
// A definition of `kind`, or nullptr for custom. The definitions of one kind (the activations)
// share their shape rule and MAC rule, so any of them answers for the kind.
const LayerDefinition* find_layer_definition(nn::ModuleKind kind);

// The layout of `definition` for `attrs` as a list (empty where the layer holds no tensors or an
// attribute is bad); `module_name` names the module in errors.
std::vector<LayerTensor> parameter_layout(const LayerDefinition& definition, const Attrs& attrs,
                                          const std::string& module_name);

}  // namespace pare::ir

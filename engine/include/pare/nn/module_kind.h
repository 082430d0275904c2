// pare::nn::ModuleKind: which built-in layer a module is, the one way passes, shape inference,
// the inference compiler and the CLI recognise a layer (Module::kind()). type_name() stays what
// users see, what a .pare file stores and what a pruning pattern names.
//
//   std::shared_ptr<pare::nn::Module> module = pare::nn::Linear(4, 2).ptr();
//   if (module->kind() == pare::nn::ModuleKind::linear) ...
//   std::cout << module->kind();  // Linear
// pare::nn::as<Layer>() (module.h) reaches a recognised layer's typed options.
#pragma once

#include <ostream>
#include <string_view>

namespace pare::nn {

// A built-in kind says the module has that layer's parameters, options and config(), and computes
// that layer's function: shape inference, MAC counts, the inference compiler and the pruning
// functions rely on it without running the module. A subclass of a built-in layer keeps its
// base's kind, as isinstance() does in PyTorch: it inherits all of that, and a user pattern may
// prune it as its base (only the pattern table's type names tell it apart). A subclass whose
// forward() computes something else must override kind() to return custom, so that nothing
// computes it as the base would. Outside the built-in layers kind() may only be overridden to
// return custom: as<>() (module.h) relies on a built-in kind meaning "is, or derives from, that
// layer's class".
enum class ModuleKind {
  custom,  // a user module, a container, or a subclass that opted out of its base's kind
  sequential,
  linear,
  conv2d,
  lstm,
  layer_norm,
  batch_norm2d,
  max_pool2d,
  avg_pool2d,
  adaptive_avg_pool2d,
  adaptive_max_pool2d,
  flatten,
  dropout,
  identity,
  prelu,       // the activation with a parameter (one slope, or one per channel)
  activation,  // any other ActivationModule: one elementwise function (ReLU, GELU, ...)
};

// The kind as messages name it: the built-in layer's type_name() ("Linear", "BatchNorm2d"),
// "activation" for the parameter-free activations and "custom" for the rest.
std::string_view module_kind_name(ModuleKind kind);
std::ostream& operator<<(std::ostream& stream, ModuleKind kind);

}  // namespace pare::nn

// The names of the module kinds, for messages.
#include "pare/nn/module_kind.h"

namespace pare::nn {

std::string_view module_kind_name(ModuleKind kind) {
  switch (kind) {
    case ModuleKind::custom:
      return "custom";
    case ModuleKind::sequential:
      return "Sequential";
    case ModuleKind::linear:
      return "Linear";
    case ModuleKind::conv2d:
      return "Conv2d";
    case ModuleKind::lstm:
      return "LSTM";
    case ModuleKind::layer_norm:
      return "LayerNorm";
    case ModuleKind::batch_norm2d:
      return "BatchNorm2d";
    case ModuleKind::max_pool2d:
      return "MaxPool2d";
    case ModuleKind::avg_pool2d:
      return "AvgPool2d";
    case ModuleKind::adaptive_avg_pool2d:
      return "AdaptiveAvgPool2d";
    case ModuleKind::adaptive_max_pool2d:
      return "AdaptiveMaxPool2d";
    case ModuleKind::flatten:
      return "Flatten";
    case ModuleKind::dropout:
      return "Dropout";
    case ModuleKind::identity:
      return "Identity";
    case ModuleKind::prelu:
      return "PReLU";
    case ModuleKind::activation:
      return "activation";
  }
  return "custom";  // not reached: every enumerator is named above
}

std::ostream& operator<<(std::ostream& stream, ModuleKind kind) {
  return stream << module_kind_name(kind);
}

}  // namespace pare::nn

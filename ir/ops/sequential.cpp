// The Sequential container as a layer: its children called in order. It has no factory (a .pare
// file declares each child as a module of its own) and no tensors of its own.
#include "layers.h"
#include "pare/checked_math.h"
#include "pare/error.h"
#include "pare/ir/model_stats.h"
#include "pare/ir/shape_inference.h"

namespace pare::ir::ops {

namespace {

Symbol infer_sequential(const nn::Module& module, const TensorMeta& x) {
  Symbol current = Symbol::of(x.shape, x.dtype);
  for (const auto& [name, child] : module.named_children()) {
    try {
      Symbol result = infer_layer_call(*child, {current});
      // Inside a Sequential an LSTM contributes its output sequence only (LSTMImpl::call).
      current = result.is_tuple() ? result.items.at(0) : result;
    } catch (const Error& error) {
      throw Error(str_cat("child '", name, "' (", child->type_name(), "): ", error.what()));
    }
  }
  return current;
}

int64_t sequential_macs(const nn::Module& module, const TensorMeta& input) {
  int64_t macs = 0;
  TensorMeta current = input;
  for (const auto& [name, child] : module.named_children()) {
    macs =
        checked_add(macs, module_macs(*child, current), "Sequential: MACs at child '", name, "'");
    current = infer_module_outputs(*child, current).at(0);
  }
  return macs;
}

}  // namespace

std::vector<LayerDefinition> sequential_layers() {
  return {{.type_name = "Sequential",
           .kind = nn::ModuleKind::sequential,
           .attributes = {},
           .infer = &unary_layer<&infer_sequential>,
           .macs = &sequential_macs}};
}

}  // namespace pare::ir::ops

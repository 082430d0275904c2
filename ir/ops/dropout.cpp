// dropout(input, p=0.5, training=True), as torch.nn.functional.dropout. Outside training it is the
// identity, so the compiled inference path aliases it.
#include "channel_rules.h"
#include "families.h"
#include "layers.h"
#include "pare/error.h"
#include "pare/functional.h"
#include "pare/nn/nn.h"
#include "shape_rules.h"

namespace pare::ir::ops {

namespace {

using Type = ParamType;

Symbol infer_dropout(const OpCall& call) {
  const TensorMeta& x = call.tensor(0);
  const double p = call.number("p");
  PARE_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability has to be between 0 and 1, got p=", p,
             " for input of shape ", x.shape);
  // Only dropping draws random floats: an integer input passes through when nothing drops.
  if (call.flag("training") && p != 0.0) require_float(x, "dropout", "input");
  return Symbol::of(x.shape, x.dtype);
}

FunctionKernel bind_dropout(const OpCall& call) {
  call.require_tensor_args(1);
  const double p = call.number("p");
  const bool training = call.flag("training");
  return [p, training](const std::vector<Value>& args) {
    return Value(pare::dropout(tensor_at(args, 0), p, training));
  };
}

// Outside training dropout returns its input: a view the compiled path aliases.
bool dropout_is_identity(const OpCall& call) { return !call.flag("training"); }

}  // namespace

std::vector<OpDefinition> dropout_ops() {
  std::vector<OpDefinition> ops;
  ops.push_back(
      {.name = "dropout",
       .family = "dropout",
       .summary = "zeroes elements with probability p in training, scaling by 1/(1-p)",
       .params = {required_param("input", Type::tensor, 0), param("p", Type::number, 1, 0.5),
                  param("training", Type::boolean, 2, true)},
       .infer = &infer_dropout,
       .bind = &bind_dropout,
       .lowering = Lowering::alias,
       .alias_when = &dropout_is_identity,
       .channel_rule = &elementwise_channels});
  return ops;
}

// ---- The Dropout layer: dropout with p as an attribute and training from the module ----

namespace {

std::shared_ptr<nn::Module> build_dropout(const AttrReader& attrs) {
  return std::make_shared<nn::DropoutImpl>(attrs.get_double("p"));
}

Symbol infer_dropout_layer(const nn::Module& module, const TensorMeta& x) {
  const Attrs config = module.config();
  const AttrValue& p = config_value(config, "p", module);
  const bool drops = std::holds_alternative<double>(p) && std::get<double>(p) != 0.0;
  if (module.is_training() && drops) require_float(x, "Dropout", "input");
  return Symbol::of(x.shape, x.dtype);
}

}  // namespace

std::vector<LayerDefinition> dropout_layers() {
  return {{.type_name = "Dropout",
           .kind = nn::ModuleKind::dropout,
           .attributes = {"p"},
           .factory = &build_dropout,
           .infer = &unary_layer<&infer_dropout_layer>,
           .channel_rule = &elementwise_layer_channels}};
}

}  // namespace pare::ir::ops

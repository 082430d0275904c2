// layer_norm and batch_norm, as torch.nn.functional takes them. Their optional tensors are the
// node's tensor slots (node references or None) in order, wherever the literals sit: the tracer
// writes layer_norm(x, weight, bias, normalized_shape=..., eps=...), a torch.fx export
// layer_norm(x, normalized_shape, weight, bias, eps).
#include "channel_rules.h"
#include "families.h"
#include "layers.h"
#include "pare/error.h"
#include "pare/functional.h"
#include "pare/nn/nn.h"
#include "pare/norm_geometry.h"

namespace pare::ir::ops {

namespace {

using Type = ParamType;

// The runtime tensor of tensor slot `i`, or an undefined tensor past the slots or for None.
Tensor slot_tensor(const std::vector<Value>& args, const std::vector<size_t>& slots, size_t i) {
  return i < slots.size() ? optional_tensor_at(args, slots[i]) : Tensor();
}

std::vector<size_t> layer_norm_slots(const OpCall& call) {
  const std::vector<size_t> slots = call.tensor_slots();
  PARE_CHECK(slots.size() <= 3, "layer_norm: expected at most 3 tensors, got ", slots.size());
  return slots;
}

// A tensor slot's meta as the engine's geometry takes it (absent past the slots or for None).
std::optional<OperandMeta> slot_meta(const OpCall& call, const std::vector<size_t>& slots,
                                     size_t i) {
  const TensorMeta* meta = i < slots.size() ? call.optional_tensor(slots[i]) : nullptr;
  if (meta == nullptr) return std::nullopt;
  return OperandMeta{meta->shape, meta->dtype};
}

Symbol infer_layer_norm(const OpCall& call) {
  const Shape normalized_shape = call.ints("normalized_shape");
  const std::vector<size_t> slots = layer_norm_slots(call);
  const TensorMeta& x = call.tensor(0);
  layer_norm_geometry(x.shape, x.dtype, normalized_shape, slot_meta(call, slots, 1),
                      slot_meta(call, slots, 2), call.number("eps"));
  return Symbol::of(x.shape);
}

FunctionKernel bind_layer_norm(const OpCall& call) {
  call.require_tensor_args(1);
  const Shape normalized_shape = call.ints("normalized_shape");
  const double eps = call.number("eps");
  const std::vector<size_t> slots = layer_norm_slots(call);
  return [=](const std::vector<Value>& args) {
    return Value(pare::layer_norm(slot_tensor(args, slots, 0), normalized_shape,
                                  slot_tensor(args, slots, 1), slot_tensor(args, slots, 2), eps));
  };
}

// Files with only (x, running_mean, running_var) are read as affine-free.
std::vector<size_t> batch_norm_slots(const OpCall& call) {
  const std::vector<size_t> slots = call.tensor_slots();
  PARE_CHECK(slots.size() == 1 || slots.size() == 3 || slots.size() == 5,
             "batch_norm: expected 1, 3 or 5 tensors, got ", slots.size());
  return slots;
}

Symbol infer_batch_norm(const OpCall& call) {
  const std::vector<size_t> slots = batch_norm_slots(call);
  const TensorMeta& x = call.tensor(0);
  batch_norm_geometry(x.shape, x.dtype,
                      {slot_meta(call, slots, 1), slot_meta(call, slots, 2),
                       slot_meta(call, slots, 3), slot_meta(call, slots, 4)},
                      call.flag("training"), call.number("eps"));
  return Symbol::of(x.shape);
}

FunctionKernel bind_batch_norm(const OpCall& call) {
  call.require_tensor_args(1);
  const bool training = call.flag("training");
  const double momentum = call.number("momentum");
  const double eps = call.number("eps");
  const std::vector<size_t> slots = batch_norm_slots(call);
  return [=](const std::vector<Value>& args) {
    auto slot = [&](size_t i) { return slot_tensor(args, slots, i); };
    return Value(
        pare::batch_norm(slot(0), slot(1), slot(2), slot(3), slot(4), training, momentum, eps));
  };
}

// The tensor slots after the input that hold tensors (None leaves a slot empty).
std::vector<ChannelTensor> vector_slots(const OpCall& call, const std::vector<size_t>& slots) {
  std::vector<ChannelTensor> vectors;
  for (size_t i = 1; i < slots.size(); ++i)
    if (call.is_node_arg(slots[i]))
      vectors.push_back(ChannelTensor::input(static_cast<int64_t>(slots[i])));
  return vectors;
}

ChannelRule layer_norm_function_channels(const OpCall& call, const Symbol&) {
  ChannelRule rule;
  layer_norm_channels(rule, ChannelTensor::input(0),
                      static_cast<int64_t>(call.tensor(0).shape.size()),
                      vector_slots(call, layer_norm_slots(call)),
                      static_cast<int64_t>(call.ints("normalized_shape").size()));
  return rule;
}

ChannelRule batch_norm_function_channels(const OpCall& call, const Symbol&) {
  ChannelRule rule;
  per_channel(rule, ChannelTensor::input(0), static_cast<int64_t>(call.tensor(0).shape.size()),
              vector_slots(call, batch_norm_slots(call)), 1);
  return rule;
}

}  // namespace

std::vector<OpDefinition> normalization_ops() {
  std::vector<OpDefinition> ops;
  ops.push_back(
      {.name = "layer_norm",
       .family = "normalization",
       .summary = "layer normalization over the trailing normalized_shape dims",
       .params = {required_param("input", Type::tensor, 0),
                  required_param("normalized_shape", Type::integers, 1),
                  param("weight", Type::optional_tensor, 2),
                  param("bias", Type::optional_tensor, 3), param("eps", Type::number, 4, 1e-5)},
       .infer = &infer_layer_norm,
       .bind = &bind_layer_norm,
       .channel_rule = &layer_norm_function_channels});
  ops.push_back(
      {.name = "batch_norm",
       .family = "normalization",
       .summary = "batch normalization over dim 1 (the channels)",
       .params = {required_param("input", Type::tensor, 0),
                  param("running_mean", Type::optional_tensor, 1),
                  param("running_var", Type::optional_tensor, 2),
                  param("weight", Type::optional_tensor, 3),
                  param("bias", Type::optional_tensor, 4),
                  param("training", Type::boolean, 5, false),
                  param("momentum", Type::number, 6, 0.1), param("eps", Type::number, 7, 1e-5)},
       .infer = &infer_batch_norm,
       .bind = &bind_batch_norm,
       .channel_rule = &batch_norm_function_channels});
  return ops;
}

// ---- The LayerNorm and BatchNorm2d layers: layer_norm and batch_norm with their own tensors ----

namespace {

std::shared_ptr<nn::Module> build_layer_norm(const AttrReader& attrs) {
  Shape normalized_shape = attrs.get_ints("normalized_shape");
  PARE_CHECK(!normalized_shape.empty(), "module '", attrs.module_name(),
             "': attribute 'normalized_shape' must not be empty");
  require_at_least(attrs, "normalized_shape", normalized_shape, 1);
  return std::make_shared<nn::LayerNormImpl>(
      nn::LayerNormOptions(normalized_shape)
          .eps(attrs.get_double("eps"))
          .elementwise_affine(attrs.get_bool("elementwise_affine")));
}

void layer_norm_layout(const AttrReader& attrs, const ExpectTensor& expect) {
  Shape normalized;
  bool affine = false;
  if (!read_attributes([&] {
        normalized = attrs.get_ints("normalized_shape");
        affine = attrs.get_bool("elementwise_affine");
      }))
    return;
  if (!affine || normalized.empty()) return;
  for (int64_t size : normalized)
    if (size < 1) return;
  const std::string why = str_cat("normalized_shape=", normalized);
  expect({"weight", normalized, kFloat32, why});
  expect({"bias", normalized, kFloat32, why});
}

// The module's own tensor `name` as the engine's geometry takes it.
std::optional<OperandMeta> module_operand(const nn::Module& module, const std::string& name) {
  const std::optional<TensorMeta> meta = tensor_meta_of(module, name);
  if (!meta) return std::nullopt;
  return OperandMeta{meta->shape, meta->dtype};
}

double config_eps(const Attrs& config, const nn::Module& module) {
  const AttrValue& value = config_value(config, "eps", module);
  PARE_CHECK(std::holds_alternative<double>(value), module.type_name(),
             ": config 'eps' is not a number");
  return std::get<double>(value);
}

// LayerNorm's forward is layer_norm on its own weight and bias: the same rule.
Symbol infer_layer_norm_layer(const nn::Module& module, const TensorMeta& x) {
  const Attrs config = module.config();
  const AttrValue& value = config_value(config, "normalized_shape", module);
  PARE_CHECK(std::holds_alternative<std::vector<int64_t>>(value),
             "LayerNorm: config 'normalized_shape' is not a list of integers");
  layer_norm_geometry(x.shape, x.dtype, std::get<std::vector<int64_t>>(value),
                      module_operand(module, "weight"), module_operand(module, "bias"),
                      config_eps(config, module));
  return Symbol::of(x.shape);
}

std::shared_ptr<nn::Module> build_batch_norm2d(const AttrReader& attrs) {
  return std::make_shared<nn::BatchNorm2dImpl>(
      nn::BatchNorm2dOptions(int_at_least(attrs, "num_features", 1))
          .eps(attrs.get_double("eps"))
          .momentum(attrs.has("momentum") ? std::optional<double>(attrs.get_double("momentum"))
                                          : std::nullopt)
          .affine(attrs.get_bool("affine"))
          .track_running_stats(attrs.get_bool("track_running_stats")));
}

void batch_norm2d_layout(const AttrReader& attrs, const ExpectTensor& expect) {
  int64_t features = 0;
  bool affine = false, track = false;
  if (!read_attributes([&] {
        features = attrs.get_int("num_features");
        affine = attrs.get_bool("affine");
        track = attrs.get_bool("track_running_stats");
      }))
    return;
  if (features < 1) return;
  const std::string why = str_cat("num_features=", features);
  if (affine) {
    expect({"weight", {features}, kFloat32, why});
    expect({"bias", {features}, kFloat32, why});
  }
  if (track) {
    expect({"running_mean", {features}, kFloat32, why});
    expect({"running_var", {features}, kFloat32, why});
    expect({"num_batches_tracked", {}, kInt64, "track_running_stats=true"});
  }
}

Symbol infer_batch_norm2d_layer(const nn::Module& module, const TensorMeta& x) {
  PARE_CHECK(x.shape.size() == 4, "BatchNorm2d: expected a 4-d input, got shape ", x.shape);
  const BatchNormOperands operands = {
      module_operand(module, "running_mean"), module_operand(module, "running_var"),
      module_operand(module, "weight"), module_operand(module, "bias")};
  for (const auto& vector :
       {operands.running_mean, operands.running_var, operands.weight, operands.bias}) {
    PARE_CHECK(!vector || shape_numel(vector->shape) == x.shape[1], "input ", x.shape,
               " does not match num_features=", shape_numel(vector->shape),
               " (dim 1 must be the channels)");
  }
  // BatchNorm2d's forward: without running statistics even evaluation uses the batch's.
  const bool use_batch_statistics = module.is_training() || !operands.running_mean;
  batch_norm_geometry(x.shape, x.dtype, operands, use_batch_statistics,
                      config_eps(module.config(), module));
  return Symbol::of(x.shape);
}

// The named tensors `module` holds, as members.
std::vector<ChannelTensor> held(const nn::Module& module,
                                std::initializer_list<const char*> names) {
  std::vector<ChannelTensor> tensors;
  for (const char* name : names)
    if (tensor_meta_of(module, name)) tensors.push_back(ChannelTensor::parameter(name));
  return tensors;
}

ChannelRule layer_norm_layer_channels(const nn::Module& module, const std::vector<Symbol>& args,
                                      const Symbol&) {
  ChannelRule rule;
  const AttrValue& normalized = config_value(module.config(), "normalized_shape", module);
  layer_norm_channels(rule, ChannelTensor::input(0),
                      static_cast<int64_t>(single_input(args, module).shape.size()),
                      held(module, {"weight", "bias"}),
                      static_cast<int64_t>(std::get<std::vector<int64_t>>(normalized).size()));
  return rule;
}

ChannelRule batch_norm2d_layer_channels(const nn::Module& module, const std::vector<Symbol>& args,
                                        const Symbol&) {
  ChannelRule rule;
  per_channel(rule, ChannelTensor::input(0),
              static_cast<int64_t>(single_input(args, module).shape.size()),
              held(module, {"weight", "bias", "running_mean", "running_var"}), 1);
  return rule;
}

}  // namespace

std::vector<LayerDefinition> normalization_layers() {
  std::vector<LayerDefinition> layers;
  layers.push_back({.type_name = "LayerNorm",
                    .kind = nn::ModuleKind::layer_norm,
                    .attributes = {"normalized_shape", "eps", "elementwise_affine"},
                    .factory = &build_layer_norm,
                    .layout = &layer_norm_layout,
                    .infer = &unary_layer<&infer_layer_norm_layer>,
                    .channel_rule = &layer_norm_layer_channels});
  layers.push_back(
      {.type_name = "BatchNorm2d",
       .kind = nn::ModuleKind::batch_norm2d,
       .attributes = {"num_features", "eps", "momentum", "affine", "track_running_stats"},
       .factory = &build_batch_norm2d,
       .layout = &batch_norm2d_layout,
       .infer = &unary_layer<&infer_batch_norm2d_layer>,
       .channel_rule = &batch_norm2d_layer_channels});
  return layers;
}

}  // namespace pare::ir::ops

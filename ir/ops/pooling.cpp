// The 2-d pools: max_pool2d (and its _with_indices form), avg_pool2d, adaptive_avg_pool2d and
// adaptive_max_pool2d, as torch.nn.functional takes them. The window is read once into the
// kernels' own Pool2dParams; shapes and checks come from pare/pool_geometry.h, the rule the
// engine's pool ops apply.
#include "channel_rules.h"
#include "families.h"
#include "layers.h"
#include "pare/error.h"
#include "pare/functional.h"
#include "pare/nn/nn.h"
#include "pare/pool_geometry.h"
#include "shape_rules.h"

namespace pare::ir::ops {

namespace {

using Type = ParamType;

// A pool's stride: None, [] and 0 all mean "the kernel size" (0 is how Pool2dParams says it).
IntPair pool_stride(const OpCall& call) {
  if (!call.has("stride")) return 0;
  const Argument& stride = call.value("stride");
  if (stride.is_list() && stride.to_list().empty()) return 0;
  return call.int_pair("stride");
}

// The window of a max or average pool, read from the node's literals.
kernels::Pool2dParams pool_window(const OpCall& call, bool has_dilation) {
  const IntPair kernel_size = call.int_pair("kernel_size");
  const IntPair stride = pool_stride(call);
  const IntPair padding = call.int_pair("padding");
  const IntPair dilation = has_dilation ? call.int_pair("dilation") : IntPair(1);
  kernels::Pool2dParams window;
  window.set_window(kernel_size.first, kernel_size.second, stride.first, stride.second,
                    padding.first, padding.second, dilation.first, dilation.second);
  window.ceil_mode = call.flag("ceil_mode");
  return window;
}

Shape pooled(const OpCall& call, const kernels::Pool2dParams& window) {
  const TensorMeta& x = call.tensor(0);
  const kernels::Pool2dParams params =
      pool2d_geometry(x.shape, x.dtype, window, call.target().c_str());
  return pooled_shape(x.shape, params.out_h(), params.out_w());
}

bool returns_indices(const OpCall& call) {
  return call.target() == "max_pool2d_with_indices" || call.flag("return_indices");
}

Symbol infer_max_pool(const OpCall& call) {
  const Shape shape = pooled(call, pool_window(call, /*has_dilation=*/true));
  if (!returns_indices(call)) return Symbol::of(shape);
  return Symbol::tuple({Symbol::of(shape), Symbol::of(shape, kInt64)});
}

FunctionKernel bind_max_pool(const OpCall& call) {
  call.require_tensor_args(1);
  const kernels::Pool2dParams w = pool_window(call, /*has_dilation=*/true);
  const IntPair kernel_size(w.kernel_h, w.kernel_w), stride(w.stride_h, w.stride_w),
      padding(w.pad_h, w.pad_w), dilation(w.dilation_h, w.dilation_w);
  const bool ceil_mode = w.ceil_mode;
  const bool with_indices = returns_indices(call);
  return [=](const std::vector<Value>& args) {
    const Tensor& x = tensor_at(args, 0);
    if (!with_indices)
      return Value(pare::max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode));
    auto [y, indices] =
        pare::max_pool2d_with_indices(x, kernel_size, stride, padding, dilation, ceil_mode);
    return Value(std::vector<Value>{y, indices});
  };
}

kernels::Pool2dParams avg_pool_window(const OpCall& call) {
  PARE_CHECK(!call.has("divisor_override"), "avg_pool2d: divisor_override is not supported");
  kernels::Pool2dParams window = pool_window(call, /*has_dilation=*/false);
  window.count_include_pad = call.flag("count_include_pad");
  return window;
}

Symbol infer_avg_pool(const OpCall& call) {
  return Symbol::of(pooled(call, avg_pool_window(call)));
}

FunctionKernel bind_avg_pool(const OpCall& call) {
  call.require_tensor_args(1);
  const kernels::Pool2dParams w = avg_pool_window(call);
  const IntPair kernel_size(w.kernel_h, w.kernel_w), stride(w.stride_h, w.stride_w),
      padding(w.pad_h, w.pad_w);
  const bool ceil_mode = w.ceil_mode;
  const bool count_include_pad = w.count_include_pad;
  return [=](const std::vector<Value>& args) {
    return Value(pare::avg_pool2d(tensor_at(args, 0), kernel_size, stride, padding, ceil_mode,
                                  count_include_pad));
  };
}

IntPair adaptive_output_size(const OpCall& call) {
  PARE_CHECK(call.target() != "adaptive_max_pool2d" || !call.flag("return_indices"), call.target(),
             ": return_indices is not supported");
  return call.int_pair("output_size");
}

Symbol infer_adaptive_pool(const OpCall& call) {
  const TensorMeta& x = call.tensor(0);
  const IntPair output_size = adaptive_output_size(call);
  adaptive_pool2d_geometry(x.shape, x.dtype, output_size, call.target().c_str());
  return Symbol::of(pooled_shape(x.shape, output_size.first, output_size.second));
}

FunctionKernel bind_adaptive_pool(const OpCall& call) {
  call.require_tensor_args(1);
  const IntPair output_size = adaptive_output_size(call);
  const bool max = call.target() == "adaptive_max_pool2d";
  return [max, output_size](const std::vector<Value>& args) {
    const Tensor& x = tensor_at(args, 0);
    return Value(max ? pare::adaptive_max_pool2d(x, output_size)
                     : pare::adaptive_avg_pool2d(x, output_size));
  };
}

// The compiled path's pool: the same window on the input's shape, when the checks pass.
std::optional<Pool2dLowering> prepared_pool(Pool2dLowering::Kind kind,
                                            const kernels::Pool2dParams& window,
                                            const TensorMeta& input, const char* op) {
  try {
    return Pool2dLowering{kind, pool2d_geometry(input.shape, input.dtype, window, op)};
  } catch (const Error&) {
    return std::nullopt;  // the interpreter reports it
  }
}

std::optional<Pool2dLowering> lower_max_pool(const OpCall& call, const TensorMeta& input) {
  if (returns_indices(call)) return std::nullopt;
  return prepared_pool(Pool2dLowering::Kind::max, pool_window(call, /*has_dilation=*/true), input,
                       "max_pool2d");
}

std::optional<Pool2dLowering> lower_avg_pool(const OpCall& call, const TensorMeta& input) {
  if (call.has("divisor_override")) return std::nullopt;
  return prepared_pool(Pool2dLowering::Kind::avg, avg_pool_window(call), input, "avg_pool2d");
}

// An adaptive pool whose windows are all one size, one stride apart (the output divides the input,
// or 7 -> 3: windows of 3 every 2) is a plain pool (kernels::adaptive_pool_window).
std::optional<Pool2dLowering> lower_adaptive_pool(const OpCall& call, const TensorMeta& input) {
  if (call.target() == "adaptive_max_pool2d" && call.flag("return_indices")) return std::nullopt;
  const IntPair out = call.int_pair("output_size");
  if (input.shape.size() < 2 || out.first <= 0 || out.second <= 0) return std::nullopt;
  const int64_t in_h = input.shape[input.shape.size() - 2];
  const int64_t in_w = input.shape[input.shape.size() - 1];
  if (in_h <= 0 || in_w <= 0) return std::nullopt;
  const std::optional<kernels::Pool2dParams> window =
      kernels::adaptive_pool_window(in_h, in_w, out.first, out.second);
  if (!window) return std::nullopt;
  const bool max = call.target() == "adaptive_max_pool2d";
  return prepared_pool(max ? Pool2dLowering::Kind::max : Pool2dLowering::Kind::avg, *window, input,
                       call.target().c_str());
}

std::vector<OpParam> max_pool_params() {
  return {required_param("input", Type::tensor, 0),
          required_param("kernel_size", Type::int_pair, 1),
          param("stride", Type::optional_int_pair, 2),
          param("padding", Type::int_pair, 3, 0),
          param("dilation", Type::int_pair, 4, 1),
          param("ceil_mode", Type::boolean, 5, false),
          param("return_indices", Type::boolean, 6, false)};
}

}  // namespace

std::vector<OpDefinition> pooling_ops() {
  std::vector<OpDefinition> ops;
  ops.push_back({.name = "max_pool2d",
                 .family = "pooling",
                 .summary = "2-d max pooling; a (values, indices) tuple with return_indices",
                 .params = max_pool_params(),
                 .infer = &infer_max_pool,
                 .bind = &bind_max_pool,
                 .lowering = Lowering::pool2d,
                 .pool2d = &lower_max_pool,
                 .channel_rule = &pool_channels_of});
  ops.push_back({.name = "max_pool2d_with_indices",
                 .family = "pooling",
                 .summary = "2-d max pooling returning (values, int64 indices)",
                 .params = max_pool_params(),
                 .infer = &infer_max_pool,
                 .bind = &bind_max_pool,
                 .channel_rule = &pool_channels_of});
  ops.push_back({.name = "avg_pool2d",
                 .family = "pooling",
                 .summary = "2-d average pooling",
                 .params = {required_param("input", Type::tensor, 0),
                            required_param("kernel_size", Type::int_pair, 1),
                            param("stride", Type::optional_int_pair, 2),
                            param("padding", Type::int_pair, 3, 0),
                            param("ceil_mode", Type::boolean, 4, false),
                            param("count_include_pad", Type::boolean, 5, true),
                            param("divisor_override", Type::optional_integer, 6)},
                 .infer = &infer_avg_pool,
                 .bind = &bind_avg_pool,
                 .lowering = Lowering::pool2d,
                 .pool2d = &lower_avg_pool,
                 .channel_rule = &pool_channels_of});
  ops.push_back({.name = "adaptive_avg_pool2d",
                 .family = "pooling",
                 .summary = "2-d adaptive average pooling to output_size",
                 .params = {required_param("input", Type::tensor, 0),
                            required_param("output_size", Type::int_pair, 1)},
                 .infer = &infer_adaptive_pool,
                 .bind = &bind_adaptive_pool,
                 .lowering = Lowering::pool2d,
                 .pool2d = &lower_adaptive_pool,
                 .channel_rule = &pool_channels_of});
  ops.push_back({.name = "adaptive_max_pool2d",
                 .family = "pooling",
                 .summary = "2-d adaptive max pooling to output_size",
                 .params = {required_param("input", Type::tensor, 0),
                            required_param("output_size", Type::int_pair, 1),
                            param("return_indices", Type::boolean, 2, false)},
                 .infer = &infer_adaptive_pool,
                 .bind = &bind_adaptive_pool,
                 .lowering = Lowering::pool2d,
                 .pool2d = &lower_adaptive_pool,
                 .channel_rule = &pool_channels_of});
  return ops;
}

// ---- The pooling layers: the pools with their window as attributes ----

namespace {

std::shared_ptr<nn::Module> build_max_pool2d(const AttrReader& attrs) {
  return std::make_shared<nn::MaxPool2dImpl>(
      nn::MaxPool2dOptions(pair_at_least(attrs, "kernel_size", 1))
          .stride(pair_at_least(attrs, "stride", 1))
          .padding(pair_at_least(attrs, "padding", 0))
          .dilation(pair_at_least(attrs, "dilation", 1))
          .ceil_mode(attrs.get_bool("ceil_mode")));
}

std::shared_ptr<nn::Module> build_avg_pool2d(const AttrReader& attrs) {
  return std::make_shared<nn::AvgPool2dImpl>(
      nn::AvgPool2dOptions(pair_at_least(attrs, "kernel_size", 1))
          .stride(pair_at_least(attrs, "stride", 1))
          .padding(pair_at_least(attrs, "padding", 0))
          .ceil_mode(attrs.get_bool("ceil_mode"))
          .count_include_pad(attrs.get_bool("count_include_pad")));
}

std::shared_ptr<nn::Module> build_adaptive_avg_pool2d(const AttrReader& attrs) {
  return std::make_shared<nn::AdaptiveAvgPool2dImpl>(pair_at_least(attrs, "output_size", 1));
}

std::shared_ptr<nn::Module> build_adaptive_max_pool2d(const AttrReader& attrs) {
  return std::make_shared<nn::AdaptiveMaxPool2dImpl>(pair_at_least(attrs, "output_size", 1));
}

// MaxPool2d's and AvgPool2d's rule: their window read from config() (AvgPool2d has no dilation).
template <bool max>
Symbol infer_pool2d_layer(const nn::Module& module, const TensorMeta& x) {
  const Attrs config = module.config();
  const IntPair kernel = config_pair(config, "kernel_size", module);
  const IntPair stride = config_pair(config, "stride", module);
  const IntPair padding = config_pair(config, "padding", module);
  const IntPair dilation = max ? config_pair(config, "dilation", module) : 1;
  kernels::Pool2dParams window;
  window.set_window(kernel.first, kernel.second, stride.first, stride.second, padding.first,
                    padding.second, dilation.first, dilation.second);
  window.ceil_mode = config_bool(config, "ceil_mode", module);
  return Symbol::of(pool2d_shape(x, window, max ? "max_pool2d" : "avg_pool2d"));
}

template <bool average>
Symbol infer_adaptive_pool2d_layer(const nn::Module& module, const TensorMeta& x) {
  return Symbol::of(adaptive_pool2d_shape(x, config_pair(module.config(), "output_size", module),
                                          average ? "adaptive_avg_pool2d" : "adaptive_max_pool2d"));
}

ChannelRule pool_layer_channels(const nn::Module& module, const std::vector<Symbol>& args,
                                const Symbol&) {
  ChannelRule rule;
  window_channels(rule, ChannelTensor::input(0), single_input(args, module).shape,
                  ChannelTensor::output(), module.type_name());
  return rule;
}

}  // namespace

std::vector<LayerDefinition> pooling_layers() {
  std::vector<LayerDefinition> layers;
  layers.push_back({.type_name = "MaxPool2d",
                    .kind = nn::ModuleKind::max_pool2d,
                    .attributes = {"kernel_size", "stride", "padding", "dilation", "ceil_mode"},
                    .factory = &build_max_pool2d,
                    .infer = &unary_layer<&infer_pool2d_layer<true>>,
                    .channel_rule = &pool_layer_channels});
  layers.push_back(
      {.type_name = "AvgPool2d",
       .kind = nn::ModuleKind::avg_pool2d,
       .attributes = {"kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"},
       .factory = &build_avg_pool2d,
       .infer = &unary_layer<&infer_pool2d_layer<false>>,
       .channel_rule = &pool_layer_channels});
  layers.push_back({.type_name = "AdaptiveAvgPool2d",
                    .kind = nn::ModuleKind::adaptive_avg_pool2d,
                    .attributes = {"output_size"},
                    .factory = &build_adaptive_avg_pool2d,
                    .infer = &unary_layer<&infer_adaptive_pool2d_layer<true>>,
                    .channel_rule = &pool_layer_channels});
  layers.push_back({.type_name = "AdaptiveMaxPool2d",
                    .kind = nn::ModuleKind::adaptive_max_pool2d,
                    .attributes = {"output_size"},
                    .factory = &build_adaptive_max_pool2d,
                    .infer = &unary_layer<&infer_adaptive_pool2d_layer<false>>,
                    .channel_rule = &pool_layer_channels});
  return layers;
}

}  // namespace pare::ir::ops

// Lowers the 2-d pools oneDNN computes exactly (max and average windows, and adaptive pools whose
// windows are all one size, one stride apart, which are plain windows) to one prepared pool that
// reads and writes the blocked layout between convolutions. The pool functions say their window
// through their op definition (OpDefinition::pool2d); the pool modules through their options,
// completed by the geometry rule the engine's pool ops apply (pare/pool_geometry.h).
#include "lowerings.h"
#include "pare/error.h"
#include "pare/kernels/prepared_pool2d.h"
#include "pare/nn/pooling.h"
#include "pare/pool_geometry.h"

namespace pare::inference::detail {

namespace {

using kernels::cpu::PreparedPool2d;
using Kind = ir::Pool2dLowering::Kind;

ir::Pool2dLowering window_pool(Kind kind, const ir::TensorMeta& input, kernels::Pool2dParams window,
                               const char* op) {
  return {kind, pool2d_geometry(input.shape, input.dtype, window, op)};
}

// An adaptive pool whose windows are all one size, one stride apart (the output divides the input,
// or 7 -> 3: windows of 3 every 2) is a plain pool (kernels::adaptive_pool_window).
std::optional<ir::Pool2dLowering> adaptive_pool(Kind kind, const ir::TensorMeta& input, IntPair out,
                                                const char* op) {
  const int64_t in_h = input.shape[2], in_w = input.shape[3];
  if (out.first <= 0 || out.second <= 0 || in_h <= 0 || in_w <= 0) return std::nullopt;
  const std::optional<kernels::Pool2dParams> window =
      kernels::adaptive_pool_window(in_h, in_w, out.first, out.second);
  if (!window) return std::nullopt;
  return window_pool(kind, input, *window, op);
}

std::optional<ir::Pool2dLowering> module_pool(const nn::Module& module,
                                              const ir::TensorMeta& input) {
  if (!unhooked(module, {})) return std::nullopt;
  kernels::Pool2dParams window;
  if (auto* max = nn::as<nn::MaxPool2dImpl>(&module)) {
    const auto& o = max->options();
    window.set_window(o.kernel_size().first, o.kernel_size().second, o.stride().first,
                      o.stride().second, o.padding().first, o.padding().second, o.dilation().first,
                      o.dilation().second);
    window.ceil_mode = o.ceil_mode();
    return window_pool(Kind::max, input, window, "max_pool2d");
  }
  if (auto* avg = nn::as<nn::AvgPool2dImpl>(&module)) {
    const auto& o = avg->options();
    window.set_window(o.kernel_size().first, o.kernel_size().second, o.stride().first,
                      o.stride().second, o.padding().first, o.padding().second);
    window.ceil_mode = o.ceil_mode();
    window.count_include_pad = o.count_include_pad();
    return window_pool(Kind::avg, input, window, "avg_pool2d");
  }
  if (auto* adaptive = nn::as<nn::AdaptiveAvgPool2dImpl>(&module))
    return adaptive_pool(Kind::avg, input, adaptive->output_size(), "adaptive_avg_pool2d");
  if (auto* adaptive = nn::as<nn::AdaptiveMaxPool2dImpl>(&module))
    return adaptive_pool(Kind::max, input, adaptive->output_size(), "adaptive_max_pool2d");
  return std::nullopt;
}

std::optional<ir::Pool2dLowering> function_pool(const ir::Node& node, const ir::TensorMeta& input) {
  for (size_t i = 1; i < node.args().size(); ++i)
    if (node.args()[i].is_node()) return std::nullopt;
  const ir::OpDefinition* definition = ir::find_op_definition(node.target());
  if (definition == nullptr || definition->lowering != ir::Lowering::pool2d) return std::nullopt;
  return definition->pool2d(ir::OpCall(*definition, node, nullptr), input);
}

PreparedPool2d::Kind prepared_kind(Kind kind) {
  return kind == Kind::max ? PreparedPool2d::Kind::max : PreparedPool2d::Kind::avg;
}

}  // namespace

std::optional<ir::Pool2dLowering> pool_lowering(const CompilerState& state, const ir::Node& node) {
  const ir::Node* input = state.first_input(node);
  if (input == nullptr || !state.is_float_tensor(input)) return std::nullopt;
  const ir::TensorMeta& in = state.symbol(input).meta;
  if (in.shape.size() != 4) return std::nullopt;
  const ir::Symbol& result = state.symbol(&node);
  if (!result.is_tensor()) return std::nullopt;
  try {
    std::optional<ir::Pool2dLowering> pool;
    if (node.op() == ir::OpKind::call_module)
      pool = module_pool(*state.module_of(node), in);
    else if (node.op() == ir::OpKind::call_function)
      pool = function_pool(node, in);
    // Whatever the prepared pool would produce must be what shape inference says the node does.
    if (!pool || !PreparedPool2d::supports(prepared_kind(pool->kind), pool->params)) return {};
    const kernels::Pool2dParams& p = pool->params;
    if (result.meta.shape != Shape{p.batch, p.channels, p.out_h(), p.out_w()}) return {};
    return pool;
  } catch (const Error&) {
    return std::nullopt;  // the interpreter runs it, and reports what is wrong
  }
}

bool lower_pool2d(CompilerState& state, const ir::Node& node) {
  std::optional<ir::Pool2dLowering> pool = pool_lowering(state, node);
  if (!pool) return false;
  const int in_slot = state.tree(state.first_input(node)).slot;
  const int src = state.options.blocked_layout ? in_slot : state.plain(in_slot);
  const PreparedPool2d::Kind kind = prepared_kind(pool->kind);
  auto primitive = std::make_shared<Rebuildable<PreparedPool2d>>(
      [kind, params = pool->params, layout = state.slots[src].layout,
       blocked_dst = state.all_users_read_blocked(&node)] {
        return std::make_unique<PreparedPool2d>(kind, params, layout, blocked_dst);
      });
  const int out = state.arena_slot(state.symbol(&node).meta.shape, (*primitive)->dst_layout());
  state.add_step(str_cat(kind == PreparedPool2d::Kind::max ? "max" : "avg", " pool ", node.name(),
                         state.slots[src].blocked() ? " [blocked in]" : "",
                         state.slots[out].blocked() ? " [blocked out]" : ""),
                 {src}, [&state, primitive, src, out] {
                   (*primitive)->run(state.address(src), state.address(out));
                 });
  state.steps.back().primitive = primitive;
  ++state.stats.prepared_pools;
  state.tree(&node) = {out, {}};
  return true;
}

}  // namespace pare::inference::detail

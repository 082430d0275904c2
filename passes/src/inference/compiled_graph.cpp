// The inference compiler. It walks the graph once in order, with every node's value from one probe
// run of the interpreter (shapes, tuple structure), and emits steps:
//   - Conv2d [-> BatchNorm2d] [-> activation]: one PreparedConv2d (BN folded, activation fused)
//   - Linear [-> activation]: one PreparedLinear
//   - max / avg / adaptive pools oneDNN computes exactly: PreparedPool2d
//   - LSTM: PreparedLstm; getitem of its tuple is free
//   - activations that did not fuse: one elementwise pass
//   - flatten / reshape / view / dropout (eval) / identity of a contiguous value: free aliases
//   - anything else: GraphModule::run_node, as the interpreter would run it
// A value whose every reader accepts oneDNN's blocked layout (convolutions, pools) stays blocked;
// a LayoutReorder step converts it for any other reader. Arena buffers get their offsets from
// plan_memory over the steps' reads and writes.
#include "pare/passes/inference/compiled_graph.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "node_activation.h"
#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/error.h"
#include "pare/kernels/conv2d.h"
#include "pare/kernels/fused_activation.h"
#include "pare/kernels/linear.h"
#include "pare/kernels/memory_layout.h"
#include "pare/kernels/prepared_conv2d.h"
#include "pare/kernels/prepared_linear.h"
#include "pare/kernels/prepared_lstm.h"
#include "pare/kernels/prepared_pool2d.h"
#include "pare/nn/container.h"
#include "pare/nn/conv.h"
#include "pare/nn/dropout.h"
#include "pare/nn/flatten.h"
#include "pare/nn/identity.h"
#include "pare/nn/linear.h"
#include "pare/nn/lstm.h"
#include "pare/nn/normalization.h"
#include "pare/nn/pooling.h"
#include "pare/passes/inference/memory_plan.h"
#include "pare/reduction.h"

namespace pare::inference {

namespace {

using kernels::ActivationParams;
using kernels::MemoryLayout;
using kernels::cpu::PreparedPool2d;

constexpr int kNone = -1;

// One runtime tensor of the compiled graph.
struct Slot {
  Shape shape;
  MemoryLayout layout;  // undefined: plain row-major
  int buffer = kNone;   // the arena buffer it lives in; kNone: external (input, interpreted)
  // Arena buffers this slot's memory may lie in: its own, or (interpreted outputs, which may be
  // views) those of the inputs of the node that made it.
  std::vector<int> may_alias;
  // Run time.
  Tensor tensor;  // external: set per call; arena and plain: a wrapper made once
  std::byte* fixed = nullptr;

  bool blocked() const { return layout.defined() && !layout.is_plain(); }
};

// A node's value: one slot, or a tuple of values (the LSTM's (output, (h_n, c_n))).
struct ValueTree {
  int slot = kNone;
  std::vector<ValueTree> items;
  bool is_slot() const { return slot != kNone; }
};

struct Step {
  std::string description;
  std::vector<int> reads;
  std::function<void()> run;
};

struct Buffer {
  size_t bytes = 0;
  size_t first_step = 0;
};

// A parameter or buffer a step copied, to notice when it is replaced.
struct WatchedTensor {
  std::shared_ptr<nn::Module> owner;
  std::string name;
  const TensorImpl* impl = nullptr;
  const void* data = nullptr;
};

struct PoolSpec {
  PreparedPool2d::Kind kind;
  kernels::Pool2dParams params;
};

std::string node_label(const ir::Node& node) {
  return str_cat(node.name(), " (", ir::op_kind_name(node.op()), " ", node.target(), ")");
}

// The literal a call_function node passes as `name` or at `position`; nullptr when absent or
// None.
const ir::Argument* literal(const ir::Node& node, const char* name, size_t position) {
  const ir::Argument* found = node.kwarg(name);
  if (found == nullptr && position < node.args().size()) found = &node.args()[position];
  return found == nullptr || found->is_none() ? nullptr : found;
}

std::pair<int64_t, int64_t> pair_of(const ir::Argument* argument, const char* what,
                                    std::pair<int64_t, int64_t> fallback) {
  if (argument == nullptr) return fallback;
  if (argument->is_list() && argument->to_list().empty()) return fallback;
  const std::vector<int64_t> values = argument->to_ints(what, 2);
  return {values[0], values[1]};
}

bool flag_of(const ir::Node& node, const char* name, size_t position, bool fallback) {
  const ir::Argument* found = literal(node, name, position);
  return found == nullptr ? fallback : found->to_bool(name);
}

// Whether a module runs as its plain forward: no hooks, no parametrized tensors among `names`.
bool unhooked(const nn::Module& module, std::initializer_list<const char*> names) {
  if (module.has_hooks()) return false;
  for (const char* name : names)
    if (module.parametrization(name) != nullptr) return false;
  return true;
}

Tensor float_contiguous(const Tensor& tensor) {
  return tensor.defined() ? tensor.contiguous() : Tensor();
}

}  // namespace

struct CompiledGraph::Impl {
  ir::GraphModule graph_module;  // a copy without forward backend: runs interpreted nodes
  std::vector<ir::TensorMeta> input_meta;
  int threads = 1;
  InferenceOptions options;
  CompileStats stats;
  std::optional<bool> model_finite;  // model_is_finite(), computed on first use
  std::mutex mutex;

  std::vector<Slot> slots;
  std::vector<Buffer> buffers;
  std::vector<Step> steps;
  std::vector<int> input_slots;
  ValueTree output;
  std::vector<WatchedTensor> watched;
  // Every parameter and buffer of the whole model (storage identity) and which modules carry
  // hooks, when compiled: nodes the interpreter runs (a masked layer) and the shapes flowing
  // between steps depend on them too, so any change means compiling again.
  std::vector<std::pair<const TensorImpl*, const void*>> model_tensors;
  std::vector<bool> module_hooks;
  // nn::Module::structure_version() when the fingerprint above was last confirmed: while it has
  // not moved, nothing in any model was swapped and the check costs one load. Atomic: callers
  // may ask weights_unchanged() from several threads.
  std::atomic<uint64_t> confirmed_version{0};
  Tensor arena;
  std::unordered_map<int, int> plain_copy_of;  // blocked slot -> its plain conversion

  // Compile-time state.
  std::vector<ir::Node*> nodes;
  std::unordered_map<const ir::Node*, size_t> index_of;
  std::vector<ir::Value> probe;  // every node's value on zero inputs
  std::vector<ValueTree> trees;
  std::unordered_set<const ir::Node*> absorbed;

  Impl(ir::GraphModule& source, const std::vector<ir::TensorMeta>& inputs,
       const InferenceOptions& opts)
      : graph_module(source), input_meta(inputs), threads(omp_get_max_threads()), options(opts) {
    graph_module.set_forward_backend(nullptr);
  }

  // ---- Slots and steps ----

  int add_slot(Slot slot) {
    slots.push_back(std::move(slot));
    return static_cast<int>(slots.size()) - 1;
  }

  // A slot with its own arena buffer, written by the next step.
  int arena_slot(const Shape& shape, const MemoryLayout& layout = {}) {
    Slot slot;
    slot.shape = shape;
    slot.layout = layout.defined() && !layout.is_plain() ? layout : MemoryLayout();
    slot.buffer = static_cast<int>(buffers.size());
    slot.may_alias = {slot.buffer};
    const size_t bytes = slot.blocked() ? layout.bytes() : shape_numel(shape) * sizeof(float);
    buffers.push_back({bytes, steps.size()});
    if (slot.blocked()) ++stats.blocked_values;
    return add_slot(std::move(slot));
  }

  int alias_slot(int source, const Shape& shape) {
    Slot slot;
    slot.shape = shape;
    slot.buffer = slots[source].buffer;
    slot.may_alias = slots[source].may_alias;
    return add_slot(std::move(slot));
  }

  int external_slot(const Shape& shape, std::vector<int> may_alias = {}) {
    Slot slot;
    slot.shape = shape;
    slot.may_alias = std::move(may_alias);
    return add_slot(std::move(slot));
  }

  void add_step(std::string description, std::vector<int> reads, std::function<void()> run) {
    steps.push_back({std::move(description), std::move(reads), std::move(run)});
  }

  // The address of a slot's first element at run time (external ones made contiguous).
  void* address(int index) {
    Slot& slot = slots[index];
    if (slot.fixed != nullptr) return slot.fixed;
    if (!slot.tensor.is_contiguous()) slot.tensor = slot.tensor.contiguous();
    return slot.tensor.raw_data();
  }
  float* floats(int index) { return static_cast<float*>(address(index)); }

  // `index` in plain layout: itself, or a slot a reorder step fills (made once per slot).
  int plain(int index) {
    if (!slots[index].blocked()) return index;
    auto found = plain_copy_of.find(index);
    if (found != plain_copy_of.end()) return found->second;
    const Shape shape = slots[index].shape;
    auto reorder =
        std::make_shared<kernels::LayoutReorder>(slots[index].layout, MemoryLayout::plain(shape));
    const int out = arena_slot(shape);
    add_step(str_cat("reorder blocked -> plain ", shape), {index},
             [this, reorder, index, out] { reorder->run(address(index), address(out)); });
    ++stats.layout_reorders;
    plain_copy_of[index] = out;
    return out;
  }

  ValueTree plain_tree(const ValueTree& tree) {
    if (tree.is_slot()) return {plain(tree.slot), {}};
    ValueTree result;
    for (const ValueTree& item : tree.items) result.items.push_back(plain_tree(item));
    return result;
  }

  void collect_slots(const ValueTree& tree, std::vector<int>& out) const {
    if (tree.is_slot()) {
      out.push_back(tree.slot);
      return;
    }
    for (const ValueTree& item : tree.items) collect_slots(item, out);
  }

  void watch(const std::shared_ptr<nn::Module>& owner, const std::string& name) {
    const Tensor tensor =
        owner->has_parameter(name) ? owner->get_parameter(name) : owner->get_buffer(name);
    watched.push_back({owner, name, tensor.impl(), tensor.defined() ? tensor.raw_data() : nullptr});
  }

  // ---- Compile-time queries ----

  const ir::Value& value_of(const ir::Node* node) const { return probe[index_of.at(node)]; }

  bool is_float_tensor(const ir::Node* node) const {
    const ir::Value& value = value_of(node);
    return value.is_tensor() && value.tensor().dtype() == kFloat32;
  }

  ir::Node* single_user(const ir::Node* node) const {
    return node->users().size() == 1 ? node->users()[0] : nullptr;
  }

  ir::Node* first_input(const ir::Node& node) const {
    return !node.args().empty() && node.args()[0].is_node() ? node.args()[0].to_node() : nullptr;
  }

  std::shared_ptr<nn::Module> module_of(const ir::Node& node) const {
    return node.op() == ir::OpKind::call_module ? graph_module.module(node.target()) : nullptr;
  }

  template <typename Layer>
  std::shared_ptr<Layer> layer_of(const ir::Node& node) const {
    return std::dynamic_pointer_cast<Layer>(module_of(node));
  }

  // The pooling a node computes, when the prepared pool reproduces it.
  std::optional<PoolSpec> pool_spec(const ir::Node& node) const {
    const ir::Node* input = first_input(node);
    if (input == nullptr || !is_float_tensor(input)) return std::nullopt;
    const Shape& in = value_of(input).tensor().sizes();
    if (in.size() != 4) return std::nullopt;
    PoolSpec spec{PreparedPool2d::Kind::max, {}};
    kernels::Pool2dParams& p = spec.params;
    p.batch = in[0];
    p.channels = in[1];
    p.in_h = in[2];
    p.in_w = in[3];
    auto set_window = [&](std::pair<int64_t, int64_t> kernel, std::pair<int64_t, int64_t> stride,
                          std::pair<int64_t, int64_t> padding,
                          std::pair<int64_t, int64_t> dilation) {
      p.set_window(kernel.first, kernel.second, stride.first, stride.second, padding.first,
                   padding.second, dilation.first, dilation.second);
    };
    // Adaptive pooling is plain pooling when the output divides the input.
    auto set_adaptive = [&](std::pair<int64_t, int64_t> out) {
      if (out.first <= 0 || out.second <= 0 || p.in_h % out.first || p.in_w % out.second)
        return false;
      const std::pair<int64_t, int64_t> window{p.in_h / out.first, p.in_w / out.second};
      set_window(window, window, {0, 0}, {1, 1});
      return true;
    };
    if (node.op() == ir::OpKind::call_module) {
      const auto module = module_of(node);
      if (!unhooked(*module, {})) return std::nullopt;
      if (auto max = std::dynamic_pointer_cast<nn::MaxPool2dImpl>(module)) {
        const auto& o = max->options();
        set_window({o.kernel_size().first, o.kernel_size().second},
                   {o.stride().first, o.stride().second}, {o.padding().first, o.padding().second},
                   {o.dilation().first, o.dilation().second});
        p.ceil_mode = o.ceil_mode();
      } else if (auto avg = std::dynamic_pointer_cast<nn::AvgPool2dImpl>(module)) {
        const auto& o = avg->options();
        spec.kind = PreparedPool2d::Kind::avg;
        set_window({o.kernel_size().first, o.kernel_size().second},
                   {o.stride().first, o.stride().second}, {o.padding().first, o.padding().second},
                   {1, 1});
        p.ceil_mode = o.ceil_mode();
        p.count_include_pad = o.count_include_pad();
      } else if (auto adaptive_avg = std::dynamic_pointer_cast<nn::AdaptiveAvgPool2dImpl>(module)) {
        spec.kind = PreparedPool2d::Kind::avg;
        if (!set_adaptive({adaptive_avg->output_size().first, adaptive_avg->output_size().second}))
          return std::nullopt;
      } else if (auto adaptive_max = std::dynamic_pointer_cast<nn::AdaptiveMaxPool2dImpl>(module)) {
        if (!set_adaptive({adaptive_max->output_size().first, adaptive_max->output_size().second}))
          return std::nullopt;
      } else {
        return std::nullopt;
      }
    } else if (node.op() == ir::OpKind::call_function) {
      for (size_t i = 1; i < node.args().size(); ++i)
        if (node.args()[i].is_node()) return std::nullopt;
      const std::string& target = node.target();
      if (target == "max_pool2d") {
        if (flag_of(node, "return_indices", 6, false)) return std::nullopt;
        const auto kernel = pair_of(literal(node, "kernel_size", 1), "kernel_size", {0, 0});
        set_window(kernel, pair_of(literal(node, "stride", 2), "stride", {0, 0}),
                   pair_of(literal(node, "padding", 3), "padding", {0, 0}),
                   pair_of(literal(node, "dilation", 4), "dilation", {1, 1}));
        p.ceil_mode = flag_of(node, "ceil_mode", 5, false);
      } else if (target == "avg_pool2d") {
        if (literal(node, "divisor_override", 6) != nullptr) return std::nullopt;
        spec.kind = PreparedPool2d::Kind::avg;
        const auto kernel = pair_of(literal(node, "kernel_size", 1), "kernel_size", {0, 0});
        set_window(kernel, pair_of(literal(node, "stride", 2), "stride", {0, 0}),
                   pair_of(literal(node, "padding", 3), "padding", {0, 0}), {1, 1});
        p.ceil_mode = flag_of(node, "ceil_mode", 4, false);
        p.count_include_pad = flag_of(node, "count_include_pad", 5, true);
      } else if (target == "adaptive_avg_pool2d" || target == "adaptive_max_pool2d") {
        if (flag_of(node, "return_indices", 2, false)) return std::nullopt;
        spec.kind =
            target == "adaptive_avg_pool2d" ? PreparedPool2d::Kind::avg : PreparedPool2d::Kind::max;
        if (!set_adaptive(pair_of(literal(node, "output_size", 1), "output_size", {0, 0})))
          return std::nullopt;
      } else {
        return std::nullopt;
      }
    } else {
      return std::nullopt;
    }
    // Whatever the prepared pool would produce must be what the interpreter produced.
    const ir::Value& result = value_of(&node);
    if (!result.is_tensor()) return std::nullopt;
    try {
      if (!PreparedPool2d::supports(spec.kind, p)) return std::nullopt;
      if (result.tensor().sizes() != Shape{p.batch, p.channels, p.out_h(), p.out_w()})
        return std::nullopt;
    } catch (const Error&) {
      return std::nullopt;
    }
    return spec;
  }

  // Whether `user` reads `producer` through a step that accepts a blocked layout.
  bool reads_blocked(const ir::Node* user, const ir::Node* producer) const {
    if (first_input(*user) != producer) return false;
    for (size_t i = 1; i < user->args().size(); ++i)
      if (user->args()[i].is_node()) return false;
    if (auto conv = layer_of<nn::Conv2dImpl>(*user))
      return options.prepack_weights && unhooked(*conv, {"weight", "bias"});
    return pool_spec(*user).has_value();
  }

  // Whether every parameter and buffer is finite. A NaN weight makes NaN that flows on through
  // every later layer, which a fused relu or clip (fused_activation_keeps_nan) would turn into a
  // number; finite inputs are the session's check.
  bool model_is_finite() {
    if (!model_finite) {
      model_finite = true;
      for (const auto& [name, tensor] : graph_module.root().state_dict())
        if (!all_finite(tensor)) model_finite = false;
    }
    return *model_finite;
  }

  bool all_users_read_blocked(const ir::Node* node) const {
    if (!options.blocked_layout || node->users().empty()) return false;
    for (const ir::Node* user : node->users())
      if (!reads_blocked(user, node)) return false;
    return true;
  }

  // The activation after `node` to fuse into its producer step, absorbing it.
  std::optional<ActivationParams> take_fused_activation(const ir::Node*& last) {
    if (!options.fuse_activations || !options.prepack_weights) return std::nullopt;
    ir::Node* user = single_user(last);
    if (user == nullptr || first_input(*user) != last) return std::nullopt;
    if (user->op() == ir::OpKind::call_module && !unhooked(*module_of(*user), {}))
      return std::nullopt;
    std::optional<ActivationParams> activation = detail::activation_of(graph_module, *user);
    if (!activation || !kernels::cpu::can_fuse_activation(*activation)) return std::nullopt;
    if (!kernels::cpu::fused_activation_keeps_nan(*activation) && !model_is_finite())
      return std::nullopt;
    absorbed.insert(user);
    last = user;
    ++stats.fused_activations;
    return activation;
  }

  // ---- Node compilers; each returns false to leave the node to the interpreter ----

  bool compile_conv(const ir::Node& node) {
    auto conv = layer_of<nn::Conv2dImpl>(node);
    const ir::Node* input = first_input(node);
    if (!conv || input == nullptr || node.args().size() != 1 || !is_float_tensor(input) ||
        !unhooked(*conv, {"weight", "bias"}))
      return false;
    const Shape& in = value_of(input).tensor().sizes();
    if (in.size() != 4) return false;
    const auto& o = conv->options();
    kernels::Conv2dParams p;
    p.batch = in[0];
    p.in_channels = in[1];
    p.in_h = in[2];
    p.in_w = in[3];
    p.out_channels = o.out_channels();
    p.kernel_h = o.kernel_size().first;
    p.kernel_w = o.kernel_size().second;
    p.stride_h = o.stride().first;
    p.stride_w = o.stride().second;
    p.pad_h = o.padding().first;
    p.pad_w = o.padding().second;
    p.dilation_h = o.dilation().first;
    p.dilation_w = o.dilation().second;
    p.groups = o.groups();
    if (p.in_channels != o.in_channels()) return false;

    Tensor weight = float_contiguous(conv->weight());
    Tensor bias = o.bias() ? float_contiguous(conv->bias()) : Tensor();
    watch(conv, "weight");
    if (o.bias()) watch(conv, "bias");
    const ir::Node* last = &node;
    std::string description = str_cat("conv2d ", node.name());
    if (options.fold_batchnorm) {
      if (fold_batchnorm(last, weight, bias)) description += str_cat(" + ", last->name());
    }
    std::optional<ActivationParams> activation = take_fused_activation(last);
    if (activation) description += str_cat(" + ", last->name());
    const Shape out_shape = value_of(last).tensor().sizes();

    const int in_slot = trees[index_of.at(input)].slot;
    if (options.prepack_weights) {
      kernels::cpu::PreparedConv2dOptions prepared;
      prepared.activation = activation;
      const int src = options.blocked_layout ? in_slot : plain(in_slot);
      prepared.src_layout = slots[src].layout;
      prepared.blocked_dst = all_users_read_blocked(last);
      auto primitive = std::make_shared<kernels::cpu::PreparedConv2d>(
          p, weight.data_ptr<float>(), bias.defined() ? bias.data_ptr<float>() : nullptr, prepared);
      const int out = arena_slot(out_shape, primitive->dst_layout());
      add_step(str_cat(description, slots[src].blocked() ? " [blocked in]" : "",
                       slots[out].blocked() ? " [blocked out]" : ""),
               {src}, [this, primitive, src, out] { primitive->run(address(src), address(out)); });
      ++stats.prepared_convs;
      trees[index_of.at(last)] = {out, {}};
    } else {
      const int src = plain(in_slot);
      const int out = arena_slot(out_shape);
      add_step(description, {src}, [this, p, weight, bias, src, out] {
        kernels::cpu::conv2d_forward(p, floats(src), weight.data_ptr<float>(),
                                     bias.defined() ? bias.data_ptr<float>() : nullptr,
                                     floats(out));
      });
      trees[index_of.at(last)] = {out, {}};
    }
    return true;
  }

  // Folds the BatchNorm2d that alone reads `last` (a conv with `weight`, `bias`) into them.
  bool fold_batchnorm(const ir::Node*& last, Tensor& weight, Tensor& bias) {
    ir::Node* user = single_user(last);
    if (user == nullptr || user->args().size() != 1 || first_input(*user) != last) return false;
    auto bn = layer_of<nn::BatchNorm2dImpl>(*user);
    if (!bn || !unhooked(*bn, {"weight", "bias"}) || bn->is_training()) return false;
    const Tensor mean = float_contiguous(bn->running_mean());
    const Tensor var = float_contiguous(bn->running_var());
    if (!mean.defined() || !var.defined()) return false;  // normalises with batch statistics
    const Tensor gamma = bn->options().affine() ? float_contiguous(bn->weight()) : Tensor();
    const Tensor beta = bn->options().affine() ? float_contiguous(bn->bias()) : Tensor();
    const int64_t channels = weight.size(0);
    if (mean.numel() != channels) return false;
    const int64_t per_channel = weight.numel() / channels;
    Tensor folded_weight = empty(weight.sizes());
    Tensor folded_bias = empty({channels});
    const float* w = weight.data_ptr<float>();
    float* fw = folded_weight.data_ptr<float>();
    for (int64_t c = 0; c < channels; ++c) {
      const double scale = (gamma.defined() ? gamma.data_ptr<float>()[c] : 1.0) /
                           std::sqrt(var.data_ptr<float>()[c] + bn->options().eps());
      for (int64_t i = 0; i < per_channel; ++i)
        fw[c * per_channel + i] = static_cast<float>(w[c * per_channel + i] * scale);
      const double b = bias.defined() ? bias.data_ptr<float>()[c] : 0.0;
      folded_bias.data_ptr<float>()[c] =
          static_cast<float>((b - mean.data_ptr<float>()[c]) * scale +
                             (beta.defined() ? beta.data_ptr<float>()[c] : 0.0));
    }
    for (const char* name : {"running_mean", "running_var"}) watch(bn, name);
    if (bn->options().affine()) {
      watch(bn, "weight");
      watch(bn, "bias");
    }
    weight = folded_weight;
    bias = folded_bias;
    absorbed.insert(user);
    last = user;
    ++stats.folded_batchnorms;
    return true;
  }

  bool compile_linear(const ir::Node& node) {
    auto linear = layer_of<nn::LinearImpl>(node);
    const ir::Node* input = first_input(node);
    if (!linear || input == nullptr || node.args().size() != 1 || !is_float_tensor(input) ||
        !unhooked(*linear, {"weight", "bias"}))
      return false;
    const Shape& in = value_of(input).tensor().sizes();
    const Tensor weight = float_contiguous(linear->weight());
    if (in.empty() || weight.dim() != 2 || in.back() != weight.size(1)) return false;
    const bool has_bias = linear->options().bias();
    const Tensor bias = has_bias ? float_contiguous(linear->bias()) : Tensor();
    watch(linear, "weight");
    if (has_bias) watch(linear, "bias");
    kernels::LinearParams p{shape_numel(in) / in.back(), weight.size(1), weight.size(0)};
    if (p.rows == 0) return false;
    const ir::Node* last = &node;
    std::optional<ActivationParams> activation = take_fused_activation(last);
    std::string description = str_cat("linear ", node.name());
    if (activation) description += str_cat(" + ", last->name());
    const int src = plain(trees[index_of.at(input)].slot);
    const int out = arena_slot(value_of(last).tensor().sizes());
    if (options.prepack_weights) {
      auto primitive = std::make_shared<kernels::cpu::PreparedLinear>(
          p, weight.data_ptr<float>(), has_bias ? bias.data_ptr<float>() : nullptr, activation);
      add_step(description, {src},
               [this, primitive, src, out] { primitive->run(floats(src), floats(out)); });
      ++stats.prepared_linears;
    } else {
      add_step(description, {src}, [this, p, weight, bias, src, out] {
        kernels::cpu::linear_forward(p, floats(src), weight.data_ptr<float>(),
                                     bias.defined() ? bias.data_ptr<float>() : nullptr,
                                     floats(out));
      });
    }
    trees[index_of.at(last)] = {out, {}};
    return true;
  }

  bool compile_pool(const ir::Node& node) {
    std::optional<PoolSpec> spec = pool_spec(node);
    if (!spec) return false;
    const ir::Node* input = first_input(node);
    const int in_slot = trees[index_of.at(input)].slot;
    const int src = options.blocked_layout ? in_slot : plain(in_slot);
    auto primitive = std::make_shared<PreparedPool2d>(spec->kind, spec->params, slots[src].layout,
                                                      all_users_read_blocked(&node));
    const int out = arena_slot(value_of(&node).tensor().sizes(), primitive->dst_layout());
    add_step(str_cat(spec->kind == PreparedPool2d::Kind::max ? "max" : "avg", " pool ", node.name(),
                     slots[src].blocked() ? " [blocked in]" : "",
                     slots[out].blocked() ? " [blocked out]" : ""),
             {src}, [this, primitive, src, out] { primitive->run(address(src), address(out)); });
    ++stats.prepared_pools;
    trees[index_of.at(&node)] = {out, {}};
    return true;
  }

  bool compile_activation(const ir::Node& node) {
    const ir::Node* input = first_input(node);
    if (input == nullptr || !is_float_tensor(input)) return false;
    if (node.op() == ir::OpKind::call_module && !unhooked(*module_of(node), {})) return false;
    std::optional<ActivationParams> activation = detail::activation_of(graph_module, node);
    if (!activation) return false;
    const int src = plain(trees[index_of.at(input)].slot);
    const int out = arena_slot(value_of(&node).tensor().sizes());
    const int64_t count = shape_numel(slots[out].shape);
    const ActivationParams params = *activation;
    add_step(str_cat(kernels::activation_name(params.kind), " ", node.name()), {src},
             [this, params, src, out, count] {
               if (count > 0)
                 kernels::cpu::activation_forward(params, floats(src), floats(out), count);
             });
    trees[index_of.at(&node)] = {out, {}};
    return true;
  }

  // flatten / reshape / view / eval dropout / identity of an arena value: the same memory.
  bool compile_alias(const ir::Node& node) {
    const ir::Node* input = first_input(node);
    if (input == nullptr || !is_float_tensor(input)) return false;
    const ir::Value& result = value_of(&node);
    if (!result.is_tensor() || result.tensor().numel() != value_of(input).tensor().numel())
      return false;
    bool is_alias = false;
    if (node.op() == ir::OpKind::call_module) {
      const auto module = module_of(node);
      is_alias = unhooked(*module, {}) &&
                 (std::dynamic_pointer_cast<nn::FlattenImpl>(module) ||
                  std::dynamic_pointer_cast<nn::IdentityImpl>(module) ||
                  (std::dynamic_pointer_cast<nn::DropoutImpl>(module) && !module->is_training()));
    } else if (node.op() == ir::OpKind::call_function) {
      static const std::unordered_set<std::string> reshapes = {"flatten", "reshape", "view",
                                                               "contiguous"};
      is_alias = reshapes.count(node.target()) > 0;
      if (node.target() == "dropout") is_alias = !flag_of(node, "training", 2, true);
      for (size_t i = 1; i < node.args().size(); ++i)
        if (node.args()[i].is_node()) is_alias = false;
    }
    const int in_slot = trees[index_of.at(input)].slot;
    if (!is_alias || slots[in_slot].buffer == kNone) return false;
    trees[index_of.at(&node)] = {alias_slot(plain(in_slot), result.tensor().sizes()), {}};
    return true;
  }

  bool compile_lstm(const ir::Node& node) {
    auto lstm = layer_of<nn::LSTMImpl>(node);
    if (!lstm || !options.rnn_primitive || lstm->has_hooks()) return false;
    const ir::Node* input = first_input(node);
    if (input == nullptr || !is_float_tensor(input)) return false;
    const Shape& in = value_of(input).tensor().sizes();
    if (in.size() != 3) return false;
    const auto& o = lstm->options();
    int h0 = kNone, c0 = kNone;
    if (node.args().size() == 2) {
      const ir::Argument& state = node.args()[1];
      if (!state.is_list() || state.to_list().size() != 2) return false;
      for (const ir::Argument& item : state.to_list()) {
        if (!item.is_node() || !is_float_tensor(item.to_node())) return false;
        const ValueTree& tree = trees[index_of.at(item.to_node())];
        if (!tree.is_slot()) return false;
      }
      h0 = plain(trees[index_of.at(state.to_list()[0].to_node())].slot);
      c0 = plain(trees[index_of.at(state.to_list()[1].to_node())].slot);
    } else if (node.args().size() != 1) {
      return false;
    }
    std::vector<std::string> names;
    for (const auto& [name, tensor] : lstm->named_parameters(false)) {
      if (lstm->parametrization(name) != nullptr) return false;
      names.push_back(name);
    }
    std::vector<Tensor> weights;
    for (const Tensor& weight : lstm->flat_weights()) weights.push_back(float_contiguous(weight));
    for (const std::string& name : names) watch(lstm, name);
    std::vector<const float*> pointers;
    for (const Tensor& weight : weights) pointers.push_back(weight.data_ptr<float>());
    kernels::LstmLayerParams p;
    p.seq_len = o.batch_first() ? in[1] : in[0];
    p.batch = o.batch_first() ? in[0] : in[1];
    p.input_size = in[2];
    p.hidden_size = o.hidden_size();
    p.has_bias = o.bias();
    auto primitive =
        std::make_shared<kernels::cpu::PreparedLstm>(p, o.num_layers(), o.batch_first(), pointers);
    const int x = plain(trees[index_of.at(input)].slot);
    const Shape state_shape{o.num_layers(), p.batch, p.hidden_size};
    const Shape out_shape = o.batch_first() ? Shape{p.batch, p.seq_len, p.hidden_size}
                                            : Shape{p.seq_len, p.batch, p.hidden_size};
    const int y = arena_slot(out_shape);
    const int h_n = arena_slot(state_shape);
    const int c_n = arena_slot(state_shape);
    std::vector<int> reads{x};
    if (h0 != kNone) reads.insert(reads.end(), {h0, c0});
    add_step(str_cat("lstm ", node.name()), reads, [this, primitive, x, h0, c0, y, h_n, c_n] {
      primitive->run(floats(x), h0 == kNone ? nullptr : floats(h0),
                     c0 == kNone ? nullptr : floats(c0), floats(y), floats(h_n), floats(c_n));
    });
    ++stats.prepared_lstms;
    trees[index_of.at(&node)] = {kNone, {{y, {}}, {kNone, {{h_n, {}}, {c_n, {}}}}}};
    return true;
  }

  bool compile_getitem(const ir::Node& node) {
    if (node.op() != ir::OpKind::call_function || node.target() != "getitem" ||
        node.args().size() != 2 || !node.args()[1].is_int())
      return false;
    const ir::Node* input = first_input(node);
    if (input == nullptr) return false;
    const ValueTree& tree = trees[index_of.at(input)];
    if (tree.is_slot()) return false;
    int64_t index = node.args()[1].to_int();
    const int64_t count = static_cast<int64_t>(tree.items.size());
    if (index < 0) index += count;
    if (index < 0 || index >= count) return false;
    trees[index_of.at(&node)] = tree.items[index];
    return true;
  }

  // Any node: runs as the interpreter runs it, on plain inputs.
  void compile_interpreted(const ir::Node& node) {
    std::vector<ValueTree> arguments;
    std::vector<int> reads;
    std::vector<int> may_alias;
    std::function<ValueTree(const ir::Argument&)> tree_of = [&](const ir::Argument& argument) {
      if (argument.is_node()) return plain_tree(trees[index_of.at(argument.to_node())]);
      ValueTree tree;
      if (argument.is_list())
        for (const ir::Argument& item : argument.to_list()) tree.items.push_back(tree_of(item));
      return tree;
    };
    for (const ir::Argument& argument : node.args()) arguments.push_back(tree_of(argument));
    for (const ValueTree& tree : arguments) collect_slots(tree, reads);
    for (int slot : reads)
      may_alias.insert(may_alias.end(), slots[slot].may_alias.begin(), slots[slot].may_alias.end());
    std::function<ValueTree(const ir::Value&)> result_tree = [&](const ir::Value& value) {
      if (value.is_tensor()) {
        return ValueTree{
            external_slot(value.tensor().defined() ? value.tensor().sizes() : Shape{}, may_alias),
            {}};
      }
      ValueTree tree;
      for (const ir::Value& item : value.items()) tree.items.push_back(result_tree(item));
      return tree;
    };
    const ValueTree result = result_tree(value_of(&node));
    const ir::Node* target = &node;
    add_step(str_cat("interpreted ", node_label(node)), reads, [this, target, arguments, result] {
      std::vector<ir::Value> args;
      args.reserve(arguments.size());
      for (const ValueTree& tree : arguments) args.push_back(value_of_tree(tree));
      store(result, graph_module.run_node(*target, args));
    });
    trees[index_of.at(&node)] = result;
    ++stats.interpreted_nodes;
  }

  // ---- Run time ----

  ir::Value value_of_tree(const ValueTree& tree) {
    if (tree.is_slot()) return ir::Value(slots[tree.slot].tensor);
    std::vector<ir::Value> items;
    items.reserve(tree.items.size());
    for (const ValueTree& item : tree.items) items.push_back(value_of_tree(item));
    return ir::Value(std::move(items));
  }

  void store(const ValueTree& tree, const ir::Value& value) {
    if (tree.is_slot()) {
      slots[tree.slot].tensor = value.tensor();
      return;
    }
    const std::vector<ir::Value>& items = value.items();
    PARE_CHECK(items.size() == tree.items.size(), "CompiledGraph: a node returned ", items.size(),
               " values where the compiled graph expects ", tree.items.size());
    for (size_t i = 0; i < items.size(); ++i) store(tree.items[i], items[i]);
  }

  bool in_arena(const Tensor& tensor) const {
    if (!arena.defined() || !tensor.defined()) return false;
    const auto* begin = static_cast<const std::byte*>(arena.raw_data());
    const auto* data = static_cast<const std::byte*>(tensor.storage().data());
    return data >= begin && data < begin + arena.nbytes();
  }

  ir::Value output_value(const ValueTree& tree) {
    if (tree.is_slot()) {
      const Tensor& tensor = slots[tree.slot].tensor;
      return ir::Value(in_arena(tensor) ? tensor.clone() : tensor);
    }
    std::vector<ir::Value> items;
    for (const ValueTree& item : tree.items) items.push_back(output_value(item));
    return ir::Value(std::move(items));
  }

  // ---- Driver ----

  void probe_run() {
    probe.resize(nodes.size());
    size_t next_input = 0;
    std::function<ir::Value(const ir::Argument&)> gather = [&](const ir::Argument& argument) {
      if (argument.is_node()) return probe[index_of.at(argument.to_node())];
      if (!argument.is_list()) return ir::Value();
      std::vector<ir::Value> items;
      for (const ir::Argument& item : argument.to_list()) items.push_back(gather(item));
      return ir::Value(std::move(items));
    };
    for (size_t i = 0; i < nodes.size(); ++i) {
      const ir::Node& node = *nodes[i];
      if (node.op() == ir::OpKind::placeholder) {
        PARE_CHECK(next_input < input_meta.size(), "CompiledGraph: the graph has more than ",
                   input_meta.size(), " placeholder(s)");
        const ir::TensorMeta& meta = input_meta[next_input++];
        probe[i] = ir::Value(zeros(meta.shape, meta.dtype));
      } else if (node.op() != ir::OpKind::output) {
        std::vector<ir::Value> args;
        for (const ir::Argument& argument : node.args()) args.push_back(gather(argument));
        probe[i] = graph_module.run_node(node, args);
      }
    }
    PARE_CHECK(next_input == input_meta.size(), "CompiledGraph: expected ", next_input,
               " input(s) (one per placeholder), got ", input_meta.size());
  }

  void compile() {
    nodes = graph_module.graph().nodes();
    for (size_t i = 0; i < nodes.size(); ++i) index_of[nodes[i]] = i;
    trees.resize(nodes.size());
    probe_run();
    for (ir::Node* node : nodes) {
      if (absorbed.count(node)) continue;
      try {
        compile_node(*node);
      } catch (const std::exception& error) {
        throw Error(str_cat("CompiledGraph: node ", node_label(*node), ": ", error.what()));
      }
    }
    place_buffers();
    probe.clear();
  }

  void compile_node(const ir::Node& node) {
    const size_t index = index_of.at(&node);
    switch (node.op()) {
      case ir::OpKind::placeholder: {
        const int slot = external_slot(input_meta[input_slots.size()].shape);
        input_slots.push_back(slot);
        trees[index] = {slot, {}};
        return;
      }
      case ir::OpKind::output:
        output = node.args().empty() ? ValueTree{} : output_tree(node.args()[0]);
        return;
      default:
        break;
    }
    if (compile_conv(node) || compile_linear(node) || compile_lstm(node) || compile_pool(node) ||
        compile_getitem(node) || compile_alias(node) || compile_activation(node))
      return;
    compile_interpreted(node);
  }

  ValueTree output_tree(const ir::Argument& argument) {
    if (argument.is_node()) return plain_tree(trees[index_of.at(argument.to_node())]);
    ValueTree tree;
    if (argument.is_list())
      for (const ir::Argument& item : argument.to_list()) tree.items.push_back(output_tree(item));
    return tree;
  }

  // Liveness over the steps, the memory plan, the arena and the slots' addresses.
  void place_buffers() {
    const size_t end = steps.size();
    std::vector<size_t> last_read(slots.size(), 0);
    std::vector<bool> read(slots.size(), false);
    for (size_t s = 0; s < steps.size(); ++s) {
      for (int slot : steps[s].reads) {
        last_read[slot] = s;
        read[slot] = true;
      }
    }
    std::vector<int> outputs;
    collect_slots(output, outputs);
    for (int slot : outputs) {
      last_read[slot] = end;
      read[slot] = true;
    }
    std::vector<BufferLifetime> lifetimes(buffers.size());
    for (size_t b = 0; b < buffers.size(); ++b)
      lifetimes[b] = {buffers[b].bytes, buffers[b].first_step, buffers[b].first_step};
    for (size_t slot = 0; slot < slots.size(); ++slot) {
      if (!read[slot]) continue;
      for (int b : slots[slot].may_alias)
        lifetimes[b].last_step = std::max(lifetimes[b].last_step, last_read[slot]);
    }
    const MemoryPlan plan = plan_memory(lifetimes, options.memory_plan);
    stats.arena_bytes = plan.arena_bytes;
    stats.unshared_bytes = plan.unshared_bytes;
    // A pare tensor, so that pare's memory statistics (pare bench's peak) count the arena.
    arena = empty({static_cast<int64_t>((plan.arena_bytes + sizeof(float) - 1) / sizeof(float))});
    auto* base = static_cast<std::byte*>(arena.raw_data());
    for (Slot& slot : slots) {
      if (slot.buffer == kNone) continue;
      slot.fixed = base + plan.offsets[slot.buffer];
      if (slot.blocked()) continue;
      auto impl = std::make_shared<TensorImpl>();
      impl->storage = Storage::wrap(slot.fixed, shape_numel(slot.shape) * sizeof(float));
      impl->sizes = slot.shape;
      impl->strides = contiguous_strides(slot.shape);
      slot.tensor = Tensor(impl);
    }
  }

  ir::Value run(const std::vector<Tensor>& inputs) {
    std::lock_guard<std::mutex> lock(mutex);
    PARE_CHECK(inputs.size() == input_slots.size(), "CompiledGraph::run: expected ",
               input_slots.size(), " input(s), got ", inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      PARE_CHECK(inputs[i].defined() && inputs[i].sizes() == input_meta[i].shape &&
                     inputs[i].dtype() == input_meta[i].dtype,
                 "CompiledGraph::run: input ", i, " must be ", input_meta[i].shape, " ",
                 dtype_name(input_meta[i].dtype), ", got ",
                 inputs[i].defined() ? inputs[i].sizes() : Shape{});
      slots[input_slots[i]].tensor = inputs[i];
    }
    NoGradGuard no_grad;
    for (Step& step : steps) step.run();
    ir::Value result = output_value(output);
    for (Slot& slot : slots)
      if (slot.buffer == kNone && slot.fixed == nullptr) slot.tensor = Tensor();
    return result;
  }
};

namespace {

std::vector<std::pair<const TensorImpl*, const void*>> model_tensors(const nn::Module& root) {
  std::vector<std::pair<const TensorImpl*, const void*>> identities;
  auto add = [&](const Tensor& tensor) {
    identities.emplace_back(tensor.impl(), tensor.defined() ? tensor.raw_data() : nullptr);
  };
  for (const Tensor& tensor : root.parameters()) add(tensor);
  for (const Tensor& tensor : root.buffers()) add(tensor);
  return identities;
}

std::vector<bool> module_hooks(nn::Module& root) {
  std::vector<bool> hooks;
  for (const std::shared_ptr<nn::Module>& module : root.modules())
    hooks.push_back(module->has_hooks());
  return hooks;
}

}  // namespace

CompiledGraph::CompiledGraph(ir::GraphModule& graph_module,
                             const std::vector<ir::TensorMeta>& inputs,
                             const InferenceOptions& options)
    : impl_(std::make_unique<Impl>(graph_module, inputs, options)) {
  PARE_CHECK(!graph_module.root().is_training(),
             "CompiledGraph: the GraphModule is in training mode; call eval() first");
  NoGradGuard no_grad;
  impl_->compile();
  impl_->confirmed_version = nn::Module::structure_version();
  impl_->model_tensors = model_tensors(graph_module.root());
  impl_->module_hooks = module_hooks(graph_module.root());
}

CompiledGraph::~CompiledGraph() = default;

ir::Value CompiledGraph::run(const std::vector<Tensor>& inputs) { return impl_->run(inputs); }

const std::vector<ir::TensorMeta>& CompiledGraph::input_meta() const { return impl_->input_meta; }

bool CompiledGraph::matches(const std::vector<ir::TensorMeta>& inputs) const {
  return impl_->input_meta == inputs && impl_->threads == omp_get_max_threads();
}

const InferenceOptions& CompiledGraph::options() const { return impl_->options; }
const CompileStats& CompiledGraph::stats() const { return impl_->stats; }

bool CompiledGraph::weights_unchanged() const {
  const uint64_t version = nn::Module::structure_version();
  if (version == impl_->confirmed_version.load(std::memory_order_relaxed)) return true;
  nn::Module& root = impl_->graph_module.root();
  if (model_tensors(root) != impl_->model_tensors || module_hooks(root) != impl_->module_hooks)
    return false;
  for (const WatchedTensor& watched : impl_->watched) {
    const nn::Module& owner = *watched.owner;
    const Tensor now = owner.has_parameter(watched.name) ? owner.get_parameter(watched.name)
                                                         : owner.get_buffer(watched.name);
    if (now.impl() != watched.impl || (now.defined() ? now.raw_data() : nullptr) != watched.data)
      return false;
  }
  // Another model changed, not this one.
  impl_->confirmed_version.store(version, std::memory_order_relaxed);
  return true;
}

std::string CompiledGraph::describe() const {
  std::ostringstream text;
  for (size_t s = 0; s < impl_->steps.size(); ++s)
    text << s << ": " << impl_->steps[s].description << "\n";
  const CompileStats& stats = impl_->stats;
  text << "arena " << stats.arena_bytes << " bytes (" << stats.unshared_bytes
       << " without reuse)\n";
  return text.str();
}

}  // namespace pare::inference

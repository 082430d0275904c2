// Lowers a Conv2d module, with the BatchNorm2d that alone reads it folded into its weights, the
// residual add after them (residual_add.cpp) and the activation after that fused, to one prepared
// oneDNN convolution (weights reordered once, input and output kept blocked where every neighbour
// accepts it), or to the plain kernel when weights are not prepacked. Folding removes a whole pass
// over the activations per BatchNorm; the fused add another one or two per residual block. The 3x3
// stride-1 convs with enough channels run oneDNN's Winograd algorithm (InferenceOptions::winograd),
// and then every conv of the graph keeps Winograd's blocked layout, so that no reorder sits
// between a Winograd conv and its direct neighbours.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "lowerings.h"
#include "pare/creation.h"
#include "pare/kernels/conv2d.h"
#include "pare/kernels/prepared_conv2d.h"
#include "pare/nn/conv.h"
#include "pare/nn/normalization.h"

namespace pare::inference::detail {

namespace {

// Folds the BatchNorm2d that alone reads `last` (a conv with `weight`, `bias`) into them.
bool fold_batchnorm(CompilerState& state, const ir::Node*& last, Tensor& weight, Tensor& bias) {
  const int64_t channels = weight.size(0);
  const ir::Node* user = foldable_batchnorm(state, last, channels);
  if (user == nullptr) return false;
  auto bn = state.layer_of<nn::BatchNorm2dImpl>(*user);
  const Tensor mean = float_contiguous(bn->running_mean());
  const Tensor var = float_contiguous(bn->running_var());
  const Tensor gamma = bn->options().affine() ? float_contiguous(bn->weight()) : Tensor();
  const Tensor beta = bn->options().affine() ? float_contiguous(bn->bias()) : Tensor();
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
  for (const char* name : {"running_mean", "running_var"}) state.watch(bn, name);
  if (bn->options().affine()) {
    state.watch(bn, "weight");
    state.watch(bn, "bias");
  }
  weight = folded_weight;
  bias = folded_bias;
  state.absorbed.insert(user);
  last = user;
  ++state.stats.folded_batchnorms;
  return true;
}

// Absorbs the residual add the conv `node` fuses (residual_add_after) and moves `last` to it.
std::optional<ResidualAdd> take_residual_add(CompilerState& state, const ir::Node& node,
                                             const ir::Node*& last) {
  std::optional<ResidualAdd> residual = residual_add_after(state, node);
  if (!residual || !state.tree(residual->shortcut).is_slot()) return std::nullopt;
  state.absorbed.insert(residual->add);
  last = residual->add;
  ++state.stats.fused_residual_adds;
  return residual;
}

// Below this many input or output channels Winograd's input and output transforms cost more than
// its saved multiplications: with oneDNN 2.6 on AVX-512, 16-channel 3x3 convs ran at 0.8-3.6x the
// direct kernel's time, 32 channels and more at 0.3-0.96x (docs/benchmarks.md, ResNet-18).
constexpr int64_t kWinogradMinChannels = 32;

// At batch 1, in a graph already in Winograd's layout (uses_winograd_layout), a conv of 16 or
// more input channels and 32 or more output channels runs Winograd too: against the direct kernel
// in that same nChw16c layout, which it would run otherwise, oneDNN 2.6's Winograd took 0.60-0.96x
// the time for 16 -> 32 and 16 -> 64 channels on 7 to 56 pixel planes (the pruned demo CNN: 22.9
// -> 20.3 us per image). Not at larger batches: 0.58-1.05x at batch 8, and the pruned demo CNN at
// batch 64 took 1.3x as long (docs/benchmarks.md, the demo CNN's per-layer overheads).
constexpr int64_t kWinogradLayoutMinInChannels = 16;

bool winograd_pays(const CompilerState& state, const kernels::Conv2dParams& p,
                   int64_t min_in_channels = kWinogradMinChannels) {
  return state.options.winograd && state.options.prepack_weights && state.options.blocked_layout &&
         p.in_channels >= min_in_channels && p.out_channels >= kWinogradMinChannels &&
         kernels::cpu::PreparedConv2d::winograd_supported(p);
}

// Winograd's blocked layout holds channels in blocks of 16: a conv with fewer output channels, or
// fewer input channels read from another op (a graph input is read as it comes), has only
// oneDNN's reference kernel in it.
constexpr int64_t kWinogradLayoutMinChannels = 16;

// Whether any conv of the graph runs Winograd and every conv suits Winograd's layout: then every
// prepared conv writes that layout where it chooses its own (the direct kernels take it at about
// their speed in their own layout), instead of a reorder on each side of every Winograd conv. A
// narrow conv anywhere (a small ResNet's 4- and 8-channel stages) keeps each conv in its own
// layout: the Winograd convs reorder around themselves.
bool uses_winograd_layout(CompilerState& state) {
  if (!state.winograd_in_graph) {
    bool pays = false, suits = true;
    for (const ir::Node* node : state.nodes) {
      const std::optional<kernels::Conv2dParams> p = conv2d_params(state, *node);
      if (!p) continue;
      pays = pays || winograd_pays(state, *p);
      const ir::Node* input = state.first_input(*node);
      const bool reads_graph_input = input != nullptr && input->op() == ir::OpKind::placeholder;
      suits = suits && p->out_channels >= kWinogradLayoutMinChannels &&
              (p->in_channels >= kWinogradLayoutMinChannels || reads_graph_input);
    }
    state.winograd_in_graph = pays && suits;
  }
  return *state.winograd_in_graph;
}

}  // namespace

std::optional<kernels::Conv2dParams> conv2d_params(const CompilerState& state,
                                                   const ir::Node& node) {
  auto conv = state.layer_of<nn::Conv2dImpl>(node);
  const ir::Node* input = state.first_input(node);
  if (!conv || input == nullptr || node.args().size() != 1 || !state.is_float_tensor(input) ||
      !unhooked(*conv, {"weight", "bias"}))
    return std::nullopt;
  const Shape& in = state.symbol(input).meta.shape;
  if (in.size() != 4) return std::nullopt;
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
  if (p.in_channels != o.in_channels()) return std::nullopt;
  return p;
}

const ir::Node* foldable_batchnorm(const CompilerState& state, const ir::Node* last,
                                   int64_t channels) {
  if (!state.options.fold_batchnorm) return nullptr;
  ir::Node* user = state.single_user(last);
  if (user == nullptr || user->args().size() != 1 || state.first_input(*user) != last)
    return nullptr;
  auto bn = state.layer_of<nn::BatchNorm2dImpl>(*user);
  if (!bn || !unhooked(*bn, {"weight", "bias"}) || bn->is_training()) return nullptr;
  const Tensor mean = bn->running_mean();
  const Tensor var = bn->running_var();
  if (!mean.defined() || !var.defined()) return nullptr;  // normalises with batch statistics
  if (mean.numel() != channels || var.numel() != channels) return nullptr;
  return user;
}

bool lower_conv2d(CompilerState& state, const ir::Node& node) {
  const std::optional<kernels::Conv2dParams> params = conv2d_params(state, node);
  if (!params) return false;
  const kernels::Conv2dParams& p = *params;
  auto conv = state.layer_of<nn::Conv2dImpl>(node);
  const auto& o = conv->options();
  const ir::Node* input = state.first_input(node);

  Tensor weight = float_contiguous(conv->weight());
  Tensor bias = o.bias() ? float_contiguous(conv->bias()) : Tensor();
  state.watch(conv, "weight");
  if (o.bias()) state.watch(conv, "bias");
  const ir::Node* last = &node;
  std::string description = str_cat("conv2d ", node.name());
  if (fold_batchnorm(state, last, weight, bias)) description += str_cat(" + ", last->name());
  const std::optional<ResidualAdd> residual = take_residual_add(state, node, last);
  if (residual)
    description += str_cat(" + ", last->name(), " (sum with ", residual->shortcut->name(), ")");
  std::optional<kernels::ActivationParams> activation = take_fused_activation(state, last);
  if (activation) description += str_cat(" + ", last->name());
  const Shape out_shape = state.symbol(last).meta.shape;

  const int in_slot = state.tree(input).slot;
  if (state.options.prepack_weights) {
    kernels::cpu::PreparedConv2dOptions prepared;
    prepared.activation = activation;
    const int src = state.options.blocked_layout ? in_slot : state.plain(in_slot);
    prepared.src_layout = state.slots[src].layout;
    prepared.blocked_dst = state.all_users_read_blocked(last);
    // The sum post-op adds what dst holds: the primitive works in the shortcut's layout, so that
    // the shortcut's bytes can be dst as they are.
    const int shortcut = residual ? state.tree(residual->shortcut).slot : kNone;
    if (residual) {
      prepared.accumulate = true;
      prepared.dst_layout = state.slots[shortcut].blocked()
                                ? state.slots[shortcut].layout
                                : kernels::MemoryLayout::plain(out_shape);
    }
    if (prepared.blocked_dst && !prepared.dst_layout.defined() && uses_winograd_layout(state)) {
      kernels::cpu::PreparedConv2dOptions in_winograd_layout = prepared;
      in_winograd_layout.dst_layout = kernels::cpu::PreparedConv2d::winograd_layout(out_shape);
      // Not where oneDNN has only its reference kernel in that layout (a conv of 4 or 8 channels):
      // one reorder before the next Winograd conv costs far less.
      if (kernels::cpu::PreparedConv2d::has_optimized_kernel(p, in_winograd_layout))
        prepared = in_winograd_layout;
    }
    // Not where Winograd cannot write the dst asked for (accumulating into a plain shortcut).
    prepared.winograd = (winograd_pays(state, p) ||
                         (p.batch == 1 && winograd_pays(state, p, kWinogradLayoutMinInChannels) &&
                          uses_winograd_layout(state))) &&
                        kernels::cpu::PreparedConv2d::winograd_implemented(p, prepared);
    const bool reference = !kernels::cpu::PreparedConv2d::has_optimized_kernel(p, prepared);
    if (reference) ++state.stats.reference_convs;
    // The recipe keeps the folded weight and bias until thread tuning has chosen a build.
    auto primitive = std::make_shared<Rebuildable<kernels::cpu::PreparedConv2d>>([=] {
      return std::make_unique<kernels::cpu::PreparedConv2d>(
          p, weight.data_ptr<float>(), bias.defined() ? bias.data_ptr<float>() : nullptr, prepared);
    });
    const int out = state.arena_slot(out_shape, (*primitive)->dst_layout());
    description = str_cat(description, prepared.winograd ? " [winograd]" : "",
                          reference ? " [reference kernel]" : "",
                          state.slots[src].blocked() ? " [blocked in]" : "",
                          state.slots[out].blocked() ? " [blocked out]" : "");
    if (residual) {
      // In place over the shortcut where the memory plan allows it (the conv's own src cannot be
      // its dst); otherwise the step copies the shortcut into dst first.
      const int shortcut_buffer = state.slots[shortcut].buffer;
      const std::vector<int>& src_buffers = state.slots[src].may_alias;
      if (shortcut_buffer != kNone &&
          std::find(src_buffers.begin(), src_buffers.end(), shortcut_buffer) == src_buffers.end())
        state.buffers[state.slots[out].buffer].accumulates_into = shortcut_buffer;
      else
        description += " [shortcut copied]";  // else the memory plan decides (place_buffers)
      const size_t bytes = (*primitive)->dst_layout().bytes();
      state.add_step(description, {src, shortcut}, [&state, primitive, src, shortcut, out, bytes] {
        const void* addend = state.address(shortcut);
        void* dst = state.address(out);
        if (addend != dst) std::memcpy(dst, addend, bytes);
        (*primitive)->run(state.address(src), dst);
      });
    } else {
      state.add_step(description, {src}, [&state, primitive, src, out] {
        (*primitive)->run(state.address(src), state.address(out));
      });
    }
    state.steps.back().primitive = primitive;
    ++state.stats.prepared_convs;
    if (prepared.winograd) ++state.stats.winograd_convs;
    state.tree(last) = {out, {}};
  } else {
    const int src = state.plain(in_slot);
    const int out = state.arena_slot(out_shape);
    state.add_step(description, {src}, [&state, p, weight, bias, src, out] {
      kernels::cpu::conv2d_forward(p, state.floats(src), weight.data_ptr<float>(),
                                   bias.defined() ? bias.data_ptr<float>() : nullptr,
                                   state.floats(out));
    });
    state.tree(last) = {out, {}};
  }
  return true;
}

}  // namespace pare::inference::detail

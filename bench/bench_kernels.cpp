// pare's oneDNN kernels (pare::kernels::cpu) next to the same ops written directly against
// oneDNN 2.6 in the same process, so that docs/benchmarks.md can state what pare's wrapping costs.
//
//   ./build/bench/bench_kernels --benchmark_filter='conv2d/.*/N32_' --benchmark_repetitions=5
//
// Every benchmark is named "<op>/<implementation>/<shape>" and reports a "FLOP/s" counter
// (2 * multiply-adds per call; elementwise work such as bias and gates is not counted):
//   pare             pare::kernels::cpu on plain PyTorch-layout buffers.
//   onednn_plain     oneDNN used directly on the same plain buffers, doing exactly the work pare's
//                    kernel must do for them: primitives created once, then per call the reorders
//                    between plain and oneDNN's chosen layouts (and, for LSTM, the sum of
//                    PyTorch's two biases). pare should reach at least 90% of this.
//   onednn_packed    oneDNN with everything already in the layouts it chose (blocked activations,
//                    pre-packed weights, pre-summed bias): the headroom a layout-planning
//                    inference pass could win, not a target for the per-call kernels.
// Convolutions run both with forward_inference and (suffix _training) with forward_training,
// because oneDNN picks a different kernel and layout for each; the table compares pare with the
// faster one.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "onednn_bench_util.h"
#include "pare/kernels/conv2d.h"
#include "pare/kernels/linear.h"
#include "pare/kernels/lstm.h"
#include "shapes.h"

namespace {

using dnnl::memory;
using pare_bench::ConvShape;
using pare_bench::engine;
using pare_bench::Floats;
using pare_bench::LinearShape;
using pare_bench::LstmShape;
using pare_bench::random_floats;
using pare_bench::report_flops;
using pare_bench::stream;
using Tag = memory::format_tag;
constexpr auto kF32 = memory::data_type::f32;

// A plain user buffer and the layout a primitive chose for it. When they differ, `inner` owns a
// buffer in the chosen layout and `reorder` converts between the two in the given direction.
struct Converted {
  memory user;
  memory inner;
  std::optional<dnnl::reorder> reorder;

  static Converted input(const memory::desc& user_desc, const memory::desc& chosen, void* data) {
    Converted converted{memory(user_desc, engine(), data), memory(), std::nullopt};
    converted.inner = chosen == user_desc ? converted.user : memory(chosen, engine());
    if (converted.inner != converted.user) {
      converted.reorder = dnnl::reorder(converted.user, converted.inner);
    }
    return converted;
  }

  static Converted output(const memory::desc& user_desc, const memory::desc& chosen, void* data) {
    Converted converted{memory(user_desc, engine(), data), memory(), std::nullopt};
    converted.inner = chosen == user_desc ? converted.user : memory(chosen, engine());
    if (converted.inner != converted.user) {
      converted.reorder = dnnl::reorder(converted.inner, converted.user);
    }
    return converted;
  }

  void to_inner() {
    if (reorder) reorder->execute(stream(), user, inner);
  }
  void to_user() {
    if (reorder) reorder->execute(stream(), inner, user);
  }
};

// ---- conv2d: 3x3, padding 1, stride 1, the convolutions of a small VGG -------------------------

struct ConvBuffers {
  Floats src, weight, bias, dst;

  explicit ConvBuffers(const ConvShape& s)
      : src(random_floats(s.batch * s.in_channels * s.size * s.size, 1)),
        weight(random_floats(s.out_channels * s.in_channels * 9, 2)),
        bias(random_floats(s.out_channels, 3)),
        dst(s.batch * s.out_channels * s.size * s.size) {}
};

void conv2d_pare(benchmark::State& state, ConvShape shape) {
  ConvBuffers buffers(shape);
  const pare::kernels::Conv2dParams params = shape.params();
  for (auto _ : state) {
    pare::kernels::cpu::conv2d_forward(params, buffers.src.data(), buffers.weight.data(),
                                       buffers.bias.data(), buffers.dst.data());
    benchmark::DoNotOptimize(buffers.dst.data());
  }
  report_flops(state, shape.flops());
}

// oneDNN picks its layouts and kernel per propagation kind: on AVX-512, forward_inference takes
// brgconv on NHWC activations and forward_training the jit kernel on nChw16c, and which of the two
// is faster with plain NCHW in/out depends on the shape. Both are measured; pare's kernel uses
// forward_training because the same forward serves training.
struct DirectConv {
  memory::desc user_src, user_weight, user_bias, user_dst;
  dnnl::convolution_forward::primitive_desc pd;

  DirectConv(const ConvShape& s, dnnl::prop_kind prop_kind) {
    const memory::dims src_dims{s.batch, s.in_channels, s.size, s.size};
    const memory::dims weight_dims{s.out_channels, s.in_channels, 3, 3};
    const memory::dims dst_dims{s.batch, s.out_channels, s.size, s.size};
    user_src = memory::desc(src_dims, kF32, Tag::nchw);
    user_weight = memory::desc(weight_dims, kF32, Tag::oihw);
    user_bias = memory::desc({s.out_channels}, kF32, Tag::x);
    user_dst = memory::desc(dst_dims, kF32, Tag::nchw);
    const dnnl::convolution_forward::desc desc(
        prop_kind, dnnl::algorithm::convolution_direct, memory::desc(src_dims, kF32, Tag::any),
        memory::desc(weight_dims, kF32, Tag::any), user_bias,
        memory::desc(dst_dims, kF32, Tag::any), {1, 1}, {0, 0}, {1, 1}, {1, 1});
    pd = dnnl::convolution_forward::primitive_desc(desc, engine());
  }
};

// With `plain_buffers`, each call converts src and weights from the caller's NCHW / OIHW buffers
// and dst back to NCHW; otherwise they stay in oneDNN's layouts and only the primitive runs.
void conv2d_onednn(benchmark::State& state, const ConvShape& shape, dnnl::prop_kind prop_kind,
                   bool plain_buffers) {
  ConvBuffers buffers(shape);
  const DirectConv conv(shape, prop_kind);
  const dnnl::convolution_forward primitive(conv.pd);
  Converted src = Converted::input(conv.user_src, conv.pd.src_desc(), buffers.src.data());
  Converted weight =
      Converted::input(conv.user_weight, conv.pd.weights_desc(), buffers.weight.data());
  Converted dst = Converted::output(conv.user_dst, conv.pd.dst_desc(), buffers.dst.data());
  src.to_inner();
  weight.to_inner();
  stream().wait();
  const memory bias(conv.user_bias, engine(), buffers.bias.data());
  const std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src.inner},
                                             {DNNL_ARG_WEIGHTS, weight.inner},
                                             {DNNL_ARG_BIAS, bias},
                                             {DNNL_ARG_DST, dst.inner}};
  for (auto _ : state) {
    if (plain_buffers) {
      src.to_inner();
      weight.to_inner();
    }
    primitive.execute(stream(), args);
    if (plain_buffers) dst.to_user();
    stream().wait();
    benchmark::DoNotOptimize(buffers.dst.data());
  }
  report_flops(state, shape.flops());
}

// ---- linear ------------------------------------------------------------------------------------

struct LinearBuffers {
  Floats src, weight, bias, dst;

  explicit LinearBuffers(const LinearShape& s)
      : src(random_floats(s.batch * s.in_features, 1)),
        weight(random_floats(s.out_features * s.in_features, 2)),
        bias(random_floats(s.out_features, 3)),
        dst(s.batch * s.out_features) {}
};

void linear_pare(benchmark::State& state, LinearShape shape) {
  LinearBuffers buffers(shape);
  const pare::kernels::LinearParams params = shape.params();
  for (auto _ : state) {
    pare::kernels::cpu::linear_forward(params, buffers.src.data(), buffers.weight.data(),
                                       buffers.bias.data(), buffers.dst.data());
    benchmark::DoNotOptimize(buffers.dst.data());
  }
  report_flops(state, shape.flops());
}

// Inner product with the activations in their plain nc layout; the weights are plain oi (the
// same work as pare's kernel, which reads PyTorch's buffers as they are) or in the layout oneDNN
// picks, packed once outside the timed loop.
void linear_onednn(benchmark::State& state, LinearShape shape, bool prepacked_weights) {
  LinearBuffers buffers(shape);
  const memory::desc src_desc({shape.batch, shape.in_features}, kF32, Tag::nc);
  const memory::desc user_weight_desc({shape.out_features, shape.in_features}, kF32, Tag::oi);
  const memory::desc bias_desc({shape.out_features}, kF32, Tag::x);
  const memory::desc dst_desc({shape.batch, shape.out_features}, kF32, Tag::nc);
  const memory::desc weight_desc =
      prepacked_weights ? memory::desc({shape.out_features, shape.in_features}, kF32, Tag::any)
                        : user_weight_desc;
  const dnnl::inner_product_forward::primitive_desc pd(
      dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_inference, src_desc, weight_desc,
                                        bias_desc, dst_desc),
      engine());
  const dnnl::inner_product_forward primitive(pd);
  Converted weight = Converted::input(user_weight_desc, pd.weights_desc(), buffers.weight.data());
  weight.to_inner();
  stream().wait();
  const std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, memory(src_desc, engine(), buffers.src.data())},
      {DNNL_ARG_WEIGHTS, weight.inner},
      {DNNL_ARG_BIAS, memory(bias_desc, engine(), buffers.bias.data())},
      {DNNL_ARG_DST, memory(dst_desc, engine(), buffers.dst.data())}};
  for (auto _ : state) {
    primitive.execute(stream(), args);
    stream().wait();
    benchmark::DoNotOptimize(buffers.dst.data());
  }
  report_flops(state, shape.flops());
}

void linear_onednn_plain(benchmark::State& state, LinearShape shape) {
  linear_onednn(state, shape, false);
}

void linear_onednn_packed(benchmark::State& state, LinearShape shape) {
  linear_onednn(state, shape, true);
}

// ---- LSTM forward inference (one layer, time-major) --------------------------------------------

struct LstmBuffers {
  Floats x, h0, c0, w_ih, w_hh, b_ih, b_hh, y, h_n, c_n;

  explicit LstmBuffers(const LstmShape& s)
      : x(random_floats(s.seq_len * s.batch * s.input_size, 1)),
        h0(random_floats(s.batch * s.hidden_size, 2)),
        c0(random_floats(s.batch * s.hidden_size, 3)),
        w_ih(random_floats(4 * s.hidden_size * s.input_size, 4)),
        w_hh(random_floats(4 * s.hidden_size * s.hidden_size, 5)),
        b_ih(random_floats(4 * s.hidden_size, 6)),
        b_hh(random_floats(4 * s.hidden_size, 7)),
        y(s.seq_len * s.batch * s.hidden_size),
        h_n(s.batch * s.hidden_size),
        c_n(s.batch * s.hidden_size) {}
};

void lstm_pare(benchmark::State& state, LstmShape shape) {
  LstmBuffers b(shape);
  const pare::kernels::LstmLayerParams params = shape.params();
  for (auto _ : state) {
    pare::kernels::cpu::lstm_forward_inference(
        params, b.x.data(), b.h0.data(), b.c0.data(), b.w_ih.data(), b.w_hh.data(), b.b_ih.data(),
        b.b_hh.data(), b.y.data(), b.h_n.data(), b.c_n.data());
    benchmark::DoNotOptimize(b.y.data());
  }
  report_flops(state, shape.flops());
}

// oneDNN's LSTM with PyTorch's buffers: [4H, I] gate-major weights are ldgoi, reordered into the
// layout the primitive picked; the single bias per gate is b_ih + b_hh. The prepacked variant
// does both once, outside the timed loop.
void lstm_onednn(benchmark::State& state, LstmShape shape, bool prepacked) {
  LstmBuffers b(shape);
  const memory::dim steps = shape.seq_len, batch = shape.batch, inputs = shape.input_size,
                    hidden = shape.hidden_size;
  const memory::desc sequence_in({steps, batch, inputs}, kF32, Tag::tnc);
  const memory::desc sequence_out({steps, batch, hidden}, kF32, Tag::tnc);
  const memory::desc state_desc({1, 1, batch, hidden}, kF32, Tag::ldnc);
  const memory::desc bias_desc({1, 1, 4, hidden}, kF32, Tag::ldgo);
  const memory::dims weights_layer_dims{1, 1, inputs, 4, hidden};
  const memory::dims weights_iter_dims{1, 1, hidden, 4, hidden};
  const dnnl::lstm_forward::desc desc(
      dnnl::prop_kind::forward_inference, dnnl::rnn_direction::unidirectional_left2right,
      sequence_in, state_desc, state_desc, memory::desc(weights_layer_dims, kF32, Tag::any),
      memory::desc(weights_iter_dims, kF32, Tag::any), bias_desc, sequence_out, state_desc,
      state_desc);
  const dnnl::lstm_forward::primitive_desc pd(desc, engine());
  const dnnl::lstm_forward primitive(pd);
  Converted weights_layer = Converted::input(memory::desc(weights_layer_dims, kF32, Tag::ldgoi),
                                             pd.weights_layer_desc(), b.w_ih.data());
  Converted weights_iter = Converted::input(memory::desc(weights_iter_dims, kF32, Tag::ldgoi),
                                            pd.weights_iter_desc(), b.w_hh.data());
  Floats bias(4 * hidden);
  auto sum_biases = [&] {
    for (size_t row = 0; row < bias.size(); ++row) bias[row] = b.b_ih[row] + b.b_hh[row];
  };
  if (prepacked) {
    weights_layer.to_inner();
    weights_iter.to_inner();
    sum_biases();
    stream().wait();
  }
  const std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC_LAYER, memory(sequence_in, engine(), b.x.data())},
      {DNNL_ARG_SRC_ITER, memory(state_desc, engine(), b.h0.data())},
      {DNNL_ARG_SRC_ITER_C, memory(state_desc, engine(), b.c0.data())},
      {DNNL_ARG_WEIGHTS_LAYER, weights_layer.inner},
      {DNNL_ARG_WEIGHTS_ITER, weights_iter.inner},
      {DNNL_ARG_BIAS, memory(bias_desc, engine(), bias.data())},
      {DNNL_ARG_DST_LAYER, memory(sequence_out, engine(), b.y.data())},
      {DNNL_ARG_DST_ITER, memory(state_desc, engine(), b.h_n.data())},
      {DNNL_ARG_DST_ITER_C, memory(state_desc, engine(), b.c_n.data())}};
  for (auto _ : state) {
    if (!prepacked) {
      weights_layer.to_inner();
      weights_iter.to_inner();
      sum_biases();
    }
    primitive.execute(stream(), args);
    stream().wait();
    benchmark::DoNotOptimize(b.y.data());
  }
  report_flops(state, shape.flops());
}

void lstm_onednn_plain(benchmark::State& state, LstmShape shape) {
  lstm_onednn(state, shape, false);
}

void lstm_onednn_packed(benchmark::State& state, LstmShape shape) {
  lstm_onednn(state, shape, true);
}

template <typename Shape, typename Function>
void add(const char* op, const char* implementation, const Shape& shape, Function function) {
  const std::string name = std::string(op) + "/" + implementation + "/" + shape.label();
  benchmark::RegisterBenchmark(
      name.c_str(), [function, shape](benchmark::State& state) { function(state, shape); })
      ->Unit(benchmark::kMicrosecond)
      ->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
  using dnnl::prop_kind;
  for (const ConvShape& shape : pare_bench::conv_shapes()) {
    add("conv2d", "pare", shape, conv2d_pare);
    for (const auto& [suffix, kind] : {std::pair{"", prop_kind::forward_inference},
                                       std::pair{"_training", prop_kind::forward_training}}) {
      add("conv2d", (std::string("onednn_plain") + suffix).c_str(), shape,
          [kind](benchmark::State& state, const ConvShape& s) {
            conv2d_onednn(state, s, kind, true);
          });
      add("conv2d", (std::string("onednn_packed") + suffix).c_str(), shape,
          [kind](benchmark::State& state, const ConvShape& s) {
            conv2d_onednn(state, s, kind, false);
          });
    }
  }
  for (const LinearShape& shape : pare_bench::linear_shapes()) {
    add("linear", "pare", shape, linear_pare);
    add("linear", "onednn_plain", shape, linear_onednn_plain);
    add("linear", "onednn_packed", shape, linear_onednn_packed);
  }
  for (const LstmShape& shape : pare_bench::lstm_shapes()) {
    add("lstm", "pare", shape, lstm_pare);
    add("lstm", "onednn_plain", shape, lstm_onednn_plain);
    add("lstm", "onednn_packed", shape, lstm_onednn_packed);
  }
  return pare_bench::run_benchmarks(argc, argv);
}

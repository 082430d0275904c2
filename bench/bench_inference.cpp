// Whole-model inference latency: pare's interpreter, pare's compiled inference path
// (passes/inference) and the same network as a chain of oneDNN primitives written by hand (weights
// prepacked, bias and ReLU as post-ops, activations blocked between convolutions), for the three
// benchmark models of bench/models/make_bench_models.cpp and the CNN with half its channels
// (what `pare prune --sparsity 0.5` leaves), at batch 1 and 32.
//
//   OMP_NUM_THREADS=1 build/bench/bench_inference --benchmark_filter='cnn'
//
// Each row's label is the model's MACs per forward, to compare the pruned CNN's speed-up with its
// MAC ratio.
#include <benchmark/benchmark.h>

#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "pare/ir/model_stats.h"
#include "pare/ir/tracer.h"
#include "pare/pare.h"
#include "pare/passes/inference/inference.h"

namespace {

using dnnl::memory;
using pare::Tensor;
using Tag = memory::format_tag;
constexpr auto kF32 = memory::data_type::f32;

// ---- The models (make_bench_models.cpp's, with the CNN's widths as parameters) ----

struct Mlp : pare::nn::Module {
  Mlp() {
    fc1 = register_module("fc1", pare::nn::Linear(784, 512));
    fc2 = register_module("fc2", pare::nn::Linear(512, 512));
    fc3 = register_module("fc3", pare::nn::Linear(512, 10));
  }
  Tensor forward(const Tensor& x) { return fc3(pare::relu(fc2(pare::relu(fc1(x))))); }
  pare::nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};
};

struct VggCnn : pare::nn::Module {
  explicit VggCnn(int64_t width) {
    auto conv = [](int64_t in, int64_t out) {
      return pare::nn::Conv2d(pare::nn::Conv2dOptions(in, out, 3).padding(1));
    };
    conv1 = register_module("conv1", conv(3, width));
    conv2 = register_module("conv2", conv(width, width));
    conv3 = register_module("conv3", conv(width, 2 * width));
    conv4 = register_module("conv4", conv(2 * width, 2 * width));
    conv5 = register_module("conv5", conv(2 * width, 4 * width));
    fc = register_module("fc", pare::nn::Linear(4 * width, 10));
  }
  Tensor forward(const Tensor& x) {
    Tensor h = pare::relu(conv2(pare::relu(conv1(x))));
    h = pare::max_pool2d(h, 2);
    h = pare::relu(conv4(pare::relu(conv3(h))));
    h = pare::max_pool2d(h, 2);
    h = pare::relu(conv5(h));
    return fc(pare::flatten(pare::adaptive_avg_pool2d(h, 1), 1));
  }
  pare::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr}, conv4{nullptr}, conv5{nullptr};
  pare::nn::Linear fc{nullptr};
};

struct LstmTagger : pare::nn::Module {
  LstmTagger() {
    lstm =
        register_module("lstm", pare::nn::LSTM(pare::nn::LSTMOptions(64, 128).batch_first(true)));
    fc = register_module("fc", pare::nn::Linear(128, 10));
  }
  Tensor forward(const Tensor& x) { return fc(std::get<0>(lstm(x))); }
  pare::nn::LSTM lstm{nullptr};
  pare::nn::Linear fc{nullptr};
};

enum class Model { mlp, cnn, cnn_pruned, lstm };

pare::Shape input_shape(Model model, int64_t batch) {
  switch (model) {
    case Model::mlp:
      return {batch, 784};
    case Model::lstm:
      return {batch, 32, 64};
    default:
      return {batch, 3, 32, 32};
  }
}

pare::ir::GraphModule make_model(Model model) {
  pare::manual_seed(1);
  const Tensor example = pare::randn(input_shape(model, 1));
  pare::ir::GraphModule traced = [&] {
    switch (model) {
      case Model::mlp:
        return pare::ir::trace(std::make_shared<Mlp>(), {example});
      case Model::lstm:
        return pare::ir::trace(std::make_shared<LstmTagger>(), {example});
      case Model::cnn:
        return pare::ir::trace(std::make_shared<VggCnn>(64), {example});
      case Model::cnn_pruned:
        return pare::ir::trace(std::make_shared<VggCnn>(32), {example});
    }
    throw pare::Error("unknown model");
  }();
  traced.eval();
  return traced;
}

void set_macs_label(benchmark::State& state, pare::ir::GraphModule& model, const Tensor& x) {
  const pare::ir::ModelStats stats = pare::ir::model_stats(model, {{x.sizes(), pare::kFloat32}});
  state.SetLabel(std::to_string(stats.macs) + " MACs");
}

void pare_model(benchmark::State& state, Model kind, bool optimised) {
  pare::NoGradGuard no_grad;
  pare::ir::GraphModule model = make_model(kind);
  if (optimised) pare::inference::enable(model);
  const Tensor x = pare::randn(input_shape(kind, state.range(0)));
  model.forward({x});
  for (auto _ : state) benchmark::DoNotOptimize(model.forward({x}));
  set_macs_label(state, model, x);
}

// ---- The same networks as hand-written oneDNN chains ----

dnnl::engine& engine() {
  static dnnl::engine cpu(dnnl::engine::kind::cpu, 0);
  return cpu;
}

dnnl::stream& stream() {
  static dnnl::stream cpu_stream(engine());
  return cpu_stream;
}

memory reordered(const memory::desc& user, const float* data, const memory::desc& wanted) {
  memory source(user, engine(), const_cast<float*>(data));
  memory target(wanted, engine());
  dnnl::reorder(source, target).execute(stream(), source, target);
  stream().wait();
  return target;
}

dnnl::primitive_attr relu_attr(bool relu) {
  dnnl::primitive_attr attr;
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
  }
  return attr;
}

// A list of primitives with their arguments, run in order.
struct Chain {
  std::vector<std::pair<dnnl::primitive, std::unordered_map<int, memory>>> steps;
  memory input, output;

  void run() {
    for (auto& [primitive, args] : steps) primitive.execute(stream(), args);
    stream().wait();
  }

  memory inner_product(const memory& src, const pare::nn::LinearImpl& fc, bool relu) {
    const Tensor w = fc.weight().contiguous(), b = fc.bias().contiguous();
    const int64_t rows = src.get_desc().dims()[0], in = w.size(1), out = w.size(0);
    const memory::desc weight_any({out, in}, kF32, Tag::any), bias({out}, kF32, Tag::x),
        dst({rows, out}, kF32, Tag::nc);
    const dnnl::inner_product_forward::primitive_desc pd(
        dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_inference, src.get_desc(),
                                          weight_any, bias, dst),
        relu_attr(relu), engine());
    memory result(dst, engine());
    steps.push_back({dnnl::inner_product_forward(pd),
                     {{DNNL_ARG_SRC, src},
                      {DNNL_ARG_WEIGHTS, reordered(memory::desc({out, in}, kF32, Tag::oi),
                                                   w.data_ptr<float>(), pd.weights_desc())},
                      {DNNL_ARG_BIAS, reordered(bias, b.data_ptr<float>(), bias)},
                      {DNNL_ARG_DST, result}}});
    return result;
  }

  memory conv(const memory& src, const pare::nn::Conv2dImpl& conv, bool first) {
    const Tensor w = conv.weight().contiguous(), b = conv.bias().contiguous();
    const memory::dims in = src.get_desc().dims();
    const int64_t out = w.size(0);
    const memory::desc src_desc = first ? memory::desc(in, kF32, Tag::any) : src.get_desc();
    const memory::desc weight_any({out, in[1], 3, 3}, kF32, Tag::any), bias({out}, kF32, Tag::x),
        dst({in[0], out, in[2], in[3]}, kF32, Tag::any);
    const dnnl::convolution_forward::primitive_desc pd(
        dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                        dnnl::algorithm::convolution_direct, src_desc, weight_any,
                                        bias, dst, {1, 1}, {1, 1}, {1, 1}),
        relu_attr(true), engine());
    memory conv_src = src;
    if (pd.src_desc() != src.get_desc()) {
      conv_src = memory(pd.src_desc(), engine());
      steps.push_back(
          {dnnl::reorder(src, conv_src), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, conv_src}}});
    }
    memory result(pd.dst_desc(), engine());
    steps.push_back(
        {dnnl::convolution_forward(pd),
         {{DNNL_ARG_SRC, conv_src},
          {DNNL_ARG_WEIGHTS, reordered(memory::desc({out, in[1], 3, 3}, kF32, Tag::oihw),
                                       w.data_ptr<float>(), pd.weights_desc())},
          {DNNL_ARG_BIAS, reordered(bias, b.data_ptr<float>(), bias)},
          {DNNL_ARG_DST, result}}});
    return result;
  }

  memory pool(const memory& src, dnnl::algorithm algorithm, int64_t window, bool plain_dst) {
    const memory::dims in = src.get_desc().dims();
    const memory::desc dst({in[0], in[1], in[2] / window, in[3] / window}, kF32,
                           plain_dst ? Tag::nchw : Tag::any);
    const dnnl::pooling_v2_forward::primitive_desc pd(
        dnnl::pooling_v2_forward::desc(dnnl::prop_kind::forward_inference, algorithm,
                                       src.get_desc(), dst, {window, window}, {window, window},
                                       {0, 0}, {0, 0}, {0, 0}),
        engine());
    memory result(pd.dst_desc(), engine());
    steps.push_back({dnnl::pooling_v2_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, result}}});
    return result;
  }
};

Chain direct_mlp(pare::ir::GraphModule& model, int64_t batch) {
  Chain chain;
  chain.input = memory(memory::desc({batch, 784}, kF32, Tag::nc), engine());
  auto fc = [&](const char* name) -> const pare::nn::LinearImpl& {
    return *std::dynamic_pointer_cast<pare::nn::LinearImpl>(model.module(name));
  };
  memory h = chain.inner_product(chain.input, fc("fc1"), true);
  h = chain.inner_product(h, fc("fc2"), true);
  chain.output = chain.inner_product(h, fc("fc3"), false);
  return chain;
}

Chain direct_cnn(pare::ir::GraphModule& model, int64_t batch) {
  Chain chain;
  chain.input = memory(memory::desc({batch, 3, 32, 32}, kF32, Tag::nchw), engine());
  auto conv = [&](const char* name) -> const pare::nn::Conv2dImpl& {
    return *std::dynamic_pointer_cast<pare::nn::Conv2dImpl>(model.module(name));
  };
  memory h = chain.conv(chain.input, conv("conv1"), true);
  h = chain.conv(h, conv("conv2"), false);
  h = chain.pool(h, dnnl::algorithm::pooling_max, 2, false);
  h = chain.conv(h, conv("conv3"), false);
  h = chain.conv(h, conv("conv4"), false);
  h = chain.pool(h, dnnl::algorithm::pooling_max, 2, false);
  h = chain.conv(h, conv("conv5"), false);
  h = chain.pool(h, dnnl::algorithm::pooling_avg_exclude_padding, 8, false);
  const memory plain(memory::desc(h.get_desc().dims(), kF32, Tag::nchw), engine());
  chain.steps.push_back({dnnl::reorder(h, plain), {{DNNL_ARG_FROM, h}, {DNNL_ARG_TO, plain}}});
  h = plain;
  const memory flat(memory::desc({batch, h.get_desc().dims()[1]}, kF32, Tag::nc), engine(),
                    h.get_data_handle());
  chain.output = chain.inner_product(
      flat, *std::dynamic_pointer_cast<pare::nn::LinearImpl>(model.module("fc")), false);
  return chain;
}

Chain direct_lstm(pare::ir::GraphModule& model, int64_t batch) {
  Chain chain;
  const int64_t steps = 32, inputs = 64, hidden = 128;
  chain.input = memory(memory::desc({steps, batch, inputs}, kF32, Tag::ntc), engine());
  auto& lstm = *std::dynamic_pointer_cast<pare::nn::LSTMImpl>(model.module("lstm"));
  const std::vector<Tensor> w = lstm.flat_weights();
  const memory::desc bias_desc({1, 1, 4, hidden}, kF32, Tag::ldgo);
  const memory::desc y_desc({steps, batch, hidden}, kF32, Tag::ntc);
  const dnnl::lstm_forward::primitive_desc pd(
      dnnl::lstm_forward::desc(dnnl::prop_kind::forward_inference,
                               dnnl::rnn_direction::unidirectional_left2right,
                               chain.input.get_desc(), memory::desc(), memory::desc(),
                               memory::desc({1, 1, inputs, 4, hidden}, kF32, Tag::any),
                               memory::desc({1, 1, hidden, 4, hidden}, kF32, Tag::any), bias_desc,
                               y_desc, memory::desc(), memory::desc()),
      engine());
  std::vector<float> bias(4 * hidden);
  for (int64_t r = 0; r < 4 * hidden; ++r)
    bias[r] = w[2].data_ptr<float>()[r] + w[3].data_ptr<float>()[r];
  memory y(y_desc, engine());
  chain.steps.push_back({dnnl::lstm_forward(pd),
                         {{DNNL_ARG_SRC_LAYER, chain.input},
                          {DNNL_ARG_WEIGHTS_LAYER,
                           reordered(memory::desc({1, 1, inputs, 4, hidden}, kF32, Tag::ldgoi),
                                     w[0].contiguous().data_ptr<float>(), pd.weights_layer_desc())},
                          {DNNL_ARG_WEIGHTS_ITER,
                           reordered(memory::desc({1, 1, hidden, 4, hidden}, kF32, Tag::ldgoi),
                                     w[1].contiguous().data_ptr<float>(), pd.weights_iter_desc())},
                          {DNNL_ARG_BIAS, reordered(bias_desc, bias.data(), bias_desc)},
                          {DNNL_ARG_DST_LAYER, y}}});
  const memory rows(memory::desc({batch * steps, hidden}, kF32, Tag::nc), engine(),
                    y.get_data_handle());
  chain.output = chain.inner_product(
      rows, *std::dynamic_pointer_cast<pare::nn::LinearImpl>(model.module("fc")), false);
  return chain;
}

void onednn_model(benchmark::State& state, Model kind) {
  pare::ir::GraphModule model = make_model(kind);
  const int64_t batch = state.range(0);
  Chain chain = kind == Model::mlp    ? direct_mlp(model, batch)
                : kind == Model::lstm ? direct_lstm(model, batch)
                                      : direct_cnn(model, batch);
  chain.run();
  for (auto _ : state) chain.run();
  set_macs_label(state, model, pare::randn(input_shape(kind, batch)));
}

void register_all() {
  const std::vector<std::pair<const char*, Model>> models = {{"mlp", Model::mlp},
                                                             {"cnn", Model::cnn},
                                                             {"cnn_pruned50", Model::cnn_pruned},
                                                             {"lstm", Model::lstm}};
  for (const auto& [name, model] : models) {
    const Model kind = model;
    for (int64_t batch : {1, 32}) {
      const std::string suffix = std::string(name) + "/N" + std::to_string(batch);
      benchmark::RegisterBenchmark(("interpreter/" + suffix).c_str(),
                                   [kind](benchmark::State& s) { pare_model(s, kind, false); })
          ->Arg(batch)
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(("optimised/" + suffix).c_str(),
                                   [kind](benchmark::State& s) { pare_model(s, kind, true); })
          ->Arg(batch)
          ->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark(("onednn/" + suffix).c_str(),
                                   [kind](benchmark::State& s) { onednn_model(s, kind); })
          ->Arg(batch)
          ->Unit(benchmark::kMicrosecond);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}

// The benchmark models of bench/models/make_bench_models.cpp (and their 50%-pruned forms) written
// directly as chains of oneDNN 2.6 primitives: the practical speed limit that `pare bench` on the
// same .pare files is measured against (docs/benchmarks.md).
//
//   OMP_NUM_THREADS=1 ./build/bench/bench_models_onednn --benchmark_filter='^cnn.*/b1/'
//   PARE_BENCH_SHOW_CHAIN=1 ./build/bench/bench_models_onednn ...   # also print each chain
//
// Each chain does what an inference engine that plans layouts ahead can do, and nothing it
// cannot: the model's arithmetic is all there, in fp32.
//   - weights reordered once, outside the timed loop, into the layout each primitive chose
//     (format_tag::any); the LSTM's two PyTorch biases summed once;
//   - bias and ReLU fused into each convolution and inner product (ReLU as an eltwise post-op);
//   - activations stay in the layout the convolutions chose from the first convolution to the
//     Linear: one reorder from the NCHW input in, none out (the Linear writes plain [N, 10]);
//   - max pooling on that layout; the global average pool is one average pooling over the whole
//     8x8 map; the Linear is an inner product that reads the pooled [N, C, 1, 1] map as it is;
//   - the LSTM is one dnnl::lstm_forward over the batch-first sequence (ntc) from a zero state,
//     then one inner product over all N*T steps (the Linear on every step);
//   - one user scratchpad shared by all primitives (nothing allocated per call);
//   - every buffer 64-byte aligned: the plain ones are pare_bench::Floats, and oneDNN allocates
//     its own memories (packed weights, activations, scratchpad) on 64-byte boundaries.
//   - the demo CNN (demo_cnn) runs its 3x3 convs of 32+ input and output channels by Winograd
//     (pare's compiler's rule; at batch 1 it also takes 16 input channels), each of the others in
//     the layout oneDNN chose for it (a reorder before a Winograd conv where that differs), and
//     its adaptive pool 7x7 -> 3x3 as the plain average pooling it is (3x3 windows, stride 2).
// Weights are seeded random with PyTorch's default init range. Before timing, each chain's output
// is checked against pare's functional ops on the same weights and input.
//
// Names: "<model>/onednn/b<batch>" with model mlp, cnn, lstm, demo_cnn, mlp_pruned, cnn_pruned,
// lstm_pruned, demo_cnn_pruned. Each reports FLOP/s (2 x the multiply-adds `pare info` counts) and,
// as counters, the number of primitives and of reorders in the timed chain.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "onednn_bench_util.h"
#include "pare/pare.h"
#include "shapes.h"

namespace {

using dnnl::memory;
using pare_bench::engine;
using pare_bench::Floats;
using pare_bench::stream;
using Tag = memory::format_tag;
constexpr auto kF32 = memory::data_type::f32;

// The widths of the models (bench/models/bench_models.h) and of what `pare prune --pruner saliency
// --sparsity 0.5` makes of them (scripts/make-bench-models.sh; read with `pare info
// bench/models/out/*_pruned.pare`): every hidden layer keeps half its units or channels; the
// output layers (fc3, fc: graph outputs) keep their 10.
struct MlpWidths {
  int64_t hidden1, hidden2;
};
constexpr MlpWidths kMlp{512, 512};
constexpr MlpWidths kMlpPruned{256, 256};

struct CnnWidths {
  int64_t conv[5];
};
constexpr CnnWidths kCnn{{64, 64, 128, 128, 256}};
constexpr CnnWidths kCnnPruned{{32, 32, 64, 64, 128}};  // and fc 128 -> 10

// The Fashion-MNIST demo's CNN (tools/demo/cnn_chain_flow.cpp) and what its chain flow at
// sparsity 0.5 makes of it (`pare demo`; read with `pare info pruned.pare`): fc2 keeps its 10.
struct DemoCnnWidths {
  int64_t conv[3];
  int64_t hidden;
};
constexpr DemoCnnWidths kDemoCnn{{32, 64, 128}, 128};
constexpr DemoCnnWidths kDemoCnnPruned{{16, 32, 64}, 64};

constexpr int64_t kLstmHidden = 128;
constexpr int64_t kLstmPrunedHidden = 64;

constexpr int64_t kMlpInputs = 784, kClasses = 10;
constexpr int64_t kImageChannels = 3, kImageSize = 32;
constexpr int64_t kLstmSteps = 32, kLstmInputs = 64;
constexpr int64_t kDemoImageSize = 28, kDemoPooledSize = 3;

// Every primitive of a chain shares one scratchpad that the chain owns.
dnnl::primitive_attr chain_attr(bool relu = false) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (relu) {
    dnnl::post_ops post_ops;
    post_ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(post_ops);
  }
  return attr;
}

// Primitives in execution order with the memories they read and write.
class Chain {
 public:
  explicit Chain(const memory& input) : current_(input) {}

  // The activation the next primitive reads.
  const memory& current() const { return current_; }

  // Adds a reorder of the current activation into `desc`, unless it has that layout already.
  void convert_to(const memory::desc& desc) {
    if (current_.get_desc() == desc) return;
    memory converted(desc, engine());
    const dnnl::reorder::primitive_desc pd(engine(), current_.get_desc(), engine(), desc,
                                           chain_attr());
    push(dnnl::reorder(pd), {{DNNL_ARG_FROM, current_}, {DNNL_ARG_TO, converted}}, converted,
         pd.scratchpad_desc(), pd.impl_info_str());
    ++reorders_;
  }

  // The same bytes seen with another shape (e.g. the LSTM's [T, N, H] in ntc as [N*T, H]).
  void view_as(const memory::desc& desc) {
    current_ = memory(desc, engine(), current_.get_data_handle());
  }

  void push(dnnl::primitive primitive, std::unordered_map<int, memory> args, const memory& dst,
            const memory::desc& scratchpad, const std::string& kernel) {
    steps_.push_back({std::move(primitive), std::move(args), scratchpad.get_size() > 0});
    scratchpad_bytes_ = std::max(scratchpad_bytes_, scratchpad.get_size());
    kernels_.push_back(kernel);
    current_ = dst;
  }

  // The last primitive writes straight into the caller's buffer, which must have the current
  // layout; then the shared scratchpad is allocated.
  void finish(const memory::desc& output_desc, float* output) {
    PARE_CHECK(current_.get_desc() == output_desc,
               "bench_models_onednn: the chain does not end in the output's plain layout");
    current_.set_data_handle(output);
    if (scratchpad_bytes_ == 0) return;
    const memory scratchpad(
        memory::desc({static_cast<memory::dim>(scratchpad_bytes_)}, memory::data_type::u8, Tag::x),
        engine());
    for (Step& step : steps_)
      if (step.uses_scratchpad) step.args[DNNL_ARG_SCRATCHPAD] = scratchpad;
  }

  void run() {
    for (Step& step : steps_) step.primitive.execute(stream(), step.args);
    stream().wait();
  }

  int primitives() const { return static_cast<int>(steps_.size()); }
  int reorders() const { return reorders_; }
  const std::vector<std::string>& kernels() const { return kernels_; }

 private:
  struct Step {
    dnnl::primitive primitive;
    std::unordered_map<int, memory> args;
    bool uses_scratchpad;
  };
  std::vector<Step> steps_;
  std::vector<std::string> kernels_;
  memory current_;
  size_t scratchpad_bytes_ = 0;
  int reorders_ = 0;
};

// A plain user buffer reordered once into the layout a primitive chose (weights).
memory pack(Floats& values, const memory::desc& plain, const memory::desc& chosen) {
  memory user(plain, engine(), values.data());
  memory packed(chosen, engine());
  dnnl::reorder(user, packed).execute(stream(), user, packed);
  stream().wait();
  return packed;
}

// A model: its plain (PyTorch-layout) weights, input and output buffers, the oneDNN chain, and
// pare's functional ops on the same buffers as the reference. The chain and the reference point
// into the buffers, which keep their addresses when the Model is moved.
struct Model {
  std::deque<Floats> parameters;  // a deque, so that the buffers never move
  Floats input, output;
  std::unique_ptr<Chain> chain;
  std::function<pare::Tensor()> reference;
  double macs = 0;
  uint32_t next_seed = 100;

  // PyTorch's default init range, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), so that activations keep
  // their scale through the layers and the check against pare compares numbers of size ~1.
  Floats& parameter(int64_t count, int64_t fan_in) {
    Floats values = pare_bench::random_floats(count, next_seed++);
    const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
    for (float& value : values) value *= bound;
    parameters.push_back(std::move(values));
    return parameters.back();
  }
};

pare::Tensor view(Floats& values, const pare::Shape& shape) {
  return pare::from_blob(values.data(), shape);
}

// Conv2d(C -> out_channels, 3x3, padding 1) + ReLU on the current [N, C, H, W] activation, by
// `algorithm` (direct or Winograd). Returns the reference op.
std::function<pare::Tensor(const pare::Tensor&)> conv3x3_relu(
    Model& model, int64_t out_channels,
    dnnl::algorithm algorithm = dnnl::algorithm::convolution_direct) {
  const memory::dims src_dims = model.chain->current().get_desc().dims();
  const int64_t batch = src_dims[0], in_channels = src_dims[1], height = src_dims[2],
                width = src_dims[3];
  const memory::dims weight_dims{out_channels, in_channels, 3, 3};
  const memory::desc bias_desc({out_channels}, kF32, Tag::x);
  const dnnl::convolution_forward::desc desc(
      dnnl::prop_kind::forward_inference, algorithm, memory::desc(src_dims, kF32, Tag::any),
      memory::desc(weight_dims, kF32, Tag::any), bias_desc,
      memory::desc({batch, out_channels, height, width}, kF32, Tag::any), {1, 1}, {1, 1}, {1, 1});
  const dnnl::convolution_forward::primitive_desc pd(desc, chain_attr(true), engine());
  Floats& weight = model.parameter(out_channels * in_channels * 9, in_channels * 9);
  Floats& bias = model.parameter(out_channels, in_channels * 9);
  Chain& chain = *model.chain;
  chain.convert_to(pd.src_desc());
  const memory dst(pd.dst_desc(), engine());
  chain.push(dnnl::convolution_forward(pd),
             {{DNNL_ARG_SRC, chain.current()},
              {DNNL_ARG_WEIGHTS,
               pack(weight, memory::desc(weight_dims, kF32, Tag::oihw), pd.weights_desc())},
              {DNNL_ARG_BIAS, memory(bias_desc, engine(), bias.data())},
              {DNNL_ARG_DST, dst}},
             dst, pd.scratchpad_desc(), pd.impl_info_str());
  model.macs += static_cast<double>(batch) * out_channels * height * width * in_channels * 9;
  const pare::Tensor w = view(weight, weight_dims), b = view(bias, {out_channels});
  return [w, b](const pare::Tensor& x) { return pare::relu(pare::conv2d(x, w, b, 1, 1)); };
}

// Pooling over `kernel` x `kernel` windows with stride `stride` (default `kernel`), no padding,
// on the current layout.
void pool(Model& model, dnnl::algorithm algorithm, int64_t kernel, int64_t stride = 0) {
  if (stride == 0) stride = kernel;
  Chain& chain = *model.chain;
  const memory::desc src = chain.current().get_desc();
  const memory::dims dims = src.dims();
  const memory::dims out{dims[0], dims[1], (dims[2] - kernel) / stride + 1,
                         (dims[3] - kernel) / stride + 1};
  const dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_inference, algorithm, src,
                                         memory::desc(out, kF32, Tag::any), {stride, stride},
                                         {kernel, kernel}, {0, 0}, {0, 0});
  const dnnl::pooling_forward::primitive_desc pd(desc, chain_attr(), engine());
  const memory dst(pd.dst_desc(), engine());
  chain.push(dnnl::pooling_forward(pd), {{DNNL_ARG_SRC, chain.current()}, {DNNL_ARG_DST, dst}}, dst,
             pd.scratchpad_desc(), pd.impl_info_str());
}

// Linear(in -> out_features) [+ ReLU] on the current [N, in] or [N, C, 1, 1] activation, read in
// its own layout (the weights take the matching one).
std::function<pare::Tensor(const pare::Tensor&)> linear(Model& model, int64_t out_features,
                                                        bool relu) {
  Chain& chain = *model.chain;
  const memory::desc src = chain.current().get_desc();
  const memory::dims src_dims = src.dims();
  memory::dims weight_dims = src_dims;
  weight_dims[0] = out_features;
  int64_t in_features = 1;
  for (size_t dim = 1; dim < src_dims.size(); ++dim) in_features *= src_dims[dim];
  const memory::desc plain_weight(weight_dims, kF32, src_dims.size() == 2 ? Tag::oi : Tag::oihw);
  const memory::desc bias_desc({out_features}, kF32, Tag::x);
  const dnnl::inner_product_forward::desc desc(
      dnnl::prop_kind::forward_inference, src, memory::desc(weight_dims, kF32, Tag::any), bias_desc,
      memory::desc({src_dims[0], out_features}, kF32, Tag::any));
  const dnnl::inner_product_forward::primitive_desc pd(desc, chain_attr(relu), engine());
  Floats& weight = model.parameter(out_features * in_features, in_features);
  Floats& bias = model.parameter(out_features, in_features);
  chain.convert_to(pd.src_desc());
  const memory dst(pd.dst_desc(), engine());
  chain.push(dnnl::inner_product_forward(pd),
             {{DNNL_ARG_SRC, chain.current()},
              {DNNL_ARG_WEIGHTS, pack(weight, plain_weight, pd.weights_desc())},
              {DNNL_ARG_BIAS, memory(bias_desc, engine(), bias.data())},
              {DNNL_ARG_DST, dst}},
             dst, pd.scratchpad_desc(), pd.impl_info_str());
  model.macs += static_cast<double>(src_dims[0]) * out_features * in_features;
  const pare::Tensor w = view(weight, {out_features, in_features}), b = view(bias, {out_features});
  return [w, b, relu](const pare::Tensor& x) {
    const pare::Tensor y = pare::linear(x, w, b);
    return relu ? pare::relu(y) : y;
  };
}

// ---- the three models ---------------------------------------------------------------------------

// Binds the model's input and output buffers and finishes the chain.
void finish(Model& model, const memory::desc& output_desc) {
  model.output.assign(output_desc.get_size() / sizeof(float), 0.0f);
  model.chain->finish(output_desc, model.output.data());
}

Model mlp(int64_t batch, MlpWidths widths) {
  Model model;
  model.input = pare_bench::random_floats(batch * kMlpInputs, 1);
  const memory::desc input_desc({batch, kMlpInputs}, kF32, Tag::nc);
  model.chain = std::make_unique<Chain>(memory(input_desc, engine(), model.input.data()));
  auto fc1 = linear(model, widths.hidden1, true);
  auto fc2 = linear(model, widths.hidden2, true);
  auto fc3 = linear(model, kClasses, false);
  finish(model, memory::desc({batch, kClasses}, kF32, Tag::nc));
  const pare::Tensor x = view(model.input, {batch, kMlpInputs});
  model.reference = [x, fc1, fc2, fc3] { return fc3(fc2(fc1(x))); };
  return model;
}

Model cnn(int64_t batch, CnnWidths widths) {
  Model model;
  model.input = pare_bench::random_floats(batch * kImageChannels * kImageSize * kImageSize, 1);
  const pare::Shape input_shape{batch, kImageChannels, kImageSize, kImageSize};
  model.chain = std::make_unique<Chain>(
      memory(memory::desc(input_shape, kF32, Tag::nchw), engine(), model.input.data()));
  auto conv1 = conv3x3_relu(model, widths.conv[0]);
  auto conv2 = conv3x3_relu(model, widths.conv[1]);
  pool(model, dnnl::algorithm::pooling_max, 2);
  auto conv3 = conv3x3_relu(model, widths.conv[2]);
  auto conv4 = conv3x3_relu(model, widths.conv[3]);
  pool(model, dnnl::algorithm::pooling_max, 2);
  auto conv5 = conv3x3_relu(model, widths.conv[4]);
  pool(model, dnnl::algorithm::pooling_avg_exclude_padding, kImageSize / 4);
  auto fc = linear(model, kClasses, false);
  finish(model, memory::desc({batch, kClasses}, kF32, Tag::nc));
  const pare::Tensor x = view(model.input, input_shape);
  model.reference = [x, conv1, conv2, conv3, conv4, conv5, fc] {
    pare::Tensor h = pare::max_pool2d(conv2(conv1(x)), 2);
    h = conv5(pare::max_pool2d(conv4(conv3(h)), 2));
    return fc(pare::flatten(pare::adaptive_avg_pool2d(h, 1), 1));
  };
  return model;
}

// The demo's CNN on [N, 1, 28, 28]: the 3x3 convs of 32 or more input and output channels by
// Winograd, pare's compiler's general rule (InferenceOptions::winograd). Its adaptive average
// pool 7x7 -> 3x3 has windows 3 wide every 2 pixels: one plain average pooling.
Model demo_cnn(int64_t batch, DemoCnnWidths widths) {
  Model model;
  model.input = pare_bench::random_floats(batch * kDemoImageSize * kDemoImageSize, 1);
  const pare::Shape input_shape{batch, 1, kDemoImageSize, kDemoImageSize};
  model.chain = std::make_unique<Chain>(
      memory(memory::desc(input_shape, kF32, Tag::nchw), engine(), model.input.data()));
  const auto algorithm = [](int64_t in, int64_t out) {
    return in >= 32 && out >= 32 ? dnnl::algorithm::convolution_winograd
                                 : dnnl::algorithm::convolution_direct;
  };
  auto conv1 = conv3x3_relu(model, widths.conv[0], algorithm(1, widths.conv[0]));
  pool(model, dnnl::algorithm::pooling_max, 2);
  auto conv2 = conv3x3_relu(model, widths.conv[1], algorithm(widths.conv[0], widths.conv[1]));
  pool(model, dnnl::algorithm::pooling_max, 2);
  auto conv3 = conv3x3_relu(model, widths.conv[2], algorithm(widths.conv[1], widths.conv[2]));
  pool(model, dnnl::algorithm::pooling_avg_exclude_padding, 3, 2);
  auto fc1 = linear(model, widths.hidden, true);
  auto fc2 = linear(model, kClasses, false);
  finish(model, memory::desc({batch, kClasses}, kF32, Tag::nc));
  const pare::Tensor x = view(model.input, input_shape);
  model.reference = [x, conv1, conv2, conv3, fc1, fc2] {
    pare::Tensor h = pare::max_pool2d(conv2(pare::max_pool2d(conv1(x), 2)), 2);
    h = pare::adaptive_avg_pool2d(conv3(h), kDemoPooledSize);
    return fc2(fc1(pare::flatten(h, 1)));
  };
  return model;
}

// LSTM(64 -> hidden, batch_first) from a zero state, then Linear(hidden -> 10) on every step.
Model lstm(int64_t batch, int64_t hidden) {
  Model model;
  const int64_t steps = kLstmSteps, inputs = kLstmInputs;
  model.input = pare_bench::random_floats(batch * steps * inputs, 1);
  // oneDNN's RNN dims are always {T, N, C}; ntc is PyTorch's batch-first [N, T, C] in memory.
  const memory::desc sequence_in({steps, batch, inputs}, kF32, Tag::ntc);
  const memory::desc sequence_out({steps, batch, hidden}, kF32, Tag::ntc);
  model.chain = std::make_unique<Chain>(memory(sequence_in, engine(), model.input.data()));
  Chain& chain = *model.chain;

  Floats& w_ih = model.parameter(4 * hidden * inputs, hidden);
  Floats& w_hh = model.parameter(4 * hidden * hidden, hidden);
  Floats& b_ih = model.parameter(4 * hidden, hidden);
  Floats& b_hh = model.parameter(4 * hidden, hidden);
  // oneDNN takes one bias per gate; PyTorch's gate order i, f, g, o is oneDNN's i, f, c~, o, and
  // PyTorch's [4H, I] row-major weights are oneDNN's ldgoi.
  Floats& bias = model.parameter(4 * hidden, 1);
  for (size_t row = 0; row < bias.size(); ++row) bias[row] = b_ih[row] + b_hh[row];
  const memory::dims weights_layer_dims{1, 1, inputs, 4, hidden};
  const memory::dims weights_iter_dims{1, 1, hidden, 4, hidden};
  const memory::desc bias_desc({1, 1, 4, hidden}, kF32, Tag::ldgo);
  const memory::desc zero_state;  // no initial state and no final state: zeros in, none out
  const dnnl::lstm_forward::desc desc(
      dnnl::prop_kind::forward_inference, dnnl::rnn_direction::unidirectional_left2right,
      sequence_in, zero_state, zero_state, memory::desc(weights_layer_dims, kF32, Tag::any),
      memory::desc(weights_iter_dims, kF32, Tag::any), bias_desc, sequence_out, zero_state,
      zero_state);
  const dnnl::lstm_forward::primitive_desc pd(desc, chain_attr(), engine());
  const memory dst(sequence_out, engine());
  chain.push(
      dnnl::lstm_forward(pd),
      {{DNNL_ARG_SRC_LAYER, chain.current()},
       {DNNL_ARG_WEIGHTS_LAYER,
        pack(w_ih, memory::desc(weights_layer_dims, kF32, Tag::ldgoi), pd.weights_layer_desc())},
       {DNNL_ARG_WEIGHTS_ITER,
        pack(w_hh, memory::desc(weights_iter_dims, kF32, Tag::ldgoi), pd.weights_iter_desc())},
       {DNNL_ARG_BIAS, memory(bias_desc, engine(), bias.data())},
       {DNNL_ARG_DST_LAYER, dst}},
      dst, pd.scratchpad_desc(), pd.impl_info_str());
  model.macs += static_cast<double>(steps) * batch * 4 * hidden * (inputs + hidden);
  chain.view_as(memory::desc({batch * steps, hidden}, kF32, Tag::nc));
  auto fc = linear(model, kClasses, false);
  finish(model, memory::desc({batch * steps, kClasses}, kF32, Tag::nc));

  const pare::Tensor x = view(model.input, {batch, steps, inputs});
  const std::vector<pare::Tensor> weights = {view(w_ih, {4 * hidden, inputs}),
                                             view(w_hh, {4 * hidden, hidden}),
                                             view(b_ih, {4 * hidden}), view(b_hh, {4 * hidden})};
  model.reference = [x, weights, fc] {
    auto [sequence, h_n, c_n] =
        pare::lstm(x, pare::Tensor(), pare::Tensor(), weights, true, 1, /*batch_first=*/true);
    return fc(sequence);
  };
  return model;
}

// ---- running ------------------------------------------------------------------------------------

// The largest |oneDNN - pare| relative to 1 + |pare|; the chains differ from pare's kernels only
// in summation order and layouts.
constexpr double kTolerance = 1e-4;

std::string check(Model& model) {
  model.chain->run();
  pare::NoGradGuard no_grad;
  const std::vector<float> expected = pare::to_float_vector(model.reference());
  if (expected.size() != model.output.size())
    return "output has " + std::to_string(model.output.size()) + " values, pare's " +
           std::to_string(expected.size());
  double worst = 0.0;
  for (size_t i = 0; i < expected.size(); ++i)
    worst = std::max(worst, std::abs(static_cast<double>(model.output[i]) - expected[i]) /
                                (1.0 + std::abs(static_cast<double>(expected[i]))));
  if (worst > kTolerance)
    return "differs from pare's functional ops by " + std::to_string(worst) + " (relative)";
  return "";
}

// Models are built and checked once per process and reused by every run of their benchmark.
struct Built {
  Model model;
  std::string error;
};

Built& built(const std::string& name, const std::function<Model()>& build) {
  static std::map<std::string, std::unique_ptr<Built>> cache;
  std::unique_ptr<Built>& entry = cache[name];
  if (!entry) {
    entry = std::make_unique<Built>(Built{build(), ""});
    entry->error = check(entry->model);
    if (std::getenv("PARE_BENCH_SHOW_CHAIN") != nullptr) {
      std::cerr << name << ":";
      for (const std::string& kernel : entry->model.chain->kernels()) std::cerr << " " << kernel;
      std::cerr << " (" << entry->model.chain->reorders() << " reorders)\n";
    }
  }
  return *entry;
}

void run(benchmark::State& state, const std::string& name, const std::function<Model()>& build) {
  Built& entry = built(name, build);
  if (!entry.error.empty()) {
    state.SkipWithError((name + ": " + entry.error).c_str());
    return;
  }
  Chain& chain = *entry.model.chain;
  for (auto _ : state) {
    chain.run();
    benchmark::DoNotOptimize(entry.model.output.data());
  }
  pare_bench::report_flops(state, 2.0 * entry.model.macs);
  state.counters["primitives"] = chain.primitives();
  state.counters["reorders"] = chain.reorders();
}

void add(const std::string& model, int64_t batch, std::function<Model()> build) {
  const std::string name = model + "/onednn/b" + std::to_string(batch);
  benchmark::RegisterBenchmark(name.c_str(),
                               [name, build](benchmark::State& state) { run(state, name, build); })
      ->Unit(benchmark::kMicrosecond)
      ->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
  for (int64_t batch : {1, 32}) {
    add("mlp", batch, [batch] { return mlp(batch, kMlp); });
    add("mlp_pruned", batch, [batch] { return mlp(batch, kMlpPruned); });
    add("cnn", batch, [batch] { return cnn(batch, kCnn); });
    add("cnn_pruned", batch, [batch] { return cnn(batch, kCnnPruned); });
  }
  for (int64_t batch : {1, 64}) {
    add("demo_cnn", batch, [batch] { return demo_cnn(batch, kDemoCnn); });
    add("demo_cnn_pruned", batch, [batch] { return demo_cnn(batch, kDemoCnnPruned); });
  }
  for (int64_t batch : {1, 16, 32}) {
    add("lstm", batch, [batch] { return lstm(batch, kLstmHidden); });
    add("lstm_pruned", batch, [batch] { return lstm(batch, kLstmPrunedHidden); });
  }
  return pare_bench::run_benchmarks(argc, argv);
}

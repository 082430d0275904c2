// The layers of bench_kernels through pare's Tensor API (pare::conv2d, pare::linear,
// pare::nn::LSTM under NoGradGuard), to show what the engine adds on top of the kernels, and one
// training step of a small CNN.
//
//   ./build/bench/bench_engine --benchmark_filter='linear/' --benchmark_min_time=0.5
//
// Names follow bench_kernels ("<op>/engine/<shape>"), so that scripts/bench_table.py puts each
// engine result next to the kernel call it wraps.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>

#include "pare/pare.h"
#include "shapes.h"

namespace {

using pare_bench::ConvShape;
using pare_bench::LinearShape;
using pare_bench::LstmShape;
using pare_bench::report_flops;

void conv2d_engine(benchmark::State& state, ConvShape shape) {
  pare::NoGradGuard no_grad;
  pare::manual_seed(0);
  const pare::Tensor x = pare::randn({shape.batch, shape.in_channels, shape.size, shape.size});
  const pare::Tensor weight = pare::randn({shape.out_channels, shape.in_channels, 3, 3});
  const pare::Tensor bias = pare::randn({shape.out_channels});
  for (auto _ : state) {
    pare::Tensor y = pare::conv2d(x, weight, bias, 1, 1);
    benchmark::DoNotOptimize(y.data_ptr<float>());
  }
  report_flops(state, shape.flops());
}

void linear_engine(benchmark::State& state, LinearShape shape) {
  pare::NoGradGuard no_grad;
  pare::manual_seed(0);
  const pare::Tensor x = pare::randn({shape.batch, shape.in_features});
  const pare::Tensor weight = pare::randn({shape.out_features, shape.in_features});
  const pare::Tensor bias = pare::randn({shape.out_features});
  for (auto _ : state) {
    pare::Tensor y = pare::linear(x, weight, bias);
    benchmark::DoNotOptimize(y.data_ptr<float>());
  }
  report_flops(state, shape.flops());
}

void lstm_engine(benchmark::State& state, LstmShape shape) {
  pare::NoGradGuard no_grad;
  pare::manual_seed(0);
  pare::nn::LSTM lstm(pare::nn::LSTMOptions(shape.input_size, shape.hidden_size));
  const pare::Tensor x = pare::randn({shape.seq_len, shape.batch, shape.input_size});
  const pare::nn::LSTMImpl::State initial{pare::randn({1, shape.batch, shape.hidden_size}),
                                          pare::randn({1, shape.batch, shape.hidden_size})};
  for (auto _ : state) {
    auto [output, final_state] = lstm(x, initial);
    benchmark::DoNotOptimize(output.data_ptr<float>());
  }
  report_flops(state, shape.flops());
}

// conv(3->32) relu pool conv(32->64) relu pool linear(64*8*8->10) on 32x32 images.
struct SmallCnn : pare::nn::Module {
  SmallCnn() {
    conv1 =
        register_module("conv1", pare::nn::Conv2d(pare::nn::Conv2dOptions(3, 32, 3).padding(1)));
    conv2 =
        register_module("conv2", pare::nn::Conv2d(pare::nn::Conv2dOptions(32, 64, 3).padding(1)));
    fc = register_module("fc", pare::nn::Linear(64 * 8 * 8, 10));
  }
  pare::Tensor forward(const pare::Tensor& x) {
    pare::Tensor h = pare::max_pool2d(pare::relu(conv1(x)), 2);
    h = pare::max_pool2d(pare::relu(conv2(h)), 2);
    return fc(pare::flatten(h, 1));
  }
  // A training step costs about three forwards (forward, backward data, backward weights).
  static double training_flops(int64_t batch) {
    const double forward = ConvShape{batch, 3, 32, 32}.flops() +
                           ConvShape{batch, 32, 64, 16}.flops() +
                           LinearShape{batch, 64 * 8 * 8, 10}.flops();
    return 3.0 * forward;
  }

  pare::nn::Conv2d conv1{nullptr};
  pare::nn::Conv2d conv2{nullptr};
  pare::nn::Linear fc{nullptr};
};

void small_cnn_training_step(benchmark::State& state, int64_t batch) {
  pare::manual_seed(0);
  auto net = std::make_shared<SmallCnn>();
  pare::optim::SGD optimizer(net->parameters(), pare::optim::SGDOptions(0.01).momentum(0.9));
  const pare::Tensor images = pare::randn({batch, 3, 32, 32});
  const pare::Tensor labels = pare::randint(0, 10, {batch});
  for (auto _ : state) {
    optimizer.zero_grad();
    pare::Tensor loss = pare::cross_entropy(net->forward(images), labels);
    loss.backward();
    optimizer.step();
    benchmark::DoNotOptimize(loss.data_ptr<float>());
  }
  report_flops(state, SmallCnn::training_flops(batch));
  state.SetItemsProcessed(state.iterations() * batch);
}

template <typename Shape>
void register_engine(const std::string& op, const Shape& shape,
                     void (*function)(benchmark::State&, Shape)) {
  benchmark::RegisterBenchmark((op + "/engine/" + shape.label()).c_str(), function, shape)
      ->Unit(benchmark::kMicrosecond)
      ->UseRealTime();
}

}  // namespace

int main(int argc, char** argv) {
  for (const ConvShape& shape : pare_bench::conv_shapes())
    register_engine("conv2d", shape, conv2d_engine);
  for (const LinearShape& shape : pare_bench::linear_shapes()) {
    register_engine("linear", shape, linear_engine);
  }
  for (const LstmShape& shape : pare_bench::lstm_shapes())
    register_engine("lstm", shape, lstm_engine);
  benchmark::RegisterBenchmark("train_step/engine/small_cnn_N32", small_cnn_training_step,
                               int64_t{32})
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  return pare_bench::run_benchmarks(argc, argv);
}

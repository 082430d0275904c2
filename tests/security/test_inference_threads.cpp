// Threads sharing models on the compiled inference path: every concurrent forward() must return
// what the single-threaded interpreter returns. The session caches at most 8 input shapes, so
// callers with more batch sizes than that evict compiled graphs that other callers may still be
// running; and a compiled graph runs in one arena, so two callers of one shape must never share
// it. Run under ThreadSanitizer by scripts/sanitize-thread.sh.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pare/inference/inference.h"
#include "pare/ir/tracer.h"
#include "pare/pare.h"
#include "test_util.h"

namespace {

using pare::Tensor;

// conv + BatchNorm + pool (prepared, blocked layout) -> linear + tanh (fused) -> log_softmax,
// which the compiled graph runs through the interpreter's own code: every kind of step.
struct ConvNet : pare::nn::Module {
  explicit ConvNet(int64_t width) : pare::nn::Module("ConvNet") {
    conv1 =
        register_module("conv1", pare::nn::Conv2d(pare::nn::Conv2dOptions(3, width, 3).padding(1)));
    bn = register_module("bn", pare::nn::BatchNorm2d(width));
    conv2 = register_module("conv2",
                            pare::nn::Conv2d(pare::nn::Conv2dOptions(width, width, 3).padding(1)));
    fc1 = register_module("fc1", pare::nn::Linear(width * 4 * 4, 16));
    fc2 = register_module("fc2", pare::nn::Linear(16, 10));
  }
  Tensor forward(const Tensor& x) {
    Tensor h = pare::max_pool2d(pare::relu(bn(conv1(x))), 2);
    h = pare::relu(conv2(h));
    h = pare::tanh(fc1(pare::flatten(h, 1)));
    return pare::log_softmax(fc2(h), 1);
  }
  pare::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  pare::nn::BatchNorm2d bn{nullptr};
  pare::nn::Linear fc1{nullptr}, fc2{nullptr};
};

constexpr int64_t kImageSize = 8;
// More distinct batch sizes than the session caches shapes (8).
constexpr int64_t kBatchSizes = 12;

// A traced ConvNet in evaluation mode with its own compiled inference session.
pare::ir::GraphModule make_model(int64_t width, uint32_t seed) {
  pare::manual_seed(seed);
  auto net = std::make_shared<ConvNet>(width);
  // Running statistics away from (0, 1), so that folding BatchNorm into the conv matters.
  net->bn->running_mean().copy_(pare::testing::random_tensor({width}, seed + 1));
  net->bn->running_var().copy_(pare::testing::random_tensor({width}, seed + 2, 0.5f, 2.0f));
  net->eval();
  pare::ir::GraphModule graph_module =
      pare::ir::trace(net, {pare::randn({1, 3, kImageSize, kImageSize})});
  graph_module.eval();
  pare::inference::enable(graph_module);
  return graph_module;
}

// One input per batch size 1..kBatchSizes and what the plain interpreter returns for it,
// computed in this thread before any other starts.
struct Reference {
  std::vector<Tensor> inputs, outputs;
};

Reference reference_of(pare::ir::GraphModule& graph_module, uint32_t seed) {
  pare::NoGradGuard no_grad;
  Reference reference;
  for (int64_t batch = 1; batch <= kBatchSizes; ++batch) {
    reference.inputs.push_back(pare::testing::random_tensor({batch, 3, kImageSize, kImageSize},
                                                            seed + static_cast<uint32_t>(batch)));
    reference.outputs.push_back(graph_module.interpret({reference.inputs.back()}));
  }
  return reference;
}

// What the threads saw; checked in the main thread once they have joined.
struct Outcome {
  std::atomic<int> matches{0};
  std::atomic<int> mismatches{0};
  std::mutex mutex;
  std::map<std::string, int> errors;  // message -> count

  void run(pare::ir::GraphModule& graph_module, const Reference& reference, size_t index) {
    try {
      const Tensor output = graph_module.forward({reference.inputs[index]});
      const Tensor& expected = reference.outputs[index];
      // The pointer overload: the vector ones assert through doctest, from the main thread only.
      const std::vector<float> got = pare::testing::values(output);
      const std::vector<float> want = pare::testing::values(expected);
      const bool same = output.sizes() == expected.sizes() &&
                        pare::testing::max_abs_diff(got.data(), want.data(), got.size()) <= 1e-4;
      ++(same ? matches : mismatches);
    } catch (const std::exception& error) {
      std::lock_guard<std::mutex> lock(mutex);
      ++errors[error.what()];
    }
  }

  void check(int expected_calls) {
    std::string messages;
    for (const auto& [message, count] : errors)
      messages += pare::str_cat(count, " x ", message, "\n");
    INFO(messages);
    CHECK(errors.empty());
    CHECK(mismatches == 0);
    CHECK(matches == expected_calls);
  }
};

// `threads` threads, each making `calls` forward() calls through `model_of(thread)` on the input
// `index_of(thread, call)` of `reference_of(thread)`.
template <typename ModelOf, typename ReferenceOf, typename IndexOf>
void run_threads(int threads, int calls, ModelOf model_of, ReferenceOf reference_of_thread,
                 IndexOf index_of, Outcome& outcome) {
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      pare::NoGradGuard no_grad;  // grad mode is per thread
      for (int call = 0; call < calls; ++call)
        outcome.run(model_of(t), reference_of_thread(t), index_of(t, call));
    });
  }
  for (std::thread& worker : workers) worker.join();
}

constexpr int kThreads = 4;
constexpr int kCalls = 200;

TEST_CASE("inference threads: 4 threads share one model across more batch sizes than it caches") {
  pare::ir::GraphModule model = make_model(6, 10);
  const Reference reference = reference_of(model, 100);
  Outcome outcome;
  // Each thread walks the batch sizes with its own stride and offset, so that at any moment the
  // threads want different shapes and keep evicting what another one is running.
  run_threads(
      kThreads, kCalls, [&](int) -> pare::ir::GraphModule& { return model; },
      [&](int) -> const Reference& { return reference; },
      [](int thread, int call) {
        return static_cast<size_t>((thread * 5 + call * (thread + 1)) % kBatchSizes);
      },
      outcome);
  outcome.check(kThreads * kCalls);
}

TEST_CASE("inference threads: 4 threads run one model at one batch size at the same time") {
  // One shape: every caller needs its own arena, never the one another caller is filling.
  pare::ir::GraphModule model = make_model(6, 20);
  const Reference reference = reference_of(model, 200);
  Outcome outcome;
  run_threads(
      kThreads, kCalls / 4, [&](int) -> pare::ir::GraphModule& { return model; },
      [&](int) -> const Reference& { return reference; },
      [](int, int) { return static_cast<size_t>(kBatchSizes - 1); }, outcome);
  outcome.check(kThreads * kCalls / 4);
}

TEST_CASE("inference threads: two models in two threads") {
  pare::ir::GraphModule models[2] = {make_model(6, 30), make_model(9, 40)};
  const Reference references[2] = {reference_of(models[0], 300), reference_of(models[1], 400)};
  Outcome outcome;
  run_threads(
      2, kCalls, [&](int thread) -> pare::ir::GraphModule& { return models[thread]; },
      [&](int thread) -> const Reference& { return references[thread]; },
      [](int, int call) { return static_cast<size_t>((call * 7) % kBatchSizes); }, outcome);
  outcome.check(2 * kCalls);
}

TEST_CASE("inference threads: a checked-out compiled graph outlives its eviction") {
  // What a caller holds stays valid while other shapes (or invalidate()) push it out of the
  // cache; it is dropped, not returned, when released.
  pare::ir::GraphModule model = make_model(6, 50);
  const Reference reference = reference_of(model, 500);
  pare::NoGradGuard no_grad;
  auto session = pare::inference::enable(model);
  const pare::ir::TensorMeta first{reference.inputs[0].sizes(), pare::kFloat32};
  {
    const pare::inference::InferenceSession::Lease lease = session->checkout(model, {first});
    for (size_t index = 1; index < static_cast<size_t>(kBatchSizes); ++index)
      model.forward({reference.inputs[index]});
    CHECK(session->compiled_count() == pare::inference::InferenceSession::kMaxCompiledShapes);
    // An input the graph cannot take (4 channels where the conv wants 3) is refused, and takes no
    // place in the cache.
    CHECK_THROWS_AS(model.forward({pare::zeros({1, 4, kImageSize, kImageSize})}), pare::Error);
    CHECK(session->compiled_count() == pare::inference::InferenceSession::kMaxCompiledShapes);
    session->invalidate();
    CHECK(session->compiled_count() == 0);
    const Tensor output = lease->run({reference.inputs[0]});
    CHECK(pare::testing::max_abs_diff(output, reference.outputs[0]) <= 1e-4);
  }
  CHECK(session->compiled_count() == 0);
  const Tensor again = model.forward({reference.inputs[0]});
  CHECK(pare::testing::max_abs_diff(again, reference.outputs[0]) <= 1e-4);
  CHECK(session->compiled_count() == 1);
}

}  // namespace

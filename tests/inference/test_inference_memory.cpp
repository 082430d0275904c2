// The static memory plan of the inference path: plan_memory on hand-made lifetimes, buffer reuse
// in compiled models, no tensor allocation per call but the outputs, and the per-shape cache of
// the session (recompiled on new shapes, graph edits and replaced weights).
#include <doctest/doctest.h>

#include <vector>

#include "inference_test_models.h"
#include "pare/inference/inference.h"
#include "pare/memory_stats.h"

namespace {

using pare::Tensor;
using pare::inference::BufferLifetime;
using pare::inference::CompiledGraph;
using pare::inference::InferenceOptions;
using pare::inference::InPlaceUpdate;
using pare::inference::MemoryPlan;
using pare::inference::plan_memory;

TEST_CASE("plan_memory: a chain ping-pongs between two blocks") {
  // a -> b -> c -> d: each buffer is read by the step after the one that wrote it.
  const std::vector<BufferLifetime> chain = {{100, 0, 1}, {200, 1, 2}, {64, 2, 3}, {200, 3, 4}};
  const MemoryPlan plan = plan_memory(chain);
  CHECK(plan.offsets[0] == plan.offsets[2]);  // c reuses a's block (a died at step 1)
  CHECK(plan.offsets[1] == plan.offsets[3]);  // d reuses b's block
  CHECK(plan.offsets[0] != plan.offsets[1]);
  CHECK(plan.arena_bytes == 128 + 256);  // 64-byte aligned blocks
  CHECK(plan.unshared_bytes == 128 + 256 + 64 + 256);
  const MemoryPlan unshared = plan_memory(chain, /*reuse=*/false);
  CHECK(unshared.arena_bytes == unshared.unshared_bytes);
}

TEST_CASE("plan_memory: a buffer read by the step that writes another never shares with it") {
  // a is read last by step 1, which writes b: b must not take a's block; c (step 2) may.
  const std::vector<BufferLifetime> buffers = {{64, 0, 1}, {64, 1, 2}, {64, 2, 2}};
  const MemoryPlan plan = plan_memory(buffers);
  CHECK(plan.offsets[1] != plan.offsets[0]);
  CHECK(plan.offsets[2] == plan.offsets[0]);
}

TEST_CASE("plan_memory: a growing block and a long-lived buffer") {
  // a lives throughout; b dies, then c (larger) grows b's block rather than adding one.
  const std::vector<BufferLifetime> buffers = {{64, 0, 5}, {64, 0, 1}, {256, 2, 3}};
  const MemoryPlan plan = plan_memory(buffers);
  CHECK(plan.offsets[2] == plan.offsets[1]);
  CHECK(plan.arena_bytes == 64 + 256);
  CHECK(pare::testing::contains(pare::testing::error_of([] {
                                  plan_memory({{64, 3, 2}});
                                }),
                                "before it is written"));
}

TEST_CASE("plan_memory: an in-place update takes the block of the buffer its step reads last") {
  // a (step 0) is read by steps 1 and 2; step 2 writes c, adding to b (written by step 1).
  const std::vector<BufferLifetime> buffers = {{64, 0, 2}, {256, 1, 2}, {256, 2, 3}, {64, 3, 3}};
  const MemoryPlan plain = plan_memory(buffers);
  CHECK(plain.offsets[2] != plain.offsets[1]);  // without the update: read by c's writer
  const MemoryPlan plan = plan_memory(buffers, true, {{.buffer = 2, .into = 1}});
  CHECK(plan.offsets[2] == plan.offsets[1]);
  CHECK(plan.offsets[2] != plan.offsets[0]);  // a is still read by step 2
  CHECK(plan.arena_bytes == 64 + 256);
  // The block passes on: d (step 3) may not take it while c lives, but takes a's.
  CHECK(plan.offsets[3] == plan.offsets[0]);
  // Chained updates: e adds to c in place, as c added to b.
  std::vector<BufferLifetime> chain = buffers;
  chain[2].last_step = 4;
  chain.push_back({256, 4, 5});
  const MemoryPlan chained = plan_memory(chain, true, {{2, 1}, {4, 2}});
  CHECK(chained.offsets[4] == chained.offsets[1]);
  CHECK(chained.offsets[2] == chained.offsets[1]);
}

TEST_CASE("plan_memory: no in-place update while the buffer has a later reader or without reuse") {
  // b is read again by step 3, after c's writer (step 2): c gets its own block.
  const std::vector<BufferLifetime> buffers = {{64, 0, 1}, {256, 1, 3}, {256, 2, 3}};
  const std::vector<InPlaceUpdate> update = {{.buffer = 2, .into = 1}};
  const MemoryPlan plan = plan_memory(buffers, true, update);
  CHECK(plan.offsets[2] != plan.offsets[1]);
  const MemoryPlan unshared = plan_memory({{64, 0, 1}, {256, 1, 2}, {256, 2, 3}}, false, update);
  CHECK(unshared.offsets[2] != unshared.offsets[1]);
  CHECK(unshared.arena_bytes == unshared.unshared_bytes);
  using pare::testing::contains;
  using pare::testing::error_of;
  CHECK(contains(error_of([&] { plan_memory(buffers, true, {{.buffer = 1, .into = 2}}); }),
                 "not written before that step"));
  CHECK(contains(error_of([&] { plan_memory(buffers, true, {{.buffer = 2, .into = 7}}); }),
                 "there are 3 buffers"));
  CHECK(contains(error_of([&] {
                   plan_memory(buffers, true, {{2, 1}, {2, 0}});
                 }),
                 "at most one each"));
}

TEST_CASE("inference: the VGG arena reuses buffers, and is larger without the plan") {
  pare::NoGradGuard no_grad;
  pare::ir::GraphModule graph_module = pare::testing::inference_cases()[1].make();
  const std::vector<pare::ir::TensorMeta> inputs = {{{4, 3, 16, 16}, pare::kFloat32}};
  CompiledGraph planned(graph_module, inputs);
  CompiledGraph unplanned(graph_module, inputs, {.memory_plan = false});
  // Seven intermediate values, at most three alive at once.
  CHECK(planned.stats().arena_bytes * 10 < planned.stats().unshared_bytes * 6);
  CHECK(unplanned.stats().arena_bytes == unplanned.stats().unshared_bytes);
}

TEST_CASE("inference: after the first call, a call allocates only its outputs") {
  pare::NoGradGuard no_grad;
  for (size_t index : {0, 1, 3, 4}) {  // MLP, VGG, BatchNorm CNN, LSTM
    const auto model = pare::testing::inference_cases()[index];
    CAPTURE(model.name);
    pare::ir::GraphModule graph_module = model.make();
    pare::inference::enable(graph_module);
    const std::vector<Tensor> inputs = model.inputs(2);
    graph_module.forward(inputs);
    const int64_t before = pare::storage_bytes().live;
    pare::reset_peak_storage_bytes();
    const Tensor output = graph_module.forward(inputs);
    CHECK(pare::storage_bytes().peak - before == static_cast<int64_t>(output.nbytes()));
  }
}

TEST_CASE("inference: the session compiles per shape and again after edits") {
  pare::NoGradGuard no_grad;
  pare::ir::GraphModule graph_module = pare::testing::inference_cases()[0].make();  // MLP
  auto session = pare::inference::enable(graph_module);
  const auto inputs = pare::testing::inference_cases()[0].inputs;
  graph_module.forward(inputs(1));
  graph_module.forward(inputs(2));
  graph_module.forward(inputs(1));
  CHECK(session->compiled_count() == 2);

  // A replaced weight: the session notices and follows it.
  auto fc = graph_module.module("0");
  fc->register_parameter("weight", pare::testing::random_tensor({16, 20}, 99));
  CHECK(pare::testing::max_abs_diff(graph_module.forward(inputs(1)),
                                    graph_module.interpret(inputs(1))) <= 1e-4);

  // A graph edit (the last ReLU turned into a tanh): compiled again.
  for (pare::ir::Node* node : graph_module.graph().nodes()) {
    if (node->op() == pare::ir::OpKind::call_module && node->target() == "3") {
      pare::ir::Graph::InsertionPoint at(graph_module.graph(), node, /*after=*/true);
      pare::ir::Node* tanh = graph_module.graph().call_function("tanh", {node});
      node->replace_all_uses_with(tanh);
      tanh->set_args({node});
      break;
    }
  }
  const Tensor edited = graph_module.forward(inputs(2));
  CHECK(session->compiled_count() == 1);
  CHECK(pare::testing::max_abs_diff(edited, graph_module.interpret(inputs(2))) <= 1e-4);
}

}  // namespace

// `pare prune` on a large model must not hold more than the mapped file and the pruned model:
// every step of the flow (prepare, the self-check's masked forward, prune_graph) is measured in
// tensor storage (pare::storage_bytes, exact and deterministic) on an MLP whose middle layer
// dominates, and none may allocate a full-size copy of that layer. The three copies these tests
// rule out: prepare evaluating the new row mask over the whole weight (the registration check),
// the masked Linear materialising weight * mask in forward, and prune_graph slicing the middle
// layer's input columns before, and separately from, its own rows.
#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "pare/ir/tracer.h"
#include "pare/memory_stats.h"
#include "pare/pare.h"
#include "pare/passes/pruning/pruning.h"
#include "test_util.h"

namespace {

namespace nn = pare::nn;
using pare::Tensor;

constexpr int64_t kWidth = 1024;  // fc2 is kWidth x kWidth floats: 4 MiB
constexpr int64_t kLayerBytes = kWidth * kWidth * 4;

// fc1 (16 -> 1024) -> relu -> fc2 (1024 -> 1024) -> relu -> fc3 (1024 -> 16), fc1 and fc2
// masked by the saliency pruner at sparsity 0.5, as `pare prune --sparsity 0.5` configures it.
struct MaskedMlp {
  pare::ir::GraphModule graph_module;
  pare::pruning::SaliencyPruner pruner{{{"sparsity_level", 0.5}}};
  Tensor input = pare::testing::random_tensor({1, 16}, 3);
};

// Layers "0" (fc1), "2" (fc2), "4" (fc3).
pare::ir::GraphModule traced_mlp() {
  nn::Sequential layers(nn::Linear(16, kWidth), nn::ReLU(), nn::Linear(kWidth, kWidth), nn::ReLU(),
                        nn::Linear(kWidth, 16));
  layers->eval();
  return pare::ir::trace(layers.ptr(), {pare::testing::random_tensor({1, 16}, 3)});
}

void prepare(MaskedMlp& mlp) {
  mlp.pruner.prepare(mlp.graph_module.root_ptr(),
                     {{{"tensor_fqn", "0.weight"}}, {{"tensor_fqn", "2.weight"}}});
}

// Storage allocated above what was alive before `action`, at the peak.
int64_t extra_storage_bytes(const std::function<void()>& action) {
  const int64_t before = pare::storage_bytes().live;
  pare::reset_peak_storage_bytes();
  action();
  return pare::storage_bytes().peak - before;
}

}  // namespace

TEST_CASE("prepare attaches the row masks without a masked copy of any weight") {
  MaskedMlp mlp{traced_mlp()};
  const int64_t extra = extra_storage_bytes([&] { prepare(mlp); });
  MESSAGE("prepare: ", extra, " bytes of storage above the model");
  // The masks and the moved biases: a few KiB (the registration check cost the 4 MiB product).
  CHECK(extra < kLayerBytes / 8);
}

TEST_CASE("the masked model runs without grad on its stored weights") {
  MaskedMlp mlp{traced_mlp()};
  prepare(mlp);
  mlp.pruner.step();
  pare::NoGradGuard no_grad;
  Tensor masked;
  const int64_t extra =
      extra_storage_bytes([&] { masked = mlp.graph_module.interpret({mlp.input}); });
  MESSAGE("masked forward: ", extra, " bytes of storage above the model");
  // Activations of one sample (reading fc2's weight through its mask cost 4 MiB).
  CHECK(extra < kLayerBytes / 8);
  // The same values as reading every weight through its mask (grad mode on), bit for bit.
  pare::EnableGradGuard grad;
  const Tensor materialised = mlp.graph_module.interpret({mlp.input});
  REQUIRE(materialised.sizes() == masked.sizes());
  CHECK(pare::to_float_vector(materialised) == pare::to_float_vector(masked));
}

TEST_CASE("prune_graph takes a masked consumer's kept rows and columns in one gather") {
  MaskedMlp mlp{traced_mlp()};
  prepare(mlp);
  mlp.pruner.step();
  const int64_t extra = extra_storage_bytes(
      [&] { pare::pruning::prune_graph(mlp.graph_module, mlp.pruner.patterns, {}); });
  MESSAGE("prune_graph: ", extra, " bytes of storage above the model");
  // fc2's new 512 x 512 weight (1 MiB) while its 4 MiB original is still held; slicing its
  // columns first held a 1024 x 512 copy (2 MiB) on top of that.
  CHECK(extra < kLayerBytes * 3 / 8);
  const nn::Module& root = mlp.graph_module.root();
  CHECK(root.get_child("2")->get_parameter("weight").sizes() ==
        pare::Shape{kWidth / 2, kWidth / 2});
  CHECK(root.get_child("4")->get_parameter("weight").sizes() == pare::Shape{16, kWidth / 2});
  CHECK_FALSE(root.get_child("2")->is_parametrized());
}

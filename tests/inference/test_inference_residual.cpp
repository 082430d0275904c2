// The fused residual add (InferenceOptions::fuse_residual_add): a conv [-> BatchNorm] -> add ->
// [activation] computed by one primitive with oneDNN's sum post-op. Each residual case
// (inference_test_models.h) at batch 1 and 8, fused against the interpreter and against the
// compiled path without the fusion, with every other optimisation on and each off in turn; and
// what the compiler reports: which adds fused, which ran in place, which steps say so.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "inference_test_models.h"
#include "pare/inference/inference.h"

namespace {

using pare::Tensor;
using pare::inference::CompiledGraph;
using pare::inference::InferenceOptions;
using pare::testing::contains;
using pare::testing::count;

std::vector<pare::ir::TensorMeta> metas(const std::vector<Tensor>& inputs) {
  std::vector<pare::ir::TensorMeta> result;
  for (const Tensor& input : inputs) result.push_back({input.sizes(), input.dtype()});
  return result;
}

std::vector<std::pair<std::string, InferenceOptions>> option_sets() {
  return {{"all on", {}},
          {"fold_batchnorm off", {.fold_batchnorm = false}},
          {"fuse_activations off", {.fuse_activations = false}},
          {"blocked_layout off", {.blocked_layout = false}},
          {"memory_plan off", {.memory_plan = false}}};
}

TEST_CASE("fused residual adds match the interpreter and the unfused compiled path") {
  pare::NoGradGuard no_grad;
  for (const pare::testing::InferenceCase& model : pare::testing::residual_cases()) {
    pare::ir::GraphModule graph_module = model.make();
    for (int64_t batch : {1, 8}) {
      const std::vector<Tensor> inputs = model.inputs(batch);
      const Tensor expected = graph_module.interpret(inputs).tensor();
      for (const auto& [name, options] : option_sets()) {
        CAPTURE(model.name);
        CAPTURE(batch);
        CAPTURE(name);
        InferenceOptions unfused_options = options;
        unfused_options.fuse_residual_add = false;
        CompiledGraph unfused(graph_module, metas(inputs), unfused_options);
        CHECK(unfused.stats().fused_residual_adds == 0);
        const Tensor reference = unfused.run(inputs).tensor();
        CompiledGraph fused(graph_module, metas(inputs), options);
        CAPTURE(fused.describe());
        CHECK(pare::testing::max_abs_diff(reference, expected) <= 1e-4);
        CHECK(pare::testing::max_abs_diff(fused.run(inputs).tensor(), expected) <= 1e-4);
        // Twice: an in-place add must not find the previous call's sum in its shortcut.
        const Tensor again = fused.run(inputs).tensor();
        CHECK(pare::testing::max_abs_diff(again, expected) <= 1e-4);
        CHECK(pare::testing::max_abs_diff(again, reference) <= 1e-4);
      }
    }
  }
}

TEST_CASE("the compiler reports which residual adds fused and which ran in place") {
  pare::NoGradGuard no_grad;
  for (const pare::testing::InferenceCase& model : pare::testing::residual_cases()) {
    CAPTURE(model.name);
    pare::ir::GraphModule graph_module = model.make();
    const std::vector<Tensor> inputs = model.inputs(2);
    CompiledGraph compiled(graph_module, metas(inputs));
    const std::string report = compiled.describe();
    CAPTURE(report);
    CHECK(compiled.stats().fused_residual_adds == model.fused_residual_adds);
    CHECK(compiled.stats().in_place_adds == model.in_place_adds);
    CHECK(count(report, "(sum with ") == model.fused_residual_adds);
    CHECK(count(report, "[in place]") == model.in_place_adds);
    CHECK(count(report, "[shortcut copied]") == model.fused_residual_adds - model.in_place_adds);
    // Without the memory plan every buffer has its own block: each fused add copies.
    CompiledGraph unplanned(graph_module, metas(inputs), {.memory_plan = false});
    CHECK(unplanned.stats().fused_residual_adds == model.fused_residual_adds);
    CHECK(unplanned.stats().in_place_adds == 0);
    // Fusion needs the prepared convolution.
    CHECK(CompiledGraph(graph_module, metas(inputs), {.prepack_weights = false})
              .stats()
              .fused_residual_adds == 0);
  }
}

TEST_CASE("a ResNet basic block runs as convolutions only, blocked, with the add in place") {
  pare::NoGradGuard no_grad;
  const pare::testing::InferenceCase model = pare::testing::residual_cases()[0];
  pare::ir::GraphModule graph_module = model.make();
  const std::vector<Tensor> inputs = model.inputs(1);
  CompiledGraph fused(graph_module, metas(inputs));
  const auto& stats = fused.stats();
  CAPTURE(fused.describe());
  // stem, block 1's two convs, block 2's two and its downsample: 5 BatchNorms after the stem's.
  CHECK(stats.prepared_convs == 6);
  CHECK(stats.folded_batchnorms == 6);
  CHECK(stats.interpreted_nodes == 0);
  // The stem's and conv1's relus, and the relu after each add.
  CHECK(stats.fused_activations == 5);
  // The block's output is the graph's: the one conversion to plain is at the end.
  CHECK(stats.layout_reorders == 1);
  CHECK(contains(fused.describe(), "(sum with "));
  CHECK(stats.blocked_values == 6);
  // Unfused, each add (and the relu after it) runs on plain tensors of its own, so the convs
  // around it write plain ones.
  CompiledGraph unfused(graph_module, metas(inputs), {.fuse_residual_add = false});
  CHECK(unfused.stats().interpreted_nodes == 2);
  CHECK(unfused.stats().fused_activations == 3);
  CHECK(unfused.stats().blocked_values < stats.blocked_values);
}

}  // namespace

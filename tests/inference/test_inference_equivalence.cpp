// The inference path against the plain interpreter: every test model, batch 1 and 3, with every
// optimisation on, each one off in turn, and all off; outputs within 1e-4. Also what the compiler
// did (folded, fused, blocked, interpreted) on the models where that is known by construction.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "inference_test_models.h"
#include "pare/inference/inference.h"

namespace {

using pare::Tensor;
using pare::inference::CompiledGraph;
using pare::inference::InferenceOptions;
using pare::ir::Value;

std::vector<std::pair<std::string, InferenceOptions>> option_sets() {
  std::vector<std::pair<std::string, InferenceOptions>> sets{{"all on", {}}};
  const std::vector<std::pair<std::string, bool InferenceOptions::*>> switches = {
      {"fold_batchnorm", &InferenceOptions::fold_batchnorm},
      {"fuse_activations", &InferenceOptions::fuse_activations},
      {"fuse_residual_add", &InferenceOptions::fuse_residual_add},
      {"prepack_weights", &InferenceOptions::prepack_weights},
      {"blocked_layout", &InferenceOptions::blocked_layout},
      {"memory_plan", &InferenceOptions::memory_plan},
      {"rnn_primitive", &InferenceOptions::rnn_primitive},
      {"winograd", &InferenceOptions::winograd},
      {"thread_tuning", &InferenceOptions::thread_tuning}};
  InferenceOptions none;
  for (const auto& [name, member] : switches) {
    InferenceOptions options;
    options.*member = false;
    none.*member = false;
    sets.emplace_back(name + " off", options);
  }
  sets.emplace_back("all off", none);
  return sets;
}

double max_output_diff(const Value& a, const Value& b) {
  const auto flat_a = a.flatten();
  const auto flat_b = b.flatten();
  REQUIRE(flat_a.size() == flat_b.size());
  double worst = 0.0;
  for (size_t i = 0; i < flat_a.size(); ++i) {
    REQUIRE(flat_a[i].first == flat_b[i].first);
    worst = std::max(worst, pare::testing::max_abs_diff(flat_a[i].second, flat_b[i].second));
  }
  return worst;
}

std::vector<pare::ir::TensorMeta> metas(const std::vector<Tensor>& inputs) {
  std::vector<pare::ir::TensorMeta> result;
  for (const Tensor& input : inputs) result.push_back({input.sizes(), input.dtype()});
  return result;
}

TEST_CASE("inference: every model and option set matches the interpreter within 1e-4") {
  pare::NoGradGuard no_grad;
  for (const pare::testing::InferenceCase& model : pare::testing::inference_cases()) {
    pare::ir::GraphModule graph_module = model.make();
    for (int64_t batch : {1, 3}) {
      const std::vector<Tensor> inputs = model.inputs(batch);
      const Value expected = graph_module.interpret(inputs);
      for (const auto& [name, options] : option_sets()) {
        CAPTURE(model.name);
        CAPTURE(batch);
        CAPTURE(name);
        CompiledGraph compiled(graph_module, metas(inputs), options);
        CAPTURE(compiled.describe());
        CHECK(max_output_diff(compiled.run(inputs), expected) <= 1e-4);
        // Twice: the second call reuses the arena the first one filled.
        CHECK(max_output_diff(compiled.run(inputs), expected) <= 1e-4);
      }
    }
  }
}

TEST_CASE("inference: GraphModule::forward goes through the session in eval mode only") {
  pare::ir::GraphModule graph_module = pare::testing::inference_cases()[1].make();
  const std::vector<Tensor> inputs = pare::testing::images(3, 16)(2);
  auto session = pare::inference::enable(graph_module);
  {
    pare::NoGradGuard no_grad;
    const Value expected = graph_module.interpret(inputs);
    CHECK(max_output_diff(graph_module.forward(inputs), expected) <= 1e-4);
    CHECK(session->compiled_count() == 1);
  }
  // Grad mode on: the interpreter runs, so the output has history.
  const Tensor with_grad = graph_module.forward(inputs);
  CHECK(with_grad.requires_grad());
  CHECK(session->compiled_count() == 0);
  // Training mode: the interpreter, and BatchNorm / dropout behave as in training.
  graph_module.train();
  {
    pare::NoGradGuard no_grad;
    graph_module.forward(inputs);
    CHECK(session->compiled_count() == 0);
  }
  pare::inference::disable(graph_module);
  CHECK(graph_module.forward_backend() == nullptr);
}

TEST_CASE("inference: the compiler folds, fuses and keeps convs blocked where it should") {
  pare::NoGradGuard no_grad;
  const auto cases = pare::testing::inference_cases();
  auto stats_of = [&](size_t index, const InferenceOptions& options) {
    pare::ir::GraphModule graph_module = cases[index].make();
    return CompiledGraph(graph_module, metas(cases[index].inputs(2)), options).stats();
  };
  SUBCASE("VGG: 5 convs + relu fused, 2 max pools and the global pool prepared, all blocked") {
    const auto stats = stats_of(1, {});
    CHECK(stats.prepared_convs == 5);
    CHECK(stats.fused_activations == 5);
    CHECK(stats.prepared_pools == 3);
    CHECK(stats.prepared_linears == 1);
    CHECK(stats.interpreted_nodes == 0);
    CHECK(stats.blocked_values >= 5);
    CHECK(stats.layout_reorders == 0);  // the global pool writes plain NCHW for flatten
    const auto plain = stats_of(1, {.blocked_layout = false});
    CHECK(plain.blocked_values == 0);
    CHECK(plain.layout_reorders == 0);
    const auto unfused = stats_of(1, {.fuse_activations = false});
    CHECK(unfused.fused_activations == 0);
  }
  SUBCASE("BatchNorm: four folded, two activations fused") {
    const auto stats = stats_of(3, {});
    CHECK(stats.folded_batchnorms == 4);
    CHECK(stats.fused_activations == 2);
    CHECK(stats.interpreted_nodes == 0);
    CHECK(stats_of(3, {.fold_batchnorm = false}).folded_batchnorms == 0);
  }
  SUBCASE("overlapping adaptive pools: both prepared, nothing interpreted, no reorder") {
    const size_t index = cases.size() - 1;
    REQUIRE(cases[index].name == "overlapping adaptive pools");
    const auto stats = stats_of(index, {});
    CHECK(stats.prepared_pools == 2);
    CHECK(stats.prepared_convs == 2);
    CHECK(stats.interpreted_nodes == 0);
    CHECK(stats.layout_reorders == 0);  // the second pool writes plain NCHW for flatten
  }
  SUBCASE("LSTM: one prepared RNN, getitem free") {
    const auto stats = stats_of(4, {});
    CHECK(stats.prepared_lstms == 1);
    CHECK(stats.interpreted_nodes == 0);
    CHECK(stats_of(4, {.rnn_primitive = false}).prepared_lstms == 0);
  }
}

}  // namespace

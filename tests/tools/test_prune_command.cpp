// `pare prune` (docs/cli.md), run as a separate process on small models saved as .pare: the
// pruned file loads with the expected smaller shapes, and `pare run` on it reproduces a masked
// reference built here by hand (the original weights with the pruned rows zeroed; the rows the
// saliency pruner prunes are recomputed here from the weights' L1 norms). Also: the default
// config leaves out layers whose output is a graph output, --config, --masks, --prune-bias false
// (the padded-consumer rule), the printed table, and the refusals (exit 1 naming the file and
// the entry or tensor, exit 2 on wrong usage, no output written).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "pare/ir/pare_file.h"
#include "pare/ir/tracer.h"
#include "pare/pare.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
namespace nn = pare::nn;
using pare::Shape;
using pare::Tensor;
using pare::ir::GraphModule;
using Rows = std::vector<int64_t>;

using pare::testing::check_file_error_ignoring_stdout;
using pare::testing::fill_parameters;
using pare::testing::has_line;
using pare::testing::random_tensor;
using pare::testing::Result;
using pare::testing::run_pare;
using pare::testing::TempDir;

void check_usage_error(const Result& result, const std::string& also) {
  INFO("stderr: ", result.err);
  CHECK(result.status == 2);
  CHECK(result.err.find("usage: pare prune MODEL.pare") != std::string::npos);
  CHECK(result.err.find(also) != std::string::npos);
  CHECK(result.out.empty());
}

// Zeroes rows `rows` of a parameter in place (the masked model, by hand).
void zero_rows(const Tensor& parameter, const Rows& rows) {
  REQUIRE(parameter.is_contiguous());
  float* values = parameter.data_ptr<float>();
  const int64_t row_size = parameter.numel() / parameter.size(0);
  for (int64_t row : rows) std::fill(values + row * row_size, values + (row + 1) * row_size, 0.0f);
}

// The `count` rows of lowest L1 norm, ascending (SaliencyPruner's choice, ties to the lower row).
Rows lowest_l1_rows(const Tensor& weight, int64_t count) {
  const std::vector<float> values = pare::to_float_vector(weight.contiguous());
  const int64_t rows = weight.size(0), row_size = weight.numel() / rows;
  std::vector<double> norms(rows, 0.0);
  for (int64_t row = 0; row < rows; ++row)
    for (int64_t j = 0; j < row_size; ++j) norms[row] += std::fabs(values[row * row_size + j]);
  Rows order(rows);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return norms[a] < norms[b]; });
  Rows lowest(order.begin(), order.begin() + count);
  std::sort(lowest.begin(), lowest.end());
  return lowest;
}

std::map<std::string, Shape> parameter_shapes(const std::string& path) {
  GraphModule loaded = pare::ir::load(path);
  std::map<std::string, Shape> shapes;
  for (const auto& [name, tensor] : loaded.root().named_parameters()) shapes[name] = tensor.sizes();
  return shapes;
}

// `pare run` on `model` with `x` as input "x"; returns the written output.
Tensor run_model(const TempDir& dir, const std::string& model, const Tensor& x) {
  const std::string input = dir.file("x.safetensors"), output = dir.file("y.safetensors");
  pare::write_safetensors(input, {{"x", x}});
  const Result result = run_pare({"run", model, "--input", input, "--output", output});
  INFO(result.err);
  REQUIRE(result.status == 0);
  return pare::read_safetensors(output).get("output");
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return pare::testing::max_abs_diff(pare::to_float_vector(a), pare::to_float_vector(b));
}

// fc1 (8 -> 6) -> relu -> fc2 (6 -> 5) -> relu -> fc3 (5 -> 3).
struct Mlp : nn::Module {
  Mlp() {
    fc1 = register_module("fc1", nn::Linear(8, 6));
    fc2 = register_module("fc2", nn::Linear(6, 5));
    fc3 = register_module("fc3", nn::Linear(5, 3));
    fill_parameters(*this, 30);
  }
  Tensor forward(const Tensor& x) { return fc3(pare::relu(fc2(pare::relu(fc1(x))))); }
  nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};
};
const Shape kMlpInput = {4, 8};

// conv1 (3 -> 8, pad 1) -> relu -> max_pool2d -> conv2 (8 -> 8, pad 1) -> relu ->
// adaptive_avg_pool2d(1) -> flatten -> fc (8 -> 4).
struct Cnn : nn::Module {
  Cnn() {
    conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(3, 8, 3).padding(1)));
    conv2 = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(8, 8, 3).padding(1)));
    fc = register_module("fc", nn::Linear(8, 4));
    fill_parameters(*this, 40);
    // Positive biases: without prune_bias every pruned conv1 channel emits relu(b) > 0.
    pare::NoGradGuard no_grad;
    conv1->bias().copy_(pare::full({8}, 0.5f));
  }
  Tensor forward(const Tensor& x) {
    Tensor y = conv2(pare::max_pool2d(pare::relu(conv1(x)), 2));
    return fc(pare::flatten(pare::adaptive_avg_pool2d(pare::relu(y), 1), 1));
  }
  nn::Conv2d conv1{nullptr}, conv2{nullptr};
  nn::Linear fc{nullptr};
};
const Shape kCnnInput = {2, 3, 8, 8};

// lstm (3 -> 8 hidden, batch_first) -> head (8 -> 2) on every step.
struct LstmNet : nn::Module {
  LstmNet() {
    lstm = register_module("lstm", nn::LSTM(nn::LSTMOptions(3, 8).batch_first(true)));
    head = register_module("head", nn::Linear(8, 2));
    fill_parameters(*this, 50);
  }
  Tensor forward(const Tensor& x) { return head(std::get<0>(lstm(x))); }
  nn::LSTM lstm{nullptr};
  nn::Linear head{nullptr};
};
const Shape kLstmInput = {2, 5, 3};

// Two stacked LSTM layers (3 -> 8 -> 8 hidden), with or without biases, -> head (8 -> 2).
template <bool kBias>
struct StackedLstm : nn::Module {
  StackedLstm() {
    lstm = register_module(
        "lstm", nn::LSTM(nn::LSTMOptions(3, 8).num_layers(2).bias(kBias).batch_first(true)));
    head = register_module("head", nn::Linear(8, 2));
    fill_parameters(*this, 70);
  }
  Tensor forward(const Tensor& x) { return head(std::get<0>(lstm(x))); }
  nn::LSTM lstm{nullptr};
  nn::Linear head{nullptr};
};

// An LSTM whose state (h_n, c_n) is a graph output: nothing qualifies for the default config.
struct Tagger : nn::Module {
  Tagger() {
    lstm = register_module("lstm", nn::LSTM(nn::LSTMOptions(3, 4).batch_first(true)));
    head = register_module("head", nn::Linear(4, 2));
    fill_parameters(*this, 60);
  }
  std::tuple<Tensor, std::tuple<Tensor, Tensor>> forward(const Tensor& x) {
    auto [sequence, state] = lstm(x);
    return {head(sequence), state};
  }
  nn::LSTM lstm{nullptr};
  nn::Linear head{nullptr};
};

template <typename Model>
std::string save_model(const TempDir& dir, const std::string& name, const Shape& input) {
  auto model = std::make_shared<Model>();
  model->eval();
  GraphModule traced = pare::ir::trace(model, {random_tensor(input, 1)});
  const std::string path = dir.file(name);
  pare::ir::save(traced, path);
  return path;
}

void write_json(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST_CASE("prune: an MLP with the saliency defaults; the final layer is left out") {
  TempDir dir;
  const std::string model = save_model<Mlp>(dir, "mlp.pare", kMlpInput);
  const std::string output = dir.file("pruned.pare");
  const Result result = run_pare({"prune", model, "-o", output});
  INFO(result.out, result.err);
  REQUIRE(result.status == 0);
  CHECK(result.err.empty());

  // 0.5 of 6 rows: 3 pruned; of 5 rows: trunc(2.5) = 2 pruned; fc3 keeps its 3 outputs.
  const auto shapes = parameter_shapes(output);
  CHECK(shapes.at("fc1.weight") == Shape{3, 8});
  CHECK(shapes.at("fc1.bias") == Shape{3});
  CHECK(shapes.at("fc2.weight") == Shape{3, 3});
  CHECK(shapes.at("fc3.weight") == Shape{3, 3});
  CHECK(shapes.at("fc3.bias") == Shape{3});

  // The table: params 54 -> 27, 35 -> 12, fc3 18 -> 12; MACs for 4 rows.
  CHECK(has_line(result.out, {"left out"}));
  CHECK(has_line(result.out, {"fc3", "Linear", "its output is a graph output"}));
  CHECK(has_line(result.out, {"fc1", "Linear", "6 -> 3", "54 -> 27", "192 -> 96"}));
  CHECK(has_line(result.out, {"fc2", "Linear", "5 -> 3", "35 -> 12", "120 -> 36"}));
  CHECK(has_line(result.out, {"fc3", "Linear", "3 -> 3", "18 -> 12", "60 -> 36", "inputs sliced"}));
  CHECK(has_line(result.out, {"total", "107 -> 51 (0.477x)", "372 -> 168 (0.452x)"}));
  CHECK(has_line(result.out, {"output", "max |diff|", "tolerance", "ok"}));
  CHECK(has_line(result.out, {"wrote " + output}));

  // The masked reference: the rows of lowest L1 norm zeroed, bias entries too (prune_bias).
  auto reference = std::make_shared<Mlp>();
  reference->eval();
  {
    pare::NoGradGuard no_grad;
    const Rows pruned1 = lowest_l1_rows(reference->fc1->weight(), 3);
    const Rows pruned2 = lowest_l1_rows(reference->fc2->weight(), 2);
    zero_rows(reference->fc1->weight(), pruned1);
    zero_rows(reference->fc1->bias(), pruned1);
    zero_rows(reference->fc2->weight(), pruned2);
    zero_rows(reference->fc2->bias(), pruned2);
  }
  const Tensor x = random_tensor({7, 8}, 9);  // another batch than the recorded one
  pare::NoGradGuard no_grad;
  CHECK(max_abs_diff(run_model(dir, output, x), reference->forward(x)) <= 1e-5);
  // The original model's output really changes, so the comparison above can fail.
  CHECK(max_abs_diff(run_model(dir, model, x), reference->forward(x)) > 1e-3);
}

TEST_CASE("prune: a CNN with each pruner; conv -> relu -> pool -> conv -> ... -> linear") {
  TempDir dir;
  const std::string model = save_model<Cnn>(dir, "cnn.pare", kCnnInput);
  const Tensor x = random_tensor({3, 3, 8, 8}, 11);
  for (const std::string pruner : {"saliency", "fpgm", "lstm_saliency"}) {
    CAPTURE(pruner);
    const std::string output = dir.file(pruner + ".pare");
    const Result result = run_pare({"prune", model, "-o", output, "--pruner", pruner});
    INFO(result.out, result.err);
    REQUIRE(result.status == 0);
    // Every pruner prunes 4 of 8 filters here (trunc, round-half-even, or 1 per gate block of 2).
    const auto shapes = parameter_shapes(output);
    CHECK(shapes.at("conv1.weight") == Shape{4, 3, 3, 3});
    CHECK(shapes.at("conv2.weight") == Shape{4, 4, 3, 3});
    CHECK(shapes.at("fc.weight") == Shape{4, 4});
    CHECK(has_line(result.out, {"fc", "Linear", "its output is a graph output"}));
    // conv1: 224 params, 2 * 8*8 * 8 * 27 = 27648 MACs; halved out and in for conv2.
    CHECK(has_line(result.out, {"conv1", "Conv2d", "8 -> 4", "224 -> 112", "27648 -> 13824"}));
    CHECK(has_line(result.out, {"conv2", "Conv2d", "8 -> 4", "584 -> 148", "18432 -> 4608"}));
    const Tensor y = run_model(dir, output, x);
    CHECK(y.sizes() == Shape{3, 4});
    if (pruner != "saliency") continue;
    auto reference = std::make_shared<Cnn>();
    reference->eval();
    {
      pare::NoGradGuard no_grad;
      const Rows pruned1 = lowest_l1_rows(reference->conv1->weight(), 4);
      const Rows pruned2 = lowest_l1_rows(reference->conv2->weight(), 4);
      zero_rows(reference->conv1->weight(), pruned1);
      zero_rows(reference->conv1->bias(), pruned1);
      zero_rows(reference->conv2->weight(), pruned2);
      zero_rows(reference->conv2->bias(), pruned2);
    }
    pare::NoGradGuard no_grad;
    CHECK(max_abs_diff(y, reference->forward(x)) <= 1e-4);
  }
}

TEST_CASE("prune: --prune-bias false keeps a conv whose padded consumer sees relu(b) > 0") {
  TempDir dir;
  const std::string model = save_model<Cnn>(dir, "cnn.pare", kCnnInput);
  const std::string output = dir.file("pruned.pare");
  const Result result = run_pare({"prune", model, "-o", output, "--prune-bias", "false"});
  INFO(result.out, result.err);
  REQUIRE(result.status == 0);
  const auto shapes = parameter_shapes(output);
  CHECK(shapes.at("conv1.weight") == Shape{8, 3, 3, 3});  // conv2 pads: not removable
  CHECK(shapes.at("conv2.weight") == Shape{4, 8, 3, 3});  // its constants fold into fc
  CHECK(shapes.at("fc.weight") == Shape{4, 4});
  CHECK(has_line(result.out, {"conv1", "Conv2d", "8 -> 8", "kept its shape (padded consumer)"}));

  // Masked without prune_bias: the pruned rows' weights are zero, their biases stay.
  auto reference = std::make_shared<Cnn>();
  reference->eval();
  {
    pare::NoGradGuard no_grad;
    zero_rows(reference->conv1->weight(), lowest_l1_rows(reference->conv1->weight(), 4));
    zero_rows(reference->conv2->weight(), lowest_l1_rows(reference->conv2->weight(), 4));
  }
  const Tensor x = random_tensor({2, 3, 8, 8}, 12);
  pare::NoGradGuard no_grad;
  CHECK(max_abs_diff(run_model(dir, output, x), reference->forward(x)) <= 1e-4);
}

TEST_CASE("prune: --config names a final layer; its kept outputs are checked") {
  TempDir dir;
  const std::string model = save_model<Mlp>(dir, "mlp.pare", kMlpInput);
  const std::string config = dir.file("config.json");
  write_json(config,
             R"([{"tensor_fqn": "fc3.weight", "sparsity_level": 0.34},
                 {"tensor_fqn": "fc1.weight", "prune_bias": false}])");
  const std::string output = dir.file("pruned.pare");
  const Result result =
      run_pare({"prune", model, "-o", output, "--config", config, "--sparsity", "0.34"});
  INFO(result.out, result.err);
  REQUIRE(result.status == 0);
  CHECK(!has_line(result.out, {"left out"}));
  // fc3: trunc(3 * 0.34) = 1 output pruned; fc1: trunc(6 * 0.34) = 2 rows; fc2 untouched.
  const auto shapes = parameter_shapes(output);
  CHECK(shapes.at("fc3.weight") == Shape{2, 5});
  CHECK(shapes.at("fc1.weight") == Shape{4, 8});
  CHECK(shapes.at("fc2.weight") == Shape{5, 4});
  CHECK(has_line(result.out, {"output, kept 2 of 3 channels of 'fc3'", "ok"}));

  auto reference = std::make_shared<Mlp>();
  reference->eval();
  Rows kept3 = {0, 1, 2};
  {
    pare::NoGradGuard no_grad;
    zero_rows(reference->fc1->weight(), lowest_l1_rows(reference->fc1->weight(), 2));  // bias kept
    const Rows pruned3 = lowest_l1_rows(reference->fc3->weight(), 1);
    kept3.erase(kept3.begin() + pruned3[0]);
  }
  const Tensor x = random_tensor({5, 8}, 13);
  pare::NoGradGuard no_grad;
  const Tensor expected = pare::index_select(reference->forward(x), 1, pare::tensor(kept3, {2}));
  CHECK(max_abs_diff(run_model(dir, output, x), expected) <= 1e-5);
}

TEST_CASE("prune: --masks sets exactly the given rows; other tensors use the pruner") {
  TempDir dir;
  const std::string model = save_model<Cnn>(dir, "cnn.pare", kCnnInput);
  const std::string masks = dir.file("masks.safetensors");
  // conv1 keeps 5 of 8 (U8), conv2 is left to the saliency pruner (4 of 8).
  const std::vector<uint8_t> keep1 = {1, 0, 1, 1, 0, 1, 1, 0};
  pare::write_safetensors(
      masks,
      {{"conv1.weight",
        pare::tensor(std::vector<int64_t>(keep1.begin(), keep1.end()), {8}).to(pare::kUInt8)}});
  const std::string output = dir.file("pruned.pare");
  const Result result = run_pare({"prune", model, "-o", output, "--masks", masks});
  INFO(result.out, result.err);
  REQUIRE(result.status == 0);
  const auto shapes = parameter_shapes(output);
  CHECK(shapes.at("conv1.weight") == Shape{5, 3, 3, 3});
  CHECK(shapes.at("conv2.weight") == Shape{4, 5, 3, 3});

  auto reference = std::make_shared<Cnn>();
  reference->eval();
  {
    pare::NoGradGuard no_grad;
    const Rows pruned1 = {1, 4, 7};
    zero_rows(reference->conv1->weight(), pruned1);
    zero_rows(reference->conv1->bias(), pruned1);
    const Rows pruned2 = lowest_l1_rows(reference->conv2->weight(), 4);
    zero_rows(reference->conv2->weight(), pruned2);
    zero_rows(reference->conv2->bias(), pruned2);
  }
  const Tensor x = random_tensor({2, 3, 8, 8}, 14);
  pare::NoGradGuard no_grad;
  CHECK(max_abs_diff(run_model(dir, output, x), reference->forward(x)) <= 1e-4);

  // A BOOL mask naming the final layer adds it to the groups.
  const std::string final_masks = dir.file("final.safetensors");
  pare::write_safetensors(final_masks, {{"fc.weight", pare::bool_tensor({1, 1, 0, 1}, {4})}});
  const Result final_run = run_pare({"prune", model, "-o", output, "--masks", final_masks});
  INFO(final_run.out, final_run.err);
  REQUIRE(final_run.status == 0);
  CHECK(parameter_shapes(output).at("fc.weight") == Shape{3, 4});
  CHECK(has_line(final_run.out, {"kept 3 of 4 channels of 'fc'", "ok"}));
  CHECK(has_line(final_run.out, {"fc", "Linear", "4 -> 3", "36 -> 15"}));
  CHECK(!has_line(final_run.out, {"left out"}));
}

TEST_CASE("prune: LSTM -> Linear; the check compares the kept units at the first step") {
  TempDir dir;
  const std::string model = save_model<LstmNet>(dir, "lstm.pare", kLstmInput);
  const std::string output = dir.file("pruned.pare");
  const Result result = run_pare({"prune", model, "-o", output, "--pruner", "lstm_saliency"});
  INFO(result.out, result.err);
  REQUIRE(result.status == 0);
  auto shapes = parameter_shapes(output);
  // trunc(8 * 0.5) = 4 units per gate: hidden 8 -> 4.
  CHECK(shapes.at("lstm.weight_ih_l0") == Shape{16, 3});
  CHECK(shapes.at("lstm.weight_hh_l0") == Shape{16, 4});
  CHECK(shapes.at("head.weight") == Shape{2, 4});
  CHECK(has_line(result.out, {"head", "Linear", "its output is a graph output"}));
  CHECK(has_line(result.out, {"lstm", "LSTM", "8 -> 4"}));
  CHECK(has_line(result.out, {"LSTM 'lstm' at step 0, kept 4 of 8 units", "ok"}));

  // Explicit masks pruning units 1, 4 and 6 in every gate: at step 0 (zero state), the kept
  // units of the masked LSTM feed the head's kept columns.
  const Rows pruned_units = {1, 4, 6}, kept_units = {0, 2, 3, 5, 7};
  std::vector<uint8_t> keep(32, 1);
  Rows pruned_rows;
  for (int64_t gate = 0; gate < 4; ++gate)
    for (int64_t unit : pruned_units) {
      keep[gate * 8 + unit] = 0;
      pruned_rows.push_back(gate * 8 + unit);
    }
  const std::string masks = dir.file("masks.safetensors");
  pare::write_safetensors(masks, {{"lstm.weight_ih_l0", pare::bool_tensor(keep, {32})},
                                  {"lstm.weight_hh_l0", pare::bool_tensor(keep, {32})}});
  const Result masked_run = run_pare({"prune", model, "-o", output, "--masks", masks});
  INFO(masked_run.out, masked_run.err);
  REQUIRE(masked_run.status == 0);
  shapes = parameter_shapes(output);
  CHECK(shapes.at("lstm.weight_hh_l0") == Shape{20, 5});
  CHECK(shapes.at("head.weight") == Shape{2, 5});

  auto reference = std::make_shared<LstmNet>();
  reference->eval();
  pare::NoGradGuard no_grad;
  zero_rows(reference->lstm->get_parameter("weight_ih_l0"), pruned_rows);
  zero_rows(reference->lstm->get_parameter("weight_hh_l0"), pruned_rows);
  const Tensor x = random_tensor({3, 5, 3}, 15);
  const Tensor first_step = std::get<0>(reference->lstm(x)).select(1, 0);  // [3, 8]
  const Tensor kept = pare::index_select(first_step, 1, pare::tensor(kept_units, {5}));
  const Tensor head_weight =
      pare::index_select(reference->head->weight(), 1, pare::tensor(kept_units, {5}));
  const Tensor expected = pare::linear(kept, head_weight, reference->head->bias());
  const Tensor y = run_model(dir, output, x);
  REQUIRE(y.sizes() == Shape{3, 5, 2});
  CHECK(max_abs_diff(y.select(1, 0), expected) <= 1e-5);
}

TEST_CASE("prune: a 2-layer LSTM is checked on its first layer's kept units at step 0") {
  // Units 1, 4 and 6 masked in every gate of both layers. In the masked 2-layer LSTM a pruned
  // unit of layer 0 still emits sigmoid(b_o) * tanh(c) != 0 (its gates see only their biases)
  // into layer 1, whose pruned weight_ih_l1 no longer reads it, so only layer 0's kept units
  // agree at the first step (pruning.md): that is what the check compares, with or without
  // biases.
  TempDir dir;
  std::vector<uint8_t> keep(32, 1);
  for (int64_t gate = 0; gate < 4; ++gate)
    for (int64_t unit : {1, 4, 6}) keep[gate * 8 + unit] = 0;
  const std::string masks = dir.file("masks.safetensors");
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const std::string name : {"weight_ih_l0", "weight_hh_l0", "weight_ih_l1", "weight_hh_l1"})
    tensors.emplace_back("lstm." + name, pare::bool_tensor(keep, {32}));
  pare::write_safetensors(masks, tensors);

  const std::string output = dir.file("pruned.pare");
  for (const std::string& model :
       {save_model<StackedLstm<true>>(dir, "biased.pare", kLstmInput),
        save_model<StackedLstm<false>>(dir, "unbiased.pare", kLstmInput)}) {
    const Result result = run_pare({"prune", model, "-o", output, "--masks", masks});
    INFO(result.out, result.err);
    REQUIRE(result.status == 0);
    CHECK(has_line(result.out, {"LSTM 'lstm' at step 0, kept 5 of 8 units (layer 0 of 2)", "ok"}));
    CHECK(parameter_shapes(output).at("lstm.weight_ih_l1") == Shape{20, 5});
    CHECK(parameter_shapes(output).at("lstm.weight_hh_l1") == Shape{20, 5});
    fs::remove(output);
  }
}

// fc2(rrelu(fc1(x), training = true)): the forward draws new random slopes on every run, so the
// pruned graph cannot reproduce the masked run and the check must refuse to write it.
struct NoisyMlp : nn::Module {
  NoisyMlp() {
    fc1 = register_module("fc1", nn::Linear(4, 6));
    fc2 = register_module("fc2", nn::Linear(6, 2));
    fill_parameters(*this, 80);
  }
  Tensor forward(const Tensor& x) { return fc2(pare::rrelu(fc1(x), 0.1, 0.9, true)); }
  nn::Linear fc1{nullptr}, fc2{nullptr};
};

TEST_CASE("prune: the check refuses a pruned model that differs from the masked one") {
  TempDir dir;
  auto model = std::make_shared<NoisyMlp>();
  const std::string path = dir.file("noisy.pare");
  pare::ir::TraceOptions trace_options;
  trace_options.check = false;  // the forward is random: the trace cannot reproduce it either
  pare::ir::save(pare::ir::trace(model, {random_tensor({8, 4}, 1)}, trace_options), path);
  const std::string output = dir.file("pruned.pare");
  const Result refused = run_pare({"prune", path, "-o", output});
  INFO(refused.out, refused.err);
  check_file_error_ignoring_stdout(refused, path, "does not reproduce the masked model");
  CHECK(refused.err.find(output + " not written") != std::string::npos);
  CHECK(has_line(refused.out, {"FAILED"}));
  CHECK_FALSE(fs::exists(output));

  const Result unchecked = run_pare({"prune", path, "-o", output, "--no-verify"});
  REQUIRE(unchecked.status == 0);
  CHECK(has_line(unchecked.out, {"check: skipped (--no-verify)"}));
  CHECK(parameter_shapes(output).at("fc1.weight") == Shape{3, 4});
}

TEST_CASE("prune: refusals exit 1 naming the file and the entry, writing nothing") {
  TempDir dir;
  const std::string model = save_model<Cnn>(dir, "cnn.pare", kCnnInput);
  const std::string output = dir.file("out.pare");
  auto prune_with = [&](std::vector<std::string> extra) {
    std::vector<std::string> arguments = {"prune", model, "-o", output};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    const Result result = run_pare(arguments);
    CHECK_FALSE(fs::exists(output));
    return result;
  };

  const std::string missing = dir.file("missing.pare");
  check_file_error_ignoring_stdout(run_pare({"prune", missing, "-o", output}), missing);
  CHECK_FALSE(fs::exists(output));
  check_file_error_ignoring_stdout(run_pare({"prune", model, "-o", model}), model,
                                   "is the model file");

  const std::string config = dir.file("config.json");
  write_json(config, "[{\"tensor_fqn\": \"conv1.weight\",}]");
  check_file_error_ignoring_stdout(prune_with({"--config", config}), config, "not valid JSON");
  write_json(config, R"({"tensor_fqn": "conv1.weight"})");
  check_file_error_ignoring_stdout(prune_with({"--config", config}), config,
                                   "expected a JSON array");
  write_json(config, R"([{"tensor_fqn": "conv1.weight"}, {"sparsity_level": 0.2}])");
  check_file_error_ignoring_stdout(prune_with({"--config", config}), config,
                                   "entry 1 ({\"sparsity_level\":0.2}): \"tensor_fqn\"");
  write_json(config, R"([{"tensor_fqn": "conv1.weight", "sparsity_level": 2}])");
  check_file_error_ignoring_stdout(prune_with({"--config", config}), config, "entry 0");
  write_json(config, R"([{"tensor_fqn": "conv9.weight"}])");
  check_file_error_ignoring_stdout(prune_with({"--config", config}), config, "no module 'conv9'");
  check_file_error_ignoring_stdout(prune_with({"--config", dir.file("absent.json")}),
                                   dir.file("absent.json"), "cannot open");

  const std::string masks = dir.file("masks.safetensors");
  pare::write_safetensors(masks, {{"conv1.weight", pare::bool_tensor({1, 0, 1, 1, 0}, {5})}});
  check_file_error_ignoring_stdout(prune_with({"--masks", masks}), masks,
                                   "mask 'conv1.weight' has shape [5] but conv1.weight has 8 rows");
  pare::write_safetensors(masks, {{"conv7.weight", pare::bool_tensor({1, 0}, {2})}});
  check_file_error_ignoring_stdout(prune_with({"--masks", masks}), masks,
                                   "the model has no tensor 'conv7.weight'");
  pare::write_safetensors(masks, {{"conv1.weight", pare::full({8}, 1.0f)}});
  check_file_error_ignoring_stdout(prune_with({"--masks", masks}), masks,
                                   "mask 'conv1.weight' is F32");
  pare::write_safetensors(masks,
                          {{"conv1.bias", pare::bool_tensor(std::vector<uint8_t>(8, 1), {8})}});
  check_file_error_ignoring_stdout(prune_with({"--masks", masks}), masks, "mask 'conv1.bias'");

  // Nothing qualifies: the LSTM's state and the head are graph outputs.
  const std::string tagger = save_model<Tagger>(dir, "tagger.pare", kLstmInput);
  const Result nothing = run_pare({"prune", tagger, "-o", output});
  INFO(nothing.out);
  CHECK(nothing.status == 1);
  CHECK(nothing.err.rfind("pare: " + tagger + ": nothing to prune", 0) == 0);
  CHECK(
      has_line(nothing.out, {"lstm", "LSTM", "its output is a graph output through 'getitem_1'"}));
  CHECK(has_line(nothing.out, {"head", "Linear", "its output is a graph output"}));
  CHECK_FALSE(fs::exists(output));
}

TEST_CASE("prune: wrong usage exits 2 with the usage") {
  check_usage_error(run_pare({"prune"}), "MODEL.pare");
  check_usage_error(run_pare({"prune", "m.pare"}), "-o/--output OUT.pare is required");
  check_usage_error(run_pare({"prune", "m.pare", "-o", "o.pare", "--pruner", "magnitude"}),
                    "--pruner expects saliency, lstm_saliency or fpgm");
  check_usage_error(run_pare({"prune", "m.pare", "-o", "o.pare", "--sparsity", "1.5"}),
                    "--sparsity expects a number in [0, 1)");
  check_usage_error(run_pare({"prune", "m.pare", "-o", "o.pare", "--sparsity", "half"}),
                    "--sparsity expects a number");
  check_usage_error(run_pare({"prune", "m.pare", "-o", "o.pare", "--prune-bias", "yes"}),
                    "--prune-bias expects true or false");
  check_usage_error(run_pare({"prune", "m.pare", "-o", "o.pare", "--bogus"}), "--bogus");
  const Result help = run_pare({"prune", "--help"});
  CHECK(help.status == 0);
  CHECK(help.out.rfind("usage: pare prune MODEL.pare", 0) == 0);
  CHECK(run_pare({"--help"}).out.find("prune") != std::string::npos);
}

// `pare prune --groups` (docs/cli.md), run as a separate process on small traced models saved as
// .pare: the pruned file loads and runs; its parameter count is the report's params.after and its
// conv widths the expected halves; the report has the contract's keys and its kept indices
// rebuild every pruned tensor from the dense file; and, independently of the CLI's own check,
// the pruned model equals the dense one with the report's removed channels zeroed on every edge
// of their groups (group_slicing.h, from a DependencyGraph built here). Also --explain, the
// options (--ratios, --round-to, --global / --max-ratio, --target-macs, --importance random
// --seed), and the refusals: exit 1 naming the file, exit 2 on wrong usage, nothing written.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "group_models.h"
#include "group_slicing.h"
#include "pare/ir/model_stats.h"
#include "pare/ir/pare_file.h"
#include "pare/ir/tracer.h"
#include "pare/models/models.h"
#include "pare/pare.h"
#include "pare/passes/pruning/dependency_graph.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
namespace nn = pare::nn;
using Json = nlohmann::json;
using pare::Shape;
using pare::Tensor;
using pare::ir::GraphModule;
using pare::testing::check_file_error;
using pare::testing::check_file_error_ignoring_stdout;
using pare::testing::has_line;
using pare::testing::random_tensor;
using pare::testing::Result;
using pare::testing::run_pare;
using pare::testing::TempDir;
using pare::testing::TracedModel;

// A zoo model with every parameter and BatchNorm statistic random (as the group tests draw them),
// traced on `input_shape` and saved.
template <typename Holder>
std::string save_zoo(const TempDir& dir, const std::string& name, Holder net,
                     const Shape& input_shape) {
  pare::testing::randomize_parameters(*net.ptr(), 11);
  net->eval();
  const std::string path = dir.file(name);
  pare::ir::save(pare::ir::trace(net.ptr(), {random_tensor(input_shape, 1011)}), path);
  return path;
}

std::string save_small_resnet18(const TempDir& dir) {
  pare::manual_seed(5);
  return save_zoo(
      dir, "resnet18.pare",
      pare::models::resnet18(
          pare::models::ResNetOptions().base_width(8).small_input(true).num_classes(10)),
      {2, 3, 16, 16});
}

std::string save_traced(const TempDir& dir, const TracedModel& model) {
  const std::string path = dir.file(model.name + ".pare");
  pare::ir::save(model.gm, path);
  return path;
}

Json read_json(const std::string& path) { return Json::parse(pare::testing::read_text(path)); }

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::map<std::string, Tensor> state_of(const GraphModule& gm) {
  std::map<std::string, Tensor> state;
  for (const auto& [name, value] : gm.root_ptr()->state_dict()) state[name] = value;
  return state;
}

int64_t parameter_count(const GraphModule& gm) {
  int64_t count = 0;
  for (const auto& [name, value] : gm.root_ptr()->named_parameters()) count += value.numel();
  return count;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  const std::vector<float> x = pare::to_float_vector(a.contiguous());
  const std::vector<float> y = pare::to_float_vector(b.contiguous());
  double diff = 0.0;
  for (size_t i = 0; i < x.size(); ++i) diff = std::max(diff, std::fabs(double{x[i]} - y[i]));
  return diff;
}

Tensor output_of(GraphModule& gm, const Tensor& input) {
  pare::NoGradGuard no_grad;
  return gm.interpret({input}).flatten().at(0).second;
}

std::vector<std::string> prune_arguments(const std::string& model, const std::string& output,
                                         std::vector<std::string> extra) {
  std::vector<std::string> arguments = {"prune", model, "-o", output, "--groups"};
  arguments.insert(arguments.end(), extra.begin(), extra.end());
  return arguments;
}

// What every successful run must give: the output loads and runs, its parameters are the
// report's params.after (and the dense file's params.before), every changed tensor is the dense
// one sliced by the report's kept indices (every other one unchanged), and the pruned model
// equals the dense model with the report's removed channels zeroed on every edge of their
// groups, from a DependencyGraph of the dense file built here with the same options.
void check_pruned(const std::string& dense_path, const std::string& pruned_path, const Json& report,
                  const pare::pruning::DependencyGraphOptions& graph_options) {
  GraphModule dense = pare::ir::load(dense_path);
  GraphModule pruned = pare::ir::load(pruned_path);
  dense.eval();
  pruned.eval();
  pare::ir::model_stats(dense);  // every node's shapes, which zero_group_edges sizes its masks by
  for (const char* key : {"params", "macs", "groups", "tensors", "not_prunable"})
    REQUIRE_MESSAGE(report.contains(key), key);
  CHECK(report["params"]["before"].get<int64_t>() == parameter_count(dense));
  CHECK(report["params"]["after"].get<int64_t>() == parameter_count(pruned));
  CHECK(report["params"]["after"].get<int64_t>() < report["params"]["before"].get<int64_t>());
  CHECK(report["macs"]["after"].get<int64_t>() < report["macs"]["before"].get<int64_t>());
  for (const Json& group : report["groups"])
    for (const char* key : {"id", "root", "unit", "size_before", "size_after", "members", "removed",
                            "importance", "folded"})
      CHECK_MESSAGE(group.contains(key), key);

  const std::map<std::string, Tensor> before = state_of(dense), after = state_of(pruned);
  CHECK(before.size() == after.size());
  for (const auto& [name, value] : before) {
    INFO(name);
    REQUIRE(after.count(name));
    Tensor expected = value;
    if (report["tensors"].contains(name)) {
      const Json& entry = report["tensors"][name];
      CHECK(entry["before"].get<Shape>() == value.sizes());
      CHECK(entry["after"].get<Shape>() == after.at(name).sizes());
      for (const auto& [axis, kept] : entry["kept"].items()) {
        const std::vector<int64_t> indices = kept.get<std::vector<int64_t>>();
        CHECK(std::is_sorted(indices.begin(), indices.end()));
        expected =
            pare::index_select(expected, std::stoll(axis),
                               pare::tensor(indices, {static_cast<int64_t>(indices.size())}));
      }
    }
    CHECK(max_abs_diff(expected, after.at(name)) == 0.0);
  }

  const Tensor input = random_tensor(dense.graph().placeholders()[0]->meta.at(0).shape, 77);
  const Tensor pruned_output = output_of(pruned, input);
  const pare::pruning::DependencyGraph graph(dense, graph_options);
  for (const Json& entry : report["groups"]) {
    const std::vector<int64_t> removed = entry["removed"].get<std::vector<int64_t>>();
    if (removed.empty()) continue;
    const auto group = std::find_if(
        graph.groups().begin(), graph.groups().end(),
        [&](const pare::pruning::Group& g) { return g.id == entry["id"].get<int64_t>(); });
    REQUIRE(group != graph.groups().end());
    CHECK(group->size == entry["size_before"].get<int64_t>());
    std::vector<int64_t> kept;
    for (int64_t c = 0; c < group->size; ++c)
      if (!std::binary_search(removed.begin(), removed.end(), c)) kept.push_back(c);
    CHECK(static_cast<int64_t>(kept.size()) == entry["size_after"].get<int64_t>());
    pare::testing::zero_group_edges(dense, *group, kept);
  }
  const Tensor zeroed_output = output_of(dense, input);
  // Relative to the outputs' size: the two sum the same products in different orders.
  double magnitude = 1.0;
  for (float value : pare::to_float_vector(zeroed_output.contiguous()))
    magnitude = std::max(magnitude, std::fabs(double{value}));
  CHECK(max_abs_diff(zeroed_output, pruned_output) <= 1e-4 * magnitude);
}

Shape weight_shape(const GraphModule& gm, const std::string& name) {
  return gm.attribute(name).sizes();
}

TEST_CASE("prune --groups: a small ResNet-18 at ratio 0.5 with fc ignored halves every conv") {
  TempDir dir;
  const std::string model = save_small_resnet18(dir);
  const std::string output = dir.file("pruned.pare"), report_path = dir.file("report.json");
  const Result result =
      run_pare(prune_arguments(model, output, {"--ignore", "fc", "--report", report_path}));
  INFO(result.out, result.err);
  REQUIRE(result.status == 0);
  CHECK(result.err.empty());
  const Json report = read_json(report_path);
  check_pruned(model, output, report, {.ignored_layers = {"fc"}});

  GraphModule dense = pare::ir::load(model), pruned = pare::ir::load(output);
  int64_t convs = 0;
  for (const auto& [name, value] : dense.root_ptr()->named_parameters()) {
    if (value.dim() != 4) continue;
    INFO(name);
    ++convs;
    const Shape expected = {value.size(0) / 2, value.size(1) == 3 ? 3 : value.size(1) / 2,
                            value.size(2), value.size(3)};
    CHECK(weight_shape(pruned, name) == expected);
  }
  CHECK(convs == 20);  // stem, 16 in the blocks, 3 downsamples
  CHECK(weight_shape(pruned, "fc.weight") == Shape{10, 32});
  CHECK(output_of(pruned, random_tensor({3, 3, 16, 16}, 4)).sizes() == Shape{3, 10});

  // The printed table, the layers not pruned and the check.
  CHECK(has_line(result.out, {"groups, importance l2, local, ratio 0.5"}));
  CHECK(has_line(result.out, {"conv1", "Conv2d", "8 -> 4"}));
  CHECK(has_line(result.out, {"layer4.1.bn2", "BatchNorm2d", "64 -> 32"}));
  CHECK(has_line(result.out, {"fc", "Linear", "10 -> 10", "inputs sliced"}));
  CHECK(has_line(result.out,
                 {"total", std::to_string(report["params"]["before"].get<int64_t>()) + " -> " +
                               std::to_string(report["params"]["after"].get<int64_t>())}));
  CHECK(has_line(result.out, {"fc", "ignored"}));
  CHECK(has_line(result.out, {"tensors:", "max |diff| 0.00e+00", "ok"}));
  CHECK(has_line(result.out, {"output", "ok"}));
  CHECK(has_line(result.out, {"wrote " + output + " and " + report_path}));
}

TEST_CASE("prune --groups: MobileNetV2, DenseNet and the group models") {
  TempDir dir;
  SUBCASE("a tiny MobileNetV2") {
    pare::manual_seed(8);
    const std::string model =
        save_zoo(dir, "mobilenet_v2.pare",
                 pare::models::mobilenet_v2(
                     pare::models::MobileNetV2Options().width_mult(0.25).num_classes(4)),
                 {1, 3, 32, 32});
    const std::string output = dir.file("out.pare"), report = dir.file("report.json");
    const Result result = run_pare(prune_arguments(
        model, output, {"--ignore", "classifier.1", "--report", report, "--ratio", "0.3"}));
    INFO(result.out, result.err);
    REQUIRE(result.status == 0);
    check_pruned(model, output, read_json(report), {.ignored_layers = {"classifier.1"}});
  }
  SUBCASE("a tiny DenseNet, its concats offset-mapped") {
    pare::manual_seed(9);
    const std::string model = save_zoo(dir, "densenet.pare",
                                       pare::models::densenet(pare::models::DenseNetOptions()
                                                                  .growth_rate(4)
                                                                  .block_config({2, 3})
                                                                  .init_features(8)
                                                                  .num_classes(5)),
                                       {2, 3, 16, 16});
    const std::string output = dir.file("out.pare"), report = dir.file("report.json");
    const Result result =
        run_pare(prune_arguments(model, output, {"--ignore", "classifier", "--report", report}));
    INFO(result.out, result.err);
    REQUIRE(result.status == 0);
    check_pruned(model, output, read_json(report), {.ignored_layers = {"classifier"}});
  }
  SUBCASE("ResNet blocks, an inverted residual, flatten into Linear") {
    for (const TracedModel& traced :
         {pare::testing::resnet_blocks(), pare::testing::inverted_residual(),
          pare::testing::flatten_linear()}) {
      INFO(traced.name);
      const std::string model = save_traced(dir, traced);
      const std::string output = dir.file(traced.name + "_out.pare");
      const std::string report = dir.file(traced.name + ".json");
      const Result result = run_pare(prune_arguments(model, output, {"--report", report}));
      INFO(result.out, result.err);
      REQUIRE(result.status == 0);
      check_pruned(model, output, read_json(report), {});
    }
  }
  SUBCASE("--allow-output-change lets the final layer shrink; the check compares its kept rows") {
    const std::string model = save_traced(dir, pare::testing::conv_bn_relu());
    const std::string output = dir.file("out.pare"), report = dir.file("report.json");
    const Result result =
        run_pare(prune_arguments(model, output, {"--allow-output-change", "--report", report}));
    INFO(result.out, result.err);
    REQUIRE(result.status == 0);
    CHECK(weight_shape(pare::ir::load(output), "fc.weight") == Shape{2, 3});
    CHECK(has_line(result.out, {"output, kept 2 of 4 along axis 1", "ok"}));
    CHECK(read_json(report)["tensors"]["fc.weight"]["kept"].contains("0"));
  }
  SUBCASE("a LayerNorm in a group: tensors checked, outputs not compared, and it says so") {
    const std::string model = save_traced(dir, pare::testing::layer_norm_stream());
    const std::string output = dir.file("out.pare");
    const Result result = run_pare(prune_arguments(model, output, {"--ignore", "head"}));
    INFO(result.out, result.err);
    REQUIRE(result.status == 0);
    CHECK(has_line(result.out, {"outputs", "not compared", "LayerNorm"}));
    CHECK(has_line(result.out, {"tensors:", "ok"}));
    CHECK(pare::ir::load(output).attribute("fc1.weight").size(0) == 8);
  }
}

TEST_CASE("prune --groups: the options reach the pruner") {
  TempDir dir;
  const std::string model = save_traced(dir, pare::testing::conv_bn_relu());
  const std::string output = dir.file("out.pare"), report = dir.file("report.json");
  auto run_ok = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), {"--report", report});
    const Result result = run_pare(prune_arguments(model, output, extra));
    INFO(result.out, result.err);
    REQUIRE(result.status == 0);
    return pare::ir::load(output);
  };

  SUBCASE("--ratios overrides --ratio per layer") {
    const std::string ratios = dir.file("ratios.json");
    write_text(ratios, R"({"conv1": 0.25})");
    GraphModule pruned = run_ok({"--ratios", ratios, "--ratio", "0.5"});
    CHECK(weight_shape(pruned, "conv1.weight")[0] == 6);  // 8 - int(8 * 0.75)
    CHECK(weight_shape(pruned, "conv2.weight")[0] == 3);
  }
  SUBCASE("--round-to keeps multiples") {
    GraphModule pruned = run_ok({"--ratio", "0.3", "--round-to", "4"});
    CHECK(weight_shape(pruned, "conv1.weight")[0] == 4);  // int(8 * 0.7) = 5, down to 4
  }
  SUBCASE("--global with --max-ratio: no group loses more than the cap") {
    GraphModule pruned = run_ok({"--global", "--ratio", "0.6", "--max-ratio", "0.5"});
    const int64_t conv1 = weight_shape(pruned, "conv1.weight")[0];
    const int64_t conv2 = weight_shape(pruned, "conv2.weight")[0];
    CHECK(conv1 >= 4);
    CHECK(conv2 >= 3);
    CHECK(conv1 + conv2 < 14);
  }
  SUBCASE("--target-macs: the conv and linear MACs end at most at the target") {
    run_ok({"--target-macs", "0.5"});
    const Json written = read_json(report);
    CHECK(written["macs"]["after"].get<int64_t>() <= written["macs"]["before"].get<int64_t>() / 2);
  }
  SUBCASE("--importance random --seed N: the same seed keeps the same channels") {
    run_ok({"--importance", "random", "--seed", "3"});
    const Json first = read_json(report);
    run_ok({"--importance", "random", "--seed", "3"});
    CHECK(read_json(report)["tensors"] == first["tensors"]);
    CHECK(first["importance"] == "random");
  }
  SUBCASE("--ignore takes repeats and commas") {
    GraphModule pruned = run_ok({"--ignore", "conv1,fc"});
    CHECK(weight_shape(pruned, "conv1.weight")[0] == 8);
    CHECK(weight_shape(pruned, "conv2.weight")[0] == 3);
    GraphModule again = run_ok({"--ignore", "conv2", "--ignore", "fc"});
    CHECK(weight_shape(again, "conv1.weight")[0] == 4);
    CHECK(weight_shape(again, "conv2.weight")[0] == 6);
  }
}

TEST_CASE("prune --groups --explain: the groups and why each other layer is not prunable") {
  TempDir dir;
  const std::string model = save_small_resnet18(dir);
  const std::set<fs::path> files_before(fs::directory_iterator(dir.path), {});
  const Result ignored = run_pare({"prune", model, "--groups", "--explain", "--ignore", "fc"});
  INFO(ignored.out, ignored.err);
  REQUIRE(ignored.status == 0);
  CHECK(has_line(ignored.out, {"not prunable:"}));
  CHECK(has_line(ignored.out, {"fc: ignored"}));
  CHECK(has_line(ignored.out, {"layer1.0.conv2"}));
  const Result plain = run_pare({"prune", model, "--groups", "--explain"});
  REQUIRE(plain.status == 0);
  // The classifier is the graph output: blocked, with the path that blocks it.
  CHECK(has_line(plain.out, {"fc:", "output", "(path", "fc"}));
  CHECK(std::set<fs::path>(fs::directory_iterator(dir.path), {}) == files_before);
}

struct NoisyNet : nn::Module {
  NoisyNet() {
    conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(3, 4, 3)));
    fc = register_module("fc", nn::Linear(4, 2));
    pare::testing::fill_parameters(*this, 80);
  }
  Tensor forward(const Tensor& x) {
    return fc(pare::adaptive_avg_pool2d(pare::rrelu(conv(x), 0.1, 0.9, true), 1).flatten(1));
  }
  nn::Conv2d conv{nullptr};
  nn::Linear fc{nullptr};
};

TEST_CASE("prune --groups: refusals exit 1 naming the file, writing nothing") {
  TempDir dir;
  const std::string model = save_traced(dir, pare::testing::conv_bn_relu());
  const std::string output = dir.file("out.pare"), report = dir.file("report.json");
  auto refused = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), {"--report", report});
    const Result result = run_pare(prune_arguments(model, output, extra));
    CHECK_FALSE(fs::exists(output));
    CHECK_FALSE(fs::exists(report));
    return result;
  };
  check_file_error(refused({"--ignore", "conv9"}), model, "--ignore 'conv9': the graph calls no");

  const std::string ratios = dir.file("ratios.json");
  write_text(ratios, "{\"conv1\": 0.3,}");
  check_file_error(refused({"--ratios", ratios}), ratios, "not valid JSON");
  write_text(ratios, "[0.3]");
  check_file_error(refused({"--ratios", ratios}), ratios, "expected a JSON object");
  write_text(ratios, R"({"conv1": 2})");
  check_file_error(refused({"--ratios", ratios}), ratios, "layer 'conv1': the ratio must be");
  write_text(ratios, R"({"conv7": 0.2})");
  check_file_error(refused({"--ratios", ratios}), ratios, "layer 'conv7'");
  write_text(ratios, R"({"fc": 0.2})");  // the output layer
  check_file_error(refused({"--ratios", ratios}), ratios, "'fc'");
  check_file_error(refused({"--ratios", dir.file("absent.json")}), dir.file("absent.json"),
                   "cannot open");
  check_file_error_ignoring_stdout(run_pare(prune_arguments(model, model, {})), model,
                                   "an input of this command");

  // Nothing prunable: softmax over the channels blocks conv1, conv2 is ignored.
  const std::string blocked = save_traced(dir, pare::testing::softmax_over_channels());
  const Result none = run_pare(prune_arguments(blocked, output, {"--ignore", "conv2"}));
  check_file_error_ignoring_stdout(none, blocked, "nothing to prune");
  CHECK(has_line(none.out, {"conv1", "softmax"}));
  CHECK_FALSE(fs::exists(output));

  check_file_error_ignoring_stdout(refused({"--ratio", "0"}), model,
                                   "keeps all its channels at local, ratio 0; raise --ratio");

  // A model whose forward is random: the pruned model cannot match the dense one.
  auto noisy = std::make_shared<NoisyNet>();
  pare::ir::TraceOptions trace_options;
  trace_options.check = false;
  const std::string noisy_path = dir.file("noisy.pare");
  pare::ir::save(pare::ir::trace(noisy, {random_tensor({2, 3, 6, 6}, 1)}, trace_options),
                 noisy_path);
  const Result differs = run_pare(prune_arguments(noisy_path, output, {"--report", report}));
  check_file_error_ignoring_stdout(differs, noisy_path, "does not match the dense one");
  CHECK(differs.err.find(output + " not written") != std::string::npos);
  CHECK(has_line(differs.out, {"FAILED"}));
  CHECK_FALSE(fs::exists(output));
  CHECK_FALSE(fs::exists(report));
  const Result unchecked = run_pare(prune_arguments(noisy_path, output, {"--no-verify"}));
  CHECK(unchecked.status == 0);
  CHECK(has_line(unchecked.out, {"check: skipped (--no-verify)"}));
}

void check_usage_error(const Result& result, const std::string& also) {
  INFO("stderr: ", result.err);
  CHECK(result.status == 2);
  CHECK(result.err.find("usage: pare prune MODEL.pare") != std::string::npos);
  CHECK(result.err.find(also) != std::string::npos);
  CHECK(result.out.empty());
}

TEST_CASE("prune --groups: wrong usage exits 2 with the usage") {
  const std::vector<std::string> base = {"prune", "m.pare", "-o", "o.pare", "--groups"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> arguments = base;
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    return run_pare(arguments);
  };
  check_usage_error(
      with({"--importance", "magnitude"}),
      "--importance expects l1, l2, fpgm, bn_scale, lamp, random or taylor, got 'magnitude'");
  check_usage_error(with({"--importance", "taylor"}), "calibration");
  check_usage_error(with({"--ratio", "1.5"}), "--ratio expects a number in [0, 1)");
  check_usage_error(with({"--ratio", "half"}), "--ratio expects a number");
  check_usage_error(with({"--round-to", "0"}), "--round-to expects a positive integer");
  check_usage_error(with({"--max-ratio", "0.5"}), "--max-ratio applies to --global");
  check_usage_error(with({"--global", "--max-ratio", "1"}), "--max-ratio expects a number");
  check_usage_error(with({"--ratio", "0.3", "--target-macs", "0.5"}), "give one");
  check_usage_error(with({"--target-macs", "0"}), "--target-macs expects a number in (0, 1]");
  check_usage_error(with({"--seed", "3"}), "--seed applies to --importance random");
  check_usage_error(with({"--pruner", "fpgm"}), "--pruner belongs to the chain flow");
  check_usage_error(with({"--ignore", "a,,b"}), "--ignore expects layer names");
  check_usage_error(run_pare({"prune", "m.pare", "--groups"}), "-o/--output OUT.pare is required");
  check_usage_error(run_pare({"prune", "m.pare", "-o", "o.pare", "--explain"}),
                    "--explain belongs to --groups");
  check_usage_error(run_pare({"prune", "m.pare", "-o", "o.pare", "--ratio", "0.5"}),
                    "--ratio belongs to --groups");
  const Result help = run_pare({"prune", "--help"});
  CHECK(help.status == 0);
  CHECK(help.out.find("--groups") != std::string::npos);
  CHECK(help.out.find("--target-macs R") != std::string::npos);
}

}  // namespace

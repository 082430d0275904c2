// `pare prune --groups --importance taylor --calibration FILE [--batch-size B]` (docs/cli.md), run
// as a separate process. On a model built so that taylor and l2 choose different channels, the
// report's taylor scores are checked against finite differences computed here: a channel's
// first-order Taylor score over a member is |d loss / d s| for its slice scaled by (1 + s) at
// s = 0, with the loss summed over the same batches and written out by hand (cross-entropy, or
// the sum of squares without a target). Also the refusals: exit 1 naming the file and the tensor,
// exit 2 on wrong usage.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "group_models.h"
#include "pare/ir/pare_file.h"
#include "pare/pare.h"
#include "pare/safetensors.h"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using pare::Tensor;
using pare::ir::GraphModule;
using pare::testing::check_file_error;
using pare::testing::Result;
using pare::testing::run_pare;
using pare::testing::TempDir;

// conv1 (2 -> 4, 1x1) -> relu -> conv2 (4 -> 2, 1x1) -> mean over space -> [N, 2], the
// output blocking conv2: one prunable group, conv1's 4 channels. By channel:
//   conv1.weight rows     [3, 0]   [0, 3]   [1, 0]   [0, 1]
//   conv1.bias            0.3      -1       -0.5     -1
//   conv2.weight columns  [.5, -.4] [.6, .3]  [.7, -.2] [.8, .1]
// l2 reads 9 + 0.41, 9 + 0.45, 1 + 0.53, 1 + 0.65 (over 2): at ratio 0.5 channels 2 and 3 go. The
// calibration input's channel 1 is zero, so channels 1 and 3 never fire (their bias is negative):
// their taylor scores are 0 and they go instead. Channels 0 and 2 fire on different samples (their
// biases differ), so how the samples are batched changes their scores' ratio. (The columns differ
// between the two classes: a channel feeding both logits alike would not move the cross-entropy at
// all.)
std::string save_model(const TempDir& dir) {
  pare::testing::TracedModel model =
      pare::testing::traced("two_inputs", {2, 2, 3, 3}, [](pare::testing::Net& net) {
        auto conv1 = pare::testing::conv(net, "conv1", 2, 4, 1);
        auto conv2 = pare::testing::conv(net, "conv2", 4, 2, 1);
        net.body = [=](const Tensor& x) {
          return pare::adaptive_avg_pool2d(conv2(pare::relu(conv1(x))), 1).flatten(1);
        };
      });
  {
    pare::NoGradGuard no_grad;
    auto set = [&](const std::string& name, std::vector<float> values) {
      Tensor target = model.gm.attribute(name);
      target.copy_(pare::tensor(values, target.sizes()));
    };
    set("conv1.weight", {3, 0, 0, 3, 1, 0, 0, 1});
    set("conv1.bias", {0.3f, -1, -0.5f, -1});
    set("conv2.weight", {0.5f, 0.6f, 0.7f, 0.8f, -0.4f, 0.3f, -0.2f, 0.1f});
  }
  const std::string path = dir.file("two_inputs.pare");
  pare::ir::save(model.gm, path);
  return path;
}

// 10 samples: channel 0 random in [-1, 1) plus 0.5 (mostly positive), channel 1 zero.
Tensor calibration_input() {
  std::vector<float> values(10 * 2 * 9, 0.0f);
  const std::vector<float> noise = pare::to_float_vector(pare::testing::random_tensor({10, 9}, 31));
  for (int64_t n = 0; n < 10; ++n)
    for (int64_t p = 0; p < 9; ++p) values[(n * 2) * 9 + p] = noise[n * 9 + p] + 0.5f;
  return pare::tensor(values, {10, 2, 3, 3});
}

Tensor labels(std::vector<int64_t> values) {
  const int64_t count = static_cast<int64_t>(values.size());
  return pare::tensor(values, {count});
}

// The loss the CLI back-propagates, in double from the model's outputs: per batch the mean
// cross-entropy (or the sum of squares), summed over the batches.
double total_loss(GraphModule& model, const Tensor& input, const std::vector<int64_t>& target,
                  int64_t batch_size) {
  pare::NoGradGuard no_grad;
  double loss = 0.0;
  const int64_t samples = input.size(0);
  for (int64_t start = 0; start < samples; start += batch_size) {
    const int64_t length = std::min(batch_size, samples - start);
    const std::vector<float> output = pare::to_float_vector(
        model.interpret({input.narrow(0, start, length).contiguous()}).tensor().contiguous());
    double batch = 0.0;
    for (int64_t n = 0; n < length; ++n) {
      const double a = output[n * 2], b = output[n * 2 + 1];
      if (target.empty()) {
        batch += a * a + b * b;
      } else {
        const double chosen = target[start + n] == 0 ? a : b;
        batch += std::log(std::exp(a) + std::exp(b)) - chosen;
      }
    }
    loss += target.empty() ? batch : batch / static_cast<double>(length);
  }
  return loss;
}

// The finite-difference taylor score of each channel: the mean over conv1's row and conv2's
// column of |d loss / d s| with the slice scaled by (1 + s), normalised by the channels' mean.
std::vector<double> finite_difference_scores(const std::string& model_path, const Tensor& input,
                                             const std::vector<int64_t>& target,
                                             int64_t batch_size) {
  GraphModule model = pare::ir::load(model_path);
  model.eval();
  const double step = 1e-3;
  auto derivative = [&](const std::string& name, const std::vector<int64_t>& positions) {
    Tensor weight = model.attribute(name);
    const std::vector<float> original = pare::to_float_vector(weight);
    auto loss_scaled = [&](double s) {
      std::vector<float> scaled = original;
      for (int64_t position : positions) scaled[position] *= static_cast<float>(1.0 + s);
      pare::NoGradGuard no_grad;
      weight.copy_(pare::tensor(scaled, weight.sizes()));
      return total_loss(model, input, target, batch_size);
    };
    const double value = (loss_scaled(step) - loss_scaled(-step)) / (2 * step);
    loss_scaled(0.0);
    return std::fabs(value);
  };
  std::vector<double> scores;
  for (int64_t c = 0; c < 4; ++c) {
    const double row = derivative("conv1.weight", {2 * c, 2 * c + 1});  // [4, 2, 1, 1]
    const double column = derivative("conv2.weight", {c, 4 + c});       // [2, 4, 1, 1]
    scores.push_back((row + column) / 2);
  }
  double mean = 0.0;
  for (double score : scores) mean += score / 4;
  for (double& score : scores) score /= mean;
  return scores;
}

Json prune_with(const std::string& model, const TempDir& dir, std::vector<std::string> extra) {
  const std::string output = dir.file("out.pare"), report = dir.file("report.json");
  std::vector<std::string> arguments = {"prune",    model,      "-o",  output,
                                        "--groups", "--report", report};
  arguments.insert(arguments.end(), extra.begin(), extra.end());
  const Result result = run_pare(arguments);
  INFO(result.out, result.err);
  REQUIRE(result.status == 0);
  CHECK(result.err.empty());
  CHECK(pare::ir::load(output).attribute("conv1.weight").size(0) == 2);
  return Json::parse(pare::testing::read_text(report));
}

void check_scores(const Json& report, const std::vector<double>& expected) {
  REQUIRE(report["groups"].size() == 1);
  const std::vector<double> actual = report["groups"][0]["importance"].get<std::vector<double>>();
  REQUIRE(actual.size() == expected.size());
  for (size_t c = 0; c < actual.size(); ++c) {
    CAPTURE(c);
    CHECK(actual[c] == doctest::Approx(expected[c]).epsilon(2e-4));
  }
}

}  // namespace

TEST_CASE("prune --groups --importance taylor: the calibration gradients choose the channels") {
  TempDir dir;
  const std::string model = save_model(dir);
  const Tensor input = calibration_input();
  const std::vector<int64_t> target = {0, 1, 1, 0, 1, 0, 0, 1, 1, 0};

  const Json l2 = prune_with(model, dir, {});
  CHECK(l2["groups"][0]["removed"] == Json::array({2, 3}));

  SUBCASE("with a target: cross-entropy, mean per batch of 4, 4 and 2") {
    const std::string calibration = dir.file("calibration.safetensors");
    pare::write_safetensors(calibration, {{"input", input}, {"target", labels(target)}});
    const Json taylor = prune_with(
        model, dir, {"--importance", "taylor", "--calibration", calibration, "--batch-size", "4"});
    CHECK(taylor["importance"] == "taylor");
    CHECK(taylor["groups"][0]["removed"] == Json::array({1, 3}));
    const std::vector<double> expected = finite_difference_scores(model, input, target, 4);
    CHECK(expected[0] > 0.1);
    CHECK(expected[2] > 0.1);
    check_scores(taylor, expected);
  }
  SUBCASE("without a target: the sum of squares of the output, one batch of the default 32") {
    const std::string calibration = dir.file("calibration.safetensors");
    pare::write_safetensors(calibration, {{"input", input}});
    const Json taylor =
        prune_with(model, dir, {"--importance", "taylor", "--calibration", calibration});
    CHECK(taylor["groups"][0]["removed"] == Json::array({1, 3}));
    check_scores(taylor, finite_difference_scores(model, input, {}, 32));
  }
}

TEST_CASE("prune --groups --calibration: refusals name the file and the tensor") {
  TempDir dir;
  const std::string model = save_model(dir);
  const std::string output = dir.file("out.pare"), calibration = dir.file("bad.safetensors");
  auto refused = [&](const std::vector<std::pair<std::string, Tensor>>& tensors) {
    pare::write_safetensors(calibration, tensors);
    const Result result = run_pare({"prune", model, "-o", output, "--groups", "--importance",
                                    "taylor", "--calibration", calibration});
    CHECK_FALSE(fs::exists(output));
    return result;
  };
  const Tensor input = calibration_input();
  check_file_error(refused({{"target", labels({0, 1})}}), calibration,
                   "no tensor 'input' (the model's input, batch first); the file holds [target]");
  check_file_error(refused({{"input", input}, {"labels", labels({0})}}), calibration,
                   "tensor 'labels' is neither 'input'");
  check_file_error(refused({{"input", pare::testing::random_tensor({4, 3, 3, 3}, 2)}}), calibration,
                   "tensor 'input' has shape [4, 3, 3, 3] but the model's input 'x' is "
                   "[N, 2, 3, 3] (any batch size N)");
  check_file_error(refused({{"input", labels({1, 2, 3})}}), calibration,
                   "tensor 'input' is I64 but the model's input 'x' is F32");
  check_file_error(refused({{"input", input}, {"target", labels({0, 1, 0})}}), calibration,
                   "tensor 'target' has shape [3] but 'input' holds 10 samples");
  check_file_error(refused({{"input", input}, {"target", pare::testing::random_tensor({10}, 3)}}),
                   calibration, "tensor 'target' is F32; class indices are I64");
  check_file_error(refused({{"input", input}, {"target", labels({0, 1, 0, 0, 0, 0, 0, 2, 0, 0})}}),
                   calibration,
                   "tensor 'target' holds class 2 at sample 7, but the model's output "
                   "has 2 classes (0 to 1)");
  const std::string absent = dir.file("absent.safetensors");
  const Result missing = run_pare({"prune", model, "-o", output, "--groups", "--importance",
                                   "taylor", "--calibration", absent});
  CHECK(missing.status == 1);
  CHECK(missing.err.find(absent) != std::string::npos);
  CHECK_FALSE(fs::exists(output));
  // The calibration file is an input: -o may not overwrite it.
  pare::write_safetensors(calibration, {{"input", input}});
  check_file_error(run_pare({"prune", model, "-o", calibration, "--groups", "--importance",
                             "taylor", "--calibration", calibration}),
                   calibration, "is the --calibration file, an input of this command");
}

TEST_CASE("prune --groups --calibration: wrong usage exits 2") {
  auto usage = [](std::vector<std::string> extra, const std::string& also) {
    std::vector<std::string> arguments = {"prune", "m.pare", "-o", "o.pare"};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    const Result result = run_pare(arguments);
    INFO(result.err);
    CHECK(result.status == 2);
    CHECK(result.err.find(also) != std::string::npos);
    CHECK(result.out.empty());
  };
  usage({"--groups", "--importance", "taylor"}, "--importance taylor needs --calibration FILE");
  usage({"--groups", "--calibration", "c.safetensors"},
        "--calibration applies to --importance taylor only");
  usage({"--groups", "--batch-size", "8"}, "--batch-size applies to --calibration");
  usage(
      {"--groups", "--importance", "taylor", "--calibration", "c.safetensors", "--batch-size", "0"},
      "--batch-size expects a positive integer, got 0");
  usage({"--calibration", "c.safetensors"}, "--calibration belongs to --groups");
  const Result help = run_pare({"prune", "--help"});
  CHECK(help.out.find("--calibration FILE") != std::string::npos);
  CHECK(help.out.find("sum of squares") != std::string::npos);
}

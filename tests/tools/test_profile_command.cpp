// `pare profile`, the built binary run as a separate process: the profile file it writes (read
// back through the checked reader, its groups and tables against the model's channels), the table
// it prints, and its errors (exit 2 with the usage on wrong usage, exit 1 with one line naming
// the file for a bad model). No timing is asserted.
#include <doctest/doctest.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "pare/ir/pare_file.h"
#include "pare/ir/tracer.h"
#include "pare/pare.h"
#include "pare/passes/latency/latency_profile.h"

namespace {

using pare::Tensor;
using pare::testing::check_file_error;
using pare::testing::has_line;
using pare::testing::Result;
using pare::testing::run_pare;
using pare::testing::TempDir;

// x [N, 3, 6, 6] -> conv 3 -> 8 -> ReLU -> conv 8 -> 4 -> global average pool -> Linear 4 -> 2.
struct SmallCnn : pare::nn::Module {
  SmallCnn() {
    conv1 = register_module("conv1", pare::nn::Conv2d(pare::nn::Conv2dOptions(3, 8, 3).padding(1)));
    conv2 = register_module("conv2", pare::nn::Conv2d(pare::nn::Conv2dOptions(8, 4, 3).padding(1)));
    fc = register_module("fc", pare::nn::Linear(4, 2));
  }
  Tensor forward(const Tensor& x) {
    return fc(pare::adaptive_avg_pool2d(pare::relu(conv2(pare::relu(conv1(x)))), 1).flatten(1));
  }
  pare::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  pare::nn::Linear fc{nullptr};
};

std::string save_small_cnn(const TempDir& dir) {
  pare::manual_seed(3);
  auto model = std::make_shared<SmallCnn>();
  model->eval();
  const std::string path = dir.file("cnn.pare");
  pare::ir::save(pare::ir::trace(model, {pare::randn({1, 3, 6, 6})}), path);
  return path;
}

void check_usage_error(const Result& result, const std::string& also) {
  INFO("stdout: ", result.out, "\nstderr: ", result.err);
  CHECK(result.status == 2);
  CHECK(result.err.rfind("pare profile: ", 0) == 0);
  CHECK(result.err.find("usage: pare profile") != std::string::npos);
  CHECK(result.err.find(also) != std::string::npos);
  CHECK(result.out.empty());
}

}  // namespace

TEST_CASE("pare profile writes a profile the checked reader accepts, and prints each layer") {
  TempDir dir;
  const std::string model = save_small_cnn(dir);
  const std::string output = dir.file("profile.json");
  const Result result = run_pare({"profile", model, "--batch", "2", "--threads", "2", "--warmup",
                                  "0", "--reps", "1", "--round-to", "2", "-o", output});
  INFO("stdout: ", result.out, "\nstderr: ", result.err);
  REQUIRE(result.status == 0);
  CHECK(result.err.empty());  // stderr is no terminal: no progress line

  const pare::latency::LatencyProfile profile = pare::latency::read_latency_profile(output);
  CHECK(profile.model == "cnn.pare");
  CHECK(profile.batch == 2);
  CHECK(profile.machine == pare::latency::MachineKey::current(2));
  // Groups: conv1's 8 channels and conv2's 4; fc's output is the graph's. round_to 2 keeps even
  // widths: floor(8 * (1 - r)) rounded down to 2, 4, 6; 4 -> 2, and the dense widths.
  REQUIRE(profile.groups.size() == 2);
  CHECK(profile.group("conv1")->candidates == std::vector<int64_t>{2, 4, 6, 8});
  CHECK(profile.group("conv2")->candidates == std::vector<int64_t>{2, 4});
  REQUIRE(profile.layers.size() == 3);
  CHECK(profile.layers[0].in_widths == std::vector<int64_t>{3});
  CHECK(profile.layers[1].in_group == "conv1");
  CHECK(profile.layers[1].out_group == "conv2");
  CHECK(profile.layers[2].out_widths == std::vector<int64_t>{2});
  for (const pare::latency::LayerLatency& layer : profile.layers)
    for (const std::vector<double>& table : layer.ms)
      for (double ms : table) CHECK(ms > 0.0);

  CHECK(has_line(result.out, {"conv1", "Conv2d", "fixed 3", "conv1", "4"}));
  CHECK(has_line(result.out, {"conv2", "Conv2d", "conv1", "conv2", "8"}));
  CHECK(has_line(result.out, {"fc", "Linear", "conv2", "fixed 2", "2"}));
  CHECK(has_line(result.out, {"measured (dense)"}));
  CHECK(has_line(result.out, {"2 prunable groups, 3 layers; wrote", output}));
}

TEST_CASE("pare profile: wrong usage exits 2 with the usage; a bad model exits 1 naming it") {
  TempDir dir;
  const std::string model = save_small_cnn(dir);
  const std::string output = dir.file("profile.json");
  check_usage_error(run_pare({"profile", model}), "-o PROFILE.json is required");
  check_usage_error(run_pare({"profile", model, "--max-ratio", "1", "-o", output}),
                    "--max-ratio expects a number in [0, 1)");
  check_usage_error(run_pare({"profile", model, "--reps", "0", "-o", output}),
                    "--reps expects an integer from 1");
  check_usage_error(run_pare({"profile", model, "--threads", "x", "-o", output}), "--threads");
  check_usage_error(run_pare({"profile", "-o", output}), "missing MODEL.pare");

  std::ofstream(dir.file("garbage.pare")) << "not a model";
  check_file_error(run_pare({"profile", dir.file("garbage.pare"), "-o", output}),
                   dir.file("garbage.pare"));
  check_file_error(run_pare({"profile", dir.file("absent.pare"), "-o", output}),
                   dir.file("absent.pare"));
  check_file_error(run_pare({"profile", model, "--ignore", "conv9", "-o", output}), model,
                   "--ignore 'conv9' names no module");
  check_file_error(run_pare({"profile", model, "-o", model}), model, "is the model file");
  CHECK_FALSE(std::filesystem::exists(output));
}

// Careless command lines: `pare demo` with flag values out of range exits 2 with its usage, as
// every other command does (it exited 1 before), and a prune config naming a bias is refused
// with "only weights can be pruned" instead of a message about parametrizations.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "pare/ir/pare_file.h"
#include "pare/ir/tracer.h"
#include "pare/pare.h"
#include "test_util.h"

namespace {

using pare::testing::check_file_error_ignoring_stdout;
using pare::testing::fill_parameters;
using pare::testing::random_tensor;
using pare::testing::Result;
using pare::testing::run_pare;
using pare::testing::TempDir;

struct TwoConvs : pare::nn::Module {
  TwoConvs() {
    conv1 = register_module("conv1", pare::nn::Conv2d(pare::nn::Conv2dOptions(1, 4, 3)));
    conv2 = register_module("conv2", pare::nn::Conv2d(pare::nn::Conv2dOptions(4, 2, 3)));
    fill_parameters(*this, 9);
  }
  pare::Tensor forward(const pare::Tensor& x) { return conv2(pare::relu(conv1(x))); }
  pare::nn::Conv2d conv1{nullptr}, conv2{nullptr};
};

}  // namespace

TEST_CASE("cli refusals: pare demo with a flag value out of range is a usage error") {
  TempDir dir;
  const std::vector<std::vector<std::string>> bad = {{"--sparsity", "1.5"},
                                                     {"--epochs", "0"},
                                                     {"--batch-size", "-3"},
                                                     {"--pruner", "magic"},
                                                     {"--optimizer", "lbfgs"},
                                                     {"--threads", "-1"},
                                                     {"--lr", "0"},
                                                     {"--latency-threads", "-2"},
                                                     {"--train-limit", "-1"},
                                                     {"--finetune-epochs", "-1"}};
  for (const std::vector<std::string>& flag : bad) {
    CAPTURE(flag[0]);
    std::vector<std::string> arguments = {"demo", "--out", dir.file("out"), "--data",
                                          dir.file("no-data")};
    arguments.insert(arguments.end(), flag.begin(), flag.end());
    const Result result = run_pare(arguments);
    INFO("stderr: ", result.err);
    CHECK(result.status == 2);
    CHECK(result.err.find(flag[0]) != std::string::npos);
    CHECK(result.err.find("usage: pare demo") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.file("out")));
  }
}

TEST_CASE("cli refusals: a prune config naming a bias says that only weights can be pruned") {
  TempDir dir;
  auto net = std::make_shared<TwoConvs>();
  net->eval();
  const std::string model = dir.file("convs.pare");
  pare::ir::save(pare::ir::trace(net, {random_tensor({1, 1, 8, 8}, 2)}), model);
  const std::string config = dir.file("bias.json");
  std::ofstream(config) << R"([{"tensor_fqn": "conv1.bias", "sparsity_level": 0.5}])";
  const std::string pruned = dir.file("pruned.pare");
  const Result result = run_pare({"prune", model, "-o", pruned, "--config", config});
  check_file_error_ignoring_stdout(result, config, "'conv1.bias': only weights can be pruned");
  CHECK(result.err.find("configure 'conv1.weight'") != std::string::npos);
  CHECK(result.err.find("parametriz") == std::string::npos);
  CHECK_FALSE(std::filesystem::exists(pruned));
}

// A short run of the Fashion-MNIST demo on a small synthetic IDX set written by the test (CI has
// no dataset): the files it writes, the summary's keys, and the pruned network's size against
// hand-computed numbers, for the CNN (chain flow) and the small ResNet-18 (group flow).
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <utility>

#include "fashion_mnist_demo.h"
#include "pare/data/data.h"
#include "pare/ir/ir.h"
#include "pare/pare.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;

// Parameters of conv(1->c1) conv(c1->c2) conv(c2->c3) (3x3, biased), fc(c3*9 -> h), fc(h -> 10).
int64_t cnn_params(int64_t c1, int64_t c2, int64_t c3, int64_t hidden) {
  return (c1 * 9 + c1) + (c2 * c1 * 9 + c2) + (c3 * c2 * 9 + c3) + (hidden * c3 * 9 + hidden) +
         (10 * hidden + 10);
}

// MACs per 28x28 image: convs at 28x28, 14x14 and 7x7 (padding 1), then the two Linears.
int64_t cnn_macs(int64_t c1, int64_t c2, int64_t c3, int64_t hidden) {
  return 28 * 28 * c1 * 9 + 14 * 14 * c2 * c1 * 9 + 7 * 7 * c3 * c2 * 9 + c3 * 9 * hidden +
         hidden * 10;
}

// Parameters of the small-input ResNet-18 of base width w, 1 input channel, 10 classes: the 3x3
// stem (no bias) and BatchNorm, layer k (width c = w * 2^(k-1)) of two basic blocks (two 3x3
// convs with BatchNorm each; the first block of layers 2-4 halves the size and has a 1x1
// downsample conv with BatchNorm), and fc (8w -> 10).
int64_t resnet_params(int64_t w) {
  int64_t total = 9 * w + 2 * w + 4 * (9 * w * w + 2 * w);
  for (int64_t c : {2 * w, 4 * w, 8 * w}) {
    const int64_t in = c / 2;
    total +=
        (9 * in * c + 2 * c) + (9 * c * c + 2 * c) + (in * c + 2 * c) + 2 * (9 * c * c + 2 * c);
  }
  return total + 8 * w * 10 + 10;
}

// Conv and Linear MACs per 28x28 image of the same network: stem and layer1 at 28x28, layers 2-4
// at 14x14, 7x7 and 4x4 (stride 2, padding 1).
int64_t resnet_macs(int64_t w) {
  int64_t total = 28 * 28 * 9 * w + 4 * 28 * 28 * 9 * w * w;
  const std::pair<int64_t, int64_t> stages[] = {{2 * w, 14}, {4 * w, 7}, {8 * w, 4}};
  for (const auto& [c, side] : stages) {
    const int64_t in = c / 2;
    total += side * side * (9 * in * c + 9 * c * c + in * c + 2 * 9 * c * c);
  }
  return total + 8 * w * 10;
}

std::string file_bytes(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

TEST_CASE("demo: a short run on synthetic data writes both models and the summary") {
  const fs::path root = fs::temp_directory_path() / ("pare_test_demo_" + std::to_string(getpid()));
  fs::remove_all(root);
  pare::data::write_synthetic_fashion_mnist((root / "data").string(),
                                            {.train_size = 512, .test_size = 128, .seed = 3});
  pare::demo::DemoOptions options;
  options.out_dir = (root / "out").string();
  options.data_dir = (root / "data").string();
  options.epochs = 2;
  options.finetune_epochs = 1;
  options.batch_size = 32;
  options.latency_iters = 2;
  options.progress = false;
  std::ostringstream log;
  const pare::demo::DemoSummary summary = pare::demo::run_demo(options, log);

  // Sparsity 0.5 halves every conv and fc1: 32/64/128/128 -> 16/32/64/64.
  CHECK(summary.dense.params == cnn_params(32, 64, 128, 128));
  CHECK(summary.pruned.params == cnn_params(16, 32, 64, 64));
  CHECK(summary.dense.macs == cnn_macs(32, 64, 128, 128));
  CHECK(summary.pruned.macs == cnn_macs(16, 32, 64, 64));
  CHECK(summary.dense.bytes == static_cast<int64_t>(fs::file_size(root / "out" / "dense.pare")));
  CHECK(summary.pruned.bytes < summary.dense.bytes / 3);
  // Chance is 10%; the synthetic classes are easy enough to be well above it.
  CHECK(summary.dense.accuracy > 40.0);
  CHECK(summary.pruned.accuracy > 40.0);
  CHECK(summary.dense.latency_ms.count(1) == 1);
  CHECK(summary.pruned.latency_ms.count(64) == 1);

  // summary.json has the documented keys.
  std::ifstream file(root / "out" / "summary.json");
  const nlohmann::json json = nlohmann::json::parse(file);
  for (const char* key :
       {"dense", "pruned", "model", "sparsity", "pruner", "epochs", "finetune_epochs", "seconds"})
    CHECK_MESSAGE(json.contains(key), key);
  CHECK(json["model"] == "cnn");
  CHECK(json["pruner"] == "saliency");
  for (const char* key : {"accuracy", "params", "macs", "bytes", "latency_ms"})
    CHECK_MESSAGE(json["pruned"].contains(key), key);
  CHECK(json["pruned"]["latency_ms"].contains("1"));
  CHECK(json["pruned"]["latency_ms"].contains("64"));
  CHECK(json["pruned"]["params"].get<int64_t>() == summary.pruned.params);

  // The pruned file runs with no model class and gives 10 scores per image.
  pare::ir::GraphModule pruned = pare::ir::load((root / "out" / "pruned.pare").string());
  pruned.eval();
  const pare::Tensor scores = pruned.forward({pare::randn({3, 1, 28, 28})});
  CHECK(scores.sizes() == pare::Shape{3, 10});
  CHECK(log.str().find("pruned/dense") != std::string::npos);
  fs::remove_all(root);
}

TEST_CASE("demo: --model resnet prunes by dependency groups and fine-tunes the GraphModule") {
  const fs::path root =
      fs::temp_directory_path() / ("pare_test_demo_resnet_" + std::to_string(getpid()));
  fs::remove_all(root);
  pare::data::write_synthetic_fashion_mnist((root / "data").string(),
                                            {.train_size = 256, .test_size = 64, .seed = 5});
  pare::demo::DemoOptions options;
  options.model = "resnet";
  options.resnet_width = 4;
  options.data_dir = (root / "data").string();
  options.epochs = 1;
  options.batch_size = 32;
  options.latency_iters = 2;
  options.threads = 1;  // one thread: both runs below compute the same dense network bit for bit
  options.progress = false;

  // Without fine-tuning, then with one epoch: the same dense model, different pruned weights of
  // the same shapes, so fine-tuning trained the pruned GraphModule's parameters.
  options.finetune_epochs = 0;
  options.out_dir = (root / "plain").string();
  std::ostringstream plain_log;
  pare::demo::run_demo(options, plain_log);
  options.finetune_epochs = 1;
  options.out_dir = (root / "out").string();
  std::ostringstream log;
  const pare::demo::DemoSummary summary = pare::demo::run_demo(options, log);

  // Ratio 0.5 halves every group (fc, ignored and the output, keeps its 10 classes): the pruned
  // network is the width-2 ResNet.
  CHECK(summary.model == "resnet");
  CHECK(summary.pruner == "l2");
  CHECK(summary.dense.params == resnet_params(4));
  CHECK(summary.pruned.params == resnet_params(2));
  CHECK(summary.dense.macs == resnet_macs(4));
  CHECK(summary.pruned.macs == resnet_macs(2));
  CHECK(summary.pruned.params < summary.dense.params);
  CHECK(summary.pruned.macs < summary.dense.macs);
  CHECK(summary.pruned.bytes < summary.dense.bytes);
  CHECK(summary.dense.latency_ms.count(64) == 1);
  CHECK(summary.pruned.latency_ms.count(1) == 1);
  for (const char* row : {"test accuracy (%)", "parameters", "MACs / image", "file size (bytes)",
                          "latency batch 1, 1 thread (ms)", "latency batch 64, 1 thread (ms)",
                          "model resnet, pruner l2"})
    CHECK_MESSAGE(log.str().find(row) != std::string::npos, row);
  std::ifstream file(root / "out" / "summary.json");
  const nlohmann::json json = nlohmann::json::parse(file);
  CHECK(json["model"] == "resnet");
  CHECK(json["pruned"]["macs"].get<int64_t>() == summary.pruned.macs);
  CHECK(json["target_latency"].is_null());  // pruned by --sparsity

  CHECK(file_bytes(root / "plain" / "dense.pare") == file_bytes(root / "out" / "dense.pare"));
  pare::ir::GraphModule before = pare::ir::load((root / "plain" / "pruned.pare").string());
  pare::ir::GraphModule after = pare::ir::load((root / "out" / "pruned.pare").string());
  const auto before_parameters = before.root().named_parameters();
  const auto after_parameters = after.root().named_parameters();
  REQUIRE(before_parameters.size() == after_parameters.size());
  int64_t changed = 0;
  for (size_t i = 0; i < before_parameters.size(); ++i) {
    const pare::Tensor& a = before_parameters[i].second;
    const pare::Tensor& b = after_parameters[i].second;
    REQUIRE(a.sizes() == b.sizes());
    if (pare::testing::max_abs_diff(a, b) > 0) ++changed;
  }
  CHECK(changed == static_cast<int64_t>(after_parameters.size()));

  // The pruned file runs with no model class.
  after.eval();
  CHECK(after.forward({pare::randn({3, 1, 28, 28})}).tensor().sizes() == pare::Shape{3, 10});
  fs::remove_all(root);
}

TEST_CASE("demo: --model resnet --target-latency prunes to widths a latency profile chose") {
  const fs::path root =
      fs::temp_directory_path() / ("pare_test_demo_latency_" + std::to_string(getpid()));
  fs::remove_all(root);
  pare::data::write_synthetic_fashion_mnist((root / "data").string(),
                                            {.train_size = 128, .test_size = 32, .seed = 7});
  pare::demo::DemoOptions options;
  options.model = "resnet";
  options.data_dir = (root / "data").string();
  options.out_dir = (root / "out").string();
  options.epochs = 1;
  options.finetune_epochs = 1;
  options.batch_size = 32;
  options.latency_iters = 2;
  options.threads = 1;
  // The whole dense latency: the one target every machine meets whatever its load (the line the
  // profile fits to measured models decides how narrow a tighter one may go, which is timing);
  // the choice itself is tested on injected tables (tests/passes/test_group_pruner_latency.cpp).
  options.target_latency = 1.0;
  options.progress = false;
  std::ostringstream log;
  const pare::demo::DemoSummary summary = pare::demo::run_demo(options, log);

  std::ifstream file(root / "out" / "summary.json");
  const nlohmann::json json = nlohmann::json::parse(file);
  REQUIRE(json["target_latency"].is_object());
  const nlohmann::json& target = json["target_latency"];
  for (const char* key :
       {"fraction", "batch", "threads", "dense_predicted_ms", "budget_ms", "predicted_ms",
        "measured_ms", "dense_measured_ms", "profile_seconds", "widths"})
    CHECK_MESSAGE(target.contains(key), key);
  CHECK(target["fraction"].get<double>() == 1.0);
  CHECK(target["batch"].get<int64_t>() == 1);
  CHECK(target["threads"].get<int64_t>() == 1);  // --latency-threads' default
  // The budget is the share of the profile's dense prediction, and the widths fit it.
  const double dense_predicted = target["dense_predicted_ms"].get<double>();
  CHECK(dense_predicted > 0);
  CHECK(target["budget_ms"].get<double>() == doctest::Approx(dense_predicted));
  CHECK(target["predicted_ms"].get<double>() <= target["budget_ms"].get<double>() * (1 + 1e-9));
  // "measured" is the latency rows' batch-1 medians, the same numbers as the table's.
  CHECK(target["measured_ms"].get<double>() == summary.pruned.latency_ms.at(1));
  CHECK(target["dense_measured_ms"].get<double>() == summary.dense.latency_ms.at(1));

  // Every reported width is what the saved model has: a group's key is its first root, a conv
  // whose output channels are the group's.
  pare::ir::GraphModule dense = pare::ir::load((root / "out" / "dense.pare").string());
  pare::ir::GraphModule pruned = pare::ir::load((root / "out" / "pruned.pare").string());
  REQUIRE(target["widths"].size() == 12);  // stem + layer1, and 3 groups in each later stage
  int64_t narrowed = 0;
  for (const auto& [key, width] : target["widths"].items()) {
    CAPTURE(key);
    const int64_t dense_width = dense.attribute(key + ".weight").size(0);
    CHECK(pruned.attribute(key + ".weight").size(0) == width.get<int64_t>());
    CHECK(width.get<int64_t>() >= 1);
    CHECK(width.get<int64_t>() <= dense_width);
    if (width.get<int64_t>() < dense_width) ++narrowed;
  }
  CHECK(narrowed == 0);  // the dense widths fit the dense latency and keep everything
  CHECK(summary.pruned.params == summary.dense.params);
  CHECK(json["pruned"]["params"].get<int64_t>() == summary.pruned.params);
  for (const char* text :
       {"latency profile of the dense model (batch 1, 1 thread(s))",
        "predicted batch 1, 1 thread (ms)", "target latency 1 of the predicted dense"})
    CHECK_MESSAGE(log.str().find(text) != std::string::npos, text);
  fs::remove_all(root);
}

TEST_CASE("demo: --target-latency is a share in (0, 1] and needs --model resnet") {
  pare::demo::DemoOptions options;
  options.model = "resnet";
  options.target_latency = 1.0;
  CHECK_NOTHROW(pare::demo::validate_options(options));
  for (double bad : {0.0, -0.5, 1.5}) {
    options.target_latency = bad;
    CHECK_THROWS_WITH_AS(pare::demo::validate_options(options),
                         doctest::Contains("--target-latency must be in (0, 1]"), pare::Error);
  }
  options.model = "cnn";
  options.target_latency = 0.5;
  CHECK_THROWS_WITH_AS(pare::demo::validate_options(options),
                       doctest::Contains("--target-latency chooses dependency-group widths"),
                       pare::Error);
}

TEST_CASE("demo: --pruner names the criteria the model takes") {
  pare::demo::DemoOptions options;
  options.model = "resnet";
  options.pruner = "saliency";
  CHECK_THROWS_WITH_AS(pare::demo::validate_options(options), doctest::Contains("chain pruner"),
                       pare::Error);
  CHECK_THROWS_WITH_AS(pare::demo::validate_options(options),
                       doctest::Contains("l2, l1, fpgm, bn_scale, lamp or random"), pare::Error);
  options.pruner = "fpgm";  // a group criterion too
  CHECK_NOTHROW(pare::demo::validate_options(options));
  options.model = "cnn";
  CHECK_NOTHROW(pare::demo::validate_options(options));  // fpgm is a chain pruner as well
  options.pruner = "l2";
  CHECK_THROWS_WITH_AS(pare::demo::validate_options(options), doctest::Contains("--model resnet"),
                       pare::Error);
  options.model = "vgg";
  options.pruner = "";
  CHECK_THROWS_WITH_AS(pare::demo::validate_options(options),
                       doctest::Contains("--model must be cnn or resnet"), pare::Error);
  CHECK(pare::demo::resolved(pare::demo::DemoOptions{}).pruner == "saliency");
}

TEST_CASE("demo: a missing dataset names the file and how to get it") {
  pare::demo::DemoOptions options;
  options.data_dir = (fs::temp_directory_path() / "pare_no_such_dataset").string();
  options.out_dir = (fs::temp_directory_path() / "pare_demo_unused").string();
  options.progress = false;
  std::ostringstream log;
  CHECK_THROWS_WITH_AS(pare::demo::run_demo(options, log),
                       doctest::Contains("train-images-idx3-ubyte"), pare::Error);
}

}  // namespace

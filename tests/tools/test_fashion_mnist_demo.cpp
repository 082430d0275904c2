// A short run of the Fashion-MNIST demo on a small synthetic IDX set written by the test (CI has
// no dataset): the files it writes, the summary's keys, and the pruned network's size against
// hand-computed numbers.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "fashion_mnist_demo.h"
#include "pare/data/data.h"
#include "pare/ir/ir.h"

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
       {"dense", "pruned", "sparsity", "pruner", "epochs", "finetune_epochs", "seconds"})
    CHECK_MESSAGE(json.contains(key), key);
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

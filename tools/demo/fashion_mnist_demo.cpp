// The Fashion-MNIST demo: the CNN, the training and evaluation loops, pruning, fine-tuning and
// the dense vs pruned comparison.
#include "fashion_mnist_demo.h"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <vector>

#include "pare/data/data.h"
#include "pare/ir/ir.h"
#include "pare/pare.h"
#include "pare/passes/pruning/pruning.h"

namespace pare::demo {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// conv 1->32->64->128 (3x3, padding 1, ReLU; max pools after the first two), adaptive average
// pool to 3x3, flatten, Linear 1152->128 (ReLU) -> 10. Every conv and fc1 is prunable by the
// default patterns: (Conv2d, act, pool, Conv2d) twice, (Conv2d, act, adaptive pool, flatten,
// Linear) and (Linear, act, Linear).
struct FashionCnn : nn::Module {
  FashionCnn() : nn::Module("FashionCnn") {
    conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(1, 32, 3).padding(1)));
    conv2 = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(32, 64, 3).padding(1)));
    conv3 = register_module("conv3", nn::Conv2d(nn::Conv2dOptions(64, 128, 3).padding(1)));
    pool = register_module("pool", nn::AdaptiveAvgPool2d(3));
    fc1 = register_module("fc1", nn::Linear(128 * 3 * 3, 128));
    fc2 = register_module("fc2", nn::Linear(128, 10));
  }
  Tensor forward(const Tensor& x) {
    Tensor h = max_pool2d(relu(conv1(x)), 2);
    h = max_pool2d(relu(conv2(h)), 2);
    h = flatten(pool(relu(conv3(h))), 1);
    return fc2(relu(fc1(h)));
  }
  nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  nn::AdaptiveAvgPool2d pool{nullptr};
  nn::Linear fc1{nullptr}, fc2{nullptr};
};

// The first `limit` samples of a dataset (all when limit <= 0).
data::FashionMNIST first_samples(const data::FashionMNIST& dataset, int64_t limit) {
  if (limit <= 0 || limit >= static_cast<int64_t>(dataset.size())) return dataset;
  return data::FashionMNIST(dataset.images().slice(0, 0, limit).contiguous(),
                            dataset.labels().slice(0, 0, limit).contiguous());
}

// One line per epoch, redrawn in place on a terminal.
class ProgressLine {
 public:
  ProgressLine(std::ostream& out, bool enabled, std::string title, int64_t total)
      : out_(out),
        enabled_(enabled),
        interactive_(enabled && &out == &std::cout && isatty(fileno(stdout))),
        title_(std::move(title)),
        total_(total),
        start_(Clock::now()) {}

  void update(int64_t done, double loss, int64_t images) {
    if (!enabled_) return;
    const bool last = done == total_;
    const int64_t step = std::max<int64_t>(1, total_ / 50);
    if (!interactive_ && !last) return;
    if (interactive_ && !last && done % step != 0) return;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(kWidth * done / std::max<int64_t>(1, total_));
    const double elapsed = seconds_since(start_);
    std::ostringstream line;
    line << title_ << " [" << std::string(filled, '#') << std::string(kWidth - filled, '.') << "] "
         << done << "/" << total_ << "  loss " << std::fixed << std::setprecision(4) << loss << "  "
         << std::setprecision(0) << images / std::max(elapsed, 1e-9) << " img/s  "
         << std::setprecision(1) << elapsed << " s";
    out_ << (interactive_ ? "\r" : "") << line.str() << (last ? "\n" : "") << std::flush;
  }

 private:
  std::ostream& out_;
  bool enabled_;
  bool interactive_;
  std::string title_;
  int64_t total_;
  Clock::time_point start_;
};

// Trains `epochs` epochs with a cosine schedule over them; returns nothing, prints progress.
void train(FashionCnn& net, const data::DataLoader& loader, optim::Optimizer& optimizer,
           int64_t epochs, int64_t first_epoch, const std::string& phase,
           const DemoOptions& options, std::ostream& log) {
  optim::CosineAnnealingLR schedule(optimizer, epochs);
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    net.train();
    ProgressLine progress(log, options.progress, str_cat(phase, " epoch ", epoch + 1, "/", epochs),
                          loader.num_batches());
    double running_loss = 0;
    int64_t batches = 0;
    int64_t images = 0;
    for (const data::Batch& batch : loader.epoch(first_epoch + epoch)) {
      optimizer.zero_grad();
      Tensor loss = cross_entropy(net.forward(batch.data), batch.targets);
      loss.backward();
      optimizer.step();
      const double value = loss.item<float>();
      running_loss = batches == 0 ? value : 0.98 * running_loss + 0.02 * value;
      ++batches;
      images += batch.size();
      progress.update(batches, running_loss, images);
    }
    schedule.step();
  }
}

// Top-1 accuracy in percent of `forward` over `dataset` (normalised like training).
template <typename Forward>
double accuracy(Forward&& forward, const data::FashionMNIST& dataset) {
  NoGradGuard no_grad;
  data::DataLoader loader(
      dataset, {.batch_size = 500, .shuffle = false},
      data::transforms::Normalize(data::kFashionMnistMean, data::kFashionMnistStd));
  int64_t correct = 0;
  int64_t total = 0;
  for (const data::Batch& batch : loader.epoch(0)) {
    const Tensor predicted = argmax(forward(batch.data), 1);
    correct += sum(eq(predicted, batch.targets).to(kInt64)).item<int64_t>();
    total += batch.size();
  }
  return total == 0 ? 0.0 : 100.0 * static_cast<double>(correct) / static_cast<double>(total);
}

std::unique_ptr<optim::Optimizer> make_optimizer(FashionCnn& net, const DemoOptions& options,
                                                 double lr) {
  if (options.optimizer == "adamw")
    return std::make_unique<optim::AdamW>(net.parameters(), optim::AdamWOptions(lr));
  if (options.optimizer == "sgd")
    return std::make_unique<optim::SGD>(net.parameters(),
                                        optim::SGDOptions(lr).momentum(0.9).weight_decay(5e-4));
  throw Error(str_cat("demo: --optimizer must be adamw or sgd, got '", options.optimizer, "'"));
}

std::unique_ptr<pruning::BaseStructuredSparsifier> make_pruner(const DemoOptions& options) {
  if (options.pruner == "saliency")
    return std::make_unique<pruning::SaliencyPruner>(
        nlohmann::json{{"sparsity_level", options.sparsity}});
  if (options.pruner == "fpgm") return std::make_unique<pruning::FPGMPruner>(options.sparsity);
  throw Error(str_cat("demo: --pruner must be saliency or fpgm, got '", options.pruner, "'"));
}

// Median latencies in ms of one forward of `dense` and of `pruned` on a batch of `batch` images.
// The two run alternately, one call each in turn, so that both see the same machine load (the
// machines this runs on are shared and noisy; the ratio is what the demo reports).
std::pair<double, double> median_latencies_ms(ir::GraphModule& dense, ir::GraphModule& pruned,
                                              int64_t batch, int64_t iterations) {
  NoGradGuard no_grad;
  dense.eval();
  pruned.eval();
  const Tensor input = randn({batch, 1, 28, 28});
  for (int i = 0; i < 3; ++i) {  // warm-up: primitives, caches
    dense.forward({input});
    pruned.forward({input});
  }
  auto time_ms = [&](ir::GraphModule& graph_module) {
    const Clock::time_point start = Clock::now();
    const Tensor output = graph_module.forward({input});
    return seconds_since(start) * 1e3;
  };
  std::vector<double> dense_times, pruned_times;
  for (int64_t i = 0; i < std::max<int64_t>(1, iterations); ++i) {
    dense_times.push_back(time_ms(dense));
    pruned_times.push_back(time_ms(pruned));
  }
  auto median = [](std::vector<double>& times) {
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
  };
  return {median(dense_times), median(pruned_times)};
}

// Params, MACs and file size of a saved model.
void describe_file(const std::string& path, ModelReport& report) {
  ir::GraphModule graph_module = ir::load(path);
  const ir::ModelStats stats = ir::model_stats(graph_module);
  report.params = stats.params;
  report.macs = stats.macs;
  report.bytes = static_cast<int64_t>(std::filesystem::file_size(path));
}

std::string with_thousands(int64_t value) {
  const std::string digits = std::to_string(value);
  std::string grouped;
  for (size_t i = 0; i < digits.size(); ++i) {
    const size_t left = digits.size() - i;
    if (i > 0 && left % 3 == 0 && digits[i - 1] != '-') grouped.push_back(',');
    grouped.push_back(digits[i]);
  }
  return grouped;
}

}  // namespace

void validate_options(const DemoOptions& options) {
  PARE_CHECK(options.epochs >= 1, "demo: --epochs must be at least 1, got ", options.epochs);
  PARE_CHECK(options.finetune_epochs >= 0, "demo: --finetune-epochs must be >= 0, got ",
             options.finetune_epochs);
  PARE_CHECK(options.sparsity >= 0 && options.sparsity < 1,
             "demo: --sparsity must be in [0, 1), got ", options.sparsity);
  PARE_CHECK(options.batch_size >= 1, "demo: --batch-size must be positive, got ",
             options.batch_size);
  PARE_CHECK(options.pruner == "saliency" || options.pruner == "fpgm",
             "demo: --pruner must be saliency or fpgm, got '", options.pruner, "'");
  PARE_CHECK(options.optimizer == "adamw" || options.optimizer == "sgd",
             "demo: --optimizer must be adamw or sgd, got '", options.optimizer, "'");
  PARE_CHECK(std::isfinite(options.lr) && options.lr > 0, "demo: --lr must be positive, got ",
             options.lr);
  PARE_CHECK(std::isfinite(options.finetune_lr) && options.finetune_lr > 0,
             "demo: --finetune-lr must be positive, got ", options.finetune_lr);
  // omp_set_num_threads takes an int; more threads than that is a typo, not a machine.
  constexpr int64_t kMaxThreads = 4096;
  PARE_CHECK(options.threads >= 0 && options.threads <= kMaxThreads,
             "demo: --threads must be from 0 (every core) to ", kMaxThreads, ", got ",
             options.threads);
  PARE_CHECK(options.latency_threads >= 0 && options.latency_threads <= kMaxThreads,
             "demo: --latency-threads must be from 0 (as for training) to ", kMaxThreads, ", got ",
             options.latency_threads);
  PARE_CHECK(options.train_limit >= 0, "demo: --train-limit must be >= 0, got ",
             options.train_limit);
  PARE_CHECK(options.test_limit >= 0, "demo: --test-limit must be >= 0, got ", options.test_limit);
}

DemoSummary run_demo(const DemoOptions& options, std::ostream& log) {
  validate_options(options);
  const Clock::time_point start = Clock::now();
  if (options.threads > 0) omp_set_num_threads(static_cast<int>(options.threads));
  manual_seed(options.seed);
  std::filesystem::create_directories(options.out_dir);
  const std::string dense_path = (std::filesystem::path(options.out_dir) / "dense.pare").string();
  const std::string pruned_path = (std::filesystem::path(options.out_dir) / "pruned.pare").string();

  const std::string folder =
      options.data_dir.empty() ? data::default_fashion_mnist_folder() : options.data_dir;
  const data::FashionMNIST train_set =
      first_samples(data::load_fashion_mnist(data::Split::train, folder), options.train_limit);
  const data::FashionMNIST test_set =
      first_samples(data::load_fashion_mnist(data::Split::test, folder), options.test_limit);
  log << "Fashion-MNIST from " << folder << ": " << train_set.size() << " training, "
      << test_set.size() << " test images; " << omp_get_max_threads() << " thread(s)\n";

  data::DataLoader train_loader(
      train_set, {.batch_size = options.batch_size, .shuffle = true, .seed = options.seed},
      data::transforms::Normalize(data::kFashionMnistMean, data::kFashionMnistStd));

  // 1. Dense training.
  auto net = std::make_shared<FashionCnn>();
  {
    std::unique_ptr<optim::Optimizer> optimizer = make_optimizer(*net, options, options.lr);
    train(*net, train_loader, *optimizer, options.epochs, 0, "dense", options, log);
  }
  net->eval();
  DemoSummary summary;
  summary.sparsity = options.sparsity;
  summary.pruner = options.pruner;
  summary.epochs = options.epochs;
  summary.finetune_epochs = options.finetune_epochs;
  summary.dense.accuracy = accuracy([&](const Tensor& x) { return net->forward(x); }, test_set);
  log << "dense test accuracy: " << std::fixed << std::setprecision(2) << summary.dense.accuracy
      << "%\n";
  const Tensor example = randn({1, 1, 28, 28});
  ir::save(ir::trace(net, {example}), dense_path);

  // 2. Prune every conv and the hidden Linear: prepare -> step -> prune.
  std::unique_ptr<pruning::BaseStructuredSparsifier> pruner = make_pruner(options);
  pruner->prepare(net, {{{"tensor_fqn", "conv1.weight"}},
                        {{"tensor_fqn", "conv2.weight"}},
                        {{"tensor_fqn", "conv3.weight"}},
                        {{"tensor_fqn", "fc1.weight"}}});
  pruner->step();
  ir::GraphModule pruned = pruner->prune({example});
  const double pruned_before_finetune =
      accuracy([&](const Tensor& x) { return net->forward(x); }, test_set);
  log << "pruned (" << options.pruner << ", sparsity " << options.sparsity
      << ") before fine-tuning: " << std::setprecision(2) << pruned_before_finetune << "%\n";

  // 3. Fine-tune the pruned network (a new optimizer: the parameters are new tensors).
  if (options.finetune_epochs > 0) {
    std::unique_ptr<optim::Optimizer> optimizer =
        make_optimizer(*net, options, options.finetune_lr);
    train(*net, train_loader, *optimizer, options.finetune_epochs, options.epochs, "fine-tune",
          options, log);
  }
  net->eval();
  ir::save(pruned, pruned_path);

  // 4. Compare the two saved files, loaded with no model class.
  ir::GraphModule dense_loaded = ir::load(dense_path);
  ir::GraphModule pruned_loaded = ir::load(pruned_path);
  dense_loaded.eval();
  pruned_loaded.eval();
  // Both run on the compiled inference path (fused, prepacked oneDNN primitives), GraphModule's
  // default in eval mode, as in an app loading the files.
  summary.pruned.accuracy =
      accuracy([&](const Tensor& x) { return pruned_loaded.forward({x}).tensor(); }, test_set);
  describe_file(dense_path, summary.dense);
  describe_file(pruned_path, summary.pruned);
  const int training_threads = omp_get_max_threads();
  if (options.latency_threads > 0) omp_set_num_threads(static_cast<int>(options.latency_threads));
  summary.dense.latency_threads = summary.pruned.latency_threads = omp_get_max_threads();
  for (int64_t batch : {1, 64}) {
    const auto [dense_ms, pruned_ms] =
        median_latencies_ms(dense_loaded, pruned_loaded, batch, options.latency_iters);
    summary.dense.latency_ms[batch] = dense_ms;
    summary.pruned.latency_ms[batch] = pruned_ms;
  }
  omp_set_num_threads(training_threads);
  summary.seconds = seconds_since(start);

  log << "\n";
  print_summary_table(summary, log);
  const std::string summary_path =
      (std::filesystem::path(options.out_dir) / "summary.json").string();
  write_file_atomically(summary_path, summary_json(summary).dump(2) + "\n");
  log << "\nwrote " << dense_path << ", " << pruned_path << ", " << summary_path << "\n";
  return summary;
}

nlohmann::json summary_json(const DemoSummary& summary) {
  auto report = [](const ModelReport& model) {
    nlohmann::json latency = nlohmann::json::object();
    for (const auto& [batch, ms] : model.latency_ms) latency[std::to_string(batch)] = ms;
    return nlohmann::json{{"accuracy", model.accuracy}, {"params", model.params},
                          {"macs", model.macs},         {"bytes", model.bytes},
                          {"latency_ms", latency},      {"latency_threads", model.latency_threads}};
  };
  return {{"dense", report(summary.dense)}, {"pruned", report(summary.pruned)},
          {"sparsity", summary.sparsity},   {"pruner", summary.pruner},
          {"epochs", summary.epochs},       {"finetune_epochs", summary.finetune_epochs},
          {"seconds", summary.seconds}};
}

void print_summary_table(const DemoSummary& summary, std::ostream& out) {
  const ModelReport& dense = summary.dense;
  const ModelReport& pruned = summary.pruned;
  auto ratio = [](double part, double whole) {
    std::ostringstream text;
    text << std::fixed << std::setprecision(1) << (whole > 0 ? 100.0 * part / whole : 0.0) << "%";
    return text.str();
  };
  auto fixed = [](double value, int digits) {
    std::ostringstream text;
    text << std::fixed << std::setprecision(digits) << value;
    return text.str();
  };
  struct Row {
    std::string name, dense, pruned, change;
  };
  std::vector<Row> rows = {
      {"test accuracy (%)", fixed(dense.accuracy, 2), fixed(pruned.accuracy, 2),
       str_cat(fixed(pruned.accuracy - dense.accuracy, 2), " pt")},
      {"parameters", with_thousands(dense.params), with_thousands(pruned.params),
       ratio(pruned.params, dense.params)},
      {"MACs / image", with_thousands(dense.macs), with_thousands(pruned.macs),
       ratio(pruned.macs, dense.macs)},
      {"file size (bytes)", with_thousands(dense.bytes), with_thousands(pruned.bytes),
       ratio(pruned.bytes, dense.bytes)}};
  for (const auto& [batch, dense_ms] : dense.latency_ms) {
    const double pruned_ms = pruned.latency_ms.at(batch);
    rows.push_back(
        {str_cat("latency batch ", batch, ", ", dense.latency_threads,
                 dense.latency_threads == 1 ? " thread" : " threads", " (ms)"),
         fixed(dense_ms, 3), fixed(pruned_ms, 3),
         str_cat(ratio(pruned_ms, dense_ms), " (", fixed(dense_ms / pruned_ms, 2), "x)")});
  }
  size_t widths[4] = {6, 5, 6, 6};
  for (const Row& row : rows) {
    widths[0] = std::max(widths[0], row.name.size());
    widths[1] = std::max(widths[1], row.dense.size());
    widths[2] = std::max(widths[2], row.pruned.size());
    widths[3] = std::max(widths[3], row.change.size());
  }
  auto print = [&](const std::string& a, const std::string& b, const std::string& c,
                   const std::string& d) {
    out << std::left << std::setw(static_cast<int>(widths[0])) << a << "  " << std::right
        << std::setw(static_cast<int>(widths[1])) << b << "  "
        << std::setw(static_cast<int>(widths[2])) << c << "  "
        << std::setw(static_cast<int>(widths[3])) << d << "\n";
  };
  print("", "dense", "pruned", "pruned/dense");
  for (const Row& row : rows) print(row.name, row.dense, row.pruned, row.change);
  out << "pruner " << summary.pruner << ", sparsity " << summary.sparsity << ", " << summary.epochs
      << " + " << summary.finetune_epochs << " fine-tune epoch(s), " << fixed(summary.seconds, 0)
      << " s in all\n";
}

}  // namespace pare::demo

// The Fashion-MNIST demo: options, the run (data, the model's flow in demo_flows.h) and the
// dense vs pruned comparison.
#include "fashion_mnist_demo.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <sstream>
#include <vector>

#include "demo_flows.h"
#include "demo_training.h"
#include "pare/data/data.h"
#include "pare/ir/ir.h"
#include "pare/pare.h"

namespace pare::demo {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The first `limit` samples of a dataset (all when limit <= 0).
data::FashionMNIST first_samples(const data::FashionMNIST& dataset, int64_t limit) {
  if (limit <= 0 || limit >= static_cast<int64_t>(dataset.size())) return dataset;
  return data::FashionMNIST(dataset.images().slice(0, 0, limit).contiguous(),
                            dataset.labels().slice(0, 0, limit).contiguous());
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

const std::vector<std::string>& cnn_pruners() {
  static const std::vector<std::string> names = {"saliency", "fpgm"};
  return names;
}

const std::vector<std::string>& resnet_pruners() {
  // Importance::named's criteria but taylor, which needs gradients from calibration batches.
  static const std::vector<std::string> names = {"l2", "l1", "fpgm", "bn_scale", "lamp", "random"};
  return names;
}

int64_t latency_thread_count(const DemoOptions& options) {
  return options.latency_threads > 0 ? options.latency_threads : omp_get_max_threads();
}

DemoOptions resolved(const DemoOptions& options) {
  DemoOptions filled = options;
  const bool resnet = options.model == "resnet";
  // The ResNet (width 4) trains about 470 images/s on one thread of the shared 2-core machine:
  // one epoch and one fine-tuning epoch keep its run within 6 minutes there (docs/cli.md).
  if (!filled.epochs) filled.epochs = resnet ? 1 : 5;
  if (!filled.finetune_epochs) filled.finetune_epochs = resnet ? 1 : 2;
  // One training thread for the ResNet: a step runs many small ops (20 convs, 20 BatchNorms,
  // ReLUs and adds, forward and backward), each its own parallel region, and on a shared 2-core
  // machine the second thread spins at every barrier while another process holds the core
  // (measured at width 8 and load 5: 216 img/s on one thread, 36 on two).
  if (!filled.threads) filled.threads = resnet ? 1 : 0;
  if (filled.pruner.empty()) filled.pruner = resnet ? resnet_pruners()[0] : cnn_pruners()[0];
  return filled;
}

void validate_options(const DemoOptions& given) {
  PARE_CHECK(given.model == "cnn" || given.model == "resnet",
             "demo: --model must be cnn or resnet, got '", given.model, "'");
  const DemoOptions options = resolved(given);
  PARE_CHECK(*options.epochs >= 1, "demo: --epochs must be at least 1, got ", *options.epochs);
  PARE_CHECK(*options.finetune_epochs >= 0, "demo: --finetune-epochs must be >= 0, got ",
             *options.finetune_epochs);
  PARE_CHECK(options.sparsity >= 0 && options.sparsity < 1,
             "demo: --sparsity must be in [0, 1), got ", options.sparsity);
  PARE_CHECK(options.batch_size >= 1, "demo: --batch-size must be positive, got ",
             options.batch_size);
  auto named = [&](const std::vector<std::string>& names) {
    return std::find(names.begin(), names.end(), options.pruner) != names.end();
  };
  auto listed = [](const std::vector<std::string>& names) {
    std::string text;
    for (size_t i = 0; i < names.size(); ++i)
      text += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
    return text;
  };
  if (options.model == "cnn") {
    PARE_CHECK(!named(resnet_pruners()) || named(cnn_pruners()), "demo: --pruner ", options.pruner,
               " is a dependency-group criterion, for --model resnet; --model cnn prunes with "
               "the chain flow: --pruner ",
               listed(cnn_pruners()));
    PARE_CHECK(named(cnn_pruners()), "demo: --pruner must be saliency or fpgm, got '",
               options.pruner, "'");
  } else {
    PARE_CHECK(!named(cnn_pruners()) || named(resnet_pruners()), "demo: --pruner ", options.pruner,
               " is a chain pruner (conv -> activation -> conv chains), which cannot prune "
               "through a ResNet's residual adds; --model resnet prunes dependency groups: "
               "--pruner ",
               listed(resnet_pruners()));
    PARE_CHECK(named(resnet_pruners()), "demo: --pruner for --model resnet must be ",
               listed(resnet_pruners()), ", got '", options.pruner, "'");
    PARE_CHECK(options.resnet_width >= 1 && options.resnet_width <= 1024,
               "demo: --width must be from 1 to 1024, got ", options.resnet_width);
  }
  if (options.target_latency) {
    PARE_CHECK(options.model == "resnet",
               "demo: --target-latency chooses dependency-group widths; it needs --model resnet "
               "(the cnn prunes by --sparsity)");
    PARE_CHECK(std::isfinite(*options.target_latency) && *options.target_latency > 0 &&
                   *options.target_latency <= 1,
               "demo: --target-latency must be in (0, 1] (a share of the dense model's predicted "
               "latency), got ",
               *options.target_latency);
  }
  PARE_CHECK(options.optimizer == "adamw" || options.optimizer == "sgd",
             "demo: --optimizer must be adamw or sgd, got '", options.optimizer, "'");
  PARE_CHECK(std::isfinite(options.lr) && options.lr > 0, "demo: --lr must be positive, got ",
             options.lr);
  PARE_CHECK(std::isfinite(options.finetune_lr) && options.finetune_lr > 0,
             "demo: --finetune-lr must be positive, got ", options.finetune_lr);
  // omp_set_num_threads takes an int; more threads than that is a typo, not a machine.
  constexpr int64_t kMaxThreads = 4096;
  PARE_CHECK(*options.threads >= 0 && *options.threads <= kMaxThreads,
             "demo: --threads must be from 0 (every core) to ", kMaxThreads, ", got ",
             *options.threads);
  PARE_CHECK(options.latency_threads >= 0 && options.latency_threads <= kMaxThreads,
             "demo: --latency-threads must be from 0 (as for training) to ", kMaxThreads, ", got ",
             options.latency_threads);
  PARE_CHECK(options.train_limit >= 0, "demo: --train-limit must be >= 0, got ",
             options.train_limit);
  PARE_CHECK(options.test_limit >= 0, "demo: --test-limit must be >= 0, got ", options.test_limit);
}

DemoSummary run_demo(const DemoOptions& given, std::ostream& log) {
  validate_options(given);
  const DemoOptions options = resolved(given);
  const Clock::time_point start = Clock::now();
  if (*options.threads > 0) omp_set_num_threads(static_cast<int>(*options.threads));
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

  DemoSummary summary;
  summary.model = options.model;
  summary.sparsity = options.sparsity;
  summary.pruner = options.pruner;
  summary.epochs = *options.epochs;
  summary.finetune_epochs = *options.finetune_epochs;
  std::optional<LatencyTargetReport> target_latency;
  const FlowContext context{options,     train_loader, test_set,      dense_path,
                            pruned_path, log,          target_latency};
  summary.dense.accuracy =
      options.model == "resnet" ? run_resnet_group_flow(context) : run_cnn_chain_flow(context);
  summary.target_latency = target_latency;

  // Compare the two saved files, loaded with no model class.
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
  nlohmann::json target = nullptr;
  if (summary.target_latency) {
    const LatencyTargetReport& latency = *summary.target_latency;
    const int64_t batch = latency.batch;
    auto measured = [&](const ModelReport& model) {
      const auto found = model.latency_ms.find(batch);
      return found == model.latency_ms.end() ? nlohmann::json(nullptr)
                                             : nlohmann::json(found->second);
    };
    target = {{"fraction", latency.fraction},
              {"batch", batch},
              {"threads", latency.threads},
              {"dense_predicted_ms", latency.dense_predicted_ms},
              {"budget_ms", latency.budget_ms},
              {"predicted_ms", latency.predicted_ms},
              {"measured_ms", measured(summary.pruned)},
              {"dense_measured_ms", measured(summary.dense)},
              {"profile_seconds", latency.profile_seconds},
              {"widths", latency.widths}};
  }
  return {{"dense", report(summary.dense)}, {"pruned", report(summary.pruned)},
          {"model", summary.model},         {"sparsity", summary.sparsity},
          {"target_latency", target},       {"pruner", summary.pruner},
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
  if (summary.target_latency) {
    // The profile's prediction beside the measured rows above: it sums layers timed alone.
    const LatencyTargetReport& latency = *summary.target_latency;
    rows.push_back({str_cat("predicted batch ", latency.batch, ", ", latency.threads,
                            latency.threads == 1 ? " thread" : " threads", " (ms)"),
                    fixed(latency.dense_predicted_ms, 3), fixed(latency.predicted_ms, 3),
                    ratio(latency.predicted_ms, latency.dense_predicted_ms)});
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
  // The cnn line is the demo's original one; other models say which they are.
  if (summary.model != "cnn") out << "model " << summary.model << ", ";
  out << "pruner " << summary.pruner << ", ";
  if (summary.target_latency)
    out << "target latency " << str_cat(summary.target_latency->fraction)
        << " of the predicted dense";
  else
    out << "sparsity " << summary.sparsity;
  out << ", " << summary.epochs << " + " << summary.finetune_epochs << " fine-tune epoch(s), "
      << fixed(summary.seconds, 0) << " s in all\n";
}

}  // namespace pare::demo

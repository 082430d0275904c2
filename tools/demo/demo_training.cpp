// The demo's training loop (with its progress line), evaluation and optimizer choice.
#include "demo_training.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace pare::demo {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
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

}  // namespace

void train(nn::Module& model, const Forward& forward, const data::DataLoader& loader,
           optim::Optimizer& optimizer, int64_t epochs, int64_t first_epoch,
           const std::string& phase, const DemoOptions& options, std::ostream& log) {
  optim::CosineAnnealingLR schedule(optimizer, epochs);
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    model.train();
    ProgressLine progress(log, options.progress, str_cat(phase, " epoch ", epoch + 1, "/", epochs),
                          loader.num_batches());
    double running_loss = 0;
    int64_t batches = 0;
    int64_t images = 0;
    for (const data::Batch& batch : loader.epoch(first_epoch + epoch)) {
      optimizer.zero_grad();
      Tensor loss = cross_entropy(forward(batch.data), batch.targets);
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

double accuracy(const Forward& forward, const data::FashionMNIST& dataset) {
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

std::unique_ptr<optim::Optimizer> make_optimizer(std::vector<Tensor> parameters,
                                                 const DemoOptions& options, double lr) {
  if (options.optimizer == "adamw")
    return std::make_unique<optim::AdamW>(std::move(parameters), optim::AdamWOptions(lr));
  if (options.optimizer == "sgd")
    return std::make_unique<optim::SGD>(std::move(parameters),
                                        optim::SGDOptions(lr).momentum(0.9).weight_decay(5e-4));
  throw Error(str_cat("demo: --optimizer must be adamw or sgd, got '", options.optimizer, "'"));
}

}  // namespace pare::demo

// The demo's two models, each with its pruning flow: train dense, save dense.pare, prune,
// fine-tune, save pruned.pare. run_demo (fashion_mnist_demo.cpp) then compares the two files.
//
//   std::optional<pare::demo::LatencyTargetReport> target_latency;
//   pare::demo::FlowContext context{options,     train_loader, test_set, dense_path,
//                                   pruned_path, log,          target_latency};
//   const double dense_accuracy = pare::demo::run_resnet_group_flow(context);
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "fashion_mnist_demo.h"
#include "pare/data/data.h"

namespace pare::demo {

struct FlowContext {
  const DemoOptions& options;  // resolved (the model's defaults filled in)
  const data::DataLoader& train_loader;
  const data::FashionMNIST& test_set;
  std::string dense_path;
  std::string pruned_path;
  std::ostream& log;
  // The resnet flow fills it when options.target_latency is set.
  std::optional<LatencyTargetReport>& target_latency;
};

// The thread count of the latency rows (and of a latency target's profile): --latency-threads,
// or the training threads where it is 0.
int64_t latency_thread_count(const DemoOptions& options);

// Each returns the dense network's test accuracy (percent) and logs it, and the pruned network's
// accuracy before fine-tuning.

// The CNN, pruned by the chain flow (a SaliencyPruner or FPGMPruner over every conv and fc1:
// prepare -> step -> prune); the eager network fine-tunes, its pruned trace is saved.
double run_cnn_chain_flow(const FlowContext& context);

// A small ResNet-18 (1 input channel, 10 classes, the small-input stem), pruned by the group flow
// (GroupPruner, local ratio options.sparsity, fc ignored) on its trace; the pruned GraphModule
// itself fine-tunes (its root's parameters, forward in training mode) and is saved. With
// options.target_latency, a latency profile of the trace (batch 1) is measured first and the
// widths are chosen by it instead of the ratio.
double run_resnet_group_flow(const FlowContext& context);

}  // namespace pare::demo

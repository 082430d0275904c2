// The structured pruners: update_mask() rules over the current masked weight (docs/pruning.md,
// "Pruners"). Already-pruned rows score 0, so they are chosen first; masks only lose rows
// (FPGM's level <= 0 and >= 1 reset them to all kept / all pruned, as in PyTorch). Ties are
// broken by the lower row index first.
//
//   pare::pruning::SaliencyPruner saliency({{"sparsity_level", 0.5}});
//   pare::pruning::LSTMSaliencyPruner lstm_saliency({{"sparsity_level", 0.25}});
//   pare::pruning::FPGMPruner fpgm(0.3, "L1");
//   pare::pruning::FPGMPruner custom(0.5, [](const pare::Tensor& rows) {
//     return my_pairwise_distances(rows);             // [rows, features] -> [rows, rows]
//   });
//   saliency.prepare(net);                             // every Linear / Conv2d / LSTM
//   saliency.step();
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "pare/passes/pruning/structured.h"

namespace pare::pruning {

// Prunes the trunc(rows * sparsity_level) rows of lowest L1 norm. Weights must have 2+ dims.
class SaliencyPruner : public BaseStructuredSparsifier {
 public:
  using BaseStructuredSparsifier::BaseStructuredSparsifier;
  std::string name() const override { return "SaliencyPruner"; }
  void update_mask(const std::shared_ptr<nn::Module>& module, const std::string& tensor_name,
                   nlohmann::json& group) override;
};

// SaliencyPruner per gate block (i, f, g, o) of H = rows / 4 rows: trunc(H * level) per gate.
class LSTMSaliencyPruner : public BaseStructuredSparsifier {
 public:
  using BaseStructuredSparsifier::BaseStructuredSparsifier;
  std::string name() const override { return "LSTMSaliencyPruner"; }
  void update_mask(const std::shared_ptr<nn::Module>& module, const std::string& tensor_name,
                   nlohmann::json& group) override;
};

// Filter Pruning via Geometric Median: rows flattened, D the pairwise distance matrix, score_r =
// sum_j |D[r, j]|; the round-half-to-even(level * rows) lowest scores (the rows nearest the
// geometric median) are pruned.
class FPGMPruner : public BaseStructuredSparsifier {
 public:
  // [rows, features] -> [rows, rows].
  using DistanceFn = std::function<Tensor(const Tensor& rows)>;

  // dist: "L2" or "L1".
  explicit FPGMPruner(double sparsity_level = 0.5, const std::string& dist = "L2");
  FPGMPruner(double sparsity_level, DistanceFn dist);
  // Defaults given as JSON ({"sparsity_level": ...}, default 0.5).
  explicit FPGMPruner(const nlohmann::json& defaults, const std::string& dist = "L2");
  FPGMPruner(const nlohmann::json& defaults, DistanceFn dist);

  std::string name() const override { return "FPGMPruner"; }
  void update_mask(const std::shared_ptr<nn::Module>& module, const std::string& tensor_name,
                   nlohmann::json& group) override;

 private:
  DistanceFn dist_;
};

}  // namespace pare::pruning

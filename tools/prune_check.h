// The self-check of `pare prune` (docs/cli.md, docs/pruning.md "Equivalence"): the masked model
// and the pruned one must agree on a seeded input, on the outputs the math says agree. A graph
// output fed by a pruned final layer is compared on that layer's kept channels; every other
// graph output in full. A masked LSTM's pruned units emit bias-driven values that the next
// layer's sliced weights no longer see, so with an LSTM in the groups the graph outputs are not
// compared; instead the LSTM's first layer is, run alone on the LSTM's input, at the first time
// step, on its kept units (a deeper layer also loses what the removed units below it emitted).
//
// Both models run in the plain interpreter (GraphModule::interpret): the check is about the
// pruning math, and the compiled inference path would first pack a copy of every weight, as much
// memory again as the pruned model, for one call (the compiled path has its own equivalence
// tests). Masked Linear and Conv2d layers run on their stored weights (nn::row_masked_parameter),
// so the check adds no full-size copy of a large layer either.
//
//   pare::cli::PruneCheck check(gm, pruner, pruner.patterns, inputs);   // runs the masked model
//   pare::pruning::prune_graph(gm, pruner.patterns, inputs);
//   for (const pare::cli::CheckResult& result : check.compare(gm))     // runs the pruned one
//     if (!result.passed()) ...
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "pare/ir/graph_module.h"
#include "pare/nn/lstm.h"
#include "pare/passes/pruning/base_sparsifier.h"
#include "pare/passes/pruning/patterns.h"

namespace pare::cli {

struct CheckResult {
  std::string what;  // "output [2, 5]", "output (kept 3 of 5 channels of 'fc')", ...
  double max_diff = 0.0;
  double tolerance = 0.0;
  std::string problem;  // set when the shapes do not fit; max_diff is then meaningless
  std::string hint;     // why this comparison may fail although every prune function ran
  bool passed() const { return problem.empty() && max_diff <= tolerance; }
};

class PruneCheck {
 public:
  // Runs the prepared (masked) `graph_module` on `inputs` and keeps what compare() needs. The
  // masks are read from `sparsifier`'s groups, so call it after step() and any explicit masks.
  PruneCheck(ir::GraphModule& graph_module, const pruning::BaseSparsifier& sparsifier,
             const pruning::PatternTable& patterns, const std::vector<Tensor>& inputs);
  ~PruneCheck();
  PruneCheck(const PruneCheck&) = delete;
  PruneCheck& operator=(const PruneCheck&) = delete;

  // Runs the pruned `graph_module` on the same inputs and compares. Tolerance: 1e-4 times the
  // largest magnitude of the reference (at least 1e-4).
  std::vector<CheckResult> compare(ir::GraphModule& graph_module);

 private:
  struct FinalLayer {
    std::string module;
    bool conv = false;          // channels on axis rank - 3, else on the last axis
    std::vector<int64_t> kept;  // kept rows of its mask
    int64_t rows = 0;
  };
  struct LstmProbe {
    std::string module;
    std::shared_ptr<nn::LSTMImpl> lstm;
    std::vector<int64_t> kept;  // kept units of the first layer
    int64_t hidden = 0;
    int64_t layers = 1;
    bool batch_first = false;
    std::shared_ptr<Tensor> captured;  // the LSTM's input, written by the forward hook
    Tensor masked;
  };

  std::vector<Tensor> inputs_;
  std::vector<std::pair<std::string, Tensor>> masked_outputs_;
  std::map<std::string, FinalLayer> final_layers_;  // by output path ("", "0", "1.0", ...)
  std::vector<LstmProbe> lstms_;
};

// The check's rows for the printed table (what, max |diff|, tolerance, ok / FAILED), appended to
// `rows`; returns the first failure as one line (what, the difference or the problem, the hint),
// or "" when every comparison passed. Both prune flows print their checks with it.
std::string add_check_rows(const std::vector<CheckResult>& results, Table& rows);

}  // namespace pare::cli

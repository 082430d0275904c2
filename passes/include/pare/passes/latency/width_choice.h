// Width choice under a latency budget: which width each prunable group keeps so that the kept
// importance is as large as possible while the predicted latency stays within the budget (HALP,
// Shen et al. 2022: greedy by importance lost per millisecond saved, then a knapsack refinement).
// A pure function of the candidates, their importance and a latency predictor, so that it can be
// tested against a brute-force search on a synthetic table.
//
//   pare::latency::WidthProblem problem;
//   problem.groups = {{"conv1", {8, 16}, {0.7, 1.0}}, {"conv2", {16, 32}, {0.6, 1.0}}};
//   problem.latency_ms = [&](const std::vector<size_t>& choice) { return table(choice); };
//   pare::latency::WidthChoice best = pare::latency::choose_widths(problem, /*budget_ms=*/0.3);
//   // best.choice[g]: index into problem.groups[g].widths; best.predicted_ms <= 0.3
//
// Contract: every group's widths ascend and its last is the dense width; kept_importance[i] is
// what the group keeps at widths[i] (the sum of its i highest scores: non-decreasing). The result
// is feasible (predicted_ms <= budget_ms) or, when even the narrowest widths are not, the
// narrowest widths with `feasible` false. Among feasible choices it keeps at least the importance
// of the greedy one, and the exact optimum for small problems is what the tests check.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace pare::latency {

struct WidthOption {
  std::string key;                      // the group's key (its first root)
  std::vector<int64_t> widths;          // ascending candidates; the last is the dense width
  std::vector<double> kept_importance;  // one per width
};

struct WidthProblem {
  std::vector<WidthOption> groups;
  // The predicted latency of a choice (one index into each group's widths).
  std::function<double(const std::vector<size_t>& choice)> latency_ms;
};

struct WidthChoice {
  std::vector<size_t> choice;  // one index per group
  double predicted_ms = 0.0;
  double kept_importance = 0.0;  // summed over the groups
  bool feasible = false;
};

WidthChoice choose_widths(const WidthProblem& problem, double budget_ms);

}  // namespace pare::latency

// Width choice under a latency budget: which width each prunable group keeps so that the kept
// importance is as large as possible while the predicted latency stays within the budget (HALP,
// Shen et al. 2022: greedy by importance lost per millisecond saved, then a knapsack refinement).
// A pure function of the candidates, their importance and a latency predictor, so that it can be
// tested against a brute-force search on a synthetic table.
//
//   pare::latency::WidthProblem problem;
//   problem.groups = {{"conv1", {8, 16}, {0.7, 1.0}}, {"conv2", {16, 32}, {0.6, 1.0}}};
//   problem.constant_ms = 0.02;                              // what no group changes
//   problem.terms = {{-1, 0, {0.05, 0.09}},                  // conv1: fixed in, conv1's widths
//                    {0, 1, {0.04, 0.07, 0.07, 0.13}}};      // conv2: [in 8|16][out 16|32]
//   pare::latency::WidthChoice best = pare::latency::choose_widths(problem, /*budget_ms=*/0.2);
//   // best.choice[g]: index into problem.groups[g].widths; best.predicted_ms <= 0.2
//
// Contract: every group's widths ascend and its last is the dense width; kept_importance[i] is
// what the group keeps at widths[i] (the sum of its i highest scores). The predicted latency is
// constant_ms plus every term's entry at its groups' widths. The result is feasible
// (predicted_ms <= budget_ms) or, when even the narrowest widths are not, the narrowest widths
// with `feasible` false. `optimal` says the search proved no feasible choice keeps more
// importance: a branch and bound over the groups, bounded by `node_limit` visits, that starts from
// HALP's greedy (importance lost per millisecond saved) refined by knapsack rounds and exchanges,
// which is what a search stopped by its limit returns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pare::latency {

struct WidthOption {
  std::string key;                      // the group's key (its first root)
  std::vector<int64_t> widths;          // ascending candidates; the last is the dense width
  std::vector<double> kept_importance;  // one per width
};

// One layer's time as a function of the widths of the groups on its sides (-1: a fixed width,
// one entry along that side).
struct LatencyTerm {
  int64_t in_group = -1, out_group = -1;
  std::vector<double> ms;  // [in index * out count + out index]
};

struct WidthProblem {
  std::vector<WidthOption> groups;
  double constant_ms = 0.0;
  std::vector<LatencyTerm> terms;
  // Branch-and-bound visits before the search settles for the best choice found so far.
  int64_t node_limit = 2'000'000;

  // The predicted latency of a choice (one index into each group's widths).
  double latency_ms(const std::vector<size_t>& choice) const;
};

struct WidthChoice {
  std::vector<size_t> choice;  // one index per group
  double predicted_ms = 0.0;
  double kept_importance = 0.0;  // summed over the groups
  bool feasible = false;
  bool optimal = false;
};

WidthChoice choose_widths(const WidthProblem& problem, double budget_ms);

}  // namespace pare::latency

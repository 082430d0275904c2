// choose_widths against a brute-force search: small problems with synthetic latency tables (a
// chain and a residual graph of layers, each priced by its input and output widths with block
// steps and a penalty just above a block, as oneDNN's kernels behave), random importance, and
// budgets from loose to infeasible. The chosen widths must keep exactly the brute force's best
// importance within the budget.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "pare/error.h"
#include "pare/passes/latency/width_choice.h"

namespace {

using pare::latency::choose_widths;
using pare::latency::WidthChoice;
using pare::latency::WidthOption;
using pare::latency::WidthProblem;

// A layer between two groups (-1: a fixed width) with a time per (in, out) pair.
struct SyntheticLayer {
  int in_group = -1, out_group = -1;
  int64_t fixed_in = 3, fixed_out = 10;
  double scale = 1.0;
};

// Block-stepped cost: ceil(width / 16) blocks, plus a penalty for a width just above a block
// boundary (so a narrower width can be slower, as 67 hidden units are against 64).
double blocks(int64_t width) {
  const double whole = static_cast<double>((width + 15) / 16);
  return width % 16 != 0 && width % 16 <= 3 ? whole + 1.5 : whole;
}

struct Synthetic {
  WidthProblem problem;
  std::vector<SyntheticLayer> layers;
};

Synthetic make_problem(std::mt19937& random, bool residual) {
  Synthetic made;
  const int groups = residual ? 3 : static_cast<int>(std::uniform_int_distribution<>(2, 3)(random));
  for (int g = 0; g < groups; ++g) {
    WidthOption option;
    option.key = std::string("g").append(std::to_string(g));
    const int64_t size = 16 * std::uniform_int_distribution<int64_t>(2, 4)(random);
    std::vector<int64_t> widths;
    for (int64_t w = 16; w < size; w += 16) widths.push_back(w);
    // A ratio's width, off the block grid.
    widths.push_back(std::uniform_int_distribution<int64_t>(17, size - 1)(random));
    std::sort(widths.begin(), widths.end());
    widths.erase(std::unique(widths.begin(), widths.end()), widths.end());
    widths.push_back(size);
    // Kept importance: prefix sums of the group's scores sorted descending.
    std::vector<double> scores(static_cast<size_t>(size));
    std::uniform_real_distribution<double> score(0.0, 1.0);
    for (double& s : scores) s = score(random) * score(random);
    std::sort(scores.rbegin(), scores.rend());
    for (int64_t w : widths) {
      double kept = 0.0;
      for (int64_t i = 0; i < w; ++i) kept += scores[static_cast<size_t>(i)];
      option.kept_importance.push_back(kept);
    }
    option.widths = widths;
    made.problem.groups.push_back(option);
  }
  std::uniform_real_distribution<double> scale(0.5, 2.0);
  made.layers.push_back({-1, 0, 3, 0, scale(random)});
  for (int g = 1; g < groups; ++g) made.layers.push_back({g - 1, g, 0, 0, scale(random)});
  made.layers.push_back({groups - 1, -1, 0, 10, scale(random)});
  if (residual) {
    // A shortcut from the first group's channels into the last group's, and a second reader.
    made.layers.push_back({0, groups - 1, 0, 0, scale(random)});
    made.layers.push_back({0, -1, 0, 5, scale(random)});
  }
  for (const SyntheticLayer& layer : made.layers) {
    pare::latency::LatencyTerm term{layer.in_group, layer.out_group, {}};
    const auto widths = [&](int group, int64_t fixed) {
      return group < 0 ? std::vector<int64_t>{fixed} : made.problem.groups[group].widths;
    };
    for (int64_t in : widths(layer.in_group, layer.fixed_in))
      for (int64_t out : widths(layer.out_group, layer.fixed_out))
        term.ms.push_back(0.001 * layer.scale * blocks(in) * blocks(out));
    made.problem.terms.push_back(std::move(term));
  }
  made.problem.constant_ms = 0.01;
  return made;
}

// The best feasible importance by enumerating every choice; -infinity when none is feasible.
double brute_force(const WidthProblem& problem, double budget) {
  std::vector<size_t> choice(problem.groups.size(), 0);
  double best = -std::numeric_limits<double>::infinity();
  for (;;) {
    if (problem.latency_ms(choice) <= budget) {
      double kept = 0.0;
      for (size_t g = 0; g < choice.size(); ++g)
        kept += problem.groups[g].kept_importance[choice[g]];
      best = std::max(best, kept);
    }
    size_t g = 0;
    while (g < choice.size() && ++choice[g] == problem.groups[g].widths.size()) choice[g++] = 0;
    if (g == choice.size()) return best;
  }
}

std::vector<size_t> dense_choice(const WidthProblem& problem) {
  std::vector<size_t> choice;
  for (const WidthOption& group : problem.groups) choice.push_back(group.widths.size() - 1);
  return choice;
}

}  // namespace

TEST_CASE("choose_widths keeps the brute-force optimum on small chains and residual graphs") {
  std::mt19937 random(2026);
  int checked = 0, infeasible = 0;
  double heuristic_loss = 0.0;
  for (int instance = 0; instance < 300; ++instance) {
    const Synthetic made = make_problem(random, instance % 2 == 1);
    const WidthProblem& problem = made.problem;
    const double dense = problem.latency_ms(dense_choice(problem));
    for (double fraction : {1.0, 0.9, 0.75, 0.6, 0.45, 0.3, 0.1}) {
      const double budget = dense * fraction;
      const WidthChoice chosen = choose_widths(problem, budget);
      const double optimum = brute_force(problem, budget);
      CAPTURE(instance);
      CAPTURE(fraction);
      REQUIRE(chosen.choice.size() == problem.groups.size());
      CHECK(chosen.predicted_ms == doctest::Approx(problem.latency_ms(chosen.choice)));
      if (optimum == -std::numeric_limits<double>::infinity()) {
        // Nothing fits: the narrowest widths, said to be infeasible.
        CHECK_FALSE(chosen.feasible);
        CHECK(chosen.choice == std::vector<size_t>(problem.groups.size(), 0));
        ++infeasible;
        continue;
      }
      CHECK(chosen.feasible);
      CHECK(chosen.predicted_ms <= budget);
      CHECK(chosen.kept_importance == doctest::Approx(optimum).epsilon(1e-12));
      CHECK(chosen.optimal);
      // The heuristic alone (no branch and bound) stays feasible and close.
      WidthProblem heuristic_only = problem;
      heuristic_only.node_limit = 0;
      const WidthChoice heuristic = choose_widths(heuristic_only, budget);
      CHECK(heuristic.feasible);
      if (fraction < 1.0) CHECK_FALSE(heuristic.optimal);
      heuristic_loss = std::max(heuristic_loss, 1.0 - heuristic.kept_importance / optimum);
      ++checked;
    }
  }
  // The budgets reach both sides of feasibility.
  CHECK(checked > 1000);
  MESSAGE("the heuristic alone lost at most ", heuristic_loss * 100,
          "% of the optimum's importance");
  CHECK(heuristic_loss < 0.05);
  CHECK(infeasible > 50);
}

TEST_CASE("choose_widths keeps the dense widths when they fit and refuses malformed problems") {
  std::mt19937 random(7);
  const Synthetic made = make_problem(random, false);
  const double dense = made.problem.latency_ms(dense_choice(made.problem));
  const WidthChoice chosen = choose_widths(made.problem, dense);
  CHECK(chosen.choice == dense_choice(made.problem));
  CHECK(chosen.feasible);

  WidthProblem unordered = made.problem;
  std::swap(unordered.groups[0].widths[0], unordered.groups[0].widths[1]);
  CHECK_THROWS_WITH_AS(choose_widths(unordered, dense), doctest::Contains("must ascend"),
                       pare::Error);
  WidthProblem short_importance = made.problem;
  short_importance.groups[1].kept_importance.pop_back();
  CHECK_THROWS_WITH_AS(choose_widths(short_importance, dense), doctest::Contains("one per width"),
                       pare::Error);
  WidthProblem short_term = made.problem;
  short_term.terms[1].ms.pop_back();
  CHECK_THROWS_WITH_AS(choose_widths(short_term, dense), doctest::Contains("one per pair"),
                       pare::Error);
}

TEST_CASE("choose_widths: a tighter budget never predicts a slower model") {
  // Widths 48, 51, 64 of one group where 51 costs more than 64 (the penalty above a block): the
  // optimum at each budget, and the predicted time falls (or stays) as the budget does.
  WidthProblem problem;
  problem.groups = {{"hidden", {48, 51, 64}, {0.8, 0.82, 1.0}}};
  problem.terms = {{-1, 0, {0.3, 0.5, 0.4}}};
  CHECK(choose_widths(problem, 0.6).choice == std::vector<size_t>{2});
  CHECK(choose_widths(problem, 0.4).choice == std::vector<size_t>{2});
  CHECK(choose_widths(problem, 0.39).choice == std::vector<size_t>{0});
  CHECK_FALSE(choose_widths(problem, 0.2).feasible);

  std::mt19937 random(11);
  for (int instance = 0; instance < 40; ++instance) {
    const Synthetic made = make_problem(random, instance % 2 == 0);
    const double dense = made.problem.latency_ms(dense_choice(made.problem));
    double previous = std::numeric_limits<double>::infinity();
    for (double fraction = 1.0; fraction > 0.2; fraction -= 0.05) {
      const WidthChoice chosen = choose_widths(made.problem, dense * fraction);
      if (!chosen.feasible) break;
      CHECK(chosen.predicted_ms <= previous);
      previous = chosen.predicted_ms;
    }
  }
}

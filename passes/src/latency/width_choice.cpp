// choose_widths: HALP's greedy (importance lost per millisecond saved) from the dense widths and
// from uniform starts down to the budget, each refined by rounds of a multiple-choice knapsack on
// the latency linearised at the current choice (kept only when the full predictor confirms it is
// feasible and keeps more importance) and by exchanges of one group wider against another
// narrower; the best of them is the incumbent of a branch and bound over the groups that proves it
// optimal or finds better. The predictor is not separable (a conv's time depends on its input and
// its output group), which is why the knapsack is re-linearised and checked rather than trusted,
// and why the bound prices every layer at its cheapest entry still open.
#include "pare/passes/latency/width_choice.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "pare/error.h"

namespace pare::latency {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
// Importance gains below this are rounding, not improvements (the scores are normalised sums).
constexpr double kEpsilon = 1e-12;
// The knapsack's capacity is cut into this many steps; costs round up, so that what it packs
// is feasible under the linear costs.
constexpr int64_t kKnapsackSteps = 2000;
constexpr int kKnapsackRounds = 8;
constexpr int kUniformStarts = 4;

class Search {
 public:
  Search(const WidthProblem& problem, double budget_ms) : problem_(problem), budget_(budget_ms) {}
  const WidthProblem& problem() const { return problem_; }

  double kept(const std::vector<size_t>& choice) const {
    double sum = 0.0;
    for (size_t g = 0; g < choice.size(); ++g) sum += problem_.groups[g].kept_importance[choice[g]];
    return sum;
  }
  double latency(const std::vector<size_t>& choice) const { return problem_.latency_ms(choice); }
  double budget() const { return budget_; }
  bool feasible(double ms) const { return ms <= budget_; }

  // From `choice`, narrows one group at a time, each time the move that loses the least
  // importance per millisecond saved (a move may skip widths that save nothing, such as a width
  // just above a block boundary), until the budget holds or no move saves time.
  std::vector<size_t> greedy(std::vector<size_t> choice) const {
    double ms = latency(choice);
    while (!feasible(ms)) {
      double best_rate = kInfinity, best_saving = 0.0, best_ms = ms;
      size_t best_group = 0, best_index = 0;
      for (size_t g = 0; g < choice.size(); ++g) {
        const size_t current = choice[g];
        const std::vector<double>& importance = problem_.groups[g].kept_importance;
        // The next narrower width that saves time (HALP removes the cheapest neurons one at a
        // time; widths are the steps here).
        for (size_t j = current; j-- > 0;) {
          choice[g] = j;
          const double moved = latency(choice);
          const double saving = ms - moved;
          if (saving <= 0.0) continue;
          const double rate = (importance[current] - importance[j]) / saving;
          if (rate < best_rate - kEpsilon ||
              (rate <= best_rate + kEpsilon && saving > best_saving)) {
            best_rate = rate;
            best_saving = saving;
            best_ms = moved;
            best_group = g;
            best_index = j;
          }
          break;
        }
        choice[g] = current;
      }
      if (best_saving <= 0.0) break;
      choice[best_group] = best_index;
      ms = best_ms;
    }
    return choice;
  }

  // The multiple-choice knapsack around `choice`: each group's widths cost what they change in
  // the predicted latency with every other group as in `choice`; the most importance within the
  // budget, by dynamic programming over the capacity in kKnapsackSteps steps.
  std::vector<size_t> knapsack(std::vector<size_t> choice) const {
    const size_t groups = choice.size();
    const double base = latency(choice);
    std::vector<std::vector<double>> cost(groups);
    double floor_sum = 0.0;
    for (size_t g = 0; g < groups; ++g) {
      const size_t current = choice[g];
      for (size_t j = 0; j < problem_.groups[g].widths.size(); ++j) {
        choice[g] = j;
        cost[g].push_back(latency(choice) - base);
      }
      choice[g] = current;
      const double lowest = *std::min_element(cost[g].begin(), cost[g].end());
      for (double& c : cost[g]) c -= lowest;
      floor_sum += lowest;
    }
    const double capacity = budget_ - base - floor_sum;
    if (capacity < 0.0) return choice;
    const double unit = capacity / kKnapsackSteps;
    const auto steps_of = [&](double c) {
      if (c <= 0.0) return int64_t{0};
      if (unit <= 0.0) return kKnapsackSteps + 1;
      const double steps = std::ceil(c / unit - 1e-9);
      return steps > kKnapsackSteps ? kKnapsackSteps + 1 : static_cast<int64_t>(steps);
    };
    const size_t width = static_cast<size_t>(kKnapsackSteps) + 1;
    // best[c]: the most importance of the groups so far within c steps; pick[g][c] its index.
    std::vector<double> best(width, 0.0);
    std::vector<std::vector<size_t>> pick(groups, std::vector<size_t>(width, 0));
    for (size_t g = 0; g < groups; ++g) {
      std::vector<double> next(width, -kInfinity);
      for (size_t c = 0; c < width; ++c) {
        for (size_t j = 0; j < cost[g].size(); ++j) {
          const int64_t steps = steps_of(cost[g][j]);
          if (steps > static_cast<int64_t>(c) || best[c - steps] == -kInfinity) continue;
          const double value = best[c - steps] + problem_.groups[g].kept_importance[j];
          if (value > next[c]) {
            next[c] = value;
            pick[g][c] = j;
          }
        }
      }
      best = std::move(next);
    }
    if (best[width - 1] == -kInfinity) return choice;
    std::vector<size_t> packed(groups);
    size_t c = width - 1;
    for (size_t g = groups; g-- > 0;) {
      packed[g] = pick[g][c];
      c -= static_cast<size_t>(steps_of(cost[g][packed[g]]));
    }
    return packed;
  }

  // Knapsack rounds from a feasible `choice`, each kept while it is feasible and gains.
  std::vector<size_t> refine(std::vector<size_t> choice) const {
    double value = kept(choice);
    for (int round = 0; round < kKnapsackRounds; ++round) {
      std::vector<size_t> packed = knapsack(choice);
      if (!feasible(latency(packed))) packed = greedy(packed);
      const double packed_value = kept(packed);
      if (!feasible(latency(packed)) || packed_value <= value + kEpsilon) break;
      choice = std::move(packed);
      value = packed_value;
    }
    return choice;
  }

  // Moves of one group wider and (where that breaks the budget) another narrower, taking the
  // best gain each time, until none gains.
  std::vector<size_t> exchange(std::vector<size_t> choice) const {
    double value = kept(choice);
    for (;;) {
      double best_value = value;
      std::vector<size_t> best_choice;
      for (size_t up = 0; up < choice.size(); ++up) {
        // One or two widths wider: further moves come from repeating the exchange.
        const size_t widest = std::min(choice[up] + 3, problem_.groups[up].widths.size());
        for (size_t wider = choice[up] + 1; wider < widest; ++wider) {
          std::vector<size_t> trial = choice;
          trial[up] = wider;
          if (feasible(latency(trial))) {
            const double trial_value = kept(trial);
            if (trial_value > best_value + kEpsilon) {
              best_value = trial_value;
              best_choice = trial;
            }
            continue;
          }
          for (size_t down = 0; down < choice.size(); ++down) {
            if (down == up) continue;
            for (size_t narrower = 0; narrower < choice[down]; ++narrower) {
              trial[down] = narrower;
              const double trial_value = kept(trial);
              if (trial_value > best_value + kEpsilon && feasible(latency(trial))) {
                best_value = trial_value;
                best_choice = trial;
              }
            }
            trial[down] = choice[down];
          }
        }
      }
      if (best_choice.empty()) return choice;
      choice = std::move(best_choice);
      value = best_value;
    }
  }

 private:
  const WidthProblem& problem_;
  double budget_;
};

// Depth-first over the groups in order, widest first, cutting a branch when the importance still
// reachable cannot beat the incumbent or when the latency's lower bound (every layer at its
// cheapest entry given the groups chosen so far) is over the budget.
class BranchAndBound {
 public:
  BranchAndBound(const Search& search, std::vector<size_t> incumbent)
      : search_(search),
        problem_(search.problem()),
        best_(std::move(incumbent)),
        best_value_(search.kept(best_)),
        choice_(problem_.groups.size(), 0),
        cheapest_(cheapest_terms()) {
    // The most importance the groups from g on can add.
    reachable_.assign(problem_.groups.size() + 1, 0.0);
    for (size_t g = problem_.groups.size(); g-- > 0;)
      reachable_[g] = reachable_[g + 1] + problem_.groups[g].kept_importance.back();
  }

  // False when the node limit stopped it.
  bool run() {
    descend(0, 0.0);
    return visits_ <= problem_.node_limit;
  }
  const std::vector<size_t>& best() const { return best_; }

 private:
  int64_t count(int64_t group) const {
    return group < 0 ? 1 : static_cast<int64_t>(problem_.groups[group].widths.size());
  }

  // The latency with groups [0, depth) as in choice_ and every layer touching a later group at
  // its cheapest entry over that group's widths (per term: the whole table's minimum, a row's or
  // a column's, precomputed).
  double lower_bound(size_t depth) const {
    double total = problem_.constant_ms;
    const auto open = [&](int64_t group) {
      return group >= 0 && static_cast<size_t>(group) >= depth;
    };
    for (size_t t = 0; t < problem_.terms.size(); ++t) {
      const LatencyTerm& term = problem_.terms[t];
      const bool in_open = open(term.in_group), out_open = open(term.out_group);
      const size_t in = term.in_group < 0 || in_open ? 0 : choice_[term.in_group];
      const size_t out = term.out_group < 0 || out_open ? 0 : choice_[term.out_group];
      if (in_open && out_open)
        total += cheapest_[t].all;
      else if (in_open)
        total += cheapest_[t].in_column[out];
      else if (out_open)
        total += cheapest_[t].out_row[in];
      else
        total += term.ms[in * static_cast<size_t>(count(term.out_group)) + out];
    }
    return total;
  }

  // Per term: its minimum, each row's (over the outputs) and each column's (over the inputs).
  struct Cheapest {
    double all = kInfinity;
    std::vector<double> out_row, in_column;
  };
  std::vector<Cheapest> cheapest_terms() const {
    std::vector<Cheapest> cheapest;
    for (const LatencyTerm& term : problem_.terms) {
      const size_t ins = static_cast<size_t>(count(term.in_group));
      const size_t outs = static_cast<size_t>(count(term.out_group));
      Cheapest entry;
      entry.out_row.assign(ins, kInfinity);
      entry.in_column.assign(outs, kInfinity);
      for (size_t i = 0; i < ins; ++i)
        for (size_t o = 0; o < outs; ++o) {
          const double ms = term.ms[i * outs + o];
          entry.all = std::min(entry.all, ms);
          entry.out_row[i] = std::min(entry.out_row[i], ms);
          entry.in_column[o] = std::min(entry.in_column[o], ms);
        }
      cheapest.push_back(std::move(entry));
    }
    return cheapest;
  }

  void descend(size_t depth, double value) {
    if (++visits_ > problem_.node_limit) return;
    if (value + reachable_[depth] <= best_value_ + kEpsilon) return;
    if (lower_bound(depth) > search_.budget()) return;
    if (depth == choice_.size()) {
      // Every term is exact here: the bound is the latency, within the budget.
      best_value_ = value;
      best_ = choice_;
      return;
    }
    const WidthOption& group = problem_.groups[depth];
    for (size_t j = group.widths.size(); j-- > 0;) {
      choice_[depth] = j;
      descend(depth + 1, value + group.kept_importance[j]);
      if (visits_ > problem_.node_limit) return;
    }
    choice_[depth] = 0;
  }

  const Search& search_;
  const WidthProblem& problem_;
  std::vector<size_t> best_;
  double best_value_;
  std::vector<size_t> choice_;
  std::vector<Cheapest> cheapest_;
  std::vector<double> reachable_;
  int64_t visits_ = 0;
};

WidthChoice result(const Search& search, std::vector<size_t> choice) {
  WidthChoice chosen;
  chosen.predicted_ms = search.latency(choice);
  chosen.kept_importance = search.kept(choice);
  chosen.feasible = search.feasible(chosen.predicted_ms);
  chosen.choice = std::move(choice);
  return chosen;
}

}  // namespace

double WidthProblem::latency_ms(const std::vector<size_t>& choice) const {
  double total = constant_ms;
  for (const LatencyTerm& term : terms) {
    const size_t in = term.in_group < 0 ? 0 : choice[static_cast<size_t>(term.in_group)];
    const size_t out = term.out_group < 0 ? 0 : choice[static_cast<size_t>(term.out_group)];
    const size_t outs =
        term.out_group < 0 ? 1 : groups[static_cast<size_t>(term.out_group)].widths.size();
    total += term.ms[in * outs + out];
  }
  return total;
}

WidthChoice choose_widths(const WidthProblem& problem, double budget_ms) {
  const auto widths_of = [&](int64_t group) {
    PARE_CHECK(group >= -1 && group < static_cast<int64_t>(problem.groups.size()),
               "choose_widths: a latency term names group ", group, " of ", problem.groups.size());
    return group < 0 ? size_t{1} : problem.groups[static_cast<size_t>(group)].widths.size();
  };
  for (const LatencyTerm& term : problem.terms)
    PARE_CHECK(term.ms.size() == widths_of(term.in_group) * widths_of(term.out_group),
               "choose_widths: a latency term of groups ", term.in_group, " -> ", term.out_group,
               " has ", term.ms.size(), " entries; it needs one per pair of their widths");
  PARE_CHECK(std::isfinite(budget_ms), "choose_widths: budget ", budget_ms, " ms is not finite");
  for (const WidthOption& group : problem.groups) {
    PARE_CHECK(!group.widths.empty() && group.widths.size() == group.kept_importance.size(),
               "choose_widths: group '", group.key, "' has ", group.widths.size(), " widths and ",
               group.kept_importance.size(), " importance values; it needs one per width");
    for (size_t i = 1; i < group.widths.size(); ++i)
      PARE_CHECK(group.widths[i - 1] < group.widths[i], "choose_widths: group '", group.key,
                 "': widths must ascend (", group.widths[i - 1], " then ", group.widths[i], ")");
  }
  const Search search(problem, budget_ms);
  std::vector<size_t> dense;
  if (problem.groups.empty()) {
    WidthChoice none = result(search, {});
    none.optimal = true;
    return none;
  }
  for (const WidthOption& group : problem.groups) dense.push_back(group.widths.size() - 1);
  if (search.feasible(search.latency(dense))) {
    WidthChoice chosen = result(search, dense);
    chosen.optimal = true;  // every group keeps all it has
    return chosen;
  }

  // Several starts, each refined by knapsack rounds and exchanges; the best feasible one wins. The
  // greedy's start is HALP's; the uniform ones (every group at the same share of its candidates)
  // reach choices the greedy's path passes by when two groups only pay off together.
  std::vector<std::vector<size_t>> starts{search.greedy(dense)};
  for (int level = 0; level < kUniformStarts; ++level) {
    std::vector<size_t> uniform;
    for (const WidthOption& group : problem.groups)
      uniform.push_back(group.widths.size() * level / kUniformStarts);
    starts.push_back(search.greedy(uniform));
  }
  std::vector<size_t> best;
  double best_value = -kInfinity;
  for (std::vector<size_t>& start : starts) {
    if (!search.feasible(search.latency(start))) continue;
    std::vector<size_t> refined = search.exchange(search.refine(std::move(start)));
    const double value = search.kept(refined);
    if (value > best_value + kEpsilon) {
      best_value = value;
      best = std::move(refined);
    }
  }
  // No start fits: even the narrowest widths do not (the greedy from them is feasible otherwise).
  if (best.empty()) return result(search, std::vector<size_t>(problem.groups.size(), 0));
  BranchAndBound exact(search, std::move(best));
  const bool proved = exact.run();
  WidthChoice chosen = result(search, exact.best());
  chosen.optimal = proved;
  return chosen;
}

}  // namespace pare::latency

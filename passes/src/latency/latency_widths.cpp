// plan_latency_widths: the profile's tables restricted to the widths this step may choose, one
// latency term per measured layer, and the groups' importance as what each width keeps.
#include "latency_widths.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>

#include "pare/error.h"
#include "pare/passes/latency/width_choice.h"

namespace pare::latency {
namespace {

// The sum of the `width` highest scores, for every candidate width. Pinned channels (scored
// -infinity so that they go first) keep nothing.
std::vector<double> kept_importance(const std::vector<double>& scores,
                                    const std::vector<int64_t>& widths) {
  std::vector<double> sorted;
  for (double score : scores) sorted.push_back(std::isfinite(score) ? score : 0.0);
  std::sort(sorted.rbegin(), sorted.rend());
  std::vector<double> kept;
  for (int64_t width : widths) {
    double sum = 0.0;
    for (int64_t i = 0; i < width && i < static_cast<int64_t>(sorted.size()); ++i)
      sum += sorted[static_cast<size_t>(i)];
    kept.push_back(sum);
  }
  return kept;
}

std::string widths_text(const std::vector<int64_t>& widths) {
  std::string text;
  for (size_t i = 0; i < widths.size(); ++i) text += (i ? ", " : "") + std::to_string(widths[i]);
  return text;
}

size_t position_of(const std::vector<int64_t>& widths, int64_t width, const std::string& layer,
                   const char* side) {
  auto found = std::find(widths.begin(), widths.end(), width);
  PARE_CHECK(found != widths.end(), "target latency: layer '", layer, "' has no time at ", side,
             " width ", width, " (the profile measured ", widths_text(widths),
             "); profile the model as it is now (pare profile)");
  return static_cast<size_t>(found - widths.begin());
}

}  // namespace

LatencyWidths plan_latency_widths(const LatencyWidthsInputs& inputs) {
  const std::vector<pruning::GroupChoice>& choices = *inputs.choices;
  const LatencyProfile& profile = *inputs.profile;
  PARE_CHECK(inputs.threads >= 1 && inputs.threads <= profile.machine.max_threads,
             "target latency at ", inputs.threads, " threads: the profile has tables for 1 to ",
             profile.machine.max_threads, " threads; profile with --threads ", inputs.threads);
  const size_t thread_index = static_cast<size_t>(inputs.threads - 1);

  // The profile's prediction, layer by layer.
  const LatencyProfile::Linear linear = profile.prediction(inputs.threads);
  WidthProblem problem;
  std::vector<size_t> problem_of(choices.size(), SIZE_MAX);
  std::map<std::string, int64_t> present;  // group key -> width now, for every scored group
  LatencyWidths planned;
  for (size_t i = 0; i < choices.size(); ++i) {
    const pruning::Group& group = *choices[i].group;
    planned.kept.push_back(group.size);
    if (group.roots.empty()) continue;
    const std::string& key = group.roots.front();
    present[key] = group.size;
    const GroupWidths* widths = profile.group(key);
    if (widths == nullptr || inputs.scores[i].empty()) continue;
    const int64_t dense = inputs.dense_sizes[i];
    // A profile of the dense model, or of the model as pruned so far (iterative re-measuring).
    PARE_CHECK(widths->size == dense || widths->size == group.size,
               "target latency: the profile's group '", key, "' is ", widths->size,
               " wide but the model's is ", group.size,
               group.size == dense ? std::string() : str_cat(" (", dense, " dense)"),
               "; the profile was measured for another model (profile this one)");
    const int64_t most_removed =
        std::min(dense - 1, static_cast<int64_t>(static_cast<double>(dense) * inputs.max_ratio));
    const bool rounded = inputs.round_to > 1 && dense * group.blocks >= inputs.round_to;
    WidthOption option;
    option.key = key;
    for (int64_t width : widths->candidates) {
      if (width > group.size || width < dense - most_removed) continue;
      if (rounded && width != group.size && (width * group.blocks) % inputs.round_to != 0) continue;
      option.widths.push_back(width);
    }
    PARE_CHECK(!option.widths.empty() && option.widths.back() == group.size,
               "target latency: group '", key, "' is ", group.size,
               " wide now, a width the profile did not measure (it has ",
               widths_text(widths->candidates), "); profile the model as it is now");
    option.kept_importance = kept_importance(inputs.scores[i], option.widths);
    problem_of[i] = problem.groups.size();
    problem.groups.push_back(std::move(option));
  }
  std::map<std::string, size_t> index_of;
  for (size_t g = 0; g < problem.groups.size(); ++g) index_of[problem.groups[g].key] = g;

  // A side's widths: the problem group's candidates, or the one width it has now.
  const auto side = [&](const std::string& key, const std::vector<int64_t>& measured,
                        const std::string& layer, const char* name) {
    struct Side {
      int64_t group = -1;
      std::vector<size_t> positions;
    } result;
    auto found = index_of.find(key);
    if (!key.empty() && found != index_of.end()) {
      result.group = static_cast<int64_t>(found->second);
      for (int64_t width : problem.groups[found->second].widths)
        result.positions.push_back(position_of(measured, width, layer, name));
      return result;
    }
    int64_t width = measured.back();
    if (!key.empty()) {
      auto now = present.find(key);
      if (now != present.end()) width = now->second;
    }
    result.positions.push_back(position_of(measured, width, layer, name));
    return result;
  };
  for (const LayerLatency& layer : profile.layers) {
    const auto in = side(layer.in_group, layer.in_widths, layer.layer, "input");
    const auto out = side(layer.out_group, layer.out_widths, layer.layer, "output");
    LatencyTerm term{in.group, out.group, {}};
    const std::vector<double>& times = layer.ms.at(thread_index);
    const double scale = linear.layer_scale;
    for (size_t i : in.positions)
      for (size_t o : out.positions) {
        // A same-group layer (a depthwise conv) has one time per width: its table's diagonal.
        // Its other pairs never occur; +infinity keeps them out of the search's bounds.
        if (layer.same_group())
          term.ms.push_back(i == o ? scale * times.at(i) : std::numeric_limits<double>::infinity());
        else
          term.ms.push_back(scale * times.at(i * layer.out_widths.size() + o));
      }
    problem.terms.push_back(std::move(term));
  }
  problem.constant_ms = linear.constant_ms;

  const WidthChoice chosen = choose_widths(problem, inputs.budget_ms);
  if (!chosen.feasible)
    throw Error(str_cat("target latency ", inputs.budget_ms, " ms at ", inputs.threads,
                        " thread(s) cannot be met: the narrowest widths allowed predict ",
                        chosen.predicted_ms,
                        " ms; raise the target, or max_ratio, or lower round_to"));

  nlohmann::json groups = nlohmann::json::array();
  for (size_t i = 0; i < choices.size(); ++i) {
    if (problem_of[i] == SIZE_MAX) continue;
    planned.kept[i] = problem.groups[problem_of[i]].widths[chosen.choice[problem_of[i]]];
  }
  for (size_t g = 0; g < problem.groups.size(); ++g) {
    const WidthOption& option = problem.groups[g];
    const int64_t width = option.widths[chosen.choice[g]];
    double group_ms = 0.0;
    for (size_t t = 0; t < problem.terms.size(); ++t) {
      if (profile.layers[t].out_group != option.key) continue;
      const LatencyTerm& term = problem.terms[t];
      const size_t in = term.in_group < 0 ? 0 : chosen.choice[static_cast<size_t>(term.in_group)];
      const size_t outs = problem.groups[g].widths.size();
      group_ms += term.ms[in * outs + chosen.choice[g]];
    }
    groups.push_back(
        {{"key", option.key},
         {"width", width},
         {"candidates", option.widths},
         // Its layers alone, as the profile timed them (comparable with the
         // pruned layers timed alone), not scaled to the whole model's time.
         {"predicted_ms", linear.layer_scale > 0.0 ? group_ms / linear.layer_scale : 0.0}});
  }
  planned.report = {{"threads", inputs.threads},
                    {"budget_ms", inputs.budget_ms},
                    {"predicted_ms", chosen.predicted_ms},
                    {"optimal", chosen.optimal},
                    {"groups", groups}};
  return planned;
}

}  // namespace pare::latency

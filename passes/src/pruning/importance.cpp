// Importance: per-member slice scores, reduced over the members that scored, then normalised, as
// Torch-Pruning's GroupMagnitudeImportance and its subclasses do (read for the semantics).
#include "pare/passes/pruning/importance.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

#include "pare/creation.h"
#include "pare/error.h"
#include "pare/nn/nn.h"
#include "pare/passes/pruning/axis_sums.h"

namespace pare::pruning {
namespace {

// What a parameter member is to the criteria.
enum class Role { none, out_rows, in_columns, norm_scale };

struct Owner {
  std::shared_ptr<nn::Module> module;
  std::string local;  // "weight"
};

Owner owner_of(const ir::GraphModule& gm, const std::string& qualified) {
  const size_t dot = qualified.rfind('.');
  if (dot == std::string::npos) return {gm.root_ptr(), qualified};
  return {gm.module(qualified.substr(0, dot)), qualified.substr(dot + 1)};
}

bool is_depthwise(const nn::Conv2dImpl& conv) {
  const nn::Conv2dOptions& options = conv.options();
  return options.groups() > 1 && options.groups() == options.in_channels() &&
         options.groups() == options.out_channels();
}

Role role_of(const ir::GraphModule& gm, const GroupMember& member) {
  if (member.kind != GroupMember::Kind::parameter) return Role::none;
  const Owner owner = owner_of(gm, member.name);
  if (owner.local != "weight") return Role::none;
  const nn::Module& module = *owner.module;
  if (const auto* conv = nn::as<nn::Conv2dImpl>(&module)) {
    if (is_depthwise(*conv)) return Role::none;
    return member.axis == 0 ? Role::out_rows : member.axis == 1 ? Role::in_columns : Role::none;
  }
  if (nn::as<nn::LinearImpl>(&module) != nullptr)
    return member.axis == 0 ? Role::out_rows : member.axis == 1 ? Role::in_columns : Role::none;
  if (nn::as<nn::BatchNorm2dImpl>(&module) != nullptr || nn::as<nn::LayerNormImpl>(&module))
    return member.axis == 0 ? Role::norm_scale : Role::none;
  return Role::none;
}

// A grouped conv's groups for its weight member (1 for anything else).
int64_t conv_groups(const ir::GraphModule& gm, const GroupMember& member) {
  const auto* conv = nn::as<nn::Conv2dImpl>(owner_of(gm, member.name).module.get());
  return conv == nullptr ? 1 : conv->options().groups();
}

// The member's score per group channel: the per-index values summed over the positions the
// channel maps to.
std::vector<double> per_channel(const std::vector<double>& per_index, const GroupMember& member,
                                int64_t size) {
  std::vector<double> scores(static_cast<size_t>(size), 0.0);
  for (int64_t c = 0; c < size; ++c)
    for (int64_t r = 0; r < member.block; ++r)
      scores[c] += per_index.at(member.offset + c * member.block + r);
  return scores;
}

// Root filters of channel c: the rows [offset + c * block, ...) of the weight, flattened.
std::vector<double> fpgm_scores(const Tensor& weight, const GroupMember& member, int64_t size) {
  const std::vector<float> data = to_float_vector(weight.contiguous());
  const int64_t row = weight.numel() / weight.size(0) * member.block;
  std::vector<double> scores(static_cast<size_t>(size), 0.0);
  for (int64_t a = 0; a < size; ++a)
    for (int64_t b = 0; b < size; ++b) {
      if (a == b) continue;
      double squared = 0.0;
      const int64_t base_a = (member.offset + a * member.block) * (row / member.block);
      const int64_t base_b = (member.offset + b * member.block) * (row / member.block);
      for (int64_t k = 0; k < row; ++k) {
        const double d = static_cast<double>(data[base_a + k]) - data[base_b + k];
        squared += d * d;
      }
      scores[a] += std::sqrt(squared);
    }
  return scores;
}

std::vector<double> reduce(const std::vector<std::vector<double>>& members, GroupReduction how,
                           int64_t size) {
  std::vector<double> result(static_cast<size_t>(size), 0.0);
  if (members.empty()) return {};
  if (how == GroupReduction::first) return members.front();
  if (how == GroupReduction::prod) std::fill(result.begin(), result.end(), 1.0);
  if (how == GroupReduction::max) result = members.front();
  for (const std::vector<double>& scores : members)
    for (int64_t c = 0; c < size; ++c) {
      switch (how) {
        case GroupReduction::mean:
        case GroupReduction::sum:
          result[c] += scores[c];
          break;
        case GroupReduction::max:
          result[c] = std::max(result[c], scores[c]);
          break;
        case GroupReduction::prod:
          result[c] *= scores[c];
          break;
        case GroupReduction::first:
          break;
      }
    }
  if (how == GroupReduction::mean)
    for (double& value : result) value /= static_cast<double>(members.size());
  return result;
}

void normalize(std::vector<double>& scores, Normalizer how) {
  if (scores.empty() || how == Normalizer::none) return;
  const double sum = std::accumulate(scores.begin(), scores.end(), 0.0);
  const auto [low, high] = std::minmax_element(scores.begin(), scores.end());
  const double min = *low, max = *high;
  double shift = 0.0, scale = 1.0;
  switch (how) {
    case Normalizer::mean:
      scale = sum / static_cast<double>(scores.size());
      break;
    case Normalizer::max:
      scale = max;
      break;
    case Normalizer::sum:
      scale = sum;
      break;
    case Normalizer::standardization:
      shift = min;
      scale = max - min + 1e-8;
      break;
    case Normalizer::none:
      break;
  }
  // An all-zero group stays zero rather than turning into NaNs.
  if (scale == 0.0) return;
  for (double& value : scores) value = (value - shift) / scale;
}

// LAMP (Lee et al. 2021): each score over the sum of the scores that are not smaller than it
// (in ascending order, ties by index: itself and everything after it).
void lamp_normalize(std::vector<double>& scores) {
  const std::vector<int64_t> order = pruning_order(scores);
  double rest = std::accumulate(scores.begin(), scores.end(), 0.0);
  std::vector<double> normalized(scores.size(), 0.0);
  for (int64_t index : order) {
    normalized[index] = rest == 0.0 ? 0.0 : scores[index] / rest;
    rest -= scores[index];
  }
  scores = std::move(normalized);
}

}  // namespace

Importance Importance::l1() { return Importance(Criterion::magnitude, 1.0); }
Importance Importance::l2() { return Importance(Criterion::magnitude, 2.0); }
Importance Importance::bn_scale() { return Importance(Criterion::bn_scale, 1.0); }
Importance Importance::fpgm() { return Importance(Criterion::fpgm, 2.0); }
Importance Importance::lamp() { return Importance(Criterion::lamp, 2.0); }
Importance Importance::random(uint64_t seed) {
  Importance importance(Criterion::random, 0.0);
  importance.seed_ = seed;
  return importance;
}

Importance Importance::taylor() { return Importance(Criterion::taylor, 1.0); }

Importance Importance::named(const std::string& name, uint64_t seed) {
  if (name == "l1") return l1();
  if (name == "l2") return l2();
  if (name == "bn_scale") return bn_scale();
  if (name == "fpgm") return fpgm();
  if (name == "lamp") return lamp();
  if (name == "random") return random(seed);
  if (name == "taylor") return taylor();
  throw Error(str_cat("Importance: unknown criterion '", name,
                      "'; use one of l1, l2, bn_scale, fpgm, lamp, random, taylor"));
}

std::string Importance::name() const {
  switch (criterion_) {
    case Criterion::magnitude:
      return p_ == 1.0 ? "l1" : "l2";
    case Criterion::bn_scale:
      return "bn_scale";
    case Criterion::fpgm:
      return "fpgm";
    case Criterion::lamp:
      return "lamp";
    case Criterion::random:
      return "random";
    case Criterion::taylor:
      return "taylor";
  }
  return "";
}

std::vector<double> Importance::reduced(const ir::GraphModule& graph_module,
                                        const Group& group) const {
  if (criterion_ == Criterion::random) {
    std::mt19937_64 generator(seed_ * 1000003u + static_cast<uint64_t>(group.id));
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    std::vector<double> scores(static_cast<size_t>(group.size));
    for (double& score : scores) score = uniform(generator);
    return scores;
  }
  std::vector<std::vector<double>> scored;
  if (criterion_ == Criterion::fpgm) {
    for (const std::string& root : group.roots) {
      // A grouped conv's root has one member per block: the blocks' scores add up.
      std::vector<double> scores;
      for (const GroupMember& member : group.members) {
        if (member.name != root + ".weight" || member.axis != 0) continue;
        const std::vector<double> block =
            fpgm_scores(graph_module.attribute(member.name), member, group.size);
        if (scores.empty()) scores.assign(block.size(), 0.0);
        for (size_t c = 0; c < block.size(); ++c) scores[c] += block[c];
      }
      if (!scores.empty()) scored.push_back(std::move(scores));
    }
    return reduce(scored, reduction_, group.size);
  }
  // `first` is the first root's output rows, whatever order the members come in.
  const std::string first_root = group.roots.empty() ? "" : group.roots.front() + ".weight";
  // The members of one tensor axis (one per block of a grouped conv's channels) score as one:
  // their scores add up, as Torch-Pruning sums a grouped conv's channel scores over its groups.
  std::map<std::pair<std::string, int64_t>, size_t> scored_at;
  auto add = [&](const GroupMember& member, std::vector<double> scores) {
    const auto [at, inserted] = scored_at.try_emplace({member.name, member.axis}, scored.size());
    if (inserted) {
      scored.push_back(std::move(scores));
      return;
    }
    for (size_t c = 0; c < scores.size(); ++c) scored[at->second][c] += scores[c];
  };
  for (const GroupMember& member : group.members) {
    const Role role = role_of(graph_module, member);
    if (role == Role::none) continue;
    if (criterion_ == Criterion::bn_scale && role != Role::norm_scale) continue;
    if (reduction_ == GroupReduction::first && (member.name != first_root || member.axis != 0))
      continue;
    const Tensor value = graph_module.attribute(member.name);
    // A grouped conv's input column j reads channel j of every group: Torch-Pruning repeats its
    // score per group before summing the groups.
    const int64_t repeats = role == Role::in_columns ? conv_groups(graph_module, member) : 1;
    if (criterion_ == Criterion::taylor) {
      PARE_CHECK(value.grad().defined(), "Importance taylor: '", member.name,
                 "' has no gradient; run the graph module on calibration batches and "
                 "back-propagate a loss first (pare::pruning::accumulate_gradients)");
      std::vector<double> scores =
          per_channel(per_index_products(value, value.grad(), member.axis), member, group.size);
      for (double& score : scores) score = std::abs(score) * static_cast<double>(repeats);
      add(member, std::move(scores));
      continue;
    }
    const std::vector<double> per_index = per_index_power_sums(value, member.axis, p_);
    std::vector<double> scores = per_channel(per_index, member, group.size);
    for (double& score : scores) score *= static_cast<double>(repeats);
    add(member, std::move(scores));
  }
  return reduce(scored, reduction_, group.size);
}

std::vector<double> Importance::operator()(const ir::GraphModule& graph_module,
                                           const Group& group) const {
  std::vector<double> scores = reduced(graph_module, group);
  if (criterion_ == Criterion::random) return scores;
  if (criterion_ == Criterion::lamp) {
    lamp_normalize(scores);
  } else {
    normalize(scores, normalizer_);
  }
  return scores;
}

void accumulate_gradients(ir::GraphModule& graph_module, const std::vector<Tensor>& batches,
                          const std::function<Tensor(const Tensor& output)>& loss) {
  PARE_CHECK(!batches.empty(), "accumulate_gradients: no calibration batches");
  graph_module.root().zero_grad();
  for (const Tensor& batch : batches) loss(graph_module.interpret({batch}).tensor()).backward();
}

std::vector<int64_t> pruning_order(const std::vector<double>& scores) {
  std::vector<int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return scores[a] < scores[b]; });
  return order;
}

}  // namespace pare::pruning

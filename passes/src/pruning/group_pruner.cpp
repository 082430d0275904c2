// GroupPruner: choose per group (local or global), then plan every tensor slice, width and shape
// literal before changing anything, so that a refusal leaves the graph module as it was.
#include "pare/passes/pruning/group_pruner.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <set>
#include <unordered_set>

#include "../latency/latency_widths.h"
#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/error.h"
#include "pare/ir/model_stats.h"
#include "pare/ir/shape_inference.h"
#include "pare/nn/nn.h"
#include "pare/passes/pruning/keep_along_axes.h"

namespace pare::pruning {
namespace {

std::string path_text(const std::vector<std::string>& path) {
  std::string text;
  for (size_t i = 0; i < path.size(); ++i) text += (i ? " -> " : "") + path[i];
  return text;
}

std::unordered_set<std::string> called_modules(const ir::GraphModule& gm) {
  std::unordered_set<std::string> called;
  for (const ir::Node* node : gm.graph().nodes())
    if (node->op() == ir::OpKind::call_module) called.insert(node->target());
  return called;
}

std::vector<int64_t> complement(int64_t size, const std::set<int64_t>& removed) {
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < size; ++i)
    if (!removed.count(i)) kept.push_back(i);
  return kept;
}

// The same for positions sorted ascending without repeats: one merge, no lookups.
std::vector<int64_t> complement(int64_t size, const std::vector<int64_t>& sorted_removed) {
  std::vector<int64_t> kept;
  kept.reserve(static_cast<size_t>(
      std::max<int64_t>(size - static_cast<int64_t>(sorted_removed.size()), 0)));
  auto next = sorted_removed.begin();
  for (int64_t i = 0; i < size; ++i) {
    if (next != sorted_removed.end() && *next == i) {
      ++next;
      continue;
    }
    kept.push_back(i);
  }
  return kept;
}

struct Owner {
  std::string name;  // "" for the root module
  std::string local;
};

Owner split_name(const std::string& qualified) {
  const size_t dot = qualified.rfind('.');
  if (dot == std::string::npos) return {"", qualified};
  return {qualified.substr(0, dot), qualified.substr(dot + 1)};
}

// A layer's width options, read back from its sliced tensors. `depthwise`: whether the conv was
// depthwise before (groups = in, out = m * in for a channel multiplier m), so that groups follows
// the kept input count; a grouped conv keeps its groups (every block kept the same count).
void fit_options(nn::Module& module, bool depthwise) {
  if (auto* conv = nn::as<nn::Conv2dImpl>(&module)) {
    const Tensor weight = module.get_parameter("weight");
    nn::Conv2dOptions& options = conv->options();
    if (depthwise) {
      // The options still hold the dense widths: the multiplier is theirs.
      const int64_t multiplier = options.out_channels() / options.in_channels();
      const int64_t in = weight.size(0) / multiplier;
      options.in_channels(in).out_channels(weight.size(0)).groups(in);
    } else {
      options.in_channels(weight.size(1) * options.groups()).out_channels(weight.size(0));
    }
  } else if (auto* linear = nn::as<nn::LinearImpl>(&module)) {
    const Tensor weight = module.get_parameter("weight");
    linear->options().in_features(weight.size(1)).out_features(weight.size(0));
  } else if (auto* norm = nn::as<nn::BatchNorm2dImpl>(&module)) {
    for (const auto& [name, value] : module.named_buffers(false))
      if (name == "running_mean") norm->options().num_features(value.size(0));
    for (const auto& [name, value] : module.named_parameters(false))
      if (name == "weight") norm->options().num_features(value.size(0));
  } else if (auto* layer_norm = nn::as<nn::LayerNormImpl>(&module)) {
    layer_norm->options().normalized_shape({module.get_parameter("weight").size(0)});
  } else if (auto* lstm = nn::as<nn::LSTMImpl>(&module)) {
    lstm->options()
        .input_size(module.get_parameter("weight_ih_l0").size(1))
        .hidden_size(module.get_parameter("weight_hh_l0").size(1));
  }
}

bool is_depthwise(const nn::Module& module) {
  const auto* conv = nn::as<nn::Conv2dImpl>(&module);
  if (conv == nullptr) return false;
  const nn::Conv2dOptions& options = conv->options();
  return options.groups() > 1 && options.groups() == options.in_channels();
}

// A view / reshape's shape literal: where it is and what it says.
struct ShapeLiteral {
  enum class Where { kwarg_shape, kwarg_size, list_argument, int_arguments } where;
  std::vector<int64_t> values;
};

std::optional<ShapeLiteral> shape_literal(const ir::Node& node) {
  if (node.kwarg("shape") != nullptr)
    return ShapeLiteral{ShapeLiteral::Where::kwarg_shape, node.kwarg("shape")->to_ints("shape")};
  if (node.kwarg("size") != nullptr)
    return ShapeLiteral{ShapeLiteral::Where::kwarg_size, node.kwarg("size")->to_ints("size")};
  const std::vector<ir::Argument>& args = node.args();
  if (args.size() == 2 && args[1].is_list())
    return ShapeLiteral{ShapeLiteral::Where::list_argument, args[1].to_ints("shape")};
  if (args.size() >= 2) {
    std::vector<int64_t> values;
    for (size_t i = 1; i < args.size(); ++i) {
      if (!args[i].is_int()) return std::nullopt;
      values.push_back(args[i].to_int());
    }
    return ShapeLiteral{ShapeLiteral::Where::int_arguments, values};
  }
  return std::nullopt;
}

void write_shape_literal(ir::Node& node, const ShapeLiteral& literal) {
  switch (literal.where) {
    case ShapeLiteral::Where::kwarg_shape:
      node.set_kwarg("shape", ir::Argument(literal.values));
      return;
    case ShapeLiteral::Where::kwarg_size:
      node.set_kwarg("size", ir::Argument(literal.values));
      return;
    case ShapeLiteral::Where::list_argument:
      node.set_args({node.args()[0], ir::Argument(literal.values)});
      return;
    case ShapeLiteral::Where::int_arguments: {
      std::vector<ir::Argument> args{node.args()[0]};
      for (int64_t value : literal.values) args.emplace_back(value);
      node.set_args(std::move(args));
      return;
    }
  }
}

DependencyGraphOptions graph_options(const GroupPrunerOptions& options) {
  return {.allow_output_change = options.allow_output_change(),
          .ignored_layers = options.ignored()};
}

// A key for every prunable group that names it again after slicing, when ids have changed: its
// roots (layers keep their names), and among groups with the same roots (a concat cutting a
// layer's output between groups) its place in the graph's order, which slicing keeps.
std::map<const Group*, std::string> group_keys(const DependencyGraph& graph) {
  std::map<std::string, int64_t> seen;
  std::map<const Group*, std::string> keys;
  for (const Group& group : graph.groups()) {
    if (!group.prunable) continue;
    std::string roots;
    for (const std::string& root : group.roots) roots += root + ",";
    keys[&group] = str_cat(roots, "#", seen[roots]++);
  }
  return keys;
}

}  // namespace

double linear_schedule(double target, int64_t step, int64_t steps) {
  return static_cast<double>(step) / static_cast<double>(steps) * target;
}

GroupPruner::GroupPruner(ir::GraphModule& graph_module, GroupPrunerOptions options)
    : gm_(graph_module),
      options_(std::move(options)),
      graph_(graph_module, graph_options(options_)),
      keys_(group_keys(graph_)) {
  const std::unordered_set<std::string> called = called_modules(gm_);
  for (const std::string& name : options_.ignored())
    PARE_CHECK(called.count(name), "GroupPruner: ignored layer '", name,
               "' is not a module the graph calls; name layers by their qualified names "
               "(such as 'layer1.0.conv1', as the state dict keys without '.weight')");
  const double ratio = options_.ratio();
  PARE_CHECK(ratio >= 0.0 && ratio < 1.0, "GroupPruner: ratio ", ratio,
             " is outside [0, 1); it is the share of channels that goes");
  PARE_CHECK(options_.round_to() >= 1, "GroupPruner: round_to ", options_.round_to(),
             " must be at least 1");
  PARE_CHECK(options_.max_ratio() > 0.0 && options_.max_ratio() < 1.0, "GroupPruner: max_ratio ",
             options_.max_ratio(), " is outside (0, 1)");
  if (options_.target_macs())
    PARE_CHECK(*options_.target_macs() > 0.0 && *options_.target_macs() <= 1.0,
               "GroupPruner: target_macs ", *options_.target_macs(),
               " is outside (0, 1]; it is the share of the dense MACs to keep");
  PARE_CHECK(options_.iterative_steps() >= 1, "GroupPruner: iterative_steps ",
             options_.iterative_steps(), " must be at least 1");
  PARE_CHECK(static_cast<bool>(options_.schedule()),
             "GroupPruner: the schedule is empty; leave it out for linear_schedule");
  for (const auto& [group, key] : keys_) original_sizes_[key] = group->size;
  for (const auto& [layer, layer_ratio] : options_.layer_ratios()) {
    PARE_CHECK(called.count(layer), "GroupPruner: per-layer ratio for '", layer,
               "', which is not a module the graph calls; name layers by their qualified names");
    PARE_CHECK(layer_ratio >= 0.0 && layer_ratio < 1.0, "GroupPruner: ratio ", layer_ratio,
               " for layer '", layer, "' is outside [0, 1)");
    bool rooted = false;
    for (const Group& group : graph_.groups())
      if (group.prunable &&
          std::find(group.roots.begin(), group.roots.end(), layer) != group.roots.end())
        rooted = true;
    if (rooted) continue;
    for (const NotPrunableLayer& refused : graph_.not_prunable())
      if (refused.layer == layer)
        throw Error(str_cat("GroupPruner: per-layer ratio for '", layer,
                            "', whose output channels cannot be pruned: ", refused.reason,
                            refused.path.empty() ? "" : " (path " + path_text(refused.path) + ")",
                            "; drop its ratio"));
    throw Error(
        str_cat("GroupPruner: per-layer ratio for '", layer,
                "', which roots no prunable group (only Conv2d, Linear and LSTM layers do); "
                "drop its ratio"));
  }
  if (const auto& latency = options_.target_latency()) {
    PARE_CHECK(latency->profile != nullptr, "GroupPruner: target_latency has no profile");
    PARE_CHECK(latency->ms > 0.0 || (latency->fraction > 0.0 && latency->fraction <= 1.0),
               "GroupPruner: target latency ", latency->fraction,
               " is outside (0, 1]; it is the share of the dense latency to keep (or give ms)");
    PARE_CHECK(options_.layer_ratios().empty() && !options_.target_macs(),
               "GroupPruner: target_latency chooses every width itself; drop the per-layer "
               "ratios and target_macs");
  }
  const ir::ModelStats stats = ir::model_stats(gm_);
  params_before_ = params_after_ = stats.params;
  macs_before_ = macs_after_ = stats.macs;
}

std::optional<double> GroupPruner::layer_ratio(const Group& group) const {
  for (const std::string& root : group.roots) {
    auto found = options_.layer_ratios().find(root);
    if (found != options_.layer_ratios().end()) return found->second;
  }
  return std::nullopt;
}

double GroupPruner::scheduled(double target, const std::string& what) const {
  const int64_t steps = options_.iterative_steps();
  const double value = options_.schedule()(target, step_, steps);
  PARE_CHECK(value >= 0.0 && value < 1.0, "GroupPruner: the schedule gives ", value, " at step ",
             step_, " of ", steps, " for ", what, " ", target,
             "; it must be a share in [0, 1) of the original widths");
  return value;
}

int64_t GroupPruner::original_size(const Group& group) const {
  // A group the dense analysis did not have (none is expected: slicing keeps the couplings) starts
  // from its present width.
  auto key = keys_.find(&group);
  if (key == keys_.end()) return group.size;
  auto found = original_sizes_.find(key->second);
  return found == original_sizes_.end() ? group.size : found->second;
}

std::vector<int64_t> GroupPruner::finish(const GroupChoice& choice, int64_t removed_count) const {
  const std::vector<int64_t> order = pruning_order(choice.importance);
  std::vector<int64_t> removed(order.begin(), order.begin() + removed_count);
  std::sort(removed.begin(), removed.end());
  return removed;
}

void GroupPruner::pin_removed(const Group& group, std::vector<int64_t> channels) {
  for (int64_t channel : channels)
    PARE_CHECK(channel >= 0 && channel < group.size, "GroupPruner::pin_removed: channel ", channel,
               " is outside group ", group.id, " of ", group.size, " channels");
  pinned_[group.id] = std::move(channels);
}

void GroupPruner::step() {
  PARE_CHECK(step_ < options_.iterative_steps(), "GroupPruner::step: all ",
             options_.iterative_steps(), " iterative steps are done", pruned_ ? " and pruned" : "",
             "; build a new GroupPruner to prune further");
  if (pruned_) {
    // The groups of the pruned graph (the choices pointing into the old analysis are gone, and so
    // are the pins, which name the old groups).
    choices_.clear();
    graph_ = DependencyGraph(gm_, graph_options(options_));
    keys_ = group_keys(graph_);
    tensors_.clear();
    pinned_.clear();
    pruned_ = false;
  }
  ++step_;
  try {
    choose();
  } catch (...) {
    // A refusal takes no step, so that the same step can run once its cause is fixed (taylor's
    // missing gradients, say).
    --step_;
    throw;
  }
}

void GroupPruner::rechoose() {
  PARE_CHECK(step_ > 0, "GroupPruner::rechoose: no step has chosen yet; call step() first");
  PARE_CHECK(!pruned_, "GroupPruner::rechoose: the current step is already pruned; call step()");
  choose();
}

void GroupPruner::choose() {
  stepped_ = false;
  choices_.clear();
  latency_report_ = nullptr;
  try {
    for (const Group& group : graph_.groups()) {
      if (!group.prunable) continue;
      choices_.push_back({&group, options_.importance()(gm_, group), {}, {}});
    }
    // Pinned channels rank below every score while choosing; the report keeps their real scores.
    std::vector<std::vector<double>> scores;
    for (GroupChoice& choice : choices_) {
      scores.push_back(choice.importance);
      auto pinned = pinned_.find(choice.group->id);
      if (pinned == pinned_.end() || choice.importance.empty()) continue;
      for (int64_t channel : pinned->second)
        choice.importance[channel] = -std::numeric_limits<double>::infinity();
    }
    if (options_.target_latency()) {
      choose_latency();
    } else if (options_.global()) {
      choose_global();
    } else {
      choose_local();
    }
    for (size_t i = 0; i < choices_.size(); ++i) choices_[i].importance = std::move(scores[i]);
  } catch (...) {
    choices_.clear();
    throw;
  }
  for (GroupChoice& choice : choices_) {
    const std::set<int64_t> removed(choice.removed.begin(), choice.removed.end());
    choice.kept = complement(choice.group->size, removed);
  }
  stepped_ = true;
}

namespace {

// The step of a group's kept count such that the root channels it stands for (kept * blocks) are
// a multiple of round_to.
int64_t keep_step(int64_t blocks, int64_t round_to) {
  return round_to / std::gcd(round_to, blocks);
}

// Kept count rounded down so that kept * blocks is a multiple of round_to, for groups of at least
// round_to root channels; zero means the ratio cannot keep a multiple.
int64_t rounded_keep(int64_t size, int64_t blocks, int64_t keep, int64_t round_to) {
  if (round_to <= 1 || size * blocks < round_to) return std::max<int64_t>(keep, 1);
  const int64_t step = keep_step(blocks, round_to);
  return keep - keep % step;
}

std::string root_label(const Group& group) {
  return group.roots.empty() ? str_cat("group ", group.id) : group.roots.front();
}

// The MACs of the Conv2d and Linear modules as channels go: each module's present count scaled by
// the share of its weight's rows (axis 0) and columns (axis 1) that stays, which is what
// model_stats counts for a sliced layer (N * out_h * out_w * out * in / groups * kh * kw).
// `target`: the MACs to reach (a share of the dense model's, which an earlier step may have
// pruned).
class MacBudget {
 public:
  MacBudget(ir::GraphModule& gm, double target) {
    const ir::ModelStats stats = ir::model_stats(gm);
    for (const ir::ModuleStats& module : stats.modules) {
      if (module.macs == 0 ||
          (module.kind != nn::ModuleKind::conv2d && module.kind != nn::ModuleKind::linear))
        continue;
      const Tensor weight = gm.attribute(module.name + ".weight");
      layers_[module.name] = {static_cast<double>(module.macs), weight.size(0),
                              weight.dim() > 1 ? weight.size(1) : 1, 0, 0};
    }
    target_ = target;
    current_ = static_cast<double>(stats.macs);
  }
  bool reached() const { return current_ <= target_; }
  // One channel of `group` goes.
  void remove(const Group& group) {
    for (const GroupMember& member : group.members) {
      if (member.kind != GroupMember::Kind::parameter || member.axis > 1) continue;
      const Owner owner = split_name(member.name);
      auto found = layers_.find(owner.name);
      if (owner.local != "weight" || found == layers_.end()) continue;
      Layer& layer = found->second;
      current_ -= layer.macs();
      (member.axis == 0 ? layer.rows_gone : layer.columns_gone) += member.block;
      current_ += layer.macs();
    }
  }

 private:
  struct Layer {
    double dense;
    int64_t rows, columns, rows_gone, columns_gone;
    double macs() const {
      return dense * static_cast<double>(rows - rows_gone) / static_cast<double>(rows) *
             static_cast<double>(columns - columns_gone) / static_cast<double>(columns);
    }
  };
  std::map<std::string, Layer> layers_;
  double target_ = 0.0, current_ = 0.0;
};

}  // namespace

void GroupPruner::choose_local(bool only_layer_ratios) {
  for (GroupChoice& choice : choices_) {
    if (choice.importance.empty()) continue;
    if (only_layer_ratios && !layer_ratio(*choice.group)) continue;
    const Group& group = *choice.group;
    const std::optional<double> own_ratio = layer_ratio(group);
    const double ratio = scheduled(
        own_ratio.value_or(options_.ratio()),
        own_ratio ? "the ratio of layer '" + root_label(group) + "'" : std::string("ratio"));
    // A grouped conv's blocks each keep this count of their n channels (the same indices in
    // every block, chosen by the scores summed over the blocks, as Torch-Pruning does). The ratio
    // is of the dense width: an earlier step may have pruned the group to its present size.
    const int64_t n = original_size(group), present = group.size;
    const int64_t unrounded = static_cast<int64_t>(static_cast<double>(n) * (1.0 - ratio));
    const int64_t keep = rounded_keep(n, group.blocks, unrounded, options_.round_to());
    const std::string at_step = options_.iterative_steps() == 1
                                    ? ""
                                    : str_cat(" at step ", step_, " of ",
                                              options_.iterative_steps(), " (of the dense width)");
    if (group.blocks == 1) {
      PARE_CHECK(keep > 0, "GroupPruner: layer '", root_label(group), "' (group ", group.id, ", ",
                 n, " channels): ratio ", ratio, at_step, " keeps ", unrounded,
                 " channels, fewer than round_to ", options_.round_to(),
                 ", so no multiple of it can stay; lower the ratio or round_to");
    } else {
      PARE_CHECK(keep > 0, "GroupPruner: layer '", root_label(group), "' (group ", group.id, ", ",
                 group.blocks, " blocks of ", n, " channels, a grouped conv's groups): ratio ",
                 ratio, at_step, " keeps ", unrounded,
                 " channels per block, but every block must keep "
                 "the same count and the ",
                 group.blocks, " blocks together a multiple of round_to ", options_.round_to(),
                 ", so each must keep a multiple of ", keep_step(group.blocks, options_.round_to()),
                 "; lower the ratio or round_to");
    }
    // A schedule that goes back never brings channels back.
    choice.removed = finish(choice, std::max<int64_t>(present - keep, 0));
  }
}

void GroupPruner::choose_global() {
  struct Candidate {
    double score;
    size_t choice;
    int64_t channel;
  };
  std::vector<Candidate> candidates;
  // The ranked groups' channels now and in the dense model.
  int64_t total = 0, original_total = 0;
  for (size_t i = 0; i < choices_.size(); ++i) {
    GroupChoice& choice = choices_[i];
    if (choice.importance.empty()) continue;
    if (layer_ratio(*choice.group)) continue;
    // A grouped conv's channel stands for one channel of each of its blocks.
    total += choice.group->size * choice.group->blocks;
    original_total += original_size(*choice.group) * choice.group->blocks;
    for (int64_t c = 0; c < choice.group->size; ++c)
      candidates.push_back({choice.importance[c], i, c});
  }
  // Per-layer ratios are their own scope, pruned locally.
  choose_local(/*only_layer_ratios=*/true);
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) {
                     if (a.score != b.score) return a.score < b.score;
                     if (a.choice != b.choice) return a.choice < b.choice;
                     return a.channel < b.channel;
                   });
  // The channels gone after this step, of the original total; earlier steps' count as taken.
  std::optional<MacBudget> budget;
  int64_t target = 0;
  if (options_.target_macs()) {
    const double kept_share = *options_.target_macs();
    const double removed_share = scheduled(1.0 - kept_share, "the MAC share to remove");
    // 1 - (1 - t) need not be t in floating point: the schedule's end is the target itself.
    const double share = removed_share == 1.0 - kept_share ? kept_share : 1.0 - removed_share;
    budget.emplace(gm_, share * static_cast<double>(macs_before_));
  } else {
    const double ratio = scheduled(options_.ratio(), "ratio");
    target =
        original_total - static_cast<int64_t>(static_cast<double>(original_total) * (1.0 - ratio));
  }
  std::vector<int64_t> count(choices_.size(), 0);
  int64_t taken = original_total - total;
  for (const Candidate& candidate : candidates) {
    if (budget ? budget->reached() : taken >= target) break;
    const Group& group = *choices_[candidate.choice].group;
    // max_ratio caps the loss of the dense width, earlier steps' included.
    const int64_t n = original_size(group);
    const int64_t cap =
        std::min(n - 1, static_cast<int64_t>(static_cast<double>(n) * options_.max_ratio())) -
        (n - group.size);
    if (count[candidate.choice] >= cap) continue;
    ++count[candidate.choice];
    taken += group.blocks;
    if (budget) budget->remove(group);
  }
  for (size_t i = 0; i < choices_.size(); ++i) {
    GroupChoice& choice = choices_[i];
    if (choice.importance.empty() || layer_ratio(*choice.group)) continue;
    const int64_t n = choice.group->size;
    int64_t keep = rounded_keep(original_size(*choice.group), choice.group->blocks, n - count[i],
                                options_.round_to());
    // Global rounding never empties a group: at least one multiple of round_to stays.
    if (keep == 0) keep = std::min(n, keep_step(choice.group->blocks, options_.round_to()));
    choice.removed = finish(choice, n - keep);
  }
}

void GroupPruner::set_latency_profile(std::shared_ptr<const latency::LatencyProfile> profile) {
  PARE_CHECK(options_.target_latency().has_value(),
             "GroupPruner::set_latency_profile: the pruner has no target_latency");
  PARE_CHECK(profile != nullptr, "GroupPruner::set_latency_profile: no profile");
  LatencyTarget target = *options_.target_latency();
  target.profile = std::move(profile);
  options_.target_latency(std::move(target));
}

void GroupPruner::choose_latency() {
  const LatencyTarget& target = *options_.target_latency();
  const latency::LatencyProfile& profile = *target.profile;
  PARE_CHECK(target.threads >= 1 && target.threads <= profile.machine.max_threads,
             "target latency at ", target.threads, " threads: the profile has tables for 1 to ",
             profile.machine.max_threads, " threads; profile with --threads ", target.threads);
  if (!dense_latency_ms_)
    dense_latency_ms_ = profile.predict_ms(profile.dense_widths(), target.threads);
  const double dense_ms = *dense_latency_ms_;
  const double fraction = target.ms > 0.0 ? target.ms / dense_ms : target.fraction;
  // As target_macs: the share of the dense latency this step keeps.
  const double removed_share =
      fraction >= 1.0 ? 0.0 : scheduled(1.0 - fraction, "the latency share to remove");
  const double share = removed_share == 1.0 - fraction ? fraction : 1.0 - removed_share;
  latency::LatencyWidthsInputs inputs{.choices = &choices_,
                                      .dense_sizes = {},
                                      .scores = {},
                                      .profile = &profile,
                                      .threads = target.threads,
                                      .budget_ms = share * dense_ms,
                                      .round_to = options_.round_to(),
                                      .max_ratio = options_.max_ratio()};
  for (const GroupChoice& choice : choices_) {
    inputs.dense_sizes.push_back(original_size(*choice.group));
    // Widths trade importance between groups, so it must be in one unit across them: the
    // criterion's reduced scores (per-group normalisation would make every group's channels
    // worth 1 on average, and the budget would go to the groups that save the most time per
    // channel whatever they carry). Within a group the order is the normalised one's.
    std::vector<double> scores;
    if (!choice.importance.empty()) {
      scores = options_.importance().reduced(gm_, *choice.group);
      for (size_t c = 0; c < scores.size(); ++c)
        if (choice.importance[c] == -std::numeric_limits<double>::infinity())
          scores[c] = -std::numeric_limits<double>::infinity();
    }
    inputs.scores.push_back(std::move(scores));
  }
  const latency::LatencyWidths widths = latency::plan_latency_widths(inputs);
  for (size_t i = 0; i < choices_.size(); ++i) {
    if (choices_[i].importance.empty()) continue;
    choices_[i].removed = finish(choices_[i], choices_[i].group->size - widths.kept[i]);
  }
  latency_report_ = widths.report;
  latency_report_["dense_predicted_ms"] = dense_ms;
  latency_report_["target_share"] = share;
}

ir::GraphModule& GroupPruner::prune() {
  if (!stepped_) step();

  // ---- Plan: removed positions per parameter axis and per edge axis ----
  // Collected per member, then sorted and deduplicated once: a set node per position (127k of
  // them for ResNet-50) cost almost as much as the slicing's copies.
  using Removals = std::map<std::string, std::map<int64_t, std::vector<int64_t>>>;
  Removals parameter_removals, edge_removals;
  for (const GroupChoice& choice : choices_) {
    if (choice.removed.empty()) continue;
    for (const GroupMember& member : choice.group->members) {
      auto& target =
          member.kind == GroupMember::Kind::parameter ? parameter_removals : edge_removals;
      std::vector<int64_t>& removed = target[member.name][member.axis];
      const std::vector<int64_t> more = member.positions(choice.removed);
      removed.insert(removed.end(), more.begin(), more.end());
    }
  }
  for (Removals* removals : {&parameter_removals, &edge_removals})
    for (auto& [name, axes] : *removals)
      for (auto& [axis, removed] : axes) {
        std::sort(removed.begin(), removed.end());
        removed.erase(std::unique(removed.begin(), removed.end()), removed.end());
      }
  struct PlannedTensor {
    std::string name;
    Owner owner;
    Tensor sliced;
  };
  std::vector<PlannedTensor> planned_tensors;
  std::map<std::string, bool> owners;  // module name -> depthwise before
  std::map<std::string, TensorChange> changes;
  for (const auto& [name, axes] : parameter_removals) {
    const Tensor value = gm_.attribute(name);
    TensorChange change;
    change.before = value.sizes();
    for (const auto& [axis, removed] : axes) {
      PARE_CHECK(*removed.rbegin() < value.size(axis), "GroupPruner: '", name, "' axis ", axis,
                 " has ", value.size(axis), " entries but its groups remove index ",
                 *removed.rbegin());
      change.kept[axis] = complement(value.size(axis), removed);
    }
    // Every pruned axis in one gather: a weight that shrinks on two axes is copied once.
    Tensor sliced = keep_along_axes(value, change.kept);
    change.after = sliced.sizes();
    const Owner owner = split_name(name);
    if (!owners.count(owner.name))
      owners[owner.name] = !owner.name.empty() && is_depthwise(*gm_.module(owner.name));
    planned_tensors.push_back({name, owner, std::move(sliced)});
    changes[name] = std::move(change);
  }
  struct PlannedLiteral {
    ir::Node* node;
    ShapeLiteral literal;
  };
  std::vector<PlannedLiteral> planned_literals;
  for (const auto& [name, axes] : edge_removals) {
    ir::Node* node = gm_.graph().find(name);
    if (node == nullptr || node->op() != ir::OpKind::call_function) continue;
    if (node->target() != "view" && node->target() != "reshape") continue;
    std::optional<ShapeLiteral> literal = shape_literal(*node);
    const Shape& shape = node->meta.at(0).shape;
    PARE_CHECK(literal && literal->values.size() == shape.size(), "GroupPruner: node '", name,
               "' (", node->target(), ") shrinks along ", axes.begin()->first,
               " but its target shape is not a literal of ", shape.size(),
               " integers that can be rewritten; write the view with a constant shape");
    for (const auto& [axis, removed] : axes)
      if (literal->values[axis] != -1)
        literal->values[axis] = shape[axis] - static_cast<int64_t>(removed.size());
    planned_literals.push_back({node, *literal});
  }

  // ---- Change ----
  {
    NoGradGuard no_grad;
    for (const PlannedTensor& planned : planned_tensors) {
      std::shared_ptr<nn::Module> owner =
          planned.owner.name.empty() ? gm_.root_ptr() : gm_.module(planned.owner.name);
      if (auto* prelu = nn::as<nn::PReLUImpl>(owner.get());
          prelu && planned.owner.local == "weight") {
        prelu->set_weight(planned.sliced);
      } else if (owner->has_parameter(planned.owner.local)) {
        owner->register_parameter(planned.owner.local, planned.sliced,
                                  owner->get_parameter(planned.owner.local).requires_grad());
      } else {
        owner->register_buffer(planned.owner.local, planned.sliced);
      }
    }
  }
  for (const auto& [owner, depthwise] : owners)
    if (!owner.empty()) fit_options(*gm_.module(owner), depthwise);
  for (PlannedLiteral& planned : planned_literals)
    write_shape_literal(*planned.node, planned.literal);
  if (gm_.forward_backend()) gm_.forward_backend()->invalidate();
  ir::infer_shapes(gm_);
  tensors_ = std::move(changes);
  stepped_ = false;
  pruned_ = true;
  const ir::ModelStats stats = ir::model_stats(gm_);
  params_after_ = stats.params;
  macs_after_ = stats.macs;
  return gm_;
}

nlohmann::json GroupPruner::report() const {
  nlohmann::json report;
  report["params"] = {{"before", params_before_}, {"after", params_after_}};
  report["macs"] = {{"before", macs_before_}, {"after", macs_after_}};
  report["importance"] = options_.importance().name();
  report["step"] = step_;
  report["steps"] = options_.iterative_steps();
  report["groups"] = nlohmann::json::array();
  for (const GroupChoice& choice : choices_) {
    const Group& group = *choice.group;
    nlohmann::json members = nlohmann::json::array();
    for (const GroupMember& member : group.members) {
      nlohmann::json entry;
      entry[member.kind == GroupMember::Kind::parameter ? "tensor" : "edge"] = member.name;
      entry["axis"] = member.axis;
      if (member.offset != 0) entry["offset"] = member.offset;
      if (member.block != 1) entry["block"] = member.block;
      if (group.unit > 1 && member.block == group.unit) entry["unit"] = "head";
      members.push_back(std::move(entry));
    }
    report["groups"].push_back({{"id", group.id},
                                {"root", group.roots.empty() ? "" : group.roots.front()},
                                {"roots", group.roots},
                                {"unit", group.unit > 1 ? "head" : "channel"},
                                {"size_before", group.size},
                                {"size_after", static_cast<int64_t>(choice.kept.size())},
                                {"members", members},
                                {"removed", choice.removed},
                                {"importance", choice.importance},
                                {"folded", false}});
    if (group.blocks > 1) report["groups"].back()["blocks"] = group.blocks;
  }
  report["tensors"] = nlohmann::json::object();
  for (const auto& [name, change] : tensors_) {
    nlohmann::json kept = nlohmann::json::object();
    for (const auto& [axis, indices] : change.kept) kept[std::to_string(axis)] = indices;
    report["tensors"][name] = {{"before", change.before}, {"after", change.after}, {"kept", kept}};
  }
  if (!latency_report_.is_null()) report["latency"] = latency_report_;
  report["not_prunable"] = nlohmann::json::array();
  for (const NotPrunableLayer& layer : graph_.not_prunable())
    report["not_prunable"].push_back(
        {{"layer", layer.layer}, {"reason", layer.reason}, {"path", layer.path}});
  return report;
}

}  // namespace pare::pruning

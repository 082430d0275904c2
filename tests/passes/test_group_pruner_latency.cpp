// GroupPruner with target_latency on an injected (synthetic, deterministic) latency profile: the
// pruned widths are the optimum of a brute-force search over the profile's candidates with the
// pruner's own importance scores, round_to, max_ratio and ignored layers are honoured, the report
// predicts what the profile predicts for the pruned widths, iterative steps follow the schedule,
// and a profile of another model, a target no width meets and a thread count outside the tables
// are refused without changing the model.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "group_models.h"
#include "pare/error.h"
#include "pare/pare.h"
#include "pare/passes/latency/latency_profile.h"
#include "pare/passes/pruning/group_pruner.h"

namespace {

using pare::latency::GroupWidths;
using pare::latency::LatencyProfile;
using pare::latency::LayerLatency;
using pare::pruning::GroupPruner;
using pare::pruning::GroupPrunerOptions;
using pare::pruning::Importance;
using pare::pruning::LatencyTarget;
using pare::testing::TracedModel;

// conv1 (3 -> 32) -> bn1 -> relu -> conv2 (32 -> 32) -> bn2 -> relu -> conv3 (32 -> 4): two
// prunable groups of 32, rooted at conv1 and conv2.
TracedModel three_convs() {
  TracedModel model =
      pare::testing::traced("three_convs", {2, 3, 6, 6}, [](pare::testing::Net& net) {
        auto conv1 = pare::testing::conv(net, "conv1", 3, 32, 3);
        auto bn1 = pare::testing::batch_norm(net, "bn1", 32);
        auto conv2 = pare::testing::conv(net, "conv2", 32, 32, 3);
        auto bn2 = pare::testing::batch_norm(net, "bn2", 32);
        auto conv3 = pare::testing::conv(net, "conv3", 32, 4, 1);
        net.body = [=](const pare::Tensor& x) {
          return conv3(pare::relu(bn2(conv2(pare::relu(bn1(conv1(x)))))));
        };
      });
  pare::testing::randomize_parameters(model.gm.root(), 5);
  return model;
}

const std::vector<int64_t> kCandidates{8, 12, 16, 20, 24, 32};

// Block-stepped time with a penalty just above a block of 8, scaled per layer, at 1 and 2
// threads (2 threads: 0.6x).
double synthetic_ms(int64_t in, int64_t out, double scale) {
  const auto blocks = [](int64_t width) {
    const double whole = static_cast<double>((width + 7) / 8);
    return width % 8 != 0 ? whole + 0.7 : whole;
  };
  return 0.001 * scale * blocks(in) * blocks(out);
}

LayerLatency table(const std::string& layer, const std::string& in_group,
                   std::vector<int64_t> in_widths, const std::string& out_group,
                   std::vector<int64_t> out_widths, double scale) {
  LayerLatency latency{layer, "Conv2d", in_group, out_group, in_widths, out_widths, {{}, {}}};
  for (int64_t in : in_widths)
    for (int64_t out : out_widths) {
      latency.ms[0].push_back(synthetic_ms(in, out, scale));
      latency.ms[1].push_back(0.6 * synthetic_ms(in, out, scale));
    }
  return latency;
}

std::shared_ptr<const LatencyProfile> synthetic_profile(int64_t conv1_size = 32) {
  auto profile = std::make_shared<LatencyProfile>();
  profile->machine = {"synthetic", "none", "onednn", 2, 8};
  profile->batch = 2;
  std::vector<int64_t> conv1_widths = kCandidates;
  conv1_widths.back() = conv1_size;
  profile->groups = {GroupWidths{"conv1", {"conv1"}, conv1_size, conv1_widths},
                     GroupWidths{"conv2", {"conv2"}, 32, kCandidates}};
  profile->layers = {table("conv1", "", {3}, "conv1", conv1_widths, 1.0),
                     table("conv2", "conv1", conv1_widths, "conv2", kCandidates, 3.0),
                     table("conv3", "conv2", kCandidates, "", {4}, 0.5)};
  profile->rest_ms = {0.002, 0.0015};
  profile->dense_ms = {profile->layers_ms({}, 1) + 0.002, profile->layers_ms({}, 2) + 0.0015};
  return profile;
}

// The scores the latency choice weighs groups by: the criterion's reduced (not normalised)
// scores of the groups rooted at conv1 and conv2.
std::vector<std::vector<double>> scores_of(TracedModel& model, const Importance& importance) {
  const pare::pruning::DependencyGraph graph(model.gm);
  std::vector<std::vector<double>> scores(2);
  for (const pare::pruning::Group& group : graph.groups())
    if (group.prunable)
      scores[group.roots.front() == "conv1" ? 0 : 1] = importance.reduced(model.gm, group);
  return scores;
}

double kept(std::vector<double> scores, int64_t width) {
  std::sort(scores.rbegin(), scores.rend());
  double sum = 0.0;
  for (int64_t i = 0; i < width; ++i) sum += scores[static_cast<size_t>(i)];
  return sum;
}

struct Widths {
  int64_t conv1 = 0, conv2 = 0;
  bool operator==(const Widths&) const = default;
};

// Every pair of candidates within the budget, the one keeping the most importance.
Widths brute_force(const LatencyProfile& profile, const std::vector<std::vector<double>>& scores,
                   double budget, int64_t threads, const std::function<bool(int64_t)>& allowed) {
  Widths best;
  double best_kept = -std::numeric_limits<double>::infinity();
  for (int64_t a : kCandidates)
    for (int64_t b : kCandidates) {
      if (!allowed(a) || !allowed(b)) continue;
      if (profile.predict_ms({{"conv1", a}, {"conv2", b}}, threads) > budget) continue;
      const double value = kept(scores[0], a) + kept(scores[1], b);
      if (value > best_kept) {
        best_kept = value;
        best = {a, b};
      }
    }
  return best;
}

Widths pruned_widths(TracedModel& model) {
  return {model.gm.attribute("conv1.weight").size(0), model.gm.attribute("conv2.weight").size(0)};
}

}  // namespace

TEST_CASE("target_latency prunes to the brute-force optimum of the profile's candidates") {
  const auto profile = synthetic_profile();
  for (int64_t threads : {1, 2}) {
    for (double fraction : {0.9, 0.7, 0.5, 0.35}) {
      TracedModel model = three_convs();
      const std::vector<std::vector<double>> scores = scores_of(model, Importance::l2());
      const double dense = profile->predict_ms(profile->dense_widths(), threads);
      const Widths expected =
          brute_force(*profile, scores, fraction * dense, threads, [](int64_t) { return true; });
      GroupPruner pruner(model.gm, GroupPrunerOptions().target_latency(
                                       LatencyTarget{profile, fraction, 0.0, threads}));
      pruner.prune();
      CAPTURE(threads);
      CAPTURE(fraction);
      CHECK(pruned_widths(model) == expected);
      const nlohmann::json report = pruner.report();
      REQUIRE(report.contains("latency"));
      const nlohmann::json& latency = report["latency"];
      CHECK(latency["predicted_ms"].get<double>() ==
            doctest::Approx(profile->predict_ms(
                {{"conv1", expected.conv1}, {"conv2", expected.conv2}}, threads)));
      CHECK(latency["predicted_ms"].get<double>() <= fraction * dense + 1e-12);
      CHECK(latency["dense_predicted_ms"].get<double>() == doctest::Approx(dense));
      CHECK(latency["optimal"].get<bool>());
      CHECK(latency["groups"].size() == 2);
      // The pruned model still runs, at the chosen widths.
      CHECK(model.gm.forward({pare::randn({2, 3, 6, 6})}).tensor().size(1) == 4);
    }
  }
}

TEST_CASE("target_latency honours round_to, max_ratio and ignored layers") {
  const auto profile = synthetic_profile();
  const double dense = profile->predict_ms(profile->dense_widths(), 1);
  {
    TracedModel model = three_convs();
    const auto scores = scores_of(model, Importance::l2());
    GroupPruner pruner(model.gm, GroupPrunerOptions().round_to(16).target_latency(
                                     LatencyTarget{profile, 0.5, 0.0, 1}));
    pruner.prune();
    const Widths widths = pruned_widths(model);
    CHECK(widths.conv1 % 16 == 0);
    CHECK(widths.conv2 % 16 == 0);
    CHECK(widths ==
          brute_force(*profile, scores, 0.5 * dense, 1, [](int64_t w) { return w % 16 == 0; }));
  }
  {
    TracedModel model = three_convs();
    const auto scores = scores_of(model, Importance::l2());
    // max_ratio 0.5: at most 16 of 32 go.
    GroupPruner pruner(model.gm, GroupPrunerOptions().max_ratio(0.5).target_latency(
                                     LatencyTarget{profile, 0.45, 0.0, 1}));
    pruner.prune();
    const Widths widths = pruned_widths(model);
    CHECK(widths.conv1 >= 16);
    CHECK(widths.conv2 >= 16);
    CHECK(widths ==
          brute_force(*profile, scores, 0.45 * dense, 1, [](int64_t w) { return w >= 16; }));
  }
  {
    // conv2 ignored: its group has no root and keeps 32; conv1 alone meets what it can.
    TracedModel model = three_convs();
    GroupPruner pruner(model.gm, GroupPrunerOptions().ignore({"conv2"}).target_latency(
                                     LatencyTarget{profile, 0.8, 0.0, 1}));
    pruner.prune();
    CHECK(pruned_widths(model).conv2 == 32);
    CHECK(pruned_widths(model).conv1 < 32);
  }
}

TEST_CASE("target_latency in milliseconds and over iterative steps") {
  const auto profile = synthetic_profile();
  const double dense = profile->predict_ms(profile->dense_widths(), 1);
  TracedModel by_ms = three_convs();
  TracedModel by_share = three_convs();
  GroupPruner(by_ms.gm,
              GroupPrunerOptions().target_latency(LatencyTarget{profile, 1.0, 0.5 * dense, 1}))
      .prune();
  GroupPruner(by_share.gm, GroupPrunerOptions().target_latency(LatencyTarget{profile, 0.5, 0.0, 1}))
      .prune();
  CHECK(pruned_widths(by_ms) == pruned_widths(by_share));

  // Two steps to 0.5: the first aims at 0.75 of the dense latency, the second at 0.5.
  TracedModel model = three_convs();
  GroupPruner pruner(model.gm, GroupPrunerOptions().iterative_steps(2).target_latency(
                                   LatencyTarget{profile, 0.5, 0.0, 1}));
  pruner.prune();
  CHECK(pruner.report()["latency"]["target_share"].get<double>() == doctest::Approx(0.75));
  const double first = pruner.report()["latency"]["predicted_ms"].get<double>();
  CHECK(first <= 0.75 * dense + 1e-12);
  pruner.prune();
  CHECK(pruner.report()["latency"]["target_share"].get<double>() == doctest::Approx(0.5));
  CHECK(pruner.report()["latency"]["predicted_ms"].get<double>() <= 0.5 * dense + 1e-12);
  CHECK(pruner.report()["latency"]["predicted_ms"].get<double>() <= first);
}

TEST_CASE("target_latency re-measured between iterative steps") {
  const auto profile = synthetic_profile();
  const double dense = profile->predict_ms(profile->dense_widths(), 1);
  TracedModel model = three_convs();
  GroupPruner pruner(model.gm, GroupPrunerOptions().iterative_steps(2).target_latency(
                                   LatencyTarget{profile, 0.5, 0.0, 1}));
  pruner.prune();
  const Widths first = pruned_widths(model);
  // A profile of the pruned model: its groups at their present widths (the candidates up to
  // them), every time 10% above the first profile's (as a re-measurement may find).
  auto remeasured = std::make_shared<LatencyProfile>(*profile);
  for (GroupWidths& group : remeasured->groups) {
    group.size = group.key == "conv1" ? first.conv1 : first.conv2;
    std::erase_if(group.candidates, [&](int64_t width) { return width > group.size; });
  }
  for (LayerLatency& layer : remeasured->layers) {
    const auto in = remeasured->group(layer.in_group), out = remeasured->group(layer.out_group);
    layer = table(layer.layer, layer.in_group, in ? in->candidates : layer.in_widths,
                  layer.out_group, out ? out->candidates : layer.out_widths,
                  layer.layer == "conv1"   ? 1.1
                  : layer.layer == "conv2" ? 3.3
                                           : 0.55);
  }
  pruner.set_latency_profile(remeasured);
  pruner.prune();
  const nlohmann::json latency = pruner.report()["latency"];
  // The budget is still half the dense model's latency as the first profile predicted it; the
  // prediction is the new profile's.
  CHECK(latency["dense_predicted_ms"].get<double>() == doctest::Approx(dense));
  CHECK(latency["predicted_ms"].get<double>() <= 0.5 * dense + 1e-12);
  const Widths second = pruned_widths(model);
  CHECK(latency["predicted_ms"].get<double>() ==
        doctest::Approx(
            remeasured->predict_ms({{"conv1", second.conv1}, {"conv2", second.conv2}}, 1)));
  CHECK(second.conv1 <= first.conv1);
  CHECK(second.conv2 <= first.conv2);
}

TEST_CASE("target_latency refuses what it cannot do and leaves the model as it was") {
  TracedModel model = three_convs();
  const auto refused = [&](std::shared_ptr<const LatencyProfile> profile, double fraction,
                           int64_t threads, const char* message) {
    GroupPruner pruner(model.gm, GroupPrunerOptions().target_latency(
                                     LatencyTarget{profile, fraction, 0.0, threads}));
    CHECK_THROWS_WITH_AS(pruner.prune(), doctest::Contains(message), pare::Error);
    CHECK(pruned_widths(model) == Widths{32, 32});
  };
  refused(synthetic_profile(24), 0.5, 1, "measured for another model");
  refused(synthetic_profile(), 0.01, 1, "cannot be met");
  refused(synthetic_profile(), 0.5, 3, "profile with --threads 3");
  CHECK_THROWS_WITH_AS(
      GroupPruner(model.gm, GroupPrunerOptions()
                                .layer_ratio("conv1", 0.5)
                                .target_latency(LatencyTarget{synthetic_profile(), 0.5, 0.0, 1})),
      doctest::Contains("drop the per-layer ratios"), pare::Error);
}

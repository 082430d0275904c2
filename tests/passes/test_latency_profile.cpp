// Latency profiles: predict_ms against sums worked by hand on an injected profile, the JSON form
// (round trip, and hostile files refused with the source and the field named), the candidate
// width rule against lists worked by hand from the group pruner's arithmetic, the layer -> group
// sides on small traced models against their dependency groups worked out by hand, and
// measure_profile on a tiny model (table sizes, positive times). No timing is asserted.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "group_models.h"
#include "pare/pare.h"
#include "pare/passes/latency/calibrate_prediction.h"
#include "pare/passes/latency/candidate_widths.h"
#include "pare/passes/latency/latency_profile.h"
#include "pare/passes/latency/profile_plan.h"
#include "pare/passes/pruning/dependency_graph.h"
#include "test_util.h"

namespace {

using nlohmann::json;
using pare::latency::candidate_widths;
using pare::latency::GroupWidths;
using pare::latency::LatencyProfile;
using pare::latency::LayerLatency;
using pare::latency::PlannedLayer;
using pare::latency::ProfileOptions;
using pare::latency::ProfilePlan;
using Widths = std::vector<int64_t>;

// The header's example, at two thread counts: a 3 -> 16 -> 32 CNN, group "conv1" at 8, 12, 16.
LatencyProfile example_profile() {
  LatencyProfile profile;
  profile.machine = {"Test CPU", "avx512_core", "onednn", 2, 16};
  profile.model = "cnn.pare";
  profile.batch = 1;
  profile.groups = {{"conv1", {"conv1"}, 16, {8, 12, 16}}};
  LayerLatency conv1{"conv1", "Conv2d", "", "conv1", {3}, {8, 12, 16}, {}};
  conv1.ms = {{0.010, 0.012, 0.013}, {0.006, 0.007, 0.008}};
  LayerLatency conv2{"conv2", "Conv2d", "conv1", "", {8, 12, 16}, {32}, {}};
  conv2.ms = {{0.020, 0.031, 0.034}, {0.011, 0.017, 0.019}};
  profile.layers = {conv1, conv2};
  profile.rest_ms = {0.004, 0.003};
  profile.dense_ms = {0.051, 0.030};
  return profile;
}

// A profile with a depthwise layer: group "expand" (4, 8) is both sides of "dw".
LatencyProfile depthwise_profile() {
  LatencyProfile profile = example_profile();
  profile.groups.push_back({"expand", {"expand"}, 8, {4, 8}});
  LayerLatency dw{"dw", "Conv2d", "expand", "expand", {4, 8}, {4, 8}, {}};
  dw.ms = {{0.5, 0.9}, {0.3, 0.6}};
  profile.layers.push_back(dw);
  return profile;
}

void check_refused(const json& document, const std::string& field, const std::string& also = "") {
  const std::string expected = "net_profile.json: latency profile field '" + field + "'";
  try {
    LatencyProfile::from_json(document, "net_profile.json");
    FAIL("accepted a profile with a bad '", field, "'");
  } catch (const pare::Error& error) {
    const std::string message = error.what();
    INFO(message);
    CHECK(message.rfind(expected, 0) == 0);
    if (!also.empty()) CHECK(message.find(also) != std::string::npos);
  }
}

// The valid example's JSON with one change.
json changed(const std::function<void(json&)>& change) {
  json document = example_profile().to_json();
  change(document);
  return document;
}

const PlannedLayer& planned(const ProfilePlan& plan, const std::string& layer) {
  for (const PlannedLayer& candidate : plan.layers)
    if (candidate.table.layer == layer) return candidate;
  FAIL("no layer ", layer, " in the plan");
  throw 0;
}

void check_sides(const ProfilePlan& plan, const std::string& layer, const std::string& in_group,
                 const Widths& in_widths, const std::string& out_group, const Widths& out_widths) {
  INFO("layer ", layer);
  const PlannedLayer& found = planned(plan, layer);
  CHECK(found.table.in_group == in_group);
  CHECK(found.table.in_widths == in_widths);
  CHECK(found.table.out_group == out_group);
  CHECK(found.table.out_widths == out_widths);
}

const GroupWidths& group_named(const ProfilePlan& plan, const std::string& key) {
  for (const GroupWidths& group : plan.groups)
    if (group.key == key) return group;
  FAIL("no group ", key, " in the plan");
  throw 0;
}

// A fresh folder for this process, removed with its files.
struct ScratchFolder {
  ScratchFolder()
      : path(std::filesystem::temp_directory_path() /
             ("pare_test_latency_profile_" + std::to_string(getpid()))) {
    std::filesystem::create_directories(path);
  }
  ~ScratchFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
  std::filesystem::path path;
};

}  // namespace

TEST_CASE("predict_ms: the dense time scaled by the layers' time, worked by hand") {
  const LatencyProfile profile = example_profile();
  CHECK(profile.dense_widths() == std::map<std::string, int64_t>{{"conv1", 16}});
  // The layers: conv1 (3 -> 8) + conv2 (8 -> 32); dense: 0.013 + 0.034 at one thread.
  CHECK(profile.layers_ms({{"conv1", 8}}, 1) == doctest::Approx(0.010 + 0.020));
  CHECK(profile.layers_ms({}, 2) == doctest::Approx(0.008 + 0.019));
  CHECK(profile.predict_ms({{"conv1", 8}}, 1) ==
        doctest::Approx(0.051 * (0.010 + 0.020) / (0.013 + 0.034)));
  CHECK(profile.predict_ms({{"conv1", 12}}, 2) ==
        doctest::Approx(0.030 * (0.007 + 0.017) / (0.008 + 0.019)));
  // A group not named keeps its dense width: the measured dense time.
  CHECK(profile.predict_ms({}, 1) == doctest::Approx(0.051));
  CHECK(profile.group("conv1")->size == 16);
  CHECK(profile.group("conv2") == nullptr);

  CHECK_THROWS_WITH_AS(profile.predict_ms({{"conv9", 8}}, 1), doctest::Contains("no group 'conv9'"),
                       pare::Error);
  CHECK_THROWS_WITH_AS(profile.predict_ms({{"conv1", 10}}, 1),
                       doctest::Contains("group 'conv1' was not measured at width 10 "
                                         "(candidates: 8, 12, 16)"),
                       pare::Error);
  CHECK_THROWS_WITH_AS(profile.predict_ms({}, 3), doctest::Contains("not 3"), pare::Error);
  CHECK_THROWS_WITH_AS(profile.layers[1].time_ms(9, 32, 1),
                       doctest::Contains("'conv2' was not measured at input width 9 "
                                         "(measured: 8, 12, 16)"),
                       pare::Error);

  SUBCASE("a same-group (depthwise) layer reads the diagonal") {
    const LatencyProfile depthwise = depthwise_profile();
    CHECK(depthwise.layers_ms({{"conv1", 8}, {"expand", 4}}, 1) ==
          doctest::Approx(0.010 + 0.020 + 0.5));
    CHECK(depthwise.predict_ms({{"expand", 4}}, 2) ==
          doctest::Approx(0.030 * (0.008 + 0.019 + 0.3) / (0.008 + 0.019 + 0.6)));
    CHECK_THROWS_WITH_AS(depthwise.layers[2].time_ms(4, 8, 1), doctest::Contains("are equal"),
                         pare::Error);
  }
}

TEST_CASE("Latency profile JSON: what to_json writes, from_json reads back unchanged") {
  for (const LatencyProfile& profile : {example_profile(), depthwise_profile()}) {
    const json document = profile.to_json();
    CHECK(document["format"] == "pare-latency-profile");
    const LatencyProfile back = LatencyProfile::from_json(json::parse(document.dump()), "p.json");
    CHECK(back.machine == profile.machine);
    CHECK(back.model == profile.model);
    CHECK(back.batch == profile.batch);
    REQUIRE(back.groups.size() == profile.groups.size());
    for (size_t g = 0; g < back.groups.size(); ++g) {
      CHECK(back.groups[g].key == profile.groups[g].key);
      CHECK(back.groups[g].roots == profile.groups[g].roots);
      CHECK(back.groups[g].size == profile.groups[g].size);
      CHECK(back.groups[g].candidates == profile.groups[g].candidates);
    }
    REQUIRE(back.layers.size() == profile.layers.size());
    for (size_t l = 0; l < back.layers.size(); ++l) {
      CHECK(back.layers[l].layer == profile.layers[l].layer);
      CHECK(back.layers[l].type == profile.layers[l].type);
      CHECK(back.layers[l].in_group == profile.layers[l].in_group);
      CHECK(back.layers[l].out_group == profile.layers[l].out_group);
      CHECK(back.layers[l].in_widths == profile.layers[l].in_widths);
      CHECK(back.layers[l].out_widths == profile.layers[l].out_widths);
      CHECK(back.layers[l].ms == profile.layers[l].ms);
    }
    CHECK(back.rest_ms == profile.rest_ms);
    CHECK(back.dense_ms == profile.dense_ms);
  }

  SUBCASE("through a file") {
    ScratchFolder dir;
    const std::string path = dir.file("profile.json");
    pare::latency::write_latency_profile(example_profile(), path);
    CHECK(pare::latency::read_latency_profile(path).layers_ms({{"conv1", 8}}, 1) ==
          doctest::Approx(0.030));
    // A device that never ends is refused at the bound, not read until memory runs out.
    CHECK_THROWS_WITH_AS(pare::latency::read_latency_profile("/dev/zero"),
                         doctest::Contains("/dev/zero: the latency profile is larger than 256 MiB"),
                         pare::Error);
    std::ofstream(dir.file("deep.json")) << std::string(100, '[') << std::string(100, ']');
    CHECK_THROWS_WITH_AS(pare::latency::read_latency_profile(dir.file("deep.json")),
                         doctest::Contains("deep.json: the latency profile nests deeper"),
                         pare::Error);
    std::ofstream(dir.file("garbage.json")) << "{\"format\": ";
    CHECK_THROWS_WITH_AS(pare::latency::read_latency_profile(dir.file("garbage.json")),
                         doctest::Contains("garbage.json: the latency profile is not valid JSON"),
                         pare::Error);
    CHECK_THROWS_WITH_AS(pare::latency::read_latency_profile(dir.file("absent.json")),
                         doctest::Contains("absent.json: cannot open"), pare::Error);
    CHECK_THROWS_WITH_AS(pare::latency::read_latency_profile(dir.path.string()),
                         doctest::Contains("is a directory"), pare::Error);
  }
}

TEST_CASE("fit_prediction: least squares of measured whole models against the layers' time") {
  // The worked example of calibrate_prediction.h, by hand: constant 1.5212, scale 1.0442.
  const LatencyProfile::Linear line =
      pare::latency::fit_prediction({{10.0, 12.0}, {1.2, 2.9}, {3.1, 4.6}, {6.4, 8.2}});
  CHECK(line.constant_ms == doctest::Approx(1.52115).epsilon(1e-4));
  CHECK(line.layer_scale == doctest::Approx(1.04422).epsilon(1e-4));
  // y = 1.5 x - 1 has a negative constant: through the origin, scale (0.5 + 4) / (1 + 4).
  const LatencyProfile::Linear origin = pare::latency::fit_prediction({{1.0, 0.5}, {2.0, 2.0}});
  CHECK(origin.constant_ms == 0.0);
  CHECK(origin.layer_scale == doctest::Approx(0.9));
  // One point: the scale alone.
  CHECK(pare::latency::fit_prediction({{4.0, 6.0}}).layer_scale == doctest::Approx(1.5));
  CHECK_THROWS_AS(pare::latency::fit_prediction({}), pare::Error);

  // A calibrated profile predicts with its line, and keeps it through JSON.
  LatencyProfile profile = example_profile();
  profile.calibration = {{0.004, 1.1}, {0.002, 1.2}};
  CHECK(profile.predict_ms({{"conv1", 8}}, 1) == doctest::Approx(0.004 + 1.1 * (0.010 + 0.020)));
  const LatencyProfile back = LatencyProfile::from_json(profile.to_json(), "p.json");
  REQUIRE(back.calibration.size() == 2);
  CHECK(back.calibration[1].constant_ms == doctest::Approx(0.002));
  CHECK(back.calibration[1].layer_scale == doctest::Approx(1.2));
  const json calibrated = profile.to_json();
  const auto refused = [&](const std::function<void(json&)>& change, const char* field,
                           const char* message) {
    json document = calibrated;
    change(document);
    CHECK_THROWS_WITH_AS(LatencyProfile::from_json(document, "p.json"), doctest::Contains(field),
                         pare::Error);
    CHECK_THROWS_WITH_AS(LatencyProfile::from_json(document, "p.json"), doctest::Contains(message),
                         pare::Error);
  };
  refused([](json& d) { d["calibration"].erase(1); }, "calibration", "one per thread count");
  refused([](json& d) { d["calibration"][0]["layer_scale"] = 0.0; }, "calibration[0].layer_scale",
          "above 0");
  refused([](json& d) { d["calibration"][1]["constant_ms"] = -1.0; }, "calibration[1].constant_ms",
          "finite time");
  refused([](json& d) { d["calibration"][1] = 3; }, "calibration[1]", "must be an object");
}

TEST_CASE("Latency profile JSON: hostile files are refused, naming the source and the field") {
  check_refused(json::array(), "(top level)", "must be an object");
  check_refused(changed([](json& d) { d.erase("layers"); }), "layers", "is missing");
  check_refused(changed([](json& d) { d["format"] = "pare-graph"; }), "format");
  check_refused(changed([](json& d) { d["version"] = 2; }), "version");
  // Wrong types.
  check_refused(changed([](json& d) { d["batch"] = "1"; }), "batch", "must be an integer");
  check_refused(changed([](json& d) { d["batch"] = 1.5; }), "batch", "must be an integer");
  check_refused(changed([](json& d) { d["machine"]["cpu"] = 7; }), "machine.cpu",
                "must be a string");
  check_refused(changed([](json& d) { d["groups"] = json::object(); }), "groups",
                "must be an array");
  check_refused(changed([](json& d) { d["layers"][0]["ms"][0][1] = "fast"; }), "layers[0].ms[0][1]",
                "must be a number");
  check_refused(changed([](json& d) { d["groups"][0]["roots"][0] = json::array(); }),
                "groups[0].roots[0]");
  // Table sizes against the widths and the thread count.
  check_refused(changed([](json& d) { d["layers"][1]["ms"][0].erase(2); }), "layers[1].ms[0]",
                "holds 2 times, expected 3");
  check_refused(changed([](json& d) { d["layers"][1]["ms"].erase(1); }), "layers[1].ms",
                "expected one per thread count (2)");
  check_refused(changed([](json& d) { d["rest_ms"] = {0.001}; }), "rest_ms", "expected 2");
  check_refused(changed([](json& d) { d["machine"]["max_threads"] = 3; }), "layers[0].ms");
  // Times: negative, NaN, infinite.
  check_refused(changed([](json& d) { d["layers"][0]["ms"][1][0] = -0.5; }), "layers[0].ms[1][0]",
                "finite time >= 0");
  check_refused(changed([](json& d) { d["layers"][0]["ms"][0][0] = std::nan(""); }),
                "layers[0].ms[0][0]", "finite time");
  check_refused(
      changed([](json& d) { d["dense_ms"][0] = std::numeric_limits<double>::infinity(); }),
      "dense_ms[0]", "finite time");
  // Huge counts.
  check_refused(changed([](json& d) { d["machine"]["max_threads"] = 1000000000; }),
                "machine.max_threads", "must be in [1, 1024]");
  check_refused(changed([](json& d) { d["machine"]["max_threads"] = 18446744073709551615ull; }),
                "machine.max_threads", "at most 1024");
  check_refused(changed([](json& d) { d["groups"][0]["size"] = int64_t{1} << 40; }),
                "groups[0].size");
  check_refused(changed([](json& d) {
                  json many = json::array();
                  for (int i = 1; i <= 5000; ++i) many.push_back(i);
                  d["groups"][0]["candidates"] = many;
                }),
                "groups[0].candidates", "more than the 4096 allowed");
  // Widths: positive, ascending, ending with the dense width; a layer's are its group's.
  check_refused(changed([](json& d) {
                  d["groups"][0]["candidates"] = {12, 8, 16};
                }),
                "groups[0].candidates", "must ascend");
  check_refused(changed([](json& d) {
                  d["groups"][0]["candidates"] = {0, 8, 16};
                }),
                "groups[0].candidates[0]");
  check_refused(changed([](json& d) {
                  d["groups"][0]["candidates"] = {8, 12};
                }),
                "groups[0].candidates", "must end with the dense width 16");
  check_refused(changed([](json& d) {
                  d["layers"][1]["in_widths"] = {8, 16};
                }),
                "layers[1].in_widths", "candidates of group 'conv1'");
  check_refused(changed([](json& d) {
                  d["layers"][0]["in_widths"] = {3, 4};
                }),
                "layers[0].in_widths", "one fixed width");
  // Groups: named by a known key, each once.
  check_refused(changed([](json& d) { d["layers"][1]["in_group"] = "conv7"; }),
                "layers[1].in_group", "names group 'conv7', which 'groups' lacks");
  check_refused(changed([](json& d) { d["groups"].push_back(d["groups"][0]); }), "groups[1].key",
                "repeats group 'conv1'");
  check_refused(changed([](json& d) { d["layers"][0]["type"] = "BatchNorm2d"; }), "layers[0].type");
}

TEST_CASE("Candidate widths: block multiples, ratio widths, round_to, the max_ratio floor") {
  // Ratio widths floor(64 * (1 - r)): 57 51 44 38 32 25 19 12 6; blocks of 16: 16 32 48.
  CHECK(candidate_widths({.size = 64, .channel_block = 16, .round_to = 1, .max_ratio = 0.9}) ==
        Widths{6, 12, 16, 19, 25, 32, 38, 44, 48, 51, 57, 64});
  // max_ratio 0.5: nothing below 32.
  CHECK(candidate_widths({.size = 64, .channel_block = 16, .round_to = 1, .max_ratio = 0.5}) ==
        Widths{32, 38, 44, 48, 51, 57, 64});
  // round_to 8: ratio widths rounded down (56 48 40 32 32 24 16 8; 6 -> 0 is gone), blocks kept.
  CHECK(candidate_widths({.size = 64, .channel_block = 16, .round_to = 8, .max_ratio = 0.9}) ==
        Widths{8, 16, 24, 32, 40, 48, 56, 64});
  // round_to 16 with block 8: 8, 24, 40, 56 are no multiples of 16.
  CHECK(candidate_widths({.size = 64, .channel_block = 8, .round_to = 16, .max_ratio = 0.9}) ==
        Widths{16, 32, 48, 64});
  // A dense width that is no multiple of round_to stays, last.
  CHECK(candidate_widths({.size = 20, .channel_block = 8, .round_to = 8, .max_ratio = 0.9}) ==
        Widths{8, 16, 20});
  // Narrower than round_to: no rounding (the pruner keeps any count there); at least one. In
  // doubles 10 * (1 - 0.8) is 1.9999999999999996, so ratio 0.8 keeps 1, as the pruner does: no 2.
  CHECK(candidate_widths({.size = 10, .channel_block = 16, .round_to = 16, .max_ratio = 0.9}) ==
        Widths{1, 3, 4, 5, 6, 7, 8, 9, 10});
  CHECK(candidate_widths({.size = 1, .channel_block = 8, .round_to = 1, .max_ratio = 0.9}) ==
        Widths{1});
  // max_ratio 0: only the dense width.
  CHECK(candidate_widths({.size = 48, .channel_block = 16, .round_to = 1, .max_ratio = 0.0}) ==
        Widths{48});
  CHECK_THROWS_AS(candidate_widths({.size = 0}), pare::Error);
  CHECK_THROWS_AS(candidate_widths({.size = 8, .channel_block = 8, .max_ratio = 1.0}), pare::Error);
}

TEST_CASE("Profile plan: each layer's sides follow its dependency groups") {
  ProfileOptions options;
  options.batch = 3;

  SUBCASE("a residual CNN: the stem and identity block share one group, the downsample another") {
    pare::testing::TracedModel model = pare::testing::resnet_blocks();
    const ProfilePlan plan = pare::latency::plan_profile(model.gm, options, 4);
    // Groups (size 8, 8, 12, 12): the stem's, layer1_conv1's, layer2_conv1's, and the second
    // block's output with its downsample (its first root, as DependencyGraph orders them, is the
    // key). Widths: floor(n * (1 - r)) and multiples of 4.
    const Widths eight = {1, 2, 3, 4, 5, 6, 7, 8};
    const Widths twelve = {1, 2, 3, 4, 6, 7, 8, 9, 10, 12};
    REQUIRE(plan.groups.size() == 4);
    CHECK(group_named(plan, "conv1").roots == std::vector<std::string>{"conv1", "layer1_conv2"});
    CHECK(group_named(plan, "conv1").candidates == eight);
    CHECK(group_named(plan, "layer1_conv1").candidates == eight);
    CHECK(group_named(plan, "layer2_conv1").candidates == twelve);
    CHECK(group_named(plan, "layer2_down_conv").roots ==
          std::vector<std::string>{"layer2_down_conv", "layer2_conv2"});
    CHECK(group_named(plan, "layer2_down_conv").candidates == twelve);
    REQUIRE(plan.layers.size() == 7);
    check_sides(plan, "conv1", "", {3}, "conv1", eight);
    check_sides(plan, "layer1_conv1", "conv1", eight, "layer1_conv1", eight);
    check_sides(plan, "layer1_conv2", "layer1_conv1", eight, "conv1", eight);
    check_sides(plan, "layer2_conv1", "conv1", eight, "layer2_conv1", twelve);
    check_sides(plan, "layer2_conv2", "layer2_conv1", twelve, "layer2_down_conv", twelve);
    check_sides(plan, "layer2_down_conv", "conv1", eight, "layer2_down_conv", twelve);
    // The output feeds the graph output: fixed.
    check_sides(plan, "fc", "layer2_down_conv", twelve, "", {5});
    // Input shapes at batch 3: layer2 runs at 4x4 after the stride-2 conv.
    CHECK(planned(plan, "conv1").input.shape == pare::Shape{3, 3, 8, 8});
    CHECK(planned(plan, "layer2_conv2").input.shape == pare::Shape{3, 12, 4, 4});
    CHECK(planned(plan, "fc").input.shape == pare::Shape{3, 12});
    // Only the stem reads the graph's input (timed in the plain layout it arrives in).
    CHECK(planned(plan, "conv1").reads_graph_input);
    CHECK_FALSE(planned(plan, "layer1_conv1").reads_graph_input);
  }

  SUBCASE("a Linear chain after a flatten: the conv's channel is 25 of fc1's features") {
    pare::testing::TracedModel model = pare::testing::flatten_linear();
    const ProfilePlan plan = pare::latency::plan_profile(model.gm, options, 4);
    REQUIRE(plan.layers.size() == 3);
    check_sides(plan, "features", "", {3}, "features", {1, 2, 3, 4});
    check_sides(plan, "fc1", "features", {1, 2, 3, 4}, "fc1", {1, 2, 3, 4, 5, 6});
    check_sides(plan, "fc2", "fc1", {1, 2, 3, 4, 5, 6}, "", {3});
    CHECK(planned(plan, "fc1").in_scale == 25);
    CHECK(planned(plan, "fc1").input.shape == pare::Shape{3, 100});
  }

  SUBCASE("Linear -> LSTM -> Linear: the hidden units are the LSTM's output group") {
    pare::testing::TracedModel model = pare::testing::into_lstm();
    const ProfilePlan plan = pare::latency::plan_profile(model.gm, options, 4);
    check_sides(plan, "fc", "", {4}, "fc", {1, 2, 3, 4, 5, 6});
    check_sides(plan, "lstm", "fc", {1, 2, 3, 4, 5, 6}, "lstm", {1, 2, 3, 4, 5});
    check_sides(plan, "fc2", "lstm", {1, 2, 3, 4, 5}, "", {3});
    CHECK(planned(plan, "lstm").input.shape == pare::Shape{3, 5, 6});
  }

  SUBCASE(
      "a depthwise conv reads and writes its expand conv's group; ignored layers are no roots") {
    pare::testing::TracedModel model = pare::testing::inverted_residual();
    ProfileOptions ignoring = options;
    ignoring.round_to = 8;
    const ProfilePlan plan = pare::latency::plan_profile(model.gm, ignoring, 16);
    // 24 channels, round_to 8: ratio widths rounded down to 16 and 8; the block 16.
    check_sides(plan, "depthwise", "expand", {8, 16, 24}, "expand", {8, 16, 24});
    CHECK(planned(plan, "depthwise").table.same_group());
    ignoring.ignored_layers = {"head"};
    const ProfilePlan without_head = pare::latency::plan_profile(model.gm, ignoring, 16);
    CHECK(planned(without_head, "head").table.out_group.empty());
    CHECK(planned(without_head, "head").table.out_widths == Widths{16});
  }
}

TEST_CASE("measure_profile: every table is as large as its widths, every time positive") {
  pare::testing::TracedModel model = pare::testing::conv_bn_relu();
  ProfileOptions options;
  options.batch = 2;
  options.max_threads = 2;
  options.warmup = 1;
  options.repetitions = 2;
  std::vector<std::string> progress;
  options.progress = [&](const std::string& step) { progress.push_back(step); };
  const LatencyProfile profile = pare::latency::measure_profile(model.gm, options);

  CHECK(profile.machine == pare::latency::MachineKey::current(2));
  CHECK(profile.machine.backend == "onednn");
  CHECK(profile.batch == 2);
  REQUIRE(profile.layers.size() == 3);
  CHECK(progress.front() == "layer 1/3: conv1");
  CHECK(progress.back() == "calibration 3/3: every group at 0.75 of its width");
  for (const LayerLatency& layer : profile.layers) {
    INFO(layer.layer);
    REQUIRE(layer.ms.size() == 2);
    for (const std::vector<double>& table : layer.ms) {
      CHECK(table.size() == layer.in_widths.size() * layer.out_widths.size());
      for (double ms : table) CHECK(ms > 0.0);
    }
  }
  // conv1 3 -> group conv1 (8), conv2 conv1 -> group conv2 (6), fc conv2 -> fixed 4.
  CHECK(profile.layers[1].in_widths == profile.group("conv1")->candidates);
  CHECK(profile.layers[1].out_widths == profile.group("conv2")->candidates);
  CHECK(profile.layers[2].out_widths == Widths{4});
  REQUIRE(profile.dense_ms.size() == 2);
  REQUIRE(profile.rest_ms.size() == 2);
  for (int64_t threads = 1; threads <= 2; ++threads) {
    CHECK(profile.dense_ms[threads - 1] > 0.0);
    CHECK(profile.rest_ms[threads - 1] >= 0.0);
    // rest is what the layers leave of the dense time, unless they already exceed it.
    const double layers_ms = profile.layers_ms(profile.dense_widths(), threads);
    CHECK(profile.rest_ms[threads - 1] ==
          doctest::Approx(std::max(0.0, profile.dense_ms[threads - 1] - layers_ms)));
    // The prediction is the line fitted to the whole model measured dense and at three widths.
    REQUIRE(profile.calibration.size() == 2);
    const LatencyProfile::Linear fitted = profile.calibration[threads - 1];
    CHECK(fitted.layer_scale > 0.0);
    CHECK(fitted.constant_ms >= 0.0);
    CHECK(profile.predict_ms({}, threads) ==
          doctest::Approx(fitted.constant_ms + fitted.layer_scale * layers_ms));
  }
  // What it measured reads back.
  const LatencyProfile back = LatencyProfile::from_json(profile.to_json(), "measured");
  CHECK(back.predict_ms({{"conv1", 4}}, 2) ==
        doctest::Approx(profile.predict_ms({{"conv1", 4}}, 2)));

  // Without calibration: the dense time scaled by the layers' time.
  options.calibrate = false;
  const LatencyProfile scaled = pare::latency::measure_profile(model.gm, options);
  CHECK(scaled.calibration.empty());
  CHECK(scaled.predict_ms({}, 1) == doctest::Approx(scaled.dense_ms[0]));

  options.repetitions = 0;
  CHECK_THROWS_WITH_AS(pare::latency::measure_profile(model.gm, options),
                       doctest::Contains("repetitions"), pare::Error);
}

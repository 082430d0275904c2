// The pruners' update_mask against hand-computed scores: saliency keeps the rows of largest L1
// norm (ties: lower index pruned first), FPGM prunes the rows nearest the geometric median (not
// the smallest), with round-half-to-even counts and L1 / L2 / callable distances, and
// LSTMSaliencyPruner prunes per gate block.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "pare/pare.h"
#include "pare/passes/pruning/pruning.h"
#include "pruning_test_util.h"

namespace {

namespace nn = pare::nn;
namespace pruning = pare::pruning;
using nlohmann::json;
using pare::Tensor;
using pare::testing::assign;
using pare::testing::mask_values;

std::vector<bool> mask_of(const pruning::BaseSparsifier& pruner, const std::string& fqn) {
  return mask_values(pruner.state.at(fqn).at("mask"));
}

int64_t pruned_count(const std::vector<bool>& mask) {
  int64_t count = 0;
  for (bool kept : mask) count += kept ? 0 : 1;
  return count;
}

// One Linear "fc" with the given [rows, in] weight.
std::shared_ptr<nn::Module> linear_with(int64_t rows, int64_t in,
                                        const std::vector<float>& weight) {
  auto model = std::make_shared<nn::Module>("Net");
  auto fc = model->register_module("fc", nn::Linear(in, rows));
  assign(fc->weight(), weight);
  return model;
}

// Row L1 norms: 3, 0.5, 3, 1, 4.
const std::vector<float> kSaliencyRows = {1, 1, 1, 0.5f, 0, 0, -2, 0, 1, 0, 0, -1, 4, 0, 0};

// Points (0, 0), (0, 2), (2, 3), (4, 2). Sums of L1 distances: 13, 9, 11, 13 (row 1 lowest);
// of L2 distances: 2+sqrt13+sqrt20 = 10.08, 2+sqrt5+4 = 8.24, sqrt13+2sqrt5 = 8.08,
// sqrt20+4+sqrt5 = 10.71 (row 2 lowest). Row 0 has the smallest norm.
const std::vector<float> kFpgmRows = {0, 0, 0, 2, 2, 3, 4, 2};

}  // namespace

TEST_CASE("SaliencyPruner prunes the trunc(rows * level) rows of lowest L1 norm") {
  auto model = linear_with(5, 3, kSaliencyRows);
  pruning::SaliencyPruner pruner({{"sparsity_level", 0.5}});
  pruner.prepare(model, {{{"tensor_fqn", "fc.weight"}}});
  pruner.step();  // k = trunc(2.5) = 2: norms 0.5 (row 1) and 1 (row 3)
  CHECK(mask_of(pruner, "fc.weight") == std::vector<bool>{true, false, true, false, true});
  // The pruned rows now score 0, so they are chosen again first: nothing new at the same level.
  pruner.step();
  CHECK(mask_of(pruner, "fc.weight") == std::vector<bool>{true, false, true, false, true});
}

TEST_CASE("SaliencyPruner breaks ties by the lower index") {
  auto model = linear_with(5, 3, kSaliencyRows);
  pruning::SaliencyPruner pruner({{"sparsity_level", 0.6}});
  pruner.prepare(model, {{{"tensor_fqn", "fc.weight"}}});
  pruner.step();  // k = 3: 0.5, 1, then rows 0 and 2 tie at 3 -> row 0
  CHECK(mask_of(pruner, "fc.weight") == std::vector<bool>{false, false, true, false, true});
}

TEST_CASE("SaliencyPruner scores conv filters by their whole L1 norm") {
  auto model = std::make_shared<nn::Module>("Net");
  auto conv = model->register_module("conv", nn::Conv2d(nn::Conv2dOptions(1, 3, 2).bias(false)));
  // Filter L1 norms: 4, 10, 2.5.
  assign(conv->weight(), {1, -1, 1, -1, 4, 3, -2, 1, 0.5f, 0.5f, -0.5f, 1});
  pruning::SaliencyPruner pruner({{"sparsity_level", 0.7}});
  pruner.prepare(model, {{{"tensor_fqn", "conv.weight"}}});
  pruner.step();  // k = trunc(2.1) = 2
  CHECK(mask_of(pruner, "conv.weight") == std::vector<bool>{false, true, false});
}

TEST_CASE("SaliencyPruner rejects 1-d weights") {
  auto model = std::make_shared<nn::Module>("Net");
  auto scale = std::make_shared<nn::Module>("Scale");
  scale->register_parameter("gain", pare::ones({4}));
  model->register_module("scale", scale);
  pruning::SaliencyPruner pruner({{"sparsity_level", 0.5}});
  pruner.prepare(model, {{{"tensor_fqn", "scale.gain"}}});
  CHECK_THROWS_WITH_AS(pruner.step(), doctest::Contains("gain"), pare::Error);
}

TEST_CASE("FPGM prunes the row nearest the geometric median, not the smallest") {
  for (const auto& [dist, expected] :
       {std::pair<std::string, std::vector<bool>>{"L2", {true, true, false, true}},
        std::pair<std::string, std::vector<bool>>{"L1", {true, false, true, true}}}) {
    CAPTURE(dist);
    auto model = linear_with(4, 2, kFpgmRows);
    pruning::FPGMPruner pruner(0.25, dist);  // round(1.0) = 1 row
    pruner.prepare(model, {{{"tensor_fqn", "fc.weight"}}});
    pruner.step();
    CHECK(mask_of(pruner, "fc.weight") == expected);
  }
  // Saliency, for contrast, prunes the smallest row 0.
  auto model = linear_with(4, 2, kFpgmRows);
  pruning::SaliencyPruner saliency({{"sparsity_level", 0.25}});
  saliency.prepare(model, {{{"tensor_fqn", "fc.weight"}}});
  saliency.step();
  CHECK(mask_of(saliency, "fc.weight") == std::vector<bool>{false, true, true, true});
}

TEST_CASE("FPGM takes a callable distance over the flattened rows") {
  auto model = std::make_shared<nn::Module>("Net");
  auto conv = model->register_module("conv", nn::Conv2d(2, 4, 3));
  pare::Shape seen;
  // Row 3 is at distance 0 from everything, so it scores lowest.
  pruning::FPGMPruner pruner(json{{"sparsity_level", 0.25}}, [&](const Tensor& rows) {
    seen = rows.sizes();
    std::vector<float> distances(16, 1.0f);
    for (int j = 0; j < 4; ++j) distances[3 * 4 + j] = distances[j * 4 + 3] = 0.0f;
    return pare::tensor(distances, {4, 4});
  });
  pruner.prepare(model, {{{"tensor_fqn", "conv.weight"}}});
  pruner.step();
  CHECK(seen == pare::Shape{4, 18});
  CHECK(mask_of(pruner, "conv.weight") == std::vector<bool>{true, true, true, false});

  pruning::FPGMPruner wrong(0.5, [](const Tensor&) { return pare::zeros({2, 2}); });
  auto other = linear_with(4, 2, kFpgmRows);
  wrong.prepare(other, {{{"tensor_fqn", "fc.weight"}}});
  CHECK_THROWS_WITH_AS(wrong.step(), doctest::Contains("[4, 4]"), pare::Error);
  CHECK_THROWS_AS(pruning::FPGMPruner(0.5, "cosine"), pare::Error);
}

TEST_CASE("FPGM rounds level * rows half to even, and level <= 0 / >= 1 keep / prune all") {
  auto model = std::make_shared<nn::Module>("Net");
  auto fc = model->register_module("fc", nn::Linear(3, 5));
  pruning::FPGMPruner pruner(0.5);
  CHECK(pruner.defaults == json{{"sparsity_level", 0.5}});
  pruning::FPGMPruner from_json({{"sparsity_level", 0.3}});
  CHECK(from_json.defaults == json{{"sparsity_level", 0.3}});
  pruner.prepare(model, {{{"tensor_fqn", "fc.weight"}}});
  pruner.step();  // 2.5 -> 2
  CHECK(pruned_count(mask_of(pruner, "fc.weight")) == 2);
  pruner.groups[0]["sparsity_level"] = 0.0;
  pruner.step();
  CHECK(pruned_count(mask_of(pruner, "fc.weight")) == 0);
  pruner.groups[0]["sparsity_level"] = 0.7;
  pruner.step();  // 3.5 -> 4
  CHECK(pruned_count(mask_of(pruner, "fc.weight")) == 4);
  pruner.groups[0]["sparsity_level"] = 1.0;
  pruner.step();
  CHECK(pruned_count(mask_of(pruner, "fc.weight")) == 5);
}

TEST_CASE("LSTMSaliencyPruner prunes trunc(H * level) rows in every gate block") {
  auto model = std::make_shared<nn::Module>("Net");
  auto lstm = model->register_module("lstm", nn::LSTM(2, 2));
  // weight_ih [8, 2], row L1 norms per gate: i (1, 2), f (5, 4), g (10, 9), o (0.1, 0.2).
  assign(lstm->get_parameter("weight_ih_l0"),
         {1, 0, 1, -1, 5, 0, 0, 4, 10, 0, 0, -9, 0.1f, 0, 0, 0.2f});
  // weight_hh: every gate prefers its second row.
  assign(lstm->get_parameter("weight_hh_l0"), {3, 3, 1, 0, 3, 3, 1, 0, 3, 3, 1, 0, 3, 3, 1, 0});
  pruning::LSTMSaliencyPruner pruner({{"sparsity_level", 0.5}});
  pruner.prepare(model);
  pruner.step();
  // A global saliency over all 8 rows would prune rows 6, 7, 0, 1 instead.
  CHECK(mask_of(pruner, "lstm.weight_ih_l0") ==
        std::vector<bool>{false, true, true, false, true, false, false, true});
  CHECK(mask_of(pruner, "lstm.weight_hh_l0") ==
        std::vector<bool>{true, false, true, false, true, false, true, false});
}

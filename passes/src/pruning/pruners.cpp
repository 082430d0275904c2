// SaliencyPruner, LSTMSaliencyPruner and FPGMPruner.
#include "pare/passes/pruning/pruners.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>
#include <vector>

#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/error.h"
#include "pare/nn/parametrize.h"

namespace pare::pruning {
namespace {

double sparsity_level_of(const nlohmann::json& group, const std::string& pruner) {
  PARE_CHECK(group.contains("sparsity_level") && group["sparsity_level"].is_number(), pruner,
             ": group '", group.value("tensor_fqn", std::string("?")),
             "' has no numeric sparsity_level");
  return group["sparsity_level"].get<double>();
}

// The current (masked) weight viewed as [rows, features], row-major. The values stay in the
// weight's own float tensor: a copy into a std::vector (let alone one of doubles) would cost one
// to three times the layer again, which for a large layer is the peak of the whole prune.
struct Rows {
  int64_t count = 0;
  int64_t features = 0;
  Tensor weight;  // contiguous float32
  // When set, `weight` is the stored (unmasked) weight and row r's masked values are its values
  // times row_scale[r] (1 or 0), as FakeStructuredSparsity computes them.
  std::vector<float> row_scale;
};

Rows masked_rows(const nn::Module& module, const std::string& tensor_name,
                 const std::string& pruner, int64_t min_dims) {
  NoGradGuard no_grad;
  const Tensor weight = module.get_parameter(tensor_name);
  PARE_CHECK(weight.dim() >= min_dims, pruner, ": structured pruning needs a ", min_dims,
             "+ dimensional weight, but ", module.type_name(), " '", tensor_name, "' has shape ",
             weight.sizes());
  Rows rows;
  rows.count = weight.dim() == 0 ? 1 : weight.size(0);
  rows.features = rows.count == 0 ? 0 : weight.numel() / rows.count;
  rows.weight = weight.detach().to(kFloat32).contiguous();
  return rows;
}

// The masked weight's rows without materialising it, when the tensor's only parametrization is
// its row mask: a large layer's masked copy would be the peak of the whole prune. Otherwise the
// masked weight as masked_rows reads it.
Rows masked_rows_in_place(const nn::Module& module, const std::string& tensor_name,
                          const std::string& pruner, int64_t min_dims) {
  std::shared_ptr<nn::ParametrizationList> list = module.parametrization(tensor_name);
  const bool only_row_mask = list != nullptr && list->size() == 1 &&
                             std::dynamic_pointer_cast<FakeStructuredSparsity>(list->at(0));
  const Tensor stored = only_row_mask ? list->original() : Tensor();
  if (!only_row_mask || stored.dtype() != kFloat32 || stored.dim() < min_dims)
    return masked_rows(module, tensor_name, pruner, min_dims);
  Rows rows;
  rows.count = stored.size(0);
  rows.features = rows.count == 0 ? 0 : stored.numel() / rows.count;
  rows.weight = stored.detach().contiguous();
  const Tensor mask = std::dynamic_pointer_cast<FakeStructuredSparsity>(list->at(0))->mask();
  PARE_CHECK(mask.numel() == rows.count, pruner, ": a mask of ", mask.numel(),
             " rows cannot mask a tensor of shape ", stored.sizes());
  const Tensor bits = mask.contiguous();
  for (int64_t row = 0; row < rows.count; ++row)
    rows.row_scale.push_back(bits.data_ptr<bool>()[row] ? 1.0f : 0.0f);
  return rows;
}

double row_l1(const Rows& rows, int64_t row) {
  const float* values = rows.weight.data_ptr<float>() + row * rows.features;
  // The product in float, as the masked weight holds it (0 * inf is NaN there too).
  const float scale = rows.row_scale.empty() ? 1.0f : rows.row_scale[static_cast<size_t>(row)];
  double total = 0.0;
  for (int64_t j = 0; j < rows.features; ++j)
    total += std::fabs(static_cast<double>(values[j] * scale));
  return total;
}

// Sets mask[first + r] = false for the `count` lowest scores (ties: lower index first).
void prune_lowest(const std::vector<double>& scores, int64_t count, bool* mask, int64_t first) {
  std::vector<int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return scores[a] < scores[b]; });
  for (int64_t i = 0; i < count && i < static_cast<int64_t>(order.size()); ++i)
    mask[first + order[static_cast<size_t>(i)]] = false;
}

Tensor pairwise_distance(const Tensor& rows, double p) {
  const int64_t count = rows.size(0);
  const int64_t features = rows.size(1);
  const std::vector<float> values = to_float_vector(rows.contiguous());
  std::vector<float> distances(static_cast<size_t>(count * count));
  for (int64_t a = 0; a < count; ++a)
    for (int64_t b = 0; b < count; ++b) {
      double total = 0.0;
      for (int64_t j = 0; j < features; ++j) {
        const double diff = std::fabs(static_cast<double>(values[a * features + j]) -
                                      static_cast<double>(values[b * features + j]));
        total += p == 1.0 ? diff : diff * diff;
      }
      distances[static_cast<size_t>(a * count + b)] =
          static_cast<float>(p == 1.0 ? total : std::sqrt(total));
    }
  return tensor(distances, {count, count});
}

FPGMPruner::DistanceFn named_distance(const std::string& dist) {
  if (dist == "L2") return [](const Tensor& rows) { return pairwise_distance(rows, 2.0); };
  if (dist == "L1") return [](const Tensor& rows) { return pairwise_distance(rows, 1.0); };
  PARE_CHECK(false, "FPGMPruner: dist must be \"L2\", \"L1\" or a callable, got \"", dist, "\"");
  return {};
}

nlohmann::json level_defaults(double sparsity_level) {
  return {{"sparsity_level", sparsity_level}};
}

nlohmann::json with_default_level(nlohmann::json defaults) {
  if (defaults.is_null()) defaults = nlohmann::json::object();
  if (defaults.is_object() && !defaults.contains("sparsity_level"))
    defaults["sparsity_level"] = 0.5;
  return defaults;
}

}  // namespace

void SaliencyPruner::update_mask(const std::shared_ptr<nn::Module>& module,
                                 const std::string& tensor_name, nlohmann::json& group) {
  const Rows rows = masked_rows_in_place(*module, tensor_name, name(), 2);
  Tensor mask = structured_mask(*module, tensor_name);
  // Rows in parallel: each row's sum is computed as before, so the scores are the same numbers.
  std::vector<double> scores(static_cast<size_t>(rows.count));
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < rows.count; ++row)
    scores[static_cast<size_t>(row)] = row_l1(rows, row);
  const auto count =
      static_cast<int64_t>(static_cast<double>(rows.count) * sparsity_level_of(group, name()));
  prune_lowest(scores, count, mask.data_ptr<bool>(), 0);
}

void LSTMSaliencyPruner::update_mask(const std::shared_ptr<nn::Module>& module,
                                     const std::string& tensor_name, nlohmann::json& group) {
  const Rows rows = masked_rows_in_place(*module, tensor_name, name(), 2);
  PARE_CHECK(rows.count % 4 == 0, name(), ": ", module->type_name(), " '", tensor_name, "' has ",
             rows.count, " rows, not 4 gate blocks");
  Tensor mask = structured_mask(*module, tensor_name);
  const int64_t hidden = rows.count / 4;
  const auto count =
      static_cast<int64_t>(static_cast<double>(hidden) * sparsity_level_of(group, name()));
  for (int64_t gate = 0; gate < 4; ++gate) {
    std::vector<double> scores;
    for (int64_t row = 0; row < hidden; ++row) scores.push_back(row_l1(rows, gate * hidden + row));
    prune_lowest(scores, count, mask.data_ptr<bool>(), gate * hidden);
  }
}

FPGMPruner::FPGMPruner(double sparsity_level, const std::string& dist)
    : FPGMPruner(sparsity_level, named_distance(dist)) {}

FPGMPruner::FPGMPruner(double sparsity_level, DistanceFn dist)
    : BaseStructuredSparsifier(level_defaults(sparsity_level)), dist_(std::move(dist)) {
  PARE_CHECK(dist_ != nullptr, "FPGMPruner: the distance function is empty");
}

FPGMPruner::FPGMPruner(const nlohmann::json& defaults, const std::string& dist)
    : FPGMPruner(defaults, named_distance(dist)) {}

FPGMPruner::FPGMPruner(const nlohmann::json& defaults, DistanceFn dist)
    : BaseStructuredSparsifier(with_default_level(defaults)), dist_(std::move(dist)) {
  PARE_CHECK(dist_ != nullptr, "FPGMPruner: the distance function is empty");
}

void FPGMPruner::update_mask(const std::shared_ptr<nn::Module>& module,
                             const std::string& tensor_name, nlohmann::json& group) {
  const double level = sparsity_level_of(group, name());
  Tensor mask = structured_mask(*module, tensor_name);
  bool* kept = mask.data_ptr<bool>();
  const int64_t count = mask.numel();
  if (level <= 0.0 || level >= 1.0) {
    std::fill(kept, kept + count, level <= 0.0);
    return;
  }
  const Rows rows = masked_rows(*module, tensor_name, name(), 1);
  Tensor distances;
  {
    NoGradGuard no_grad;
    // A copy: the distance function may be the caller's and must not see into the mask's input.
    distances = dist_(rows.weight.reshape({rows.count, rows.features}).clone());
  }
  PARE_CHECK(distances.defined() && distances.sizes() == Shape({rows.count, rows.count}), name(),
             ": the distance function must return [", rows.count, ", ", rows.count, "], got shape ",
             distances.defined() ? distances.sizes() : Shape{});
  const std::vector<float> matrix = to_float_vector(distances.contiguous());
  std::vector<double> scores(static_cast<size_t>(rows.count), 0.0);
  for (int64_t r = 0; r < rows.count; ++r)
    for (int64_t j = 0; j < rows.count; ++j)
      scores[static_cast<size_t>(r)] += std::fabs(matrix[static_cast<size_t>(r * rows.count + j)]);
  const double wanted = std::nearbyint(level * static_cast<double>(rows.count));
  const auto to_prune = std::clamp(static_cast<int64_t>(wanted), int64_t{0}, rows.count);
  prune_lowest(scores, to_prune, kept, 0);
}

}  // namespace pare::pruning

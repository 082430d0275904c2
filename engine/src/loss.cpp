// Losses, composed from differentiable ops so that their gradients come from autograd.
#include "pare/loss.h"

#include "pare/creation.h"
#include "pare/elementwise.h"
#include "pare/functional.h"
#include "pare/indexing.h"
#include "pare/observer.h"
#include "pare/reduction.h"

namespace pare {

namespace {

Tensor reduce(const Tensor& per_element, Reduction reduction) {
  switch (reduction) {
    case Reduction::none:
      return per_element;
    case Reduction::sum:
      return sum(per_element);
    case Reduction::mean:
      return mean(per_element);
  }
  throw Error("loss: unknown reduction");
}

const char* reduction_name(Reduction reduction) {
  switch (reduction) {
    case Reduction::none:
      return "none";
    case Reduction::sum:
      return "sum";
    case Reduction::mean:
      return "mean";
  }
  return "unknown";
}

// [N, C, d1, ...] scores and [N, d1, ...] targets -> [M, C] rows and [M] targets, where
// M = N * d1 * ...; the class dim moves last so each row is one prediction.
std::pair<Tensor, Tensor> as_rows(const Tensor& scores, const Tensor& target, const char* op) {
  PARE_CHECK(scores.dim() >= 1, op, ": expected scores of shape [N, C, ...], got ", scores.sizes());
  PARE_CHECK(target.dtype() == kInt64, op, ": expected int64 class indices, got ",
             dtype_name(target.dtype()), " target of shape ", target.sizes());
  if (scores.dim() == 1) {
    PARE_CHECK(target.dim() == 0, op, ": unbatched scores of shape ", scores.sizes(),
               " need a 0-d target, got shape ", target.sizes());
    return {scores.unsqueeze(0), target.reshape({1})};
  }
  Shape expected_target = scores.sizes();
  expected_target.erase(expected_target.begin() + 1);
  PARE_CHECK(target.sizes() == expected_target, op, ": scores of shape ", scores.sizes(),
             " need a target of shape ", expected_target, ", got ", target.sizes());
  const int64_t classes = scores.size(1);
  Tensor rows = scores;
  if (scores.dim() > 2) {
    Shape order{0};
    for (int64_t d = 2; d < scores.dim(); ++d) order.push_back(d);
    order.push_back(1);
    rows = scores.permute(order);
  }
  return {rows.reshape({-1, classes}), target.reshape({-1})};
}

// The per-row loss keeps the target's shape for Reduction::none.
Tensor per_row_loss_shape(const Tensor& per_row, const Tensor& target) {
  return per_row.reshape(target.dim() == 0 ? Shape{} : target.sizes());
}

// What a class weight and ignore_index make of the targets: the index each row gathers (an
// ignored row gathers class 0 and counts for nothing), each row's weight (weight[target], or 1;
// 0 when ignored) and whether the plain unweighted mean applies.
struct CountedRows {
  Tensor gather_index;
  Tensor row_weight;
  Tensor counted;  // 1 for a counted row, 0 for an ignored one
  bool plain = true;
};

CountedRows count_rows(const Tensor& flat_target, int64_t classes, const Tensor& weight,
                       int64_t ignore_index, const char* op) {
  if (weight.defined())
    PARE_CHECK(weight.dim() == 1 && weight.size(0) == classes && weight.dtype() == kFloat32, op,
               ": weight must be a float32 tensor of shape [", classes, "] (one per class), got ",
               dtype_name(weight.dtype()), " of shape ", weight.sizes());
  std::vector<int64_t> index = to_int64_vector(flat_target);
  std::vector<float> counted(index.size(), 1.0f);
  bool any_ignored = false;
  for (size_t i = 0; i < index.size(); ++i) {
    if (index[i] == ignore_index) {
      index[i] = 0;
      counted[i] = 0.0f;
      any_ignored = true;
      continue;
    }
    PARE_CHECK(index[i] >= 0 && index[i] < classes, op, ": target ", index[i],
               " is out of bounds for ", classes, " classes");
  }
  CountedRows rows;
  rows.gather_index = tensor(index);
  rows.counted = tensor(counted);
  rows.plain = !weight.defined() && !any_ignored;
  rows.row_weight = weight.defined() ? mul(index_select(weight, 0, rows.gather_index), rows.counted)
                                     : rows.counted;
  return rows;
}

// PyTorch's reduction of weighted row losses: the mean divides by the counted rows' weights.
Tensor reduce_weighted(const Tensor& per_row, const CountedRows& rows, Reduction reduction,
                       const Tensor& target) {
  switch (reduction) {
    case Reduction::none:
      return per_row_loss_shape(per_row, target);
    case Reduction::sum:
      return sum(per_row);
    case Reduction::mean:
      return div(sum(per_row), sum(rows.row_weight));
  }
  throw Error("loss: unknown reduction");
}

Attrs loss_arguments(Reduction reduction, int64_t ignore_index) {
  return {{"reduction", reduction_name(reduction)}, {"ignore_index", ignore_index}};
}

std::vector<Tensor> loss_inputs(const Tensor& scores, const Tensor& target, const Tensor& weight) {
  if (!weight.defined()) return {scores, target};
  return {scores, target, weight};
}

}  // namespace

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction,
                const Tensor& weight, int64_t ignore_index) {
  OpScope scope;
  auto [rows, flat_target] = as_rows(log_probs, target, "nll_loss");
  CountedRows counted = count_rows(flat_target, rows.size(1), weight, ignore_index, "nll_loss");
  Tensor per_row = neg(gather_rows(rows, counted.gather_index));
  Tensor result =
      counted.plain ? reduce(per_row_loss_shape(per_row, target), reduction)
                    : reduce_weighted(mul(per_row, counted.row_weight), counted, reduction, target);
  if (scope.should_report()) {
    Attrs arguments = loss_arguments(reduction, ignore_index);
    notify_function("nll_loss", loss_inputs(log_probs, target, weight), arguments, {result});
  }
  return result;
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction,
                     double label_smoothing, const Tensor& weight, int64_t ignore_index) {
  OpScope scope;
  PARE_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0,
             "cross_entropy: label_smoothing must be in [0, 1], got ", label_smoothing);
  auto [rows, flat_target] = as_rows(logits, target, "cross_entropy");
  const int64_t classes = rows.size(1);
  CountedRows counted = count_rows(flat_target, classes, weight, ignore_index, "cross_entropy");
  Tensor log_probs = log_softmax(rows, 1);
  Tensor per_row = neg(gather_rows(log_probs, counted.gather_index));
  Tensor result;
  if (counted.plain) {
    if (label_smoothing > 0.0) {
      // PyTorch: (1 - e) * nll + e * mean over classes of -log p.
      Tensor smooth = neg(mean(log_probs, {1}));
      per_row = add(mul(per_row, 1.0 - label_smoothing), mul(smooth, label_smoothing));
    }
    result = reduce(per_row_loss_shape(per_row, target), reduction);
  } else {
    result = reduce_weighted(mul(per_row, counted.row_weight), counted, reduction, target);
    if (label_smoothing > 0.0) {
      // PyTorch (LossNLL.cpp): (1 - e) * weighted nll + e / C * the sum over classes of
      // -w_c log p_c, zero for ignored rows and reduced with the nll's denominator.
      Tensor scaled = weight.defined() ? mul(log_probs, weight.reshape({1, classes})) : log_probs;
      Tensor smooth = mul(neg(sum(scaled, {1})), counted.counted);
      result = add(mul(result, 1.0 - label_smoothing),
                   mul(reduce_weighted(smooth, counted, reduction, target),
                       label_smoothing / static_cast<double>(classes)));
    }
  }
  if (scope.should_report()) {
    Attrs arguments = loss_arguments(reduction, ignore_index);
    arguments.emplace_back("label_smoothing", label_smoothing);
    notify_function("cross_entropy", loss_inputs(logits, target, weight), arguments, {result});
  }
  return result;
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  OpScope scope;
  PARE_CHECK(input.sizes() == target.sizes(), "mse_loss: input of shape ", input.sizes(),
             " and target of shape ", target.sizes(), " differ");
  Tensor diff = sub(input, target);
  Tensor result = reduce(mul(diff, diff), reduction);
  if (scope.should_report())
    notify_function("mse_loss", {input, target}, {{"reduction", reduction_name(reduction)}},
                    {result});
  return result;
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  OpScope scope;
  PARE_CHECK(input.sizes() == target.sizes(), "l1_loss: input of shape ", input.sizes(),
             " and target of shape ", target.sizes(), " differ");
  Tensor result = reduce(abs(sub(input, target)), reduction);
  if (scope.should_report())
    notify_function("l1_loss", {input, target}, {{"reduction", reduction_name(reduction)}},
                    {result});
  return result;
}

}  // namespace pare

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

void check_targets(const Tensor& target, int64_t classes, const char* op) {
  for (int64_t value : to_int64_vector(target))
    PARE_CHECK(value >= 0 && value < classes, op, ": target ", value, " is out of bounds for ",
               classes, " classes");
}

// The per-row loss keeps the target's shape for Reduction::none.
Tensor per_row_loss_shape(const Tensor& per_row, const Tensor& target) {
  return per_row.reshape(target.dim() == 0 ? Shape{} : target.sizes());
}

}  // namespace

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction) {
  OpScope scope;
  auto [rows, flat_target] = as_rows(log_probs, target, "nll_loss");
  check_targets(flat_target, rows.size(1), "nll_loss");
  Tensor per_row = neg(gather_rows(rows, flat_target));
  Tensor result = reduce(per_row_loss_shape(per_row, target), reduction);
  if (scope.should_report())
    notify_function("nll_loss", {log_probs, target}, {{"reduction", reduction_name(reduction)}},
                    {result});
  return result;
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction,
                     double label_smoothing) {
  OpScope scope;
  PARE_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0,
             "cross_entropy: label_smoothing must be in [0, 1], got ", label_smoothing);
  auto [rows, flat_target] = as_rows(logits, target, "cross_entropy");
  check_targets(flat_target, rows.size(1), "cross_entropy");
  Tensor log_probs = log_softmax(rows, 1);
  Tensor per_row = neg(gather_rows(log_probs, flat_target));
  if (label_smoothing > 0.0) {
    // PyTorch: (1 - e) * nll + e * mean over classes of -log p.
    Tensor smooth = neg(mean(log_probs, {1}));
    per_row = add(mul(per_row, 1.0 - label_smoothing), mul(smooth, label_smoothing));
  }
  Tensor result = reduce(per_row_loss_shape(per_row, target), reduction);
  if (scope.should_report())
    notify_function(
        "cross_entropy", {logits, target},
        {{"reduction", reduction_name(reduction)}, {"label_smoothing", label_smoothing}}, {result});
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

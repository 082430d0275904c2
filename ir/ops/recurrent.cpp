// lstm(input, h0, c0, weights..., num_layers=1, has_biases=True, batch_first=False) ->
// (output, h_n, c_n): functional.h's multi-layer LSTM. The weights follow as positional tensors,
// per layer w_ih, w_hh[, b_ih, b_hh] (torch's flat `params` list, unpacked); h0 and c0 may be None.
#include "families.h"
#include "layer_macs.h"
#include "pare/error.h"
#include "pare/functional.h"
#include "shape_rules.h"

namespace pare::ir::ops {

namespace {

using Type = ParamType;

// Where the weights start among the positional arguments.
constexpr size_t kFirstWeight = 3;

void require_weights(const OpCall& call) {
  PARE_CHECK(call.arg_count() >= kFirstWeight + 2,
             "lstm: expected (input, h0, c0, weights...), got ", call.arg_count(), " arguments");
}

Symbol infer_lstm(const OpCall& call) {
  require_weights(call);
  std::vector<TensorMeta> weights;
  for (size_t i = kFirstWeight; i < call.arg_count(); ++i) weights.push_back(call.tensor(i));
  const std::vector<Shape> shapes =
      lstm_shapes(call.tensor(0), call.optional_tensor(1), call.optional_tensor(2), weights,
                  call.flag("has_biases"), call.integer("num_layers"), call.flag("batch_first"));
  return Symbol::tuple({Symbol::of(shapes[0]), Symbol::of(shapes[1]), Symbol::of(shapes[2])});
}

FunctionKernel bind_lstm(const OpCall& call) {
  call.require_tensor_args(1);
  require_weights(call);
  const int64_t num_layers = call.integer("num_layers");
  const bool has_biases = call.flag("has_biases");
  const bool batch_first = call.flag("batch_first");
  const size_t arg_count = call.arg_count();
  return [=](const std::vector<Value>& args) {
    std::vector<Tensor> weights;
    for (size_t i = kFirstWeight; i < arg_count; ++i) weights.push_back(tensor_at(args, i));
    auto [output, h_n, c_n] =
        pare::lstm(tensor_at(args, 0), optional_tensor_at(args, 1), optional_tensor_at(args, 2),
                   weights, has_biases, num_layers, batch_first);
    return Value(std::vector<Value>{output, h_n, c_n});
  };
}

// Only each layer's w_ih and w_hh multiply; the biases are adds.
int64_t macs_of_lstm(const OpCall& call, const Symbol&) {
  const size_t per_layer = call.flag("has_biases") ? 4 : 2;
  std::vector<Shape> layer_weights;
  for (size_t i = kFirstWeight; i < call.arg_count(); ++i)
    if ((i - kFirstWeight) % per_layer < 2) layer_weights.push_back(call.tensor(i).shape);
  return lstm_macs(call.tensor(0).shape, call.flag("batch_first"), layer_weights);
}

}  // namespace

std::vector<OpDefinition> recurrent_ops() {
  std::vector<OpDefinition> ops;
  ops.push_back(
      {.name = "lstm",
       .family = "recurrent",
       .summary = "multi-layer LSTM returning (output, h_n, c_n)",
       .params = {required_param("input", Type::tensor, 0), param("h0", Type::optional_tensor, 1),
                  param("c0", Type::optional_tensor, 2),
                  required_param("weights", Type::tensor_list, kFirstWeight),
                  param("num_layers", Type::integer, kKeywordOnly, 1),
                  param("has_biases", Type::boolean, kKeywordOnly, true),
                  param("batch_first", Type::boolean, kKeywordOnly, false)},
       .infer = &infer_lstm,
       .bind = &bind_lstm,
       .macs = &macs_of_lstm});
  return ops;
}

}  // namespace pare::ir::ops

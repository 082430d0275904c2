// lstm(input, h0, c0, weights..., num_layers=1, has_biases=True, batch_first=False) ->
// (output, h_n, c_n): functional.h's multi-layer LSTM. The weights follow as positional tensors,
// per layer w_ih, w_hh[, b_ih, b_hh] (torch's flat `params` list, unpacked); h0 and c0 may be None.
#include <limits>

#include "channel_rules.h"
#include "families.h"
#include "layer_macs.h"
#include "layers.h"
#include "pare/error.h"
#include "pare/functional.h"
#include "pare/nn/nn.h"
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

// ---- The LSTM layer: lstm with its own weights, one set per layer ----

namespace {

std::shared_ptr<nn::Module> build_lstm(const AttrReader& attrs) {
  return std::make_shared<nn::LSTMImpl>(
      nn::LSTMOptions(int_at_least(attrs, "input_size", 1), int_at_least(attrs, "hidden_size", 1))
          .num_layers(int_at_least(attrs, "num_layers", 1))
          .bias(attrs.get_bool("bias"))
          .batch_first(attrs.get_bool("batch_first")));
}

void lstm_layout(const AttrReader& attrs, const ExpectTensor& expect) {
  int64_t input = 0, hidden = 0, layers = 0;
  bool bias = false;
  if (!read_attributes([&] {
        input = attrs.get_int("input_size");
        hidden = attrs.get_int("hidden_size");
        layers = attrs.get_int("num_layers");
        bias = attrs.get_bool("bias");
      }))
    return;
  if (input < 1 || hidden < 1 || layers < 1) return;
  // The gates stack 4 * hidden_size rows; a size that overflows cannot match any file.
  PARE_CHECK(hidden <= std::numeric_limits<int64_t>::max() / 4, "module '", attrs.module_name(),
             "' (LSTM): hidden_size=", hidden, " is too large");
  const std::string why_hidden = str_cat("hidden_size=", hidden);
  for (int64_t layer = 0; layer < layers; ++layer) {
    const std::string suffix = std::to_string(layer);
    if (layer == 0) {
      expect({"weight_ih_l0",
              {4 * hidden, input},
              kFloat32,
              str_cat("input_size=", input, ", ", why_hidden)});
    } else {
      expect({"weight_ih_l" + suffix, {4 * hidden, hidden}, kFloat32, why_hidden});
    }
    expect({"weight_hh_l" + suffix, {4 * hidden, hidden}, kFloat32, why_hidden});
    if (bias) {
      expect({"bias_ih_l" + suffix, {4 * hidden}, kFloat32, why_hidden});
      expect({"bias_hh_l" + suffix, {4 * hidden}, kFloat32, why_hidden});
    }
  }
}

// (input) or (input, (h_0, c_0)) -> (output, (h_n, c_n)), as LSTMImpl::forward.
Symbol infer_lstm_layer(const nn::Module& module, const std::vector<Symbol>& args) {
  PARE_CHECK(args.size() == 1 || args.size() == 2,
             "LSTM: expected (input) or (input, (h_0, c_0)), got ", args.size(), " arguments");
  PARE_CHECK(args[0].is_tensor(), "LSTM: expected a tensor input, got ", args[0].describe());
  const TensorMeta* h0 = nullptr;
  const TensorMeta* c0 = nullptr;
  if (args.size() == 2) {
    const Symbol& state = args[1];
    PARE_CHECK(state.is_tuple() && state.items.size() == 2 && state.items[0].is_tensor() &&
                   state.items[1].is_tensor(),
               "LSTM: the state must be a pair (h_0, c_0), got ", state.describe());
    h0 = &state.items[0].meta;
    c0 = &state.items[1].meta;
  }
  const Attrs config = module.config();
  const int64_t num_layers = config_int(config, "num_layers", module);
  const bool bias = config_bool(config, "bias", module);
  const TensorMeta& x = args[0].meta;
  const TensorMeta w_ih = required_tensor(module, "weight_ih_l0");
  PARE_CHECK(x.shape.size() < 2 || w_ih.shape.size() != 2 || x.shape.back() == w_ih.shape[1],
             "input ", x.shape, " does not match input_size=", w_ih.shape[1],
             " (the last dim must be the input size)");
  std::vector<TensorMeta> weights;
  for (int64_t layer = 0; layer < num_layers; ++layer) {
    const std::string suffix = std::to_string(layer);
    weights.push_back(required_tensor(module, "weight_ih_l" + suffix));
    weights.push_back(required_tensor(module, "weight_hh_l" + suffix));
    if (bias) {
      weights.push_back(required_tensor(module, "bias_ih_l" + suffix));
      weights.push_back(required_tensor(module, "bias_hh_l" + suffix));
    }
  }
  const std::vector<Shape> shapes =
      lstm_shapes(x, h0, c0, weights, bias, num_layers, config_bool(config, "batch_first", module));
  return Symbol::tuple(
      {Symbol::of(shapes[0]), Symbol::tuple({Symbol::of(shapes[1]), Symbol::of(shapes[2])})});
}

bool config_flag(const nn::Module& module, const std::string& key) {
  for (const auto& [name, value] : module.config())
    if (name == key && std::holds_alternative<bool>(value)) return std::get<bool>(value);
  throw Error(str_cat(module.type_name(), ": its config() has no bool '", key, "'"));
}

int64_t lstm_layer_macs(const nn::Module& module, const TensorMeta& input) {
  std::vector<Shape> layer_weights;
  for (int64_t layer = 0; module.has_parameter("weight_ih_l" + std::to_string(layer)); ++layer) {
    layer_weights.push_back(parameter_shape(module, "weight_ih_l" + std::to_string(layer)));
    layer_weights.push_back(parameter_shape(module, "weight_hh_l" + std::to_string(layer)));
  }
  return lstm_macs(input.shape, config_flag(module, "batch_first"), layer_weights);
}

// The LSTM's channel spaces. Input: the input's last axis and weight_ih_l0 dim 1. Hidden: the
// columns of every weight_hh_lk and of weight_ih_l(k+1), the four gate row blocks (i, f, g, o) of
// every weight and bias, the output's last axis, and an initial state's last axis. The module has
// one hidden_size, and h_n / c_n hold every layer's units at the same positions, so the layers'
// hidden spaces are one space (weight_hh_l0 dim 1 stands for it). h_n / c_n are nested in the
// result (output, (h_n, c_n)); a getitem that reads them states nothing of the output, so a graph
// that uses them blocks the hidden space.
ChannelRule lstm_layer_channels(const nn::Module& module, const std::vector<Symbol>& args,
                                const Symbol& output) {
  ChannelRule rule;
  if (args.empty() || !args[0].is_tensor() || !output.is_tuple() || output.items.empty() ||
      !output.items[0].is_tensor())
    return rule;
  const Attrs config = module.config();
  const int64_t num_layers = config_int(config, "num_layers", module);
  const bool bias = config_bool(config, "bias", module);
  const int64_t rank = static_cast<int64_t>(args[0].meta.shape.size());
  const ChannelTensor x = ChannelTensor::input(0);
  const ChannelTensor y = ChannelTensor::output(0);
  const ChannelAxis hidden{ChannelTensor::parameter("weight_hh_l0"), 1};
  const int64_t hidden_size = required_tensor(module, "weight_hh_l0").shape.at(1);
  for (int64_t axis = 0; axis + 1 < rank; ++axis) rule.same({x, axis}, {y, axis});
  rule.same({x, rank - 1}, {ChannelTensor::parameter("weight_ih_l0"), 1});
  rule.same({y, rank - 1}, hidden);
  for (int64_t layer = 0; layer < num_layers; ++layer) {
    const std::string suffix = std::to_string(layer);
    std::vector<std::string> gated{"weight_ih_l" + suffix, "weight_hh_l" + suffix};
    if (bias) {
      gated.push_back("bias_ih_l" + suffix);
      gated.push_back("bias_hh_l" + suffix);
    }
    for (const std::string& name : gated)
      for (int64_t gate = 0; gate < 4; ++gate)
        rule.link(hidden, {ChannelTensor::parameter(name), 0}, {.offset = gate * hidden_size});
    if (layer > 0) {
      rule.same(hidden, {ChannelTensor::parameter("weight_hh_l" + suffix), 1});
      rule.same(hidden, {ChannelTensor::parameter("weight_ih_l" + suffix), 1});
    }
  }
  if (args.size() == 2 && args[1].is_tuple()) {
    // (h_0, c_0), [num_layers, N, H] or [num_layers, H]: the hidden axis is the last.
    for (int64_t item = 0; item < static_cast<int64_t>(args[1].items.size()); ++item) {
      const Symbol& state = args[1].items[item];
      if (!state.is_tensor() || state.meta.shape.empty()) continue;
      rule.same({ChannelTensor::input(1, item), static_cast<int64_t>(state.meta.shape.size()) - 1},
                hidden);
    }
  }
  return rule;
}

}  // namespace

std::vector<LayerDefinition> recurrent_layers() {
  return {{.type_name = "LSTM",
           .kind = nn::ModuleKind::lstm,
           .attributes = {"input_size", "hidden_size", "num_layers", "bias", "batch_first"},
           .factory = &build_lstm,
           .layout = &lstm_layout,
           .infer = &infer_lstm_layer,
           .macs = &lstm_layer_macs,
           .channel_rule = &lstm_layer_channels}};
}

}  // namespace pare::ir::ops

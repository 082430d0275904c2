// The prune functions: shrink the masked layer, fold its pruned channels' constants into the
// next layer, slice the next layer's inputs (docs/pruning.md, "prune functions: the math").
#include "pare/passes/pruning/prune_functions.h"

#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "eval_mode_guard.h"
#include "layer_bias.h"
#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/elementwise.h"
#include "pare/error.h"
#include "pare/indexing.h"
#include "pare/linalg.h"
#include "pare/nn/activation.h"
#include "pare/nn/conv.h"
#include "pare/nn/linear.h"
#include "pare/nn/lstm.h"
#include "pare/nn/normalization.h"
#include "pare/nn/parametrize.h"
#include "pare/passes/pruning/structured.h"
#include "pare/reduction.h"

namespace pare::pruning {
namespace {

using Indices = std::vector<int64_t>;

Tensor index_tensor(const Indices& indices) {
  return tensor(indices, {static_cast<int64_t>(indices.size())});
}

// Rows / columns `indices` of `source` along `dim`, as a fresh contiguous tensor (index_select
// always writes a new one, so no further copy is needed).
Tensor take(const Tensor& source, int64_t dim, const Indices& indices) {
  NoGradGuard no_grad;
  return index_select(source.detach(), dim, index_tensor(indices));
}

// take(take(source, 0, rows), 1, columns) in one gather, without the [rows, all columns]
// intermediate: for a large layer that loses rows and columns, that intermediate is the size of
// the layer. `source` has at least two dimensions; everything after dim 1 is copied whole.
Tensor take_rows_and_columns(const Tensor& source, const Indices& rows, const Indices& columns) {
  const Tensor contiguous = source.detach().contiguous();
  Shape shape = contiguous.sizes();
  const int64_t source_columns = shape[1];
  const int64_t inner = shape[0] == 0 || shape[1] == 0
                            ? 0
                            : contiguous.numel() / (shape[0] * shape[1]);  // kh * kw for a conv
  shape[0] = static_cast<int64_t>(rows.size());
  shape[1] = static_cast<int64_t>(columns.size());
  Tensor result = empty(shape, contiguous.dtype());
  const size_t block = static_cast<size_t>(inner) * contiguous.element_size();
  const auto* from = static_cast<const char*>(contiguous.raw_data());
  auto* to = static_cast<char*>(result.raw_data());
  for (int64_t row : rows) {
    PARE_CHECK(row >= 0 && row < contiguous.size(0), "prune: row ", row, " is outside ",
               contiguous.sizes());
    for (int64_t column : columns) {
      PARE_CHECK(column >= 0 && column < source_columns, "prune: column ", column, " is outside ",
                 contiguous.sizes());
      std::memcpy(to, from + (row * source_columns + column) * block, block);
      to += block;
    }
  }
  return result;
}

// B's input columns that A's pruning removed, kept as a parametrization after B's own row mask
// until B's chain shrinks B: then its kept rows and kept columns come out of the stored weight in
// one gather (take_rows_and_columns). Slicing the columns at once would hold a copy of B with all
// its rows, which for a large B is the peak of the whole prune. Reading the weight meanwhile
// gives the same values as the sliced one.
class KeptInputs : public nn::Parametrization {
 public:
  explicit KeptInputs(Indices kept) : nn::Parametrization("KeptInputs"), kept_(std::move(kept)) {}
  Tensor apply(const Tensor& original) override {
    return index_select(original, 1, index_tensor(kept_));
  }
  const Indices& kept() const { return kept_; }

 private:
  Indices kept_;
};

std::string module_label(const PatternMatch& match, size_t index) {
  const ir::Node& node = *match.nodes[index];
  if (node.op() != ir::OpKind::call_module) return "'" + node.name() + "' (" + node.target() + ")";
  return "'" + node.target() + "' (" + match.module(index)->type_name() + ")";
}

[[noreturn]] void refuse(const PatternMatch& match, const std::string& pattern,
                         const std::string& why) {
  throw Error(str_cat("prune: ", pattern, " on ", match.describe(), ": ", why));
}

bool is_linear(const nn::Module& module) { return module.kind() == nn::ModuleKind::linear; }
bool is_conv(const nn::Module& module) { return module.kind() == nn::ModuleKind::conv2d; }

// Replaces parameter `name` of `module`, or the original behind its parametrizations.
void replace_weight(nn::Module& module, const std::string& name, const Tensor& value) {
  std::shared_ptr<nn::ParametrizationList> list = module.parametrization(name);
  nn::Module& owner = list ? static_cast<nn::Module&>(*list) : module;
  const std::string slot = list ? "original" : name;
  const bool requires_grad = owner.get_parameter(slot).requires_grad();
  owner.register_parameter(slot, value, requires_grad);
}

// The weight as stored (the original when parametrized).
Tensor stored_weight(const nn::Module& module, const std::string& name) {
  std::shared_ptr<nn::ParametrizationList> list = module.parametrization(name);
  return list ? list->original() : module.get_parameter(name);
}

// Sets the channel counts in a layer's options to match its new weight.
void set_out_channels(nn::Module& module, int64_t count) {
  if (auto* linear = nn::as<nn::LinearImpl>(&module)) linear->options().out_features(count);
  if (auto* conv = nn::as<nn::Conv2dImpl>(&module)) conv->options().out_channels(count);
}
void set_in_channels(nn::Module& module, int64_t count) {
  if (auto* linear = nn::as<nn::LinearImpl>(&module)) linear->options().in_features(count);
  if (auto* conv = nn::as<nn::Conv2dImpl>(&module)) conv->options().in_channels(count);
}

// The masked layer A at the head of a chain: its mask and the constant each pruned row emits.
struct Producer {
  std::shared_ptr<nn::Module> module;
  bool conv = false;
  int64_t channels = 0;
  Indices kept;
  Indices pruned;
  std::vector<bool> keep;
  bool prune_bias = true;
  // c: per channel, 0 for kept ones; b[p] for pruned ones without prune_bias.
  std::vector<float> constants;
};

Producer read_producer(const PatternMatch& match, const std::string& pattern) {
  Producer producer;
  producer.module = match.module(0);
  nn::Module& module = *producer.module;
  if (!is_linear(module) && !is_conv(module))
    refuse(match, pattern,
           str_cat(module_label(match, 0), " is not a Linear or Conv2d; this rule shrinks those"));
  producer.conv = is_conv(module);
  std::shared_ptr<FakeStructuredSparsity> sparsity = find_structured_sparsity(module, "weight");
  if (sparsity == nullptr)
    refuse(match, pattern, str_cat(module_label(match, 0), "'s weight carries no mask"));
  const Tensor mask = sparsity->mask().contiguous();
  producer.channels = mask.numel();
  const bool* bits = mask.data_ptr<bool>();
  for (int64_t row = 0; row < producer.channels; ++row) {
    producer.keep.push_back(bits[row]);
    (bits[row] ? producer.kept : producer.pruned).push_back(row);
  }
  if (producer.kept.empty())
    refuse(match, pattern,
           str_cat("the mask of ", module_label(match, 0), " prunes all ", producer.channels,
                   " rows; a layer must keep at least one"));
  if (const nn::ForwardHook* hook = module.forward_hook_with_tag(BiasHook::kTag)) {
    if (const BiasHook* bias_hook = hook->target<BiasHook>())
      producer.prune_bias = bias_hook->prune_bias();
  }
  producer.constants.assign(static_cast<size_t>(producer.channels), 0.0f);
  const std::string bias_name = has_defined_parameter(module, "_bias") ? "_bias" : "bias";
  if (!producer.prune_bias && has_defined_parameter(module, bias_name)) {
    const std::vector<float> bias = to_float_vector(module.get_parameter(bias_name));
    for (int64_t row : producer.pruned) producer.constants[row] = bias[row];
  }
  return producer;
}

// Removes A's bias hook; `bias` comes back from the side slot with pruned entries set to their
// constants.
void restore_producer_bias(const Producer& producer) {
  nn::Module& module = *producer.module;
  module.remove_hooks_with_tag(BiasHook::kTag);
  if (!has_defined_parameter(module, "_bias")) return;
  Tensor bias = module.get_parameter("_bias");
  const bool requires_grad = bias.requires_grad();
  std::vector<float> values = to_float_vector(bias);
  for (int64_t row : producer.pruned) values[row] = producer.constants[row];
  module.unregister_parameter("_bias");
  module.register_parameter("bias", tensor(values, {producer.channels}), requires_grad);
  set_bias_option(module, true);
}

// Removes A's mask and bias hook; its weight keeps the masked values.
void unmask_producer(const Producer& producer) {
  nn::remove_parametrizations(producer.module, "weight", /*leave_parametrized=*/true);
  restore_producer_bias(producer);
}

// True when the only parametrization of A's weight is its row mask: the masked weight's kept rows
// are then the stored weight's rows times 1.0, that is the same values.
bool only_row_mask(const nn::Module& module) {
  std::shared_ptr<nn::ParametrizationList> list = module.parametrization("weight");
  return list != nullptr && list->size() == 1 &&
         std::dynamic_pointer_cast<FakeStructuredSparsity>(list->at(0)) != nullptr;
}

// The KeptInputs that follows A's row mask when A's inputs were pruned first, else nullptr.
std::shared_ptr<KeptInputs> row_mask_then_kept_inputs(const nn::Module& module) {
  std::shared_ptr<nn::ParametrizationList> list = module.parametrization("weight");
  if (list == nullptr || list->size() != 2 ||
      std::dynamic_pointer_cast<FakeStructuredSparsity>(list->at(0)) == nullptr)
    return nullptr;
  return std::dynamic_pointer_cast<KeptInputs>(list->at(1));
}

// Unmasks A and keeps only its kept rows. With only the row mask on the weight (and perhaps the
// inputs its own producer pruned), the kept rows are taken from the stored weight directly:
// materialising the whole masked weight (and its clone) first would cost two full copies of the
// layer for rows that are dropped right after.
void shrink_producer(const Producer& producer) {
  nn::Module& module = *producer.module;
  const bool weight_grad = stored_weight(module, "weight").requires_grad();
  Tensor kept_rows;
  if (std::shared_ptr<KeptInputs> kept_inputs = row_mask_then_kept_inputs(module)) {
    // The kept rows of a row mask are the stored rows times 1.0, that is the same values.
    kept_rows =
        take_rows_and_columns(stored_weight(module, "weight"), producer.kept, kept_inputs->kept());
    nn::remove_parametrizations(producer.module, "weight", /*leave_parametrized=*/false);
    restore_producer_bias(producer);
  } else if (only_row_mask(module)) {
    kept_rows = take(stored_weight(module, "weight"), 0, producer.kept);
    nn::remove_parametrizations(producer.module, "weight", /*leave_parametrized=*/false);
    restore_producer_bias(producer);
  } else {
    unmask_producer(producer);
    kept_rows = take(module.get_parameter("weight"), 0, producer.kept);
  }
  module.register_parameter("weight", kept_rows, weight_grad);
  if (has_defined_parameter(module, "bias")) {
    const bool bias_grad = module.get_parameter("bias").requires_grad();
    module.register_parameter("bias", take(module.get_parameter("bias"), 0, producer.kept),
                              bias_grad);
  }
  set_out_channels(module, static_cast<int64_t>(producer.kept.size()));
}

// Keeps only the input channels `kept` of the consumer B (a Linear or Conv2d).
void keep_inputs(const std::shared_ptr<nn::Module>& consumer, const Indices& kept) {
  if (only_row_mask(*consumer)) {
    // B is masked itself, so its own chain comes later in the graph and shrinks its rows; the
    // columns wait for that gather. Unsafe: evaluating the new chain as a check would build the
    // very copy this avoids, and KeptInputs changes the shape on purpose.
    nn::register_parametrization(consumer, "weight", std::make_shared<KeptInputs>(kept),
                                 /*unsafe=*/true);
  } else {
    replace_weight(*consumer, "weight", take(stored_weight(*consumer, "weight"), 1, kept));
  }
  set_in_channels(*consumer, static_cast<int64_t>(kept.size()));
}

// The probe: A's output shape (batch 1) with c_p in pruned channels and 0 in kept ones.
Tensor make_probe(const PatternMatch& match, const Producer& producer, const std::string& pattern) {
  const ir::Node& head = *match.nodes[0];
  if (head.meta.empty())
    refuse(match, pattern,
           str_cat("node '", head.name(), "' has no recorded shape; record the graph's metadata ",
                   "(GraphModule::record_meta) before pruning"));
  Shape shape = head.meta[0].shape;
  const int64_t rank = static_cast<int64_t>(shape.size());
  const int64_t axis = producer.conv ? rank - 3 : rank - 1;
  if (axis < 0 || shape[axis] != producer.channels)
    refuse(match, pattern,
           str_cat(module_label(match, 0), " produced shape ", shape, ", which has no axis of ",
                   producer.channels, " channels"));
  if ((producer.conv && rank == 4) || (!producer.conv && rank >= 2)) shape[0] = 1;
  Shape channel_shape(shape.size(), 1);
  channel_shape[axis] = producer.channels;
  Tensor constants = tensor(producer.constants, channel_shape);
  return (zeros(shape) + constants).contiguous();
}

// Runs the nodes strictly between the head and nodes[end] on `probe`, in eval mode.
Tensor propagate(PatternMatch& match, Tensor probe, size_t end, const std::string& pattern) {
  NoGradGuard no_grad;
  for (size_t index = 1; index < end; ++index) {
    const ir::Node& node = *match.nodes[index];
    std::vector<ir::Value> args;
    for (const ir::Argument& argument : node.args()) {
      if (!argument.is_node()) {
        if (argument.is_list())
          refuse(match, pattern,
                 str_cat("node '", node.name(), "' takes a list argument; only ops on one tensor ",
                         "can sit inside a pruned chain"));
        args.emplace_back();
        continue;
      }
      const ir::Node* input = argument.to_node();
      if (input == match.nodes[index - 1]) {
        args.emplace_back(probe);
      } else if (input->op() == ir::OpKind::get_attr) {
        args.emplace_back(match.graph_module.attribute(input->target()));
      } else {
        refuse(match, pattern,
               str_cat("node '", node.name(), "' also reads '", input->name(),
                       "'; only ops on the pruned layer's output can sit inside a pruned chain"));
      }
    }
    std::optional<EvalModeGuard> eval_mode;
    if (node.op() == ir::OpKind::call_module) eval_mode.emplace(match.module(index));
    ir::Value value = match.graph_module.run_node(node, args);
    if (!value.is_tensor())
      refuse(match, pattern, str_cat("node '", node.name(), "' does not produce one tensor"));
    probe = value.tensor().contiguous();
  }
  return probe;
}

// Slices the per-channel parameters of the ops between A and nodes[end] (a PReLU with one slope
// per channel) to A's kept channels.
void shrink_between(PatternMatch& match, const Producer& producer, size_t end,
                    const std::string& pattern) {
  for (size_t index = 1; index < end; ++index) {
    const ir::Node& node = *match.nodes[index];
    if (node.op() == ir::OpKind::call_module) {
      std::shared_ptr<nn::Module> module = match.module(index);
      if (module->kind() == nn::ModuleKind::prelu) {
        auto* prelu = nn::as<nn::PReLUImpl>(module.get());
        if (prelu->num_parameters() == 1) continue;
        if (prelu->num_parameters() != producer.channels)
          refuse(
              match, pattern,
              str_cat(module_label(match, index), " has ", prelu->num_parameters(), " slopes but ",
                      module_label(match, 0), " has ", producer.channels, " channels"));
        prelu->set_weight(take(prelu->weight(), 0, producer.kept));
      } else if (auto* norm = nn::as<nn::BatchNorm2dImpl>(module.get())) {
        for (const std::string name : {"weight", "bias"})
          if (has_defined_parameter(*norm, name))
            norm->register_parameter(name, take(norm->get_parameter(name), 0, producer.kept),
                                     norm->get_parameter(name).requires_grad());
        for (const std::string name : {"running_mean", "running_var"})
          if (norm->has_buffer(name) && norm->get_buffer(name).defined())
            norm->register_buffer(name, take(norm->get_buffer(name), 0, producer.kept));
        norm->options().num_features(static_cast<int64_t>(producer.kept.size()));
      }
    } else if (node.op() == ir::OpKind::call_function && node.target() == "prelu") {
      if (node.args().size() < 2 || !node.args()[1].is_node()) continue;
      const ir::Node* weight_node = node.args()[1].to_node();
      const std::string target = weight_node->target();
      const Tensor weight = match.graph_module.attribute(target);
      if (weight.numel() == 1) continue;
      if (weight.numel() != producer.channels)
        refuse(match, pattern,
               str_cat("prelu '", node.name(), "' has ", weight.numel(), " slopes but ",
                       module_label(match, 0), " has ", producer.channels, " channels"));
      const size_t dot = target.rfind('.');
      std::shared_ptr<nn::Module> owner = dot == std::string::npos
                                              ? match.graph_module.root_ptr()
                                              : match.graph_module.module(target.substr(0, dot));
      const std::string name = dot == std::string::npos ? target : target.substr(dot + 1);
      if (owner->has_parameter(name))
        owner->register_parameter(name, take(weight, 0, producer.kept), weight.requires_grad());
      else
        owner->register_buffer(name, take(weight, 0, producer.kept));
    }
  }
}

}  // namespace

void prune_producer_chain(PatternMatch& match) {
  const std::string pattern = "prune_producer_chain";
  if (match.nodes.size() < 2) refuse(match, pattern, "a chain needs a layer and what follows it");
  const Producer producer = read_producer(match, pattern);
  const size_t last = match.nodes.size() - 1;
  const ir::Node& tail = *match.nodes[last];

  if (tail.op() == ir::OpKind::output) {
    // A terminal layer: only A shrinks (and what sits between A and the output).
    shrink_between(match, producer, last, pattern);
    shrink_producer(producer);
    return;
  }
  std::shared_ptr<nn::Module> consumer = match.module(last);
  if (!is_linear(*consumer) && !is_conv(*consumer))
    refuse(match, pattern,
           str_cat(module_label(match, last), " is not a Linear, a Conv2d or the output"));

  const Tensor received = propagate(match, make_probe(match, producer, pattern), last, pattern);
  // B's shape. A row mask keeps it, so B's masked weight itself is only materialised when a
  // constant must be folded (or another parametrization could change the shape).
  const bool shape_kept = !consumer->is_parametrized("weight") || only_row_mask(*consumer);
  const Shape consumer_shape = shape_kept ? stored_weight(*consumer, "weight").sizes()
                                          : consumer->get_parameter("weight").sizes();
  const int64_t in = consumer_shape[1];
  std::vector<float> folded(static_cast<size_t>(in), 0.0f);  // v per input channel of B
  Indices kept_inputs;
  bool exact = true;
  bool any_constant = false;

  if (is_linear(*consumer)) {
    if (received.dim() < 1 || received.size(received.dim() - 1) != in)
      refuse(match, pattern,
             str_cat(module_label(match, last), " takes ", in, " features but receives shape ",
                     received.sizes()));
    if (in % producer.channels != 0)
      refuse(match, pattern,
             str_cat(module_label(match, last), " takes ", in, " features, not a multiple of ",
                     module_label(match, 0), "'s ", producer.channels, " channels"));
    const int64_t per_channel = in / producer.channels;  // s: flatten expands channel-major
    const std::vector<float> row = to_float_vector(received.reshape({-1, in}).select(0, 0));
    for (int64_t feature = 0; feature < in; ++feature) {
      if (producer.keep[feature / per_channel]) {
        kept_inputs.push_back(feature);
      } else {
        folded[feature] = row[feature];
        any_constant = any_constant || row[feature] != 0.0f;
      }
    }
  } else {
    auto* conv = nn::as<nn::Conv2dImpl>(consumer.get());
    if (conv->options().groups() != 1)
      refuse(match, pattern,
             str_cat(module_label(match, last), " has groups = ", conv->options().groups(),
                     "; pruning the input channels of a grouped conv is not supported"));
    const int64_t axis = received.dim() - 3;
    if (axis < 0 || received.size(axis) != in || in != producer.channels)
      refuse(match, pattern,
             str_cat(module_label(match, last), " takes ", in, " channels but receives shape ",
                     received.sizes(), " from ", producer.channels, " channels"));
    const Tensor maps = received.reshape({in, -1});  // batch 1 (or unbatched)
    bool uniform = true;
    for (int64_t channel : producer.pruned) {
      const std::vector<float> values = to_float_vector(maps.select(0, channel));
      const float first = values.front();
      for (float value : values)
        uniform = uniform && std::fabs(value - first) <= 1e-6f * std::max(1.0f, std::fabs(first));
      folded[channel] = first;
      any_constant = any_constant || std::any_of(values.begin(), values.end(),
                                                 [](float value) { return value != 0.0f; });
    }
    const IntPair padding = conv->options().padding();
    const bool padded = padding.first != 0 || padding.second != 0;
    // The fold is exact only when B sees the same constant at every tap (spec: padded consumer).
    exact = !any_constant || (uniform && !padded);
    kept_inputs = producer.kept;
  }

  if (!exact) {
    // Padded-consumer rule: the pruned channels stay, emitting their constants.
    unmask_producer(producer);
    return;
  }
  if (any_constant) {
    add_to_bias(*consumer, constant_input_response(*consumer, folded));
  }
  keep_inputs(consumer, kept_inputs);
  shrink_between(match, producer, last, pattern);
  shrink_producer(producer);
}

void prune_lstm_chain(PatternMatch& match) {
  const std::string pattern = "prune_lstm_chain";
  if (match.nodes.size() < 3) refuse(match, pattern, "expected (LSTM, getitem, ..., Linear)");
  auto lstm = nn::as<nn::LSTMImpl>(match.module(0));
  if (lstm == nullptr) refuse(match, pattern, str_cat(module_label(match, 0), " is not an LSTM"));
  const ir::Node& getitem = *match.nodes[1];
  if (getitem.target() != "getitem" || getitem.args().size() != 2 || !getitem.args()[1].is_int() ||
      getitem.args()[1].to_int() != 0)
    refuse(match, pattern,
           str_cat("'", getitem.name(), "' must take the LSTM's output sequence (item 0)"));
  const size_t last = match.nodes.size() - 1;
  std::shared_ptr<nn::Module> linear = match.module(last);
  if (!is_linear(*linear))
    refuse(match, pattern, str_cat(module_label(match, last), " is not a Linear"));
  std::shared_ptr<nn::LayerNormImpl> layer_norm;
  for (size_t index = 2; index < last; ++index) {
    layer_norm = nn::as<nn::LayerNormImpl>(match.module(index));
    if (layer_norm == nullptr || last != 3)
      refuse(match, pattern, str_cat(module_label(match, index), " is not a LayerNorm"));
  }

  const int64_t hidden = lstm->options().hidden_size();
  const int64_t layers = lstm->options().num_layers();
  // Per layer, the hidden units kept: those whose output-gate row of weight_hh is kept (the
  // output gate decides what the next layer sees, as in PyTorch's slicing by M_ho).
  std::vector<Indices> kept_units(static_cast<size_t>(layers));
  for (int64_t layer = 0; layer < layers; ++layer) {
    const std::string ih = str_cat("weight_ih_l", layer);
    const std::string hh = str_cat("weight_hh_l", layer);
    auto ih_mask = find_structured_sparsity(*lstm, ih);
    auto hh_mask = find_structured_sparsity(*lstm, hh);
    if ((ih_mask == nullptr) != (hh_mask == nullptr))
      refuse(match, pattern,
             str_cat(module_label(match, 0), " layer ", layer, " masks ", ih_mask ? ih : hh,
                     " but not ", ih_mask ? hh : ih,
                     "; both weights of a layer must be pruned together"));
    Indices& kept = kept_units[static_cast<size_t>(layer)];
    if (hh_mask == nullptr) {
      for (int64_t unit = 0; unit < hidden; ++unit) kept.push_back(unit);
      continue;
    }
    const Tensor mask = hh_mask->mask().contiguous();
    const bool* bits = mask.data_ptr<bool>();
    for (int64_t unit = 0; unit < hidden; ++unit)
      if (bits[3 * hidden + unit]) kept.push_back(unit);
  }
  for (int64_t layer = 0; layer < layers; ++layer) {
    const size_t count = kept_units[static_cast<size_t>(layer)].size();
    if (count == 0)
      refuse(match, pattern,
             str_cat(module_label(match, 0), " layer ", layer,
                     ": the output-gate mask of weight_hh prunes every hidden unit"));
    if (count != kept_units[0].size())
      refuse(match, pattern,
             str_cat(module_label(match, 0), ": layer 0 keeps ", kept_units[0].size(),
                     " hidden units but layer ", layer, " keeps ", count,
                     "; an LSTM has one hidden_size, so every layer must keep the same number "
                     "(mask whole units alike in every layer's output gate)"));
  }

  for (int64_t layer = 0; layer < layers; ++layer) {
    const Indices& kept = kept_units[static_cast<size_t>(layer)];
    Indices rows;  // the kept units' rows in every gate block (i, f, g, o)
    for (int64_t gate = 0; gate < 4; ++gate)
      for (int64_t unit : kept) rows.push_back(gate * hidden + unit);
    const std::string suffix = str_cat("_l", layer);
    for (const std::string kind : {"ih", "hh"}) {
      const std::string name = "weight_" + kind + suffix;
      // The masked weight: rows of pruned gates inside kept units stay zero, as in the masked
      // model, so every gate of a kept unit computes exactly what it did before.
      Tensor weight = take(lstm->get_parameter(name), 0, rows);
      const bool requires_grad = stored_weight(*lstm, name).requires_grad();
      if (nn::is_parametrized(*lstm, name))
        nn::remove_parametrizations(lstm, name, /*leave_parametrized=*/false);
      if (kind == "hh") weight = take(weight, 1, kept);
      if (kind == "ih" && layer > 0)
        weight = take(weight, 1, kept_units[static_cast<size_t>(layer - 1)]);
      lstm->register_parameter(name, weight, requires_grad);
      const std::string bias = "bias_" + kind + suffix;
      if (has_defined_parameter(*lstm, bias))
        lstm->register_parameter(bias, take(lstm->get_parameter(bias), 0, rows),
                                 lstm->get_parameter(bias).requires_grad());
    }
  }
  const Indices& last_kept = kept_units.back();
  const int64_t kept_count = static_cast<int64_t>(last_kept.size());
  lstm->options().hidden_size(kept_count);
  if (layer_norm != nullptr) {
    if (layer_norm->options().normalized_shape() != Shape{hidden})
      refuse(match, pattern,
             str_cat(module_label(match, 2), " normalizes shape ",
                     layer_norm->options().normalized_shape(), ", not the LSTM's ", hidden,
                     " hidden units"));
    for (const std::string name : {"weight", "bias"})
      if (has_defined_parameter(*layer_norm, name))
        layer_norm->register_parameter(name, take(layer_norm->get_parameter(name), 0, last_kept),
                                       layer_norm->get_parameter(name).requires_grad());
    layer_norm->options().normalized_shape({kept_count});
  }
  keep_inputs(linear, last_kept);
}

namespace {

// Stands for the output node as the tail of expect_chain.
constexpr std::optional<nn::ModuleKind> kOutput = std::nullopt;

// Checks that a match has the shape a named prune function expects (a user may call one from
// their own pattern): `length` nodes, the head a `head` layer, and the tail a `tail` layer (or the
// output node when tail is kOutput).
void expect_chain(const PatternMatch& match, const std::string& name, size_t length,
                  nn::ModuleKind head, std::optional<nn::ModuleKind> tail) {
  const bool length_ok = match.nodes.size() == length;
  const bool head_ok = length_ok && match.nodes[0]->op() == ir::OpKind::call_module &&
                       match.module(0)->kind() == head;
  const ir::Node& tail_node = *match.nodes.back();
  const bool tail_ok = !tail ? tail_node.op() == ir::OpKind::output
                             : tail_node.op() == ir::OpKind::call_module &&
                                   match.module(length - 1)->kind() == *tail;
  if (!(length_ok && head_ok && tail_ok))
    throw Error(str_cat("prune: ", name, " expects ", length, " nodes from a ", head, " to ",
                        tail ? str_cat("a ", *tail) : std::string("the output"), ", got ",
                        match.describe()));
}

}  // namespace

void prune_linear(PatternMatch& match) {
  expect_chain(match, "prune_linear", 2, nn::ModuleKind::linear, kOutput);
  prune_producer_chain(match);
}
void prune_linear_linear(PatternMatch& match) {
  expect_chain(match, "prune_linear_linear", 2, nn::ModuleKind::linear, nn::ModuleKind::linear);
  prune_producer_chain(match);
}
void prune_linear_activation_linear(PatternMatch& match) {
  expect_chain(match, "prune_linear_activation_linear", 3, nn::ModuleKind::linear,
               nn::ModuleKind::linear);
  prune_producer_chain(match);
}
void prune_conv2d(PatternMatch& match) {
  expect_chain(match, "prune_conv2d", 2, nn::ModuleKind::conv2d, kOutput);
  prune_producer_chain(match);
}
void prune_conv2d_conv2d(PatternMatch& match) {
  expect_chain(match, "prune_conv2d_conv2d", 2, nn::ModuleKind::conv2d, nn::ModuleKind::conv2d);
  prune_producer_chain(match);
}
void prune_conv2d_activation_conv2d(PatternMatch& match) {
  expect_chain(match, "prune_conv2d_activation_conv2d", 3, nn::ModuleKind::conv2d,
               nn::ModuleKind::conv2d);
  prune_producer_chain(match);
}
void prune_conv2d_activation_pool_conv2d(PatternMatch& match) {
  expect_chain(match, "prune_conv2d_activation_pool_conv2d", 4, nn::ModuleKind::conv2d,
               nn::ModuleKind::conv2d);
  prune_producer_chain(match);
}
void prune_conv2d_pool_activation_conv2d(PatternMatch& match) {
  expect_chain(match, "prune_conv2d_pool_activation_conv2d", 4, nn::ModuleKind::conv2d,
               nn::ModuleKind::conv2d);
  prune_producer_chain(match);
}
void prune_conv2d_pool_flatten_linear(PatternMatch& match) {
  expect_chain(match, "prune_conv2d_pool_flatten_linear", 4, nn::ModuleKind::conv2d,
               nn::ModuleKind::linear);
  prune_producer_chain(match);
}
void prune_lstm_output_linear(PatternMatch& match) {
  expect_chain(match, "prune_lstm_output_linear", 3, nn::ModuleKind::lstm, nn::ModuleKind::linear);
  prune_lstm_chain(match);
}
void prune_lstm_output_layernorm_linear(PatternMatch& match) {
  expect_chain(match, "prune_lstm_output_layernorm_linear", 4, nn::ModuleKind::lstm,
               nn::ModuleKind::linear);
  prune_lstm_chain(match);
}
void prune_linear_activation(PatternMatch& match) {
  expect_chain(match, "prune_linear_activation", 3, nn::ModuleKind::linear, kOutput);
  prune_producer_chain(match);
}
void prune_conv2d_activation(PatternMatch& match) {
  expect_chain(match, "prune_conv2d_activation", 3, nn::ModuleKind::conv2d, kOutput);
  prune_producer_chain(match);
}
void prune_conv2d_activation_pool_flatten_linear(PatternMatch& match) {
  expect_chain(match, "prune_conv2d_activation_pool_flatten_linear", 5, nn::ModuleKind::conv2d,
               nn::ModuleKind::linear);
  prune_producer_chain(match);
}

}  // namespace pare::pruning

// Lowers an LSTM module (any layers, batch-first or time-major, with or without an initial
// state) to oneDNN's RNN primitive with the weights packed once; its value is the tuple
// (output, (h_n, c_n)) of three arena slots, which getitem then reads for free.
#include "lowerings.h"
#include "pare/kernels/prepared_lstm.h"
#include "pare/nn/lstm.h"

namespace pare::inference::detail {

bool lower_lstm(CompilerState& state, const ir::Node& node) {
  auto lstm = state.layer_of<nn::LSTMImpl>(node);
  if (!lstm || !state.options.rnn_primitive || lstm->has_hooks()) return false;
  const ir::Node* input = state.first_input(node);
  if (input == nullptr || !state.is_float_tensor(input)) return false;
  const Shape& in = state.symbol(input).meta.shape;
  if (in.size() != 3) return false;
  const auto& o = lstm->options();
  int h0 = kNone, c0 = kNone;
  if (node.args().size() == 2) {
    const ir::Argument& initial = node.args()[1];
    if (!initial.is_list() || initial.to_list().size() != 2) return false;
    for (const ir::Argument& item : initial.to_list()) {
      if (!item.is_node() || !state.is_float_tensor(item.to_node())) return false;
      if (!state.tree(item.to_node()).is_slot()) return false;
    }
    h0 = state.plain(state.tree(initial.to_list()[0].to_node()).slot);
    c0 = state.plain(state.tree(initial.to_list()[1].to_node()).slot);
  } else if (node.args().size() != 1) {
    return false;
  }
  std::vector<std::string> names;
  for (const auto& [name, tensor] : lstm->named_parameters(false)) {
    if (lstm->parametrization(name) != nullptr) return false;
    names.push_back(name);
  }
  std::vector<Tensor> weights;
  for (const Tensor& weight : lstm->flat_weights()) weights.push_back(float_contiguous(weight));
  for (const std::string& name : names) state.watch(lstm, name);
  kernels::LstmLayerParams p;
  p.seq_len = o.batch_first() ? in[1] : in[0];
  p.batch = o.batch_first() ? in[0] : in[1];
  p.input_size = in[2];
  p.hidden_size = o.hidden_size();
  p.has_bias = o.bias();
  auto primitive = std::make_shared<Rebuildable<kernels::cpu::PreparedLstm>>(
      [p, layers = o.num_layers(), batch_first = o.batch_first(), weights] {
        std::vector<const float*> pointers;
        for (const Tensor& weight : weights) pointers.push_back(weight.data_ptr<float>());
        return std::make_unique<kernels::cpu::PreparedLstm>(p, layers, batch_first, pointers);
      });
  const int x = state.plain(state.tree(input).slot);
  const Shape state_shape{o.num_layers(), p.batch, p.hidden_size};
  const Shape out_shape = o.batch_first() ? Shape{p.batch, p.seq_len, p.hidden_size}
                                          : Shape{p.seq_len, p.batch, p.hidden_size};
  const int y = state.arena_slot(out_shape);
  const int h_n = state.arena_slot(state_shape);
  const int c_n = state.arena_slot(state_shape);
  std::vector<int> reads{x};
  if (h0 != kNone) reads.insert(reads.end(), {h0, c0});
  state.add_step(str_cat("lstm ", node.name()), reads, [&state, primitive, x, h0, c0, y, h_n, c_n] {
    (*primitive)
        ->run(state.floats(x), h0 == kNone ? nullptr : state.floats(h0),
              c0 == kNone ? nullptr : state.floats(c0), state.floats(y), state.floats(h_n),
              state.floats(c_n));
  });
  state.steps.back().primitive = primitive;
  ++state.stats.prepared_lstms;
  state.tree(&node) = {kNone, {{y, {}}, {kNone, {{h_n, {}}, {c_n, {}}}}}};
  return true;
}

}  // namespace pare::inference::detail

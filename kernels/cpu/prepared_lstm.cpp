#include "pare/kernels/prepared_lstm.h"

#include <optional>
#include <unordered_map>

#include "dnnl_context.h"

namespace pare::kernels::cpu {

using dnnl::memory;
using Tag = memory::format_tag;

namespace {

struct Layer {
  dnnl::lstm_forward primitive;
  std::unordered_map<int, memory> args;
  std::vector<float> bias;
};

}  // namespace

struct PreparedLstm::State {
  LstmLayerParams first;
  std::vector<Layer> layers;
  std::vector<float> zero_state;  // [N, H]
  std::vector<float> between[2];  // outputs of the layers below the last, ping-pong
};

PreparedLstm::PreparedLstm(const LstmLayerParams& layer, int64_t num_layers, bool batch_first,
                           const std::vector<const float*>& weights)
    : state_(std::make_unique<State>()) {
  layer.validate();
  const size_t per_layer = layer.has_bias ? 4 : 2;
  PARE_CHECK(num_layers >= 1 && weights.size() == per_layer * static_cast<size_t>(num_layers),
             "PreparedLstm: expected ", per_layer * num_layers, " weight tensors for ", num_layers,
             " layer(s), got ", weights.size());
  for (const float* weight : weights) PARE_CHECK(weight != nullptr, "PreparedLstm: null weight");
  state_->first = layer;
  const int64_t steps = layer.seq_len, batch = layer.batch, hidden = layer.hidden_size;
  state_->zero_state.assign(batch * hidden, 0.0f);
  if (num_layers > 1) {
    for (std::vector<float>& buffer : state_->between) buffer.resize(steps * batch * hidden);
  }
  const auto f32 = memory::data_type::f32;
  const Tag sequence_tag = batch_first ? Tag::ntc : Tag::tnc;
  with_dnnl_errors("PreparedLstm", [&] {
    for (int64_t l = 0; l < num_layers; ++l) {
      const int64_t inputs = l == 0 ? layer.input_size : hidden;
      const memory::desc src_layer({steps, batch, inputs}, f32, sequence_tag);
      const memory::desc dst_layer({steps, batch, hidden}, f32, sequence_tag);
      const memory::desc state({1, 1, batch, hidden}, f32, Tag::ldnc);
      const memory::desc user_weights_layer({1, 1, inputs, 4, hidden}, f32, Tag::ldgoi);
      const memory::desc user_weights_iter({1, 1, hidden, 4, hidden}, f32, Tag::ldgoi);
      const memory::desc bias({1, 1, 4, hidden}, f32, Tag::ldgo);
      dnnl::lstm_forward::desc desc(
          dnnl::prop_kind::forward_inference, dnnl::rnn_direction::unidirectional_left2right,
          src_layer, state, state, memory::desc({1, 1, inputs, 4, hidden}, f32, Tag::any),
          memory::desc({1, 1, hidden, 4, hidden}, f32, Tag::any), bias, dst_layer, state, state);
      dnnl::primitive_attr attr;
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      const dnnl::lstm_forward::primitive_desc pd(desc, attr, cpu_engine());
      Layer prepared;
      prepared.primitive = dnnl::lstm_forward(pd);
      auto reordered = [&](const memory::desc& user, const float* data,
                           const memory::desc& wanted) {
        memory owned(wanted, cpu_engine());
        memory source = wrap(user, data);
        dnnl::reorder(source, owned).execute(cpu_stream(), source, owned);
        return owned;
      };
      const float* const* w = weights.data() + l * per_layer;
      prepared.bias.assign(4 * hidden, 0.0f);
      if (layer.has_bias) {
        for (int64_t r = 0; r < 4 * hidden; ++r) prepared.bias[r] = w[2][r] + w[3][r];
      }
      prepared.args = {
          {DNNL_ARG_SRC_LAYER, memory(src_layer, cpu_engine(), DNNL_MEMORY_NONE)},
          {DNNL_ARG_SRC_ITER, memory(state, cpu_engine(), DNNL_MEMORY_NONE)},
          {DNNL_ARG_SRC_ITER_C, memory(state, cpu_engine(), DNNL_MEMORY_NONE)},
          {DNNL_ARG_WEIGHTS_LAYER, reordered(user_weights_layer, w[0], pd.weights_layer_desc())},
          {DNNL_ARG_WEIGHTS_ITER, reordered(user_weights_iter, w[1], pd.weights_iter_desc())},
          {DNNL_ARG_BIAS, memory(bias, cpu_engine(), prepared.bias.data())},
          {DNNL_ARG_DST_LAYER, memory(dst_layer, cpu_engine(), DNNL_MEMORY_NONE)},
          {DNNL_ARG_DST_ITER, memory(state, cpu_engine(), DNNL_MEMORY_NONE)},
          {DNNL_ARG_DST_ITER_C, memory(state, cpu_engine(), DNNL_MEMORY_NONE)},
          {DNNL_ARG_SCRATCHPAD, memory(pd.scratchpad_desc(), cpu_engine())},
      };
      cpu_stream().wait();
      state_->layers.push_back(std::move(prepared));
    }
  });
}

PreparedLstm::~PreparedLstm() = default;
PreparedLstm::PreparedLstm(PreparedLstm&&) noexcept = default;
PreparedLstm& PreparedLstm::operator=(PreparedLstm&&) noexcept = default;

void PreparedLstm::run(const float* x, const float* h0, const float* c0, float* y, float* h_n,
                       float* c_n) {
  const int64_t state_size = state_->first.batch * state_->first.hidden_size;
  const size_t count = state_->layers.size();
  with_dnnl_errors("PreparedLstm::run", [&] {
    dnnl::stream& stream = cpu_stream();
    const float* input = x;
    for (size_t l = 0; l < count; ++l) {
      Layer& layer = state_->layers[l];
      float* output = l + 1 == count ? y : state_->between[l % 2].data();
      auto bind = [&](int arg, const float* data) {
        layer.args.at(arg).set_data_handle(const_cast<float*>(data));
      };
      bind(DNNL_ARG_SRC_LAYER, input);
      bind(DNNL_ARG_SRC_ITER, h0 ? h0 + l * state_size : state_->zero_state.data());
      bind(DNNL_ARG_SRC_ITER_C, c0 ? c0 + l * state_size : state_->zero_state.data());
      bind(DNNL_ARG_DST_LAYER, output);
      bind(DNNL_ARG_DST_ITER, h_n + l * state_size);
      bind(DNNL_ARG_DST_ITER_C, c_n + l * state_size);
      layer.primitive.execute(stream, layer.args);
      input = output;
    }
    stream.wait();
  });
}

}  // namespace pare::kernels::cpu

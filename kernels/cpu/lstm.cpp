// LSTM layer on oneDNN 2.6's lstm_forward / lstm_backward primitives.
//
// Layout mapping: PyTorch's weight [4H, I] is gate-major rows of [H, I], which is oneDNN's ldgoi
// tag for logical dims (l=1, d=1, i=I, g=4, o=H), so the user buffers are described as ldgoi and
// reordered into whatever layout the primitive picked (format_tag::any). The gate order i, f, g, o
// is oneDNN's i, f, c~, o. oneDNN takes one bias per gate row, hence b_ih + b_hh, and reports one
// diff bias, which both PyTorch biases receive.
//
// Each shape gets one cache entry holding the primitives, the weight reorders and every scratch
// buffer, so a repeated call allocates nothing large. The forward entries also hold their
// argument memory objects, re-pointed at the caller's buffers on each call: creating them per call
// (and building the cache key with a string stream) cost about 5% at batch 1
// (bench/bench_kernels, lstm/*/N1_*). A per-entry mutex serialises calls that share all of this.
#include "pare/kernels/lstm.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dnnl_context.h"
#include "pare/error.h"

namespace pare::kernels::cpu {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using DataType = memory::data_type;

struct LstmDescs {
  memory::desc sequence_input;      // x, diff_x: [T, N, I] tnc
  memory::desc sequence_output;     // y, diff_y: [T, N, H] tnc
  memory::desc state;               // h0, c0, h_n, c_n and their diffs: [1, 1, N, H] ldnc
  memory::desc user_weights_layer;  // w_ih [4H, I] as ldgoi
  memory::desc user_weights_iter;   // w_hh [4H, H] as ldgoi
  memory::desc any_weights_layer;
  memory::desc any_weights_iter;
  memory::desc bias;  // [1, 1, 4, H] ldgo, the same memory order as PyTorch's [4H]
};

LstmDescs make_descs(const LstmLayerParams& params) {
  const memory::dim steps = params.seq_len, batch = params.batch, inputs = params.input_size,
                    hidden = params.hidden_size;
  return {
      memory::desc({steps, batch, inputs}, DataType::f32, Tag::tnc),
      memory::desc({steps, batch, hidden}, DataType::f32, Tag::tnc),
      memory::desc({1, 1, batch, hidden}, DataType::f32, Tag::ldnc),
      memory::desc({1, 1, inputs, 4, hidden}, DataType::f32, Tag::ldgoi),
      memory::desc({1, 1, hidden, 4, hidden}, DataType::f32, Tag::ldgoi),
      memory::desc({1, 1, inputs, 4, hidden}, DataType::f32, Tag::any),
      memory::desc({1, 1, hidden, 4, hidden}, DataType::f32, Tag::any),
      memory::desc({1, 1, 4, hidden}, DataType::f32, Tag::ldgo),
  };
}

std::string shape_key(const char* op, const LstmLayerParams& params) {
  std::string key(op);
  for (int64_t size : {params.seq_len, params.batch, params.input_size, params.hidden_size}) {
    key += '/';
    key += std::to_string(size);
  }
  return key;
}

memory unbound(const memory::desc& desc) { return memory(desc, cpu_engine(), DNNL_MEMORY_NONE); }

void bind_buffer(std::unordered_map<int, memory>& args, int id, const void* data) {
  args.at(id).set_data_handle(const_cast<void*>(data));
}

dnnl::primitive_attr user_scratchpad_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// A read-only user buffer in plain layout that the primitive may want in another layout.
class ConvertedInput {
 public:
  ConvertedInput() = default;
  ConvertedInput(const memory::desc& user, const memory::desc& wanted)
      : user_memory_(unbound(user)) {
    if (user == wanted) return;
    converted_ = memory(wanted, cpu_engine());
    to_wanted_ =
        dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), user, cpu_engine(), wanted));
  }

  // The memory the primitive reads: the user buffer itself, or its converted copy.
  memory primitive_memory() const { return to_wanted_ ? converted_ : user_memory_; }

  // Points primitive_memory() at `data`, converting it when needed.
  memory prepare(const float* data, dnnl::stream& stream) {
    user_memory_.set_data_handle(const_cast<float*>(data));
    if (to_wanted_) to_wanted_->execute(stream, user_memory_, converted_);
    return primitive_memory();
  }

 private:
  memory user_memory_;
  memory converted_;
  std::optional<dnnl::reorder> to_wanted_;
};

// A plain-layout user output that the primitive may produce in another layout. It is zeroed before
// each run because oneDNN's RNN backward adds into its weight gradients.
class ConvertedOutput {
 public:
  ConvertedOutput() = default;
  ConvertedOutput(const memory::desc& user, const memory::desc& produced) : user_(user) {
    if (user == produced) return;
    produced_ = memory(produced, cpu_engine());
    to_user_ =
        dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), produced, cpu_engine(), user));
  }

  // The zeroed memory the primitive writes into.
  memory prepare(float* data) {
    if (!to_user_) {
      std::memset(data, 0, user_.get_size());
      return wrap(user_, data);
    }
    std::memset(produced_.get_data_handle(), 0, produced_.get_desc().get_size());
    return produced_;
  }

  void finish(float* data, dnnl::stream& stream) {
    if (!to_user_) return;
    memory user_memory = wrap(user_, data);
    to_user_->execute(stream, produced_, user_memory);
  }

 private:
  memory::desc user_;
  memory produced_;
  std::optional<dnnl::reorder> to_user_;
};

void fill_bias(const LstmLayerParams& params, const float* b_ih, const float* b_hh,
               std::vector<float>& bias) {
  if (!params.has_bias) {
    std::fill(bias.begin(), bias.end(), 0.0f);
    return;
  }
  for (size_t r = 0; r < bias.size(); ++r) bias[r] = b_ih[r] + b_hh[r];
}

void check_inputs(const LstmLayerParams& params, const float* x, const float* w_ih,
                  const float* w_hh, const float* b_ih, const float* b_hh) {
  params.validate();
  PARE_CHECK(x != nullptr && w_ih != nullptr && w_hh != nullptr,
             "lstm: x, w_ih and w_hh must not be null");
  PARE_CHECK(!params.has_bias || (b_ih != nullptr && b_hh != nullptr),
             "lstm: has_bias is set but b_ih or b_hh is null, hidden_size ", params.hidden_size);
}

struct LstmForwardEntry {
  std::mutex mutex;
  LstmDescs descs;
  dnnl::lstm_forward::primitive_desc pd;
  dnnl::lstm_forward primitive;
  ConvertedInput weights_layer;
  ConvertedInput weights_iter;
  std::vector<float> bias;
  std::vector<float> zero_state;
  memory scratchpad;
  std::unordered_map<int, memory> args;
};

LstmForwardEntry& forward_entry(const LstmLayerParams& params, dnnl::prop_kind prop_kind) {
  const bool training = prop_kind == dnnl::prop_kind::forward_training;
  return primitive_cache().get_or_create<LstmForwardEntry>(
      shape_key(training ? "lstm_forward_training" : "lstm_forward_inference", params), [&] {
        auto entry = std::make_shared<LstmForwardEntry>();
        entry->descs = make_descs(params);
        const LstmDescs& d = entry->descs;
        dnnl::lstm_forward::desc desc(prop_kind, dnnl::rnn_direction::unidirectional_left2right,
                                      d.sequence_input, d.state, d.state, d.any_weights_layer,
                                      d.any_weights_iter, d.bias, d.sequence_output, d.state,
                                      d.state);
        entry->pd = dnnl::lstm_forward::primitive_desc(desc, user_scratchpad_attr(), cpu_engine());
        entry->primitive = dnnl::lstm_forward(entry->pd);
        entry->weights_layer = ConvertedInput(d.user_weights_layer, entry->pd.weights_layer_desc());
        entry->weights_iter = ConvertedInput(d.user_weights_iter, entry->pd.weights_iter_desc());
        entry->bias.resize(4 * params.hidden_size);
        entry->zero_state.assign(params.batch * params.hidden_size, 0.0f);
        entry->scratchpad = memory(entry->pd.scratchpad_desc(), cpu_engine());
        entry->args = {
            {DNNL_ARG_SRC_LAYER, unbound(d.sequence_input)},
            {DNNL_ARG_SRC_ITER, unbound(d.state)},
            {DNNL_ARG_SRC_ITER_C, unbound(d.state)},
            {DNNL_ARG_WEIGHTS_LAYER, entry->weights_layer.primitive_memory()},
            {DNNL_ARG_WEIGHTS_ITER, entry->weights_iter.primitive_memory()},
            {DNNL_ARG_BIAS, wrap(d.bias, entry->bias.data())},
            {DNNL_ARG_DST_LAYER, unbound(d.sequence_output)},
            {DNNL_ARG_DST_ITER, unbound(d.state)},
            {DNNL_ARG_DST_ITER_C, unbound(d.state)},
            {DNNL_ARG_SCRATCHPAD, entry->scratchpad},
        };
        if (training) entry->args.emplace(DNNL_ARG_WORKSPACE, unbound(entry->pd.workspace_desc()));
        return entry;
      });
}

void run_forward(const char* op, dnnl::prop_kind prop_kind, const LstmLayerParams& params,
                 const float* x, const float* h0, const float* c0, const float* w_ih,
                 const float* w_hh, const float* b_ih, const float* b_hh, float* y, float* h_n,
                 float* c_n, void* workspace) {
  check_inputs(params, x, w_ih, w_hh, b_ih, b_hh);
  PARE_CHECK(y != nullptr && h_n != nullptr && c_n != nullptr, op,
             ": y, h_n and c_n must not be null");
  with_dnnl_errors(op, [&] {
    LstmForwardEntry& entry = forward_entry(params, prop_kind);
    std::lock_guard<std::mutex> lock(entry.mutex);
    dnnl::stream& stream = cpu_stream();
    std::unordered_map<int, memory>& args = entry.args;
    fill_bias(params, b_ih, b_hh, entry.bias);
    bind_buffer(args, DNNL_ARG_SRC_LAYER, x);
    bind_buffer(args, DNNL_ARG_SRC_ITER, h0 ? h0 : entry.zero_state.data());
    bind_buffer(args, DNNL_ARG_SRC_ITER_C, c0 ? c0 : entry.zero_state.data());
    entry.weights_layer.prepare(w_ih, stream);
    entry.weights_iter.prepare(w_hh, stream);
    bind_buffer(args, DNNL_ARG_DST_LAYER, y);
    bind_buffer(args, DNNL_ARG_DST_ITER, h_n);
    bind_buffer(args, DNNL_ARG_DST_ITER_C, c_n);
    if (workspace != nullptr) bind_buffer(args, DNNL_ARG_WORKSPACE, workspace);
    entry.primitive.execute(stream, args);
    stream.wait();
  });
}

struct LstmBackwardEntry {
  std::mutex mutex;
  LstmDescs descs;
  dnnl::lstm_backward::primitive_desc pd;
  dnnl::lstm_backward primitive;
  ConvertedInput weights_layer;
  ConvertedInput weights_iter;
  ConvertedOutput diff_weights_layer;
  ConvertedOutput diff_weights_iter;
  std::vector<float> bias;
  std::vector<float> diff_bias;
  std::vector<float> zero_state;
  std::vector<float> zero_sequence;
  std::vector<float> discarded_diff_h0;
  std::vector<float> discarded_diff_c0;
  memory scratchpad;
};

LstmBackwardEntry& backward_entry(const LstmLayerParams& params) {
  // The training forward's primitive descriptor is the hint, so the workspace it wrote matches.
  const dnnl::lstm_forward::primitive_desc& forward_pd =
      forward_entry(params, dnnl::prop_kind::forward_training).pd;
  return primitive_cache().get_or_create<LstmBackwardEntry>(
      shape_key("lstm_backward", params), [&] {
        auto entry = std::make_shared<LstmBackwardEntry>();
        entry->descs = make_descs(params);
        const LstmDescs& d = entry->descs;
        dnnl::lstm_backward::desc desc(
            dnnl::prop_kind::backward, dnnl::rnn_direction::unidirectional_left2right,
            d.sequence_input, d.state, d.state, d.any_weights_layer, d.any_weights_iter, d.bias,
            d.sequence_output, d.state, d.state, d.sequence_input, d.state, d.state,
            d.any_weights_layer, d.any_weights_iter, d.bias, d.sequence_output, d.state, d.state);
        entry->pd = dnnl::lstm_backward::primitive_desc(desc, user_scratchpad_attr(), cpu_engine(),
                                                        forward_pd);
        entry->primitive = dnnl::lstm_backward(entry->pd);
        entry->weights_layer = ConvertedInput(d.user_weights_layer, entry->pd.weights_layer_desc());
        entry->weights_iter = ConvertedInput(d.user_weights_iter, entry->pd.weights_iter_desc());
        entry->diff_weights_layer =
            ConvertedOutput(d.user_weights_layer, entry->pd.diff_weights_layer_desc());
        entry->diff_weights_iter =
            ConvertedOutput(d.user_weights_iter, entry->pd.diff_weights_iter_desc());
        const size_t state_size = params.batch * params.hidden_size;
        entry->bias.resize(4 * params.hidden_size);
        entry->diff_bias.resize(4 * params.hidden_size);
        entry->zero_state.assign(state_size, 0.0f);
        entry->zero_sequence.assign(params.seq_len * state_size, 0.0f);
        entry->discarded_diff_h0.resize(state_size);
        entry->discarded_diff_c0.resize(state_size);
        entry->scratchpad = memory(entry->pd.scratchpad_desc(), cpu_engine());
        return entry;
      });
}

}  // namespace

void lstm_forward_inference(const LstmLayerParams& params, const float* x, const float* h0,
                            const float* c0, const float* w_ih, const float* w_hh,
                            const float* b_ih, const float* b_hh, float* y, float* h_n,
                            float* c_n) {
  run_forward("lstm_forward_inference", dnnl::prop_kind::forward_inference, params, x, h0, c0, w_ih,
              w_hh, b_ih, b_hh, y, h_n, c_n, nullptr);
}

size_t lstm_workspace_bytes(const LstmLayerParams& params) {
  params.validate();
  return with_dnnl_errors("lstm_workspace_bytes", [&] {
    return forward_entry(params, dnnl::prop_kind::forward_training).pd.workspace_desc().get_size();
  });
}

void lstm_forward_training(const LstmLayerParams& params, const float* x, const float* h0,
                           const float* c0, const float* w_ih, const float* w_hh, const float* b_ih,
                           const float* b_hh, float* y, float* h_n, float* c_n, void* workspace) {
  PARE_CHECK(workspace != nullptr, "lstm_forward_training: workspace must not be null");
  run_forward("lstm_forward_training", dnnl::prop_kind::forward_training, params, x, h0, c0, w_ih,
              w_hh, b_ih, b_hh, y, h_n, c_n, workspace);
}

void lstm_backward(const LstmLayerParams& params, const float* x, const float* h0, const float* c0,
                   const float* w_ih, const float* w_hh, const float* b_ih, const float* b_hh,
                   const float* y, const float* h_n, const float* c_n, const void* workspace,
                   const float* diff_y, const float* diff_h_n, const float* diff_c_n, float* diff_x,
                   float* diff_h0, float* diff_c0, float* diff_w_ih, float* diff_w_hh,
                   float* diff_b_ih, float* diff_b_hh) {
  check_inputs(params, x, w_ih, w_hh, b_ih, b_hh);
  PARE_CHECK(workspace != nullptr && y != nullptr && h_n != nullptr && c_n != nullptr,
             "lstm_backward: workspace, y, h_n and c_n must not be null");
  PARE_CHECK(diff_x != nullptr && diff_w_ih != nullptr && diff_w_hh != nullptr,
             "lstm_backward: diff_x, diff_w_ih and diff_w_hh must not be null");
  with_dnnl_errors("lstm_backward", [&] {
    LstmBackwardEntry& entry = backward_entry(params);
    std::lock_guard<std::mutex> lock(entry.mutex);
    dnnl::stream& stream = cpu_stream();
    const LstmDescs& d = entry.descs;
    const float* zero_state = entry.zero_state.data();
    fill_bias(params, b_ih, b_hh, entry.bias);
    std::fill(entry.diff_bias.begin(), entry.diff_bias.end(), 0.0f);
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC_LAYER, wrap(d.sequence_input, x)},
        {DNNL_ARG_SRC_ITER, wrap(d.state, h0 ? h0 : zero_state)},
        {DNNL_ARG_SRC_ITER_C, wrap(d.state, c0 ? c0 : zero_state)},
        {DNNL_ARG_WEIGHTS_LAYER, entry.weights_layer.prepare(w_ih, stream)},
        {DNNL_ARG_WEIGHTS_ITER, entry.weights_iter.prepare(w_hh, stream)},
        {DNNL_ARG_BIAS, wrap(d.bias, entry.bias.data())},
        {DNNL_ARG_DST_LAYER, wrap(d.sequence_output, y)},
        {DNNL_ARG_DST_ITER, wrap(d.state, h_n)},
        {DNNL_ARG_DST_ITER_C, wrap(d.state, c_n)},
        {DNNL_ARG_WORKSPACE, wrap(entry.pd.workspace_desc(), workspace)},
        {DNNL_ARG_DIFF_DST_LAYER,
         wrap(d.sequence_output, diff_y ? diff_y : entry.zero_sequence.data())},
        {DNNL_ARG_DIFF_DST_ITER, wrap(d.state, diff_h_n ? diff_h_n : zero_state)},
        {DNNL_ARG_DIFF_DST_ITER_C, wrap(d.state, diff_c_n ? diff_c_n : zero_state)},
        {DNNL_ARG_DIFF_SRC_LAYER, wrap(d.sequence_input, diff_x)},
        {DNNL_ARG_DIFF_SRC_ITER, wrap(d.state, diff_h0 ? diff_h0 : entry.discarded_diff_h0.data())},
        {DNNL_ARG_DIFF_SRC_ITER_C,
         wrap(d.state, diff_c0 ? diff_c0 : entry.discarded_diff_c0.data())},
        {DNNL_ARG_DIFF_WEIGHTS_LAYER, entry.diff_weights_layer.prepare(diff_w_ih)},
        {DNNL_ARG_DIFF_WEIGHTS_ITER, entry.diff_weights_iter.prepare(diff_w_hh)},
        {DNNL_ARG_DIFF_BIAS, wrap(d.bias, entry.diff_bias.data())},
        {DNNL_ARG_SCRATCHPAD, entry.scratchpad},
    };
    entry.primitive.execute(stream, args);
    entry.diff_weights_layer.finish(diff_w_ih, stream);
    entry.diff_weights_iter.finish(diff_w_hh, stream);
    stream.wait();
    for (float* diff_bias : {diff_b_ih, diff_b_hh}) {
      if (diff_bias != nullptr)
        std::copy(entry.diff_bias.begin(), entry.diff_bias.end(), diff_bias);
    }
  });
}

}  // namespace pare::kernels::cpu

// pare::lstm: stacks single-layer LSTM kernels (time-major) into at::lstm's multi-layer contract.
// Each layer is one autograd node whose backward runs the kernel's lstm_backward on the workspace
// that the same backend's forward filled; the per-layer final states are gathered into the
// [L, N, H] h_n / c_n by two small nodes that only slice the gradients back apart.
#include "pare/kernels/lstm.h"

#include <memory>

#include "../kernel_dispatch.h"
#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/functional.h"
#include "pare/observer.h"

namespace pare {

namespace {

struct LstmLayerWeights {
  Tensor w_ih, w_hh, b_ih, b_hh;  // biases undefined without has_biases
};

// Kernel entry points of one backend, chosen once per forward so that the backward reads the
// workspace with the code that wrote it.
struct LstmBackend {
  decltype(&kernels::cpu::lstm_forward_inference) forward_inference;
  decltype(&kernels::cpu::lstm_workspace_bytes) workspace_bytes;
  decltype(&kernels::cpu::lstm_forward_training) forward_training;
  decltype(&kernels::cpu::lstm_backward) backward;
};

LstmBackend current_lstm_backend() {
  if (reference_kernels_enabled()) {
    return {&kernels::ref::lstm_forward_inference, &kernels::ref::lstm_workspace_bytes,
            &kernels::ref::lstm_forward_training, &kernels::ref::lstm_backward};
  }
  return {&kernels::cpu::lstm_forward_inference, &kernels::cpu::lstm_workspace_bytes,
          &kernels::cpu::lstm_forward_training, &kernels::cpu::lstm_backward};
}

const float* data_or_null(const Tensor& tensor) {
  return tensor.defined() ? tensor.data_ptr<float>() : nullptr;
}

float* mutable_data_or_null(const Tensor& tensor) {
  return tensor.defined() ? tensor.data_ptr<float>() : nullptr;
}

void check_float(const Tensor& tensor, const char* what) {
  PARE_CHECK(!tensor.defined() || tensor.dtype() == kFloat32, "lstm: expected a float32 ", what,
             ", got ", dtype_name(tensor.dtype()));
}

// Validates the weights of every layer against the input size and returns them per layer.
std::vector<LstmLayerWeights> split_weights(const std::vector<Tensor>& weights, bool has_biases,
                                            int64_t num_layers, int64_t input_size) {
  const size_t per_layer = has_biases ? 4 : 2;
  PARE_CHECK(num_layers >= 1, "lstm: num_layers must be positive, got ", num_layers);
  PARE_CHECK(weights.size() == per_layer * static_cast<size_t>(num_layers), "lstm: expected ",
             per_layer * num_layers, " weight tensors for num_layers=", num_layers,
             " and has_biases=", has_biases, ", got ", weights.size());
  for (const Tensor& weight : weights) {
    PARE_CHECK(weight.defined(), "lstm: a weight tensor is undefined");
    check_float(weight, "weight");
  }
  PARE_CHECK(weights[1].dim() == 2, "lstm: expected a 2-d w_hh [4 * hidden_size, hidden_size] ",
             "in layer 0, got shape ", weights[1].sizes());
  const int64_t hidden = weights[1].size(1);
  const Shape gate_shape_hh{4 * hidden, hidden};
  std::vector<LstmLayerWeights> layers;
  for (int64_t l = 0; l < num_layers; ++l) {
    const Tensor* w = &weights[per_layer * l];
    LstmLayerWeights layer{w[0], w[1], has_biases ? w[2] : Tensor(), has_biases ? w[3] : Tensor()};
    const int64_t layer_input = l == 0 ? input_size : hidden;
    PARE_CHECK(layer.w_ih.sizes() == Shape({4 * hidden, layer_input}), "lstm: layer ", l,
               " expected w_ih of shape ", Shape{4 * hidden, layer_input}, " (hidden_size ", hidden,
               ", input size ", layer_input, "), got ", layer.w_ih.sizes());
    PARE_CHECK(layer.w_hh.sizes() == gate_shape_hh, "lstm: layer ", l, " expected w_hh of shape ",
               gate_shape_hh, ", got ", layer.w_hh.sizes());
    for (const Tensor& bias : {layer.b_ih, layer.b_hh}) {
      PARE_CHECK(!bias.defined() || bias.sizes() == Shape({4 * hidden}), "lstm: layer ", l,
                 " expected biases of shape ", Shape{4 * hidden}, ", got ", bias.sizes());
    }
    layers.push_back(layer);
  }
  return layers;
}

void check_state(const Tensor& state, const Shape& expected, const char* name) {
  if (!state.defined()) return;
  check_float(state, name);
  PARE_CHECK(state.sizes() == expected, "lstm: expected ", name, " of shape ", expected, ", got ",
             state.sizes());
}

// Gathers per-layer final states (views of `all`, each the output of its layer's node) into
// the [L, N, H] tensor `all`, so that its gradient splits back into the layers.
void record_state_gather(const char* name, const std::vector<Tensor>& layer_states,
                         const Tensor& all) {
  const size_t layers = layer_states.size();
  autograd::record(name, layer_states, {all}, [layers](const std::vector<Tensor>& grads) {
    std::vector<Tensor> result(layers);
    if (!grads[0].defined()) return result;
    for (size_t l = 0; l < layers; ++l) result[l] = grads[0].select(0, static_cast<int64_t>(l));
    return result;
  });
}

// Runs one layer over the time-major `input` [T, N, I] (records its node when training) and
// writes the final states into h_n / c_n (views of the stacked outputs). Returns y [T, N, H].
Tensor run_layer(const LstmBackend& backend, const kernels::LstmLayerParams& params,
                 const Tensor& input, const Tensor& h0, const Tensor& c0,
                 const LstmLayerWeights& weights, const Tensor& h_n, const Tensor& c_n,
                 bool training) {
  const Tensor x_data = input.detach().contiguous();
  const Tensor h0_data = h0.defined() ? h0.detach().contiguous() : Tensor();
  const Tensor c0_data = c0.defined() ? c0.detach().contiguous() : Tensor();
  const Tensor w_ih = weights.w_ih.detach().contiguous();
  const Tensor w_hh = weights.w_hh.detach().contiguous();
  const Tensor b_ih = weights.b_ih.defined() ? weights.b_ih.detach().contiguous() : Tensor();
  const Tensor b_hh = weights.b_hh.defined() ? weights.b_hh.detach().contiguous() : Tensor();
  Tensor y = empty({params.seq_len, params.batch, params.hidden_size});

  if (!training) {
    backend.forward_inference(params, x_data.data_ptr<float>(), data_or_null(h0_data),
                              data_or_null(c0_data), w_ih.data_ptr<float>(), w_hh.data_ptr<float>(),
                              data_or_null(b_ih), data_or_null(b_hh), y.data_ptr<float>(),
                              h_n.data_ptr<float>(), c_n.data_ptr<float>());
    return y;
  }

  const auto workspace_bytes = static_cast<int64_t>(backend.workspace_bytes(params));
  const Tensor workspace = empty({workspace_bytes}, kUInt8);
  backend.forward_training(params, x_data.data_ptr<float>(), data_or_null(h0_data),
                           data_or_null(c0_data), w_ih.data_ptr<float>(), w_hh.data_ptr<float>(),
                           data_or_null(b_ih), data_or_null(b_hh), y.data_ptr<float>(),
                           h_n.data_ptr<float>(), c_n.data_ptr<float>(), workspace.raw_data());

  const bool need_h0 = h0.defined() && h0.requires_grad();
  const bool need_c0 = c0.defined() && c0.requires_grad();
  const Tensor y_data = y.detach(), h_n_data = h_n.detach(), c_n_data = c_n.detach();
  autograd::record(
      "lstm_layer", {input, h0, c0, weights.w_ih, weights.w_hh, weights.b_ih, weights.b_hh},
      {y, h_n, c_n}, [=](const std::vector<Tensor>& grads) {
        std::vector<Tensor> result(7);
        if (!grads[0].defined() && !grads[1].defined() && !grads[2].defined()) return result;
        const Tensor grad_y = grads[0].defined() ? grads[0].contiguous() : Tensor();
        const Tensor grad_h_n = grads[1].defined() ? grads[1].contiguous() : Tensor();
        const Tensor grad_c_n = grads[2].defined() ? grads[2].contiguous() : Tensor();
        const Shape state_shape{params.batch, params.hidden_size};
        result[0] = empty(x_data.sizes());
        result[1] = need_h0 ? empty(state_shape) : Tensor();
        result[2] = need_c0 ? empty(state_shape) : Tensor();
        result[3] = empty(w_ih.sizes());
        result[4] = empty(w_hh.sizes());
        if (params.has_bias) {
          result[5] = empty(b_ih.sizes());
          result[6] = empty(b_hh.sizes());
        }
        backend.backward(params, x_data.data_ptr<float>(), data_or_null(h0_data),
                         data_or_null(c0_data), w_ih.data_ptr<float>(), w_hh.data_ptr<float>(),
                         data_or_null(b_ih), data_or_null(b_hh), y_data.data_ptr<float>(),
                         h_n_data.data_ptr<float>(), c_n_data.data_ptr<float>(),
                         workspace.raw_data(), data_or_null(grad_y), data_or_null(grad_h_n),
                         data_or_null(grad_c_n), result[0].data_ptr<float>(),
                         mutable_data_or_null(result[1]), mutable_data_or_null(result[2]),
                         result[3].data_ptr<float>(), result[4].data_ptr<float>(),
                         mutable_data_or_null(result[5]), mutable_data_or_null(result[6]));
        return result;
      });
  return y;
}

}  // namespace

std::tuple<Tensor, Tensor, Tensor> lstm(const Tensor& x, const Tensor& h0, const Tensor& c0,
                                        const std::vector<Tensor>& weights, bool has_biases,
                                        int64_t num_layers, bool batch_first) {
  OpScope scope;
  PARE_CHECK(x.defined(), "lstm: the input is undefined");
  check_float(x, "input");
  PARE_CHECK(x.dim() == 2 || x.dim() == 3,
             "lstm: expected a 2-d (unbatched) or 3-d (batched) input, got shape ", x.sizes());
  const bool batched = x.dim() == 3;
  const std::vector<LstmLayerWeights> layers =
      split_weights(weights, has_biases, num_layers, x.size(-1));
  const int64_t hidden = layers[0].w_hh.size(1);

  // Everything below works on time-major [T, N, I] input and [L, N, H] states.
  Tensor input = batched ? (batch_first ? x.transpose(0, 1).contiguous() : x) : x.unsqueeze(1);
  const Shape state_shape =
      batched ? Shape{num_layers, input.size(1), hidden} : Shape{num_layers, hidden};
  check_state(h0, state_shape, "h0");
  check_state(c0, state_shape, "c0");
  const Tensor h0_batched = !h0.defined() ? Tensor() : batched ? h0 : h0.unsqueeze(1);
  const Tensor c0_batched = !c0.defined() ? Tensor() : batched ? c0 : c0.unsqueeze(1);
  PARE_CHECK(input.size(0) > 0 && input.size(1) > 0 && input.size(2) > 0 && hidden > 0,
             "lstm: expected non-empty sizes, got input of shape ", x.sizes(), " and hidden size ",
             hidden);

  std::vector<Tensor> all_inputs{x, h0, c0};
  all_inputs.insert(all_inputs.end(), weights.begin(), weights.end());
  const bool training = autograd::needs_grad(all_inputs);
  const LstmBackend backend = current_lstm_backend();
  const int64_t batch = input.size(1);
  Tensor h_n = empty({num_layers, batch, hidden});
  Tensor c_n = empty({num_layers, batch, hidden});
  std::vector<Tensor> layer_h_n, layer_c_n;
  for (int64_t l = 0; l < num_layers; ++l) {
    kernels::LstmLayerParams params;
    params.seq_len = input.size(0);
    params.batch = batch;
    params.input_size = input.size(2);
    params.hidden_size = hidden;
    params.has_bias = has_biases;
    layer_h_n.push_back(h_n.select(0, l));
    layer_c_n.push_back(c_n.select(0, l));
    input =
        run_layer(backend, params, input, h0_batched.defined() ? h0_batched.select(0, l) : Tensor(),
                  c0_batched.defined() ? c0_batched.select(0, l) : Tensor(), layers[l],
                  layer_h_n.back(), layer_c_n.back(), training);
  }
  if (training) {
    record_state_gather("lstm_h_n", layer_h_n, h_n);
    record_state_gather("lstm_c_n", layer_c_n, c_n);
  }

  Tensor output = input;
  if (!batched) {
    output = output.squeeze(1);
    h_n = h_n.squeeze(1);
    c_n = c_n.squeeze(1);
  } else if (batch_first) {
    output = output.transpose(0, 1).contiguous();
  }

  if (scope.should_report()) {
    notify_function(
        "lstm", all_inputs,
        {{"num_layers", num_layers}, {"has_biases", has_biases}, {"batch_first", batch_first}},
        {output, h_n, c_n});
  }
  return {output, h_n, c_n};
}

}  // namespace pare

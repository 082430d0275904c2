// Naive LSTM loops: the oracle for kernels/cpu/lstm.cpp. Sums run in double so that the oracle is
// more accurate than the kernels it checks.
//
// Workspace layout (floats): the activated gates i, f, g, o of every step [T, N, 4H], then the
// cell state of every step [T, N, H].
#include "pare/kernels/lstm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "pare/error.h"

namespace pare::kernels {

void LstmLayerParams::validate() const {
  PARE_CHECK(seq_len > 0 && batch > 0 && input_size > 0 && hidden_size > 0,
             "lstm: sizes must be positive, got [seq_len, batch, input_size, hidden_size] = ",
             std::vector<int64_t>{seq_len, batch, input_size, hidden_size});
}

namespace ref {
namespace {

double sigmoid(double value) { return 1.0 / (1.0 + std::exp(-value)); }

void check_inputs(const LstmLayerParams& params, const float* x, const float* w_ih,
                  const float* w_hh, const float* b_ih, const float* b_hh) {
  params.validate();
  PARE_CHECK(x != nullptr && w_ih != nullptr && w_hh != nullptr,
             "lstm: x, w_ih and w_hh must not be null");
  PARE_CHECK(!params.has_bias || (b_ih != nullptr && b_hh != nullptr),
             "lstm: has_bias is set but b_ih or b_hh is null, hidden_size ", params.hidden_size);
}

struct WorkspaceView {
  float* gates;  // [T, N, 4H], activated
  float* cells;  // [T, N, H]
};

WorkspaceView workspace_view(const LstmLayerParams& params, void* workspace) {
  float* base = static_cast<float*>(workspace);
  return {base, base + params.seq_len * params.batch * 4 * params.hidden_size};
}

// Runs the layer; `workspace` may be null (inference), otherwise it receives gates and cells.
void run_forward(const LstmLayerParams& params, const float* x, const float* h0, const float* c0,
                 const float* w_ih, const float* w_hh, const float* b_ih, const float* b_hh,
                 float* y, float* h_n, float* c_n, void* workspace) {
  check_inputs(params, x, w_ih, w_hh, b_ih, b_hh);
  const int64_t steps = params.seq_len, batch = params.batch, inputs = params.input_size,
                hidden = params.hidden_size, gate_rows = 4 * hidden;
  std::vector<float> h(batch * hidden, 0.0f), c(batch * hidden, 0.0f);
  if (h0 != nullptr) std::copy(h0, h0 + batch * hidden, h.begin());
  if (c0 != nullptr) std::copy(c0, c0 + batch * hidden, c.begin());
  std::vector<double> preactivation(gate_rows);
  const WorkspaceView view =
      workspace != nullptr ? workspace_view(params, workspace) : WorkspaceView{nullptr, nullptr};

  for (int64_t t = 0; t < steps; ++t) {
    for (int64_t n = 0; n < batch; ++n) {
      const float* x_row = x + (t * batch + n) * inputs;
      const float* h_row = h.data() + n * hidden;
      for (int64_t r = 0; r < gate_rows; ++r) {
        double sum = params.has_bias ? static_cast<double>(b_ih[r]) + b_hh[r] : 0.0;
        for (int64_t k = 0; k < inputs; ++k)
          sum += static_cast<double>(w_ih[r * inputs + k]) * x_row[k];
        for (int64_t k = 0; k < hidden; ++k)
          sum += static_cast<double>(w_hh[r * hidden + k]) * h_row[k];
        preactivation[r] = sum;
      }
      float* y_row = y + (t * batch + n) * hidden;
      for (int64_t j = 0; j < hidden; ++j) {
        double input_gate = sigmoid(preactivation[j]);
        double forget_gate = sigmoid(preactivation[hidden + j]);
        double cell_candidate = std::tanh(preactivation[2 * hidden + j]);
        double output_gate = sigmoid(preactivation[3 * hidden + j]);
        double cell = forget_gate * c[n * hidden + j] + input_gate * cell_candidate;
        c[n * hidden + j] = static_cast<float>(cell);
        y_row[j] = static_cast<float>(output_gate * std::tanh(cell));
        if (view.gates != nullptr) {
          float* gates = view.gates + (t * batch + n) * gate_rows;
          gates[j] = static_cast<float>(input_gate);
          gates[hidden + j] = static_cast<float>(forget_gate);
          gates[2 * hidden + j] = static_cast<float>(cell_candidate);
          gates[3 * hidden + j] = static_cast<float>(output_gate);
          view.cells[(t * batch + n) * hidden + j] = static_cast<float>(cell);
        }
      }
    }
    std::copy(y + t * batch * hidden, y + (t + 1) * batch * hidden, h.begin());
  }
  std::copy(h.begin(), h.end(), h_n);
  std::copy(c.begin(), c.end(), c_n);
}

}  // namespace

void lstm_forward_inference(const LstmLayerParams& params, const float* x, const float* h0,
                            const float* c0, const float* w_ih, const float* w_hh,
                            const float* b_ih, const float* b_hh, float* y, float* h_n,
                            float* c_n) {
  run_forward(params, x, h0, c0, w_ih, w_hh, b_ih, b_hh, y, h_n, c_n, nullptr);
}

size_t lstm_workspace_bytes(const LstmLayerParams& params) {
  params.validate();
  return static_cast<size_t>(params.seq_len * params.batch * 5 * params.hidden_size) *
         sizeof(float);
}

void lstm_forward_training(const LstmLayerParams& params, const float* x, const float* h0,
                           const float* c0, const float* w_ih, const float* w_hh, const float* b_ih,
                           const float* b_hh, float* y, float* h_n, float* c_n, void* workspace) {
  PARE_CHECK(workspace != nullptr, "lstm_forward_training: workspace must not be null");
  run_forward(params, x, h0, c0, w_ih, w_hh, b_ih, b_hh, y, h_n, c_n, workspace);
}

void lstm_backward(const LstmLayerParams& params, const float* x, const float* h0, const float* c0,
                   const float* w_ih, const float* w_hh, const float* b_ih, const float* b_hh,
                   const float* y, const float* h_n, const float* c_n, const void* workspace,
                   const float* diff_y, const float* diff_h_n, const float* diff_c_n, float* diff_x,
                   float* diff_h0, float* diff_c0, float* diff_w_ih, float* diff_w_hh,
                   float* diff_b_ih, float* diff_b_hh) {
  check_inputs(params, x, w_ih, w_hh, b_ih, b_hh);
  PARE_CHECK(workspace != nullptr && y != nullptr,
             "lstm_backward: workspace and y must not be null");
  PARE_CHECK(diff_x != nullptr && diff_w_ih != nullptr && diff_w_hh != nullptr,
             "lstm_backward: diff_x, diff_w_ih and diff_w_hh must not be null");
  const int64_t steps = params.seq_len, batch = params.batch, inputs = params.input_size,
                hidden = params.hidden_size, gate_rows = 4 * hidden;
  const WorkspaceView view = workspace_view(params, const_cast<void*>(workspace));

  // Gradients flowing into step t from step t + 1 (initially from h_n and c_n).
  std::vector<double> diff_h_next(batch * hidden, 0.0), diff_c_next(batch * hidden, 0.0);
  if (diff_h_n != nullptr) std::copy(diff_h_n, diff_h_n + batch * hidden, diff_h_next.begin());
  if (diff_c_n != nullptr) std::copy(diff_c_n, diff_c_n + batch * hidden, diff_c_next.begin());
  std::vector<double> weight_ih_sum(gate_rows * inputs, 0.0),
      weight_hh_sum(gate_rows * hidden, 0.0), bias_sum(gate_rows, 0.0),
      diff_preactivation(batch * gate_rows);
  const std::vector<float> zeros(batch * hidden, 0.0f);

  for (int64_t t = steps - 1; t >= 0; --t) {
    const float* h_prev = t > 0 ? y + (t - 1) * batch * hidden : (h0 ? h0 : zeros.data());
    const float* c_prev = t > 0 ? view.cells + (t - 1) * batch * hidden : (c0 ? c0 : zeros.data());
    for (int64_t n = 0; n < batch; ++n) {
      const float* gates = view.gates + (t * batch + n) * gate_rows;
      double* diff_gates = diff_preactivation.data() + n * gate_rows;
      for (int64_t j = 0; j < hidden; ++j) {
        const int64_t state = n * hidden + j;
        double input_gate = gates[j], forget_gate = gates[hidden + j],
               cell_candidate = gates[2 * hidden + j], output_gate = gates[3 * hidden + j];
        double tanh_cell = std::tanh(static_cast<double>(view.cells[(t * batch + n) * hidden + j]));
        double diff_h = diff_h_next[state];
        if (diff_y != nullptr) diff_h += diff_y[(t * batch + n) * hidden + j];
        double diff_c = diff_c_next[state] + diff_h * output_gate * (1.0 - tanh_cell * tanh_cell);
        diff_gates[j] = diff_c * cell_candidate * input_gate * (1.0 - input_gate);
        diff_gates[hidden + j] = diff_c * c_prev[state] * forget_gate * (1.0 - forget_gate);
        diff_gates[2 * hidden + j] = diff_c * input_gate * (1.0 - cell_candidate * cell_candidate);
        diff_gates[3 * hidden + j] = diff_h * tanh_cell * output_gate * (1.0 - output_gate);
        diff_c_next[state] = diff_c * forget_gate;
      }
    }
    for (int64_t n = 0; n < batch; ++n) {
      const double* diff_gates = diff_preactivation.data() + n * gate_rows;
      const float* x_row = x + (t * batch + n) * inputs;
      const float* h_row = h_prev + n * hidden;
      for (int64_t k = 0; k < inputs; ++k) {
        double sum = 0.0;
        for (int64_t r = 0; r < gate_rows; ++r) sum += diff_gates[r] * w_ih[r * inputs + k];
        diff_x[(t * batch + n) * inputs + k] = static_cast<float>(sum);
      }
      for (int64_t k = 0; k < hidden; ++k) {
        double sum = 0.0;
        for (int64_t r = 0; r < gate_rows; ++r) sum += diff_gates[r] * w_hh[r * hidden + k];
        diff_h_next[n * hidden + k] = sum;
      }
      for (int64_t r = 0; r < gate_rows; ++r) {
        for (int64_t k = 0; k < inputs; ++k)
          weight_ih_sum[r * inputs + k] += diff_gates[r] * x_row[k];
        for (int64_t k = 0; k < hidden; ++k)
          weight_hh_sum[r * hidden + k] += diff_gates[r] * h_row[k];
        bias_sum[r] += diff_gates[r];
      }
    }
  }

  std::transform(weight_ih_sum.begin(), weight_ih_sum.end(), diff_w_ih,
                 [](double value) { return static_cast<float>(value); });
  std::transform(weight_hh_sum.begin(), weight_hh_sum.end(), diff_w_hh,
                 [](double value) { return static_cast<float>(value); });
  for (float* diff_bias : {diff_b_ih, diff_b_hh}) {
    if (diff_bias == nullptr) continue;
    std::transform(bias_sum.begin(), bias_sum.end(), diff_bias,
                   [](double value) { return static_cast<float>(value); });
  }
  if (diff_h0 != nullptr) {
    std::transform(diff_h_next.begin(), diff_h_next.end(), diff_h0,
                   [](double value) { return static_cast<float>(value); });
  }
  if (diff_c0 != nullptr) {
    std::transform(diff_c_next.begin(), diff_c_next.end(), diff_c0,
                   [](double value) { return static_cast<float>(value); });
  }
}

}  // namespace ref
}  // namespace pare::kernels

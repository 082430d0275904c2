// One unidirectional LSTM layer with PyTorch's math and parameter layouts. The engine stacks
// layers and handles batch_first; these kernels see time-major buffers only.
//
//   pare::kernels::LstmLayerParams params{.seq_len = 5, .batch = 2, .input_size = 8,
//                                         .hidden_size = 16};
//   // Inference: y [T, N, H], h_n and c_n [N, H]; h0/c0 nullptr start from zeros.
//   pare::kernels::cpu::lstm_forward_inference(params, x, h0, c0, w_ih, w_hh, b_ih, b_hh,
//                                              y, h_n, c_n);
//   // Training: the forward fills a workspace that only the same namespace's backward reads.
//   std::vector<std::byte> workspace(pare::kernels::cpu::lstm_workspace_bytes(params));
//   pare::kernels::cpu::lstm_forward_training(params, x, h0, c0, w_ih, w_hh, b_ih, b_hh,
//                                             y, h_n, c_n, workspace.data());
//   pare::kernels::cpu::lstm_backward(params, x, h0, c0, w_ih, w_hh, b_ih, b_hh, y, h_n, c_n,
//                                     workspace.data(), diff_y, diff_h_n, diff_c_n, diff_x,
//                                     diff_h0, diff_c0, diff_w_ih, diff_w_hh, diff_b_ih,
//                                     diff_b_hh);
#pragma once

#include <cstddef>
#include <cstdint>

namespace pare::kernels {

// Sizes of one LSTM layer run over a whole sequence. Per step, with gate row blocks in PyTorch's
// order i, f, g, o:
//   i = sigmoid(W_ii x + b_ii + W_hi h + b_hi), f = sigmoid(...), g = tanh(...), o = sigmoid(...)
//   c' = f * c + i * g,  h' = o * tanh(c')
// Buffers (float32, contiguous, row-major):
//   x [T, N, I]; h0, c0 [N, H] (nullptr = zeros); w_ih [4H, I]; w_hh [4H, H];
//   b_ih, b_hh [4H] (nullptr when !has_bias); y [T, N, H]; h_n, c_n [N, H].
struct LstmLayerParams {
  int64_t seq_len = 0;
  int64_t batch = 0;
  int64_t input_size = 0;
  int64_t hidden_size = 0;
  bool has_bias = true;

  // Throws pare::Error unless every size is positive.
  void validate() const;
};

// Backward contract (both namespaces):
//   - `workspace` is the one filled by lstm_forward_training of the same namespace with the same
//     params and inputs; y, h_n and c_n are that call's outputs.
//   - diff_y [T, N, H], diff_h_n and diff_c_n [N, H] may be nullptr (= zeros).
//   - every diff output is written, not accumulated. diff_h0, diff_c0, diff_b_ih and diff_b_hh
//     may be nullptr when the caller does not need them; diff_b_ih and diff_b_hh receive the
//     same per-gate gradient, as in PyTorch.

namespace ref {

void lstm_forward_inference(const LstmLayerParams& params, const float* x, const float* h0,
                            const float* c0, const float* w_ih, const float* w_hh,
                            const float* b_ih, const float* b_hh, float* y, float* h_n, float* c_n);

size_t lstm_workspace_bytes(const LstmLayerParams& params);

void lstm_forward_training(const LstmLayerParams& params, const float* x, const float* h0,
                           const float* c0, const float* w_ih, const float* w_hh, const float* b_ih,
                           const float* b_hh, float* y, float* h_n, float* c_n, void* workspace);

void lstm_backward(const LstmLayerParams& params, const float* x, const float* h0, const float* c0,
                   const float* w_ih, const float* w_hh, const float* b_ih, const float* b_hh,
                   const float* y, const float* h_n, const float* c_n, const void* workspace,
                   const float* diff_y, const float* diff_h_n, const float* diff_c_n, float* diff_x,
                   float* diff_h0, float* diff_c0, float* diff_w_ih, float* diff_w_hh,
                   float* diff_b_ih, float* diff_b_hh);

}  // namespace ref

namespace cpu {

void lstm_forward_inference(const LstmLayerParams& params, const float* x, const float* h0,
                            const float* c0, const float* w_ih, const float* w_hh,
                            const float* b_ih, const float* b_hh, float* y, float* h_n, float* c_n);

size_t lstm_workspace_bytes(const LstmLayerParams& params);

void lstm_forward_training(const LstmLayerParams& params, const float* x, const float* h0,
                           const float* c0, const float* w_ih, const float* w_hh, const float* b_ih,
                           const float* b_hh, float* y, float* h_n, float* c_n, void* workspace);

void lstm_backward(const LstmLayerParams& params, const float* x, const float* h0, const float* c0,
                   const float* w_ih, const float* w_hh, const float* b_ih, const float* b_hh,
                   const float* y, const float* h_n, const float* c_n, const void* workspace,
                   const float* diff_y, const float* diff_h_n, const float* diff_c_n, float* diff_x,
                   float* diff_h0, float* diff_c0, float* diff_w_ih, float* diff_w_hh,
                   float* diff_b_ih, float* diff_b_hh);

}  // namespace cpu

}  // namespace pare::kernels

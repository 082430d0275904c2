// A stacked unidirectional LSTM (PyTorch's nn.LSTM) prepared once for inference on oneDNN's RNN
// primitive: per layer the weights reordered into the primitive's layout and the two biases summed
// once (oneDNN takes one bias per gate; its gate order i, f, c~, o is PyTorch's i, f, g, o).
// batch_first sequences are read and written in place (oneDNN's ntc layout). No allocation
// happens in run().
//
//   pare::kernels::cpu::PreparedLstm lstm({.seq_len = 32, .batch = 8, .input_size = 64,
//                                          .hidden_size = 128}, /*num_layers=*/1,
//                                         /*batch_first=*/true, {w_ih, w_hh, b_ih, b_hh});
//   lstm.run(x, /*h0=*/nullptr, /*c0=*/nullptr, y, h_n, c_n);   // y [8, 32, 128], h_n [1, 8, 128]
#pragma once

#include <memory>
#include <vector>

#include "pare/kernels/lstm.h"

namespace pare::kernels::cpu {

// Contract: `layer` describes layer 0 (input_size is the sequence's feature count; layers above
// read hidden_size features). `weights` holds, per layer, w_ih, w_hh and (with has_bias) b_ih,
// b_hh, in at::lstm's order and PyTorch's layouts; they are copied. run() is not re-entrant.
class PreparedLstm {
 public:
  PreparedLstm(const LstmLayerParams& layer, int64_t num_layers, bool batch_first,
               const std::vector<const float*>& weights);
  ~PreparedLstm();
  PreparedLstm(PreparedLstm&&) noexcept;
  PreparedLstm& operator=(PreparedLstm&&) noexcept;

  // x [T, N, I] ([N, T, I] batch first); h0, c0 [L, N, H] or null for zeros; y like x with H
  // features; h_n, c_n [L, N, H].
  void run(const float* x, const float* h0, const float* c0, float* y, float* h_n, float* c_n);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace pare::kernels::cpu

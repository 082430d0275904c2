// nn::LSTM: a multi-layer unidirectional LSTM with PyTorch's parameters (weight_ih_l{k}
// [4H, in], weight_hh_l{k} [4H, H], bias_ih_l{k}, bias_hh_l{k} [4H]; gates i, f, g, o), its
// default initialisation (everything uniform in +-1/sqrt(H)) and its call convention.
//
//   pare::nn::LSTM lstm(pare::nn::LSTMOptions(8, 16).num_layers(2).batch_first(true));
//   auto [output, state] = lstm(x);                     // x: [N, T, 8] -> output [N, T, 16]
//   auto [h_n, c_n] = state;                            // [2, N, 16] each
//   auto [next, next_state] = lstm(x, state);           // continue from a state
//
// Inside a Sequential (Module::call) an LSTM contributes its output sequence only. Forward
// hooks see the outputs {output, h_n, c_n}.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "pare/nn/module.h"

namespace pare::nn {

class LSTMOptions {
 public:
  LSTMOptions(int64_t input_size, int64_t hidden_size)
      : input_size_(input_size), hidden_size_(hidden_size) {}
  LSTMOptions& input_size(int64_t value) {
    input_size_ = value;
    return *this;
  }
  LSTMOptions& hidden_size(int64_t value) {
    hidden_size_ = value;
    return *this;
  }
  LSTMOptions& num_layers(int64_t value) {
    num_layers_ = value;
    return *this;
  }
  LSTMOptions& bias(bool value) {
    bias_ = value;
    return *this;
  }
  LSTMOptions& batch_first(bool value) {
    batch_first_ = value;
    return *this;
  }
  int64_t input_size() const { return input_size_; }
  int64_t hidden_size() const { return hidden_size_; }
  int64_t num_layers() const { return num_layers_; }
  bool bias() const { return bias_; }
  bool batch_first() const { return batch_first_; }

 private:
  int64_t input_size_;
  int64_t hidden_size_;
  int64_t num_layers_ = 1;
  bool bias_ = true;
  bool batch_first_ = false;
};

// Input [T, N, input_size] ([N, T, input_size] with batch_first, or unbatched [T, input_size]);
// state (h_0, c_0) each [num_layers, N, hidden_size] (zeros when omitted). Returns
// (output [T, N, hidden_size] (batch-first likewise), (h_n, c_n)).
class LSTMImpl : public Module {
 public:
  static constexpr ModuleKind kKind = ModuleKind::lstm;
  using State = std::tuple<Tensor, Tensor>;

  explicit LSTMImpl(const LSTMOptions& options);
  LSTMImpl(int64_t input_size, int64_t hidden_size);

  // Runs the hooks around forward.
  std::tuple<Tensor, State> operator()(const Tensor& input,
                                       std::optional<State> state = std::nullopt);
  std::tuple<Tensor, State> forward(const Tensor& input, std::optional<State> state = std::nullopt);
  // The output sequence only, so that an LSTM can sit in a Sequential.
  Tensor call(const Tensor& input) override;
  void reset_parameters();

  // The parameters in at::lstm's order: per layer w_ih, w_hh[, b_ih, b_hh].
  std::vector<Tensor> flat_weights() const;
  const LSTMOptions& options() const { return options_; }
  LSTMOptions& options() { return options_; }

  bool is_leaf_layer() const override { return true; }
  ModuleKind kind() const override { return kKind; }
  Attrs config() const override;
  std::string extra_repr() const override;

 private:
  std::vector<Tensor> run(const std::vector<Tensor>& inputs);

  LSTMOptions options_;
};

using LSTM = ModuleHolder<LSTMImpl>;

}  // namespace pare::nn

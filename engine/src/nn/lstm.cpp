// nn::LSTM.
#include "pare/nn/lstm.h"

#include <cmath>

#include "pare/creation.h"
#include "pare/functional.h"
#include "pare/nn/init.h"

namespace pare::nn {

namespace {

const char* const kParameterPrefixes[] = {"weight_ih_l", "weight_hh_l", "bias_ih_l", "bias_hh_l"};

std::vector<Tensor> pack_inputs(const Tensor& input, const std::optional<LSTMImpl::State>& state) {
  std::vector<Tensor> inputs{input};
  if (state) {
    inputs.push_back(std::get<0>(*state));
    inputs.push_back(std::get<1>(*state));
  }
  return inputs;
}

std::tuple<Tensor, LSTMImpl::State> unpack_outputs(const std::vector<Tensor>& outputs) {
  PARE_CHECK(outputs.size() == 3, "LSTM: expected the outputs output, h_n and c_n, got ",
             outputs.size(), " tensors (did a forward hook change them?)");
  return {outputs[0], {outputs[1], outputs[2]}};
}

}  // namespace

LSTMImpl::LSTMImpl(const LSTMOptions& options) : options_(options) {
  const int64_t hidden = options.hidden_size();
  PARE_CHECK(options.input_size() > 0 && hidden > 0 && options.num_layers() > 0,
             "LSTM: input_size, hidden_size and num_layers must be positive, got ",
             options.input_size(), ", ", hidden, " and ", options.num_layers());
  for (int64_t layer = 0; layer < options.num_layers(); ++layer) {
    const std::string suffix = std::to_string(layer);
    const int64_t layer_input = layer == 0 ? options.input_size() : hidden;
    register_parameter("weight_ih_l" + suffix, empty({4 * hidden, layer_input}));
    register_parameter("weight_hh_l" + suffix, empty({4 * hidden, hidden}));
    if (options.bias()) {
      register_parameter("bias_ih_l" + suffix, empty({4 * hidden}));
      register_parameter("bias_hh_l" + suffix, empty({4 * hidden}));
    }
  }
  reset_parameters();
}

LSTMImpl::LSTMImpl(int64_t input_size, int64_t hidden_size)
    : LSTMImpl(LSTMOptions(input_size, hidden_size)) {}

void LSTMImpl::reset_parameters() {
  const double bound = 1.0 / std::sqrt(static_cast<double>(options_.hidden_size()));
  for (const Tensor& weight : flat_weights()) init::uniform_(weight, -bound, bound);
}

std::vector<Tensor> LSTMImpl::flat_weights() const {
  const int per_layer = options_.bias() ? 4 : 2;
  std::vector<Tensor> weights;
  for (int64_t layer = 0; layer < options_.num_layers(); ++layer)
    for (int i = 0; i < per_layer; ++i)
      weights.push_back(get_parameter(kParameterPrefixes[i] + std::to_string(layer)));
  return weights;
}

std::vector<Tensor> LSTMImpl::run(const std::vector<Tensor>& inputs) {
  const Tensor h0 = inputs.size() > 1 ? inputs[1] : Tensor();
  const Tensor c0 = inputs.size() > 2 ? inputs[2] : Tensor();
  auto [output, h_n, c_n] = lstm(inputs[0], h0, c0, flat_weights(), options_.bias(),
                                 options_.num_layers(), options_.batch_first());
  return {output, h_n, c_n};
}

std::tuple<Tensor, LSTMImpl::State> LSTMImpl::forward(const Tensor& input,
                                                      std::optional<State> state) {
  return unpack_outputs(run(pack_inputs(input, state)));
}

std::tuple<Tensor, LSTMImpl::State> LSTMImpl::operator()(const Tensor& input,
                                                         std::optional<State> state) {
  return unpack_outputs(
      run_with_hooks(pack_inputs(input, state),
                     [this](const std::vector<Tensor>& inputs) { return run(inputs); }));
}

Tensor LSTMImpl::call(const Tensor& input) { return std::get<0>((*this)(input)); }

Attrs LSTMImpl::config() const {
  return {{"input_size", options_.input_size()},
          {"hidden_size", options_.hidden_size()},
          {"num_layers", options_.num_layers()},
          {"bias", options_.bias()},
          {"batch_first", options_.batch_first()}};
}

// PyTorch prints the sizes and only the arguments that differ from their defaults.
std::string LSTMImpl::extra_repr() const {
  std::string text =
      std::to_string(options_.input_size()) + ", " + std::to_string(options_.hidden_size());
  if (options_.num_layers() != 1) text += ", num_layers=" + std::to_string(options_.num_layers());
  if (!options_.bias()) text += ", bias=False";
  if (options_.batch_first()) text += ", batch_first=True";
  return text;
}

}  // namespace pare::nn

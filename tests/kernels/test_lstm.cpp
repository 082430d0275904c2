#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "pare/error.h"
#include "pare/kernels/lstm.h"
#include "test_util.h"

namespace {

using pare::kernels::LstmLayerParams;
using pare::testing::allclose;
using pare::testing::max_abs_diff;
using pare::testing::random_floats;

constexpr double kTolerance = 1e-4;

struct LstmCase {
  int64_t seq_len, batch, input_size, hidden_size;
  bool has_bias;
  bool has_initial_state;
};

const std::vector<LstmCase> kCases = {
    {1, 1, 3, 2, true, true},  {3, 2, 4, 5, false, false}, {5, 3, 2, 3, true, false},
    {4, 2, 5, 4, false, true}, {2, 3, 3, 7, true, true},
};

std::string describe(const LstmCase& c) {
  return pare::str_cat("T=", c.seq_len, " N=", c.batch, " I=", c.input_size, " H=", c.hidden_size,
                       " bias=", c.has_bias, " state=", c.has_initial_state);
}

// Seeded inputs of one layer; optional buffers are empty when absent.
struct LstmInputs {
  LstmLayerParams params;
  std::vector<float> x, h0, c0, w_ih, w_hh, b_ih, b_hh;

  LstmInputs(const LstmCase& c, uint32_t seed) {
    params = {c.seq_len, c.batch, c.input_size, c.hidden_size, c.has_bias};
    const size_t state = c.batch * c.hidden_size, gate_rows = 4 * c.hidden_size;
    x = random_floats(c.seq_len * c.batch * c.input_size, seed);
    w_ih = random_floats(gate_rows * c.input_size, seed + 1, -0.6f, 0.6f);
    w_hh = random_floats(gate_rows * c.hidden_size, seed + 2, -0.6f, 0.6f);
    if (c.has_bias) {
      b_ih = random_floats(gate_rows, seed + 3, -0.5f, 0.5f);
      b_hh = random_floats(gate_rows, seed + 4, -0.5f, 0.5f);
    }
    if (c.has_initial_state) {
      h0 = random_floats(state, seed + 5);
      c0 = random_floats(state, seed + 6, -2.0f, 2.0f);
    }
  }

  size_t state_size() const { return params.batch * params.hidden_size; }
  size_t output_size() const { return params.seq_len * state_size(); }
};

const float* data_or_null(const std::vector<float>& values) {
  return values.empty() ? nullptr : values.data();
}

struct LstmOutputs {
  std::vector<float> y, h_n, c_n;
  std::vector<std::byte> workspace;

  explicit LstmOutputs(const LstmInputs& in)
      : y(in.output_size(), NAN), h_n(in.state_size(), NAN), c_n(in.state_size(), NAN) {}
};

struct LstmGradients {
  std::vector<float> x, h0, c0, w_ih, w_hh, b_ih, b_hh;

  explicit LstmGradients(const LstmInputs& in)
      : x(in.x.size(), NAN),
        h0(in.state_size(), NAN),
        c0(in.state_size(), NAN),
        w_ih(in.w_ih.size(), NAN),
        w_hh(in.w_hh.size(), NAN),
        b_ih(4 * in.params.hidden_size, NAN),
        b_hh(4 * in.params.hidden_size, NAN) {}
};

// The two backends behind one switch so every check runs the same code path for both.
enum class Backend { kRef, kCpu };

LstmOutputs forward_inference(Backend backend, const LstmInputs& in) {
  LstmOutputs out(in);
  auto* run = backend == Backend::kRef ? &pare::kernels::ref::lstm_forward_inference
                                       : &pare::kernels::cpu::lstm_forward_inference;
  run(in.params, in.x.data(), data_or_null(in.h0), data_or_null(in.c0), in.w_ih.data(),
      in.w_hh.data(), data_or_null(in.b_ih), data_or_null(in.b_hh), out.y.data(), out.h_n.data(),
      out.c_n.data());
  return out;
}

LstmOutputs forward_training(Backend backend, const LstmInputs& in) {
  LstmOutputs out(in);
  const bool ref = backend == Backend::kRef;
  out.workspace.resize(ref ? pare::kernels::ref::lstm_workspace_bytes(in.params)
                           : pare::kernels::cpu::lstm_workspace_bytes(in.params));
  auto* run =
      ref ? &pare::kernels::ref::lstm_forward_training : &pare::kernels::cpu::lstm_forward_training;
  run(in.params, in.x.data(), data_or_null(in.h0), data_or_null(in.c0), in.w_ih.data(),
      in.w_hh.data(), data_or_null(in.b_ih), data_or_null(in.b_hh), out.y.data(), out.h_n.data(),
      out.c_n.data(), out.workspace.data());
  return out;
}

struct UpstreamGradients {
  std::vector<float> y, h_n, c_n;  // empty = not passed (zeros)
};

LstmGradients backward(Backend backend, const LstmInputs& in, const LstmOutputs& out,
                       const UpstreamGradients& upstream) {
  LstmGradients grads(in);
  auto* run = backend == Backend::kRef ? &pare::kernels::ref::lstm_backward
                                       : &pare::kernels::cpu::lstm_backward;
  run(in.params, in.x.data(), data_or_null(in.h0), data_or_null(in.c0), in.w_ih.data(),
      in.w_hh.data(), data_or_null(in.b_ih), data_or_null(in.b_hh), out.y.data(), out.h_n.data(),
      out.c_n.data(), out.workspace.data(), data_or_null(upstream.y), data_or_null(upstream.h_n),
      data_or_null(upstream.c_n), grads.x.data(), grads.h0.data(), grads.c0.data(),
      grads.w_ih.data(), grads.w_hh.data(), grads.b_ih.data(), grads.b_hh.data());
  return grads;
}

UpstreamGradients random_upstream(const LstmInputs& in, uint32_t seed) {
  return {random_floats(in.output_size(), seed), random_floats(in.state_size(), seed + 1),
          random_floats(in.state_size(), seed + 2)};
}

void check_close(const std::vector<float>& actual, const std::vector<float>& expected,
                 const char* name) {
  INFO(std::string(name), " max |diff| = ", max_abs_diff(actual, expected));
  CHECK(allclose(actual, expected, kTolerance, kTolerance));
}

void check_outputs_close(const LstmOutputs& actual, const LstmOutputs& expected) {
  check_close(actual.y, expected.y, "y");
  check_close(actual.h_n, expected.h_n, "h_n");
  check_close(actual.c_n, expected.c_n, "c_n");
}

void check_gradients_close(const LstmGradients& actual, const LstmGradients& expected) {
  check_close(actual.x, expected.x, "diff_x");
  check_close(actual.h0, expected.h0, "diff_h0");
  check_close(actual.c0, expected.c0, "diff_c0");
  check_close(actual.w_ih, expected.w_ih, "diff_w_ih");
  check_close(actual.w_hh, expected.w_hh, "diff_w_hh");
  check_close(actual.b_ih, expected.b_ih, "diff_b_ih");
  check_close(actual.b_hh, expected.b_hh, "diff_b_hh");
}

TEST_CASE("ref lstm forward matches a hand-computed step") {
  LstmInputs in({1, 1, 1, 1, true, true}, 0);
  in.x = {0.5f};
  in.h0 = {0.2f};
  in.c0 = {-0.3f};
  in.w_ih = {0.1f, -0.2f, 0.3f, 0.4f};
  in.w_hh = {0.5f, 0.6f, -0.7f, 0.8f};
  in.b_ih = {0.01f, 0.02f, 0.03f, 0.04f};
  in.b_hh = {-0.05f, 0.06f, 0.07f, -0.08f};
  // Pre-activations: i 0.11, f 0.10, g 0.11, o 0.32, so
  // c' = sigmoid(0.10) * -0.3 + sigmoid(0.11) * tanh(0.11), h' = sigmoid(0.32) * tanh(c').
  const float expected_c = -0.0997046975f, expected_h = -0.0575707050f;

  LstmOutputs out = forward_inference(Backend::kRef, in);
  CHECK(out.y[0] == doctest::Approx(expected_h).epsilon(1e-6));
  CHECK(out.h_n[0] == doctest::Approx(expected_h).epsilon(1e-6));
  CHECK(out.c_n[0] == doctest::Approx(expected_c).epsilon(1e-6));

  // Without h0/c0 and without bias, the state starts from zeros: c' = sigmoid(0.05) * tanh(0.15).
  LstmInputs bare({1, 1, 1, 1, false, false}, 0);
  bare.x = in.x;
  bare.w_ih = in.w_ih;
  bare.w_hh = in.w_hh;
  LstmOutputs bare_out = forward_inference(Backend::kRef, bare);
  const double bare_c = 1.0 / (1.0 + std::exp(-0.05)) * std::tanh(0.15);
  const double bare_h = 1.0 / (1.0 + std::exp(-0.2)) * std::tanh(bare_c);
  CHECK(bare_out.c_n[0] == doctest::Approx(bare_c).epsilon(1e-6));
  CHECK(bare_out.y[0] == doctest::Approx(bare_h).epsilon(1e-6));
}

TEST_CASE("cpu lstm forward inference matches ref") {
  for (const LstmCase& c : kCases) {
    CAPTURE(describe(c));
    LstmInputs in(c, 11);
    check_outputs_close(forward_inference(Backend::kCpu, in), forward_inference(Backend::kRef, in));
  }
}

TEST_CASE("cpu lstm forward training matches ref and inference") {
  for (const LstmCase& c : kCases) {
    CAPTURE(describe(c));
    LstmInputs in(c, 21);
    LstmOutputs cpu_training = forward_training(Backend::kCpu, in);
    check_outputs_close(cpu_training, forward_training(Backend::kRef, in));
    check_outputs_close(cpu_training, forward_inference(Backend::kCpu, in));
  }
}

TEST_CASE("cpu lstm backward matches ref") {
  for (const LstmCase& c : kCases) {
    CAPTURE(describe(c));
    LstmInputs in(c, 31);
    LstmOutputs cpu_out = forward_training(Backend::kCpu, in);
    LstmOutputs ref_out = forward_training(Backend::kRef, in);
    const UpstreamGradients upstream = random_upstream(in, 41);
    LstmGradients cpu_grads = backward(Backend::kCpu, in, cpu_out, upstream);
    check_gradients_close(cpu_grads, backward(Backend::kRef, in, ref_out, upstream));
    CHECK(cpu_grads.b_ih == cpu_grads.b_hh);

    // Outputs are written, not accumulated: a second call gives the same gradients.
    LstmGradients again = backward(Backend::kCpu, in, cpu_out, upstream);
    CHECK(max_abs_diff(again.w_ih, cpu_grads.w_ih) == 0.0);
    CHECK(max_abs_diff(again.w_hh, cpu_grads.w_hh) == 0.0);
    CHECK(max_abs_diff(again.b_ih, cpu_grads.b_ih) == 0.0);
  }
}

TEST_CASE("cpu lstm backward treats absent upstream gradients as zeros") {
  LstmInputs in({3, 2, 4, 3, true, true}, 51);
  LstmOutputs cpu_out = forward_training(Backend::kCpu, in);
  LstmOutputs ref_out = forward_training(Backend::kRef, in);
  const UpstreamGradients full = random_upstream(in, 61);
  const std::vector<UpstreamGradients> partial = {
      {full.y, {}, {}}, {{}, full.h_n, {}}, {{}, {}, full.c_n}};
  for (size_t which = 0; which < partial.size(); ++which) {
    CAPTURE(which);
    check_gradients_close(backward(Backend::kCpu, in, cpu_out, partial[which]),
                          backward(Backend::kRef, in, ref_out, partial[which]));
  }
  // The ref oracle itself: passing explicit zeros must equal passing nothing.
  UpstreamGradients explicit_zeros = {std::vector<float>(in.output_size(), 0.0f), full.h_n,
                                      std::vector<float>(in.state_size(), 0.0f)};
  LstmGradients from_zeros = backward(Backend::kRef, in, ref_out, explicit_zeros);
  LstmGradients from_null = backward(Backend::kRef, in, ref_out, partial[1]);
  CHECK(max_abs_diff(from_zeros.w_hh, from_null.w_hh) == 0.0);
  CHECK(max_abs_diff(from_zeros.x, from_null.x) == 0.0);
}

// Loss sum(y * r) + sum(h_n * r2) + sum(c_n * r3) in double, whose gradient is the backward with
// upstream gradients (r, r2, r3).
double weighted_loss(const LstmInputs& in, const UpstreamGradients& weights) {
  LstmOutputs out = forward_inference(Backend::kRef, in);
  double loss = 0.0;
  for (size_t k = 0; k < out.y.size(); ++k) loss += static_cast<double>(out.y[k]) * weights.y[k];
  for (size_t k = 0; k < out.h_n.size(); ++k) {
    loss += static_cast<double>(out.h_n[k]) * weights.h_n[k];
    loss += static_cast<double>(out.c_n[k]) * weights.c_n[k];
  }
  return loss;
}

// Central differences of the loss with respect to every element of `values`.
std::vector<double> numeric_gradient(LstmInputs& in, std::vector<float>& values,
                                     const UpstreamGradients& weights) {
  const float step = 4e-3f;
  std::vector<double> gradient(values.size());
  for (size_t k = 0; k < values.size(); ++k) {
    const float saved = values[k];
    const float plus = saved + step, minus = saved - step;
    values[k] = plus;
    const double loss_plus = weighted_loss(in, weights);
    values[k] = minus;
    const double loss_minus = weighted_loss(in, weights);
    values[k] = saved;
    gradient[k] = (loss_plus - loss_minus) / (static_cast<double>(plus) - minus);
  }
  return gradient;
}

void check_against_numeric(const std::vector<float>& analytic, const std::vector<double>& numeric,
                           const char* name) {
  REQUIRE(analytic.size() == numeric.size());
  double worst = 0.0;
  bool close = true;
  for (size_t k = 0; k < numeric.size(); ++k) {
    const double diff = std::fabs(analytic[k] - numeric[k]);
    worst = std::max(worst, diff);
    close = close && diff <= 1e-4 + 1e-3 * std::fabs(numeric[k]);
  }
  INFO(std::string(name), " max |analytic - numeric| = ", worst);
  CHECK(close);
}

TEST_CASE("ref lstm backward matches finite differences of ref forward") {
  for (const LstmCase& c : {LstmCase{3, 2, 2, 3, true, true}, LstmCase{2, 1, 3, 2, false, false}}) {
    CAPTURE(describe(c));
    LstmInputs in(c, 71);
    const UpstreamGradients weights = random_upstream(in, 81);
    LstmOutputs out = forward_training(Backend::kRef, in);
    LstmGradients grads = backward(Backend::kRef, in, out, weights);

    check_against_numeric(grads.x, numeric_gradient(in, in.x, weights), "diff_x");
    check_against_numeric(grads.w_ih, numeric_gradient(in, in.w_ih, weights), "diff_w_ih");
    check_against_numeric(grads.w_hh, numeric_gradient(in, in.w_hh, weights), "diff_w_hh");
    if (c.has_initial_state) {
      check_against_numeric(grads.h0, numeric_gradient(in, in.h0, weights), "diff_h0");
      check_against_numeric(grads.c0, numeric_gradient(in, in.c0, weights), "diff_c0");
    }
    if (c.has_bias) {
      check_against_numeric(grads.b_ih, numeric_gradient(in, in.b_ih, weights), "diff_b_ih");
      check_against_numeric(grads.b_hh, numeric_gradient(in, in.b_hh, weights), "diff_b_hh");
    }
  }
}

TEST_CASE("lstm params reject non-positive sizes") {
  CHECK_THROWS_AS((LstmLayerParams{2, 1, 3, 0, true}.validate()), pare::Error);
  CHECK_THROWS_AS((LstmLayerParams{0, 1, 3, 2, true}.validate()), pare::Error);
  CHECK_NOTHROW((LstmLayerParams{1, 1, 1, 1, false}.validate()));
  std::vector<float> x(3), w_ih(8 * 3), w_hh(8 * 2), y(2), h_n(2), c_n(2);
  CHECK_THROWS_AS(pare::kernels::cpu::lstm_forward_inference(
                      {1, 1, 3, 2, true}, x.data(), nullptr, nullptr, w_ih.data(), w_hh.data(),
                      nullptr, nullptr, y.data(), h_n.data(), c_n.data()),
                  pare::Error);
}

}  // namespace

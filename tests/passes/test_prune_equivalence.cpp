// Equivalence of the pruning pass (docs/pruning.md, "Equivalence: what the tests must show"): for
// every pattern of the default table, each of the 21 activations as a module and as a function
// (with non-default arguments), both prune_bias values and seeded random masks, the pruned model's
// output equals the masked model's (after one forward), and the parameter count never grows.
//
// The matrix is table-driven: a family row describes the chain between the masked layer A and
// what follows it (ops, pools, B's kind and padding); every row with an "act" slot is expanded
// with every activation. A failure names the family, the activation, prune_bias and the seed.
// The LSTM chains are in the last test case.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "pare/pare.h"
#include "pare/passes/pruning/pruning.h"
#include "pruning_test_util.h"

namespace {

namespace nn = pare::nn;
namespace pruning = pare::pruning;
using nlohmann::json;
using pare::Tensor;
using Indices = std::vector<int64_t>;
using pare::testing::FixedMaskPruner;
using pare::testing::kept_indices;
using pare::testing::parameter_count;
using pare::testing::random_tensor;

// The matrix runs thousands of tiny models. With two OpenMP threads every tiny op pays a
// parallel-region wake-up (ctest sets OMP_WAIT_POLICY=PASSIVE), which dominates the runtime on a
// busy machine (7 s on one thread, up to 50 s on two); the kernels' threading is tested elsewhere.
void use_one_thread() { omp_set_num_threads(1); }

float max_abs_diff(const Tensor& a, const Tensor& b) {
  if (a.sizes() != b.sizes()) {
    FAIL_CHECK("shapes differ: " << pare::str_cat(a.sizes()) << " vs " << pare::str_cat(b.sizes()));
    return 1e30f;
  }
  return static_cast<float>(
      pare::testing::max_abs_diff(pare::to_float_vector(a), pare::to_float_vector(b)));
}

Tensor select_channels(const Tensor& values, int64_t dim, const Indices& kept) {
  return pare::index_select(values, dim, pare::tensor(kept, {static_cast<int64_t>(kept.size())}));
}

// A row mask of `rows` with exactly max(1, rows / 3) rows pruned, at seeded random positions.
std::vector<bool> random_mask(int64_t rows, uint32_t seed) {
  std::vector<int64_t> order(static_cast<size_t>(rows));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937 generator(seed);
  std::shuffle(order.begin(), order.end(), generator);
  std::vector<bool> mask(static_cast<size_t>(rows), true);
  for (int64_t i = 0; i < std::max<int64_t>(1, rows / 3); ++i) mask[order[i]] = false;
  return mask;
}

json mask_json(const std::vector<bool>& mask) {
  json bits = json::array();
  for (bool bit : mask) bits.push_back(bit ? 1 : 0);
  return bits;
}

// A model that is a list of steps: module calls (traced as call_module) and functional ops
// (traced as call_function), so that one class builds every chain of the matrix.
struct ChainNet : nn::Module {
  using Step = std::function<Tensor(const Tensor&)>;
  ChainNet() : nn::Module("ChainNet") {}
  Tensor forward(const Tensor& x) {
    Tensor y = x;
    for (const Step& step : steps) y = step(y);
    return y;
  }
  template <typename Holder>
  void add_module(const std::string& name, Holder holder) {
    register_module(name, holder);
    auto module = holder.ptr();
    steps.push_back([module](const Tensor& y) { return module->call(y); });
  }
  void add_function(Step step) { steps.push_back(std::move(step)); }
  std::vector<Step> steps;
};

// An activation: appends itself to a ChainNet for `channels` channels.
struct Activation {
  std::string name;
  std::function<void(ChainNet&, int64_t channels, uint32_t seed)> add;
};

template <typename Holder>
Activation module_activation(const std::string& name, std::function<Holder()> make) {
  return {name, [make](ChainNet& net, int64_t, uint32_t) { net.add_module("act", make()); }};
}

Activation function_activation(const std::string& name, ChainNet::Step step) {
  return {name, [step](ChainNet& net, int64_t, uint32_t) { net.add_function(step); }};
}

// PReLU slopes are drawn at random (not PyTorch's 0.25 everywhere) so that slicing the wrong
// channels' slopes changes the output.
Activation prelu_module(int64_t per_channel) {
  return {per_channel ? "PReLU(channels)" : "PReLU(1)",
          [per_channel](ChainNet& net, int64_t channels, uint32_t seed) {
            const int64_t count = per_channel ? channels : 1;
            nn::PReLU prelu(count);
            prelu->set_weight(random_tensor({count}, seed + 11, -0.5f, 0.9f));
            net.add_module("act", prelu);
          }};
}

Activation prelu_function(int64_t per_channel) {
  return {per_channel ? "prelu(x, w[channels])" : "prelu(x, w[1])",
          [per_channel](ChainNet& net, int64_t channels, uint32_t seed) {
            const int64_t count = per_channel ? channels : 1;
            net.register_parameter("prelu_weight", random_tensor({count}, seed + 13, -0.5f, 0.9f));
            ChainNet* owner = &net;
            net.add_function([owner](const Tensor& y) {
              return pare::prelu(y, owner->get_parameter("prelu_weight"));
            });
          }};
}

const std::vector<Activation>& activations() {
  static const std::vector<Activation> all = {
      module_activation<nn::ReLU>("ReLU", [] { return nn::ReLU(); }),
      module_activation<nn::RReLU>("RReLU", [] { return nn::RReLU(); }),
      module_activation<nn::Hardtanh>("Hardtanh", [] { return nn::Hardtanh(); }),
      module_activation<nn::ReLU6>("ReLU6", [] { return nn::ReLU6(); }),
      module_activation<nn::Sigmoid>("Sigmoid", [] { return nn::Sigmoid(); }),
      module_activation<nn::Hardsigmoid>("Hardsigmoid", [] { return nn::Hardsigmoid(); }),
      module_activation<nn::Tanh>("Tanh", [] { return nn::Tanh(); }),
      module_activation<nn::SiLU>("SiLU", [] { return nn::SiLU(); }),
      module_activation<nn::Mish>("Mish", [] { return nn::Mish(); }),
      module_activation<nn::Hardswish>("Hardswish", [] { return nn::Hardswish(); }),
      module_activation<nn::ELU>("ELU", [] { return nn::ELU(); }),
      module_activation<nn::CELU>("CELU", [] { return nn::CELU(); }),
      module_activation<nn::SELU>("SELU", [] { return nn::SELU(); }),
      module_activation<nn::Hardshrink>("Hardshrink", [] { return nn::Hardshrink(); }),
      module_activation<nn::LeakyReLU>("LeakyReLU", [] { return nn::LeakyReLU(); }),
      module_activation<nn::LogSigmoid>("LogSigmoid", [] { return nn::LogSigmoid(); }),
      module_activation<nn::Softplus>("Softplus", [] { return nn::Softplus(); }),
      prelu_module(/*per_channel=*/1),
      prelu_module(/*per_channel=*/0),
      module_activation<nn::Softsign>("Softsign", [] { return nn::Softsign(); }),
      module_activation<nn::Tanhshrink>("Tanhshrink", [] { return nn::Tanhshrink(); }),
      module_activation<nn::GELU>("GELU", [] { return nn::GELU(); }),
      function_activation("relu", [](const Tensor& y) { return pare::relu(y); }),
      function_activation("rrelu(0.1, 0.4, training=false)",
                          [](const Tensor& y) { return pare::rrelu(y, 0.1, 0.4, false); }),
      function_activation("hardtanh(-0.5, 2)",
                          [](const Tensor& y) { return pare::hardtanh(y, -0.5, 2.0); }),
      function_activation("relu6", [](const Tensor& y) { return pare::relu6(y); }),
      function_activation("sigmoid", [](const Tensor& y) { return pare::sigmoid(y); }),
      function_activation("hardsigmoid", [](const Tensor& y) { return pare::hardsigmoid(y); }),
      function_activation("tanh", [](const Tensor& y) { return pare::tanh(y); }),
      function_activation("silu", [](const Tensor& y) { return pare::silu(y); }),
      function_activation("mish", [](const Tensor& y) { return pare::mish(y); }),
      function_activation("hardswish", [](const Tensor& y) { return pare::hardswish(y); }),
      function_activation("elu(0.7)", [](const Tensor& y) { return pare::elu(y, 0.7); }),
      function_activation("celu(1.3)", [](const Tensor& y) { return pare::celu(y, 1.3); }),
      function_activation("selu", [](const Tensor& y) { return pare::selu(y); }),
      function_activation("hardshrink(0.3)",
                          [](const Tensor& y) { return pare::hardshrink(y, 0.3); }),
      function_activation("leaky_relu(0.5)",
                          [](const Tensor& y) { return pare::leaky_relu(y, 0.5); }),
      function_activation("logsigmoid", [](const Tensor& y) { return pare::logsigmoid(y); }),
      function_activation("softplus(beta 2, threshold 5)",
                          [](const Tensor& y) { return pare::softplus(y, 2.0, 5.0); }),
      prelu_function(/*per_channel=*/1),
      prelu_function(/*per_channel=*/0),
      function_activation("softsign", [](const Tensor& y) { return pare::softsign(y); }),
      function_activation("tanhshrink", [](const Tensor& y) { return pare::tanhshrink(y); }),
      function_activation("gelu(tanh)", [](const Tensor& y) { return pare::gelu(y, "tanh"); }),
  };
  return all;
}

// One op between A and B in a family row; kAct is the activation slot.
struct Op {
  enum Kind { kAct, kPool, kAdaptivePool, kFlatten } kind;
  std::string name;
  std::function<void(ChainNet&)> add;  // unused for kAct
  // An average pool with padding that counts the padding: a constant does not stay constant.
  bool counts_padding = false;
  int64_t pooled = 0;  // kAdaptivePool: output size s (B sees s * s features per channel)
};

Op act_slot() { return {Op::kAct, "act", nullptr}; }

template <typename Holder>
Op module_op(Op::Kind kind, const std::string& name, std::function<Holder()> make) {
  const std::string slot = kind == Op::kFlatten ? "flatten" : "pool";
  return {kind, name, [make, slot](ChainNet& net) { net.add_module(slot, make()); }};
}

Op function_op(Op::Kind kind, const std::string& name, ChainNet::Step step) {
  return {kind, name, [step](ChainNet& net) { net.add_function(step); }};
}

// The pools between two convs: the four of the default table, plus padded ones (a max pool
// keeps a constant constant even with padding; an average pool does only without counting the
// padding, spec fix 9).
std::vector<Op> pools() {
  Op counting = module_op<nn::AvgPool2d>(Op::kPool, "AvgPool2d(3, stride 2, padding 1)", [] {
    return nn::AvgPool2d(nn::AvgPool2dOptions(3).stride(2).padding(1));
  });
  counting.counts_padding = true;
  return {
      module_op<nn::MaxPool2d>(Op::kPool, "MaxPool2d(2)", [] { return nn::MaxPool2d(2); }),
      module_op<nn::AvgPool2d>(Op::kPool, "AvgPool2d(2)", [] { return nn::AvgPool2d(2); }),
      function_op(Op::kPool, "max_pool2d(2)",
                  [](const Tensor& y) { return pare::max_pool2d(y, 2); }),
      function_op(Op::kPool, "avg_pool2d(2)",
                  [](const Tensor& y) { return pare::avg_pool2d(y, 2); }),
      counting,
      function_op(Op::kPool, "max_pool2d(3, 2, padding 1)",
                  [](const Tensor& y) { return pare::max_pool2d(y, 3, 2, 1); }),
      function_op(Op::kPool, "avg_pool2d(3, 2, padding 1, count_include_pad=false)",
                  [](const Tensor& y) { return pare::avg_pool2d(y, 3, 2, 1, false, false); }),
  };
}

// Adaptive pools (modules and functions) with output size s, each followed by a flatten that
// alternates between the Flatten module and flatten(x, 1), so every pool meets both forms across
// the two sizes.
std::vector<std::vector<Op>> adaptive_heads() {
  std::vector<std::vector<Op>> heads;
  for (int64_t s : {1, 2}) {
    std::vector<Op> adaptive = {
        module_op<nn::AdaptiveAvgPool2d>(Op::kAdaptivePool, "AdaptiveAvgPool2d",
                                         [s] { return nn::AdaptiveAvgPool2d(s); }),
        module_op<nn::AdaptiveMaxPool2d>(Op::kAdaptivePool, "AdaptiveMaxPool2d",
                                         [s] { return nn::AdaptiveMaxPool2d(s); }),
        function_op(Op::kAdaptivePool, "adaptive_avg_pool2d",
                    [s](const Tensor& y) { return pare::adaptive_avg_pool2d(y, s); }),
        function_op(Op::kAdaptivePool, "adaptive_max_pool2d",
                    [s](const Tensor& y) { return pare::adaptive_max_pool2d(y, s); }),
    };
    for (size_t i = 0; i < adaptive.size(); ++i) {
      adaptive[i].pooled = s;
      adaptive[i].name += pare::str_cat("(", s, ")");
      Op flatten =
          (s + static_cast<int64_t>(i)) % 2 == 1
              ? module_op<nn::Flatten>(Op::kFlatten, "Flatten", [] { return nn::Flatten(); })
              : function_op(Op::kFlatten, "flatten(1)",
                            [](const Tensor& y) { return pare::flatten(y, 1); });
      heads.push_back({adaptive[i], flatten});
    }
  }
  return heads;
}

// A family row: A (Linear or Conv2d), the ops, and the tail.
struct Family {
  enum Tail { kOutput, kLinear, kConv } tail;
  bool conv = false;  // A is a Conv2d (else a Linear)
  std::vector<Op> ops;
  int64_t tail_padding = 0;  // kConv: B's padding
  std::string name;
  std::string pattern;  // the default table's pattern that must match at A
  bool has_act() const {
    return std::any_of(ops.begin(), ops.end(), [](const Op& op) { return op.kind == Op::kAct; });
  }
};

std::string describe(bool conv, const std::vector<Op>& ops, Family::Tail tail, int64_t padding) {
  std::string text = conv ? "(Conv2d" : "(Linear";
  for (const Op& op : ops) text += ", " + op.name;
  if (tail == Family::kOutput) text += ", output)";
  if (tail == Family::kLinear) text += ", Linear)";
  if (tail == Family::kConv) text += pare::str_cat(", Conv2d(padding ", padding, "))");
  return text;
}

std::vector<Family> families() {
  std::vector<Family> rows;
  auto add = [&rows](const std::string& pattern, bool conv, std::vector<Op> ops, Family::Tail tail,
                     int64_t padding = 0) {
    rows.push_back({tail, conv, ops, padding, describe(conv, ops, tail, padding), pattern});
  };
  add("prune_linear", false, {}, Family::kOutput);
  add("prune_linear_linear", false, {}, Family::kLinear);
  add("prune_linear_activation_linear", false, {act_slot()}, Family::kLinear);
  add("prune_linear_activation", false, {act_slot()}, Family::kOutput);
  add("prune_conv2d", true, {}, Family::kOutput);
  add("prune_conv2d_activation", true, {act_slot()}, Family::kOutput);
  for (int64_t padding : {0, 1}) {
    add("prune_conv2d_conv2d", true, {}, Family::kConv, padding);
    add("prune_conv2d_activation_conv2d", true, {act_slot()}, Family::kConv, padding);
    for (const Op& pool : pools()) {
      add("prune_conv2d_activation_pool_conv2d", true, {act_slot(), pool}, Family::kConv, padding);
      add("prune_conv2d_pool_activation_conv2d", true, {pool, act_slot()}, Family::kConv, padding);
    }
  }
  for (const std::vector<Op>& head : adaptive_heads()) {
    add("prune_conv2d_pool_flatten_linear", true, head, Family::kLinear);
    add("prune_conv2d_activation_pool_flatten_linear", true, {act_slot(), head[0], head[1]},
        Family::kLinear);
  }
  return rows;
}

// The default table with every prune function wrapped to record, per masked module (the head
// node's target), the name of the pattern that converted it.
using MatchLog = std::map<std::string, std::string>;
pruning::PatternTable recording_table(MatchLog& log) {
  std::vector<pruning::Pattern> patterns = pruning::default_pattern_table().patterns();
  for (pruning::Pattern& pattern : patterns) {
    pattern.prune = [prune = pattern.prune, name = pattern.name,
                     &log](pruning::PatternMatch& match) {
      log[match.nodes[0]->target()] = name;
      prune(match);
    };
  }
  return pruning::PatternTable(std::move(patterns));
}

// The sizes of the matrix: small, so the whole matrix runs in seconds.
constexpr int64_t kInputs = 5;    // Linear A's in_features / Conv A's in_channels
constexpr int64_t kChannels = 9;  // A's rows: 3 pruned
constexpr int64_t kOutputs = 6;   // B's rows (2 pruned when B is masked too)
constexpr int64_t kBatch = 3;
constexpr int64_t kImage = 8;

// The variant of a seed: which layers have biases, whether B is masked too (with the other
// prune_bias, spec fix 3), and whether a Linear chain runs on a sequence [N, L, F] (spec fix 5).
struct Variant {
  bool a_bias;
  bool b_bias;
  bool mask_b;
  bool sequence_input;
};
constexpr Variant kVariants[] = {{true, true, false, false},
                                 {false, true, true, false},
                                 {true, true, true, true},
                                 {true, false, false, false}};

struct Outcome {
  int64_t cases = 0;
  int64_t removed = 0;  // cases where A shrank
  int64_t kept = 0;     // padded-consumer cases where A kept its shape
};

// `case_index` numbers the (family, activation) pairs; it and the seed index pick the seeds.
void run_case(const Family& family, const Activation* activation, bool prune_bias,
              uint32_t seed_index, uint32_t case_index, Outcome& outcome) {
  const Variant variant = kVariants[seed_index];
  const uint32_t seed = 100000u * seed_index + 10u * case_index + (prune_bias ? 1u : 0u);
  const std::string label =
      pare::str_cat(family.name, " act=", activation ? activation->name : "none",
                    " prune_bias=", prune_bias, " seed=", seed_index, " a_bias=", variant.a_bias,
                    " b_bias=", variant.b_bias, " mask_b=", variant.mask_b);
  CAPTURE(label);
  ++outcome.cases;
  pare::manual_seed(seed);

  auto net = std::make_shared<ChainNet>();
  const int64_t channels = kChannels;
  std::shared_ptr<nn::Module> a;
  if (family.conv) {
    a = nn::Conv2d(nn::Conv2dOptions(kInputs, channels, 3).padding(1).bias(variant.a_bias)).ptr();
    net->add_module("a", nn::Conv2d(std::static_pointer_cast<nn::Conv2dImpl>(a)));
  } else {
    a = nn::Linear(nn::LinearOptions(kInputs, channels).bias(variant.a_bias)).ptr();
    net->add_module("a", nn::Linear(std::static_pointer_cast<nn::LinearImpl>(a)));
  }
  size_t act_step = 0;
  bool pool_before_act = false;
  bool counts_padding = false;
  int64_t features_per_channel = 1;  // flatten after an adaptive pool of s: s * s
  for (const Op& op : family.ops) {
    if (op.kind == Op::kAct) {
      act_step = net->steps.size();
      activation->add(*net, channels, seed);
      continue;
    }
    if (op.kind == Op::kPool && act_step == 0) pool_before_act = true;
    counts_padding = counts_padding || op.counts_padding;
    if (op.kind == Op::kAdaptivePool) features_per_channel = op.pooled * op.pooled;
    op.add(*net);
  }
  std::shared_ptr<nn::Module> b;
  if (family.tail == Family::kLinear) {
    b = nn::Linear(
            nn::LinearOptions(channels * features_per_channel, kOutputs).bias(variant.b_bias))
            .ptr();
    net->add_module("b", nn::Linear(std::static_pointer_cast<nn::LinearImpl>(b)));
  } else if (family.tail == Family::kConv) {
    b = nn::Conv2d(nn::Conv2dOptions(channels, kOutputs, 3)
                       .padding(family.tail_padding)
                       .bias(variant.b_bias))
            .ptr();
    net->add_module("b", nn::Conv2d(std::static_pointer_cast<nn::Conv2dImpl>(b)));
  }
  // Biases of +-1 (not the default +-1/sqrt(fan_in)) so that without prune_bias the constants
  // reach the activations' interesting ranges (ReLU cuts some, Hardshrink keeps some).
  if (variant.a_bias) a->register_parameter("bias", random_tensor({channels}, seed + 1, -1, 1));
  if (b && variant.b_bias)
    b->register_parameter("bias", random_tensor({kOutputs}, seed + 2, -1, 1));
  net->eval();  // RReLU's slope is (lower + upper) / 2 in eval mode

  // A per-channel PReLU reads dim 1 as the channel (PyTorch's rule), so it needs [N, F].
  const bool per_channel_prelu =
      activation != nullptr && activation->name.find("channels") != std::string::npos;
  const bool sequence = !family.conv && variant.sequence_input && !per_channel_prelu;
  const Tensor x = family.conv ? random_tensor({kBatch, kInputs, kImage, kImage}, seed + 3, -2, 2)
                   : sequence  ? random_tensor({kBatch, 2, kInputs}, seed + 3, -2, 2)
                               : random_tensor({kBatch, kInputs}, seed + 3, -2, 2);
  const int64_t channel_dim = family.conv ? 1 : x.dim() - 1;
  const std::string input_shape = pare::str_cat(x.sizes());
  CAPTURE(input_shape);
  const std::vector<bool> a_mask = random_mask(channels, seed + 4);
  const Indices a_kept = kept_indices(a_mask);
  const bool mask_b = variant.mask_b && b != nullptr;
  const std::vector<bool> b_mask = random_mask(kOutputs, seed + 5);
  std::vector<json> config = {
      {{"tensor_fqn", "a.weight"}, {"mask", mask_json(a_mask)}, {"prune_bias", prune_bias}}};
  if (mask_b)
    config.push_back(
        {{"tensor_fqn", "b.weight"}, {"mask", mask_json(b_mask)}, {"prune_bias", !prune_bias}});

  const Tensor a_bias = variant.a_bias ? a->get_parameter("bias").clone() : Tensor();
  const int64_t parameters_before = parameter_count(*net);

  MatchLog log;
  FixedMaskPruner pruner;
  pruner.patterns = recording_table(log);
  pruner.prepare(net, config);
  const Tensor masked = net->forward(x);

  // The constant c_p of each pruned channel, and v_p = sigma(c_p): what B sees (spec).
  std::vector<float> constants(static_cast<size_t>(channels), 0.0f);
  if (!prune_bias && variant.a_bias) constants = pare::to_float_vector(a_bias);
  for (int64_t row : a_kept) constants[static_cast<size_t>(row)] = 0.0f;
  std::vector<float> sigma = constants;
  if (activation != nullptr) {
    const pare::Shape probe_shape =
        family.conv ? pare::Shape{1, channels, 1, 1} : pare::Shape{1, channels};
    sigma = pare::to_float_vector(net->steps[act_step](pare::tensor(constants, probe_shape)));
  }
  bool every_constant_zero = true;  // every v_p = 0: B sees 0 from every pruned channel
  bool pool_input_nonzero = false;  // what enters a padding-counting average pool is not 0
  for (size_t row = 0; row < a_mask.size(); ++row) {
    if (a_mask[row]) continue;
    every_constant_zero = every_constant_zero && sigma[row] == 0.0f;
    const float entering_pool = pool_before_act ? constants[row] : sigma[row];
    pool_input_nonzero = pool_input_nonzero || entering_pool != 0.0f;
  }
  // The padded-consumer rule: B sees the constant at every tap only without padding (B's, or an
  // average pool's that counts it); otherwise A keeps its shape unless every constant is 0.
  const bool uniform_at_b = !(counts_padding && pool_input_nonzero);
  const bool expect_removed =
      every_constant_zero ||
      (uniform_at_b && !(family.tail == Family::kConv && family.tail_padding));

  std::optional<pare::ir::GraphModule> pruned;
  try {
    pruned.emplace(pruner.prune({x}));
  } catch (const std::exception& error) {
    FAIL_CHECK("prune threw: " << error.what());
    return;
  }
  const Tensor graph_output = pruned->forward({x});
  const Tensor net_output = net->forward(x);
  CHECK(log["a"] == family.pattern);
  if (mask_b) CHECK(log["b"] == (family.tail == Family::kConv ? "prune_conv2d" : "prune_linear"));

  // Compare on the output channels that survive: A's kept ones when A is terminal, B's kept ones
  // when B is masked, all otherwise.
  Tensor expected = masked;
  if (family.tail == Family::kOutput && expect_removed)
    expected = select_channels(masked, channel_dim, a_kept);
  if (mask_b) expected = select_channels(masked, channel_dim, kept_indices(b_mask));
  const float tolerance = family.conv ? 1e-4f : 1e-5f;
  CHECK(max_abs_diff(graph_output, expected) <= tolerance);
  CHECK(max_abs_diff(net_output, expected) <= tolerance);
  CHECK(parameter_count(*net) <= parameters_before);
  CHECK(!pruning::carries_structured_sparsity(*a));
  if (b) CHECK(!pruning::carries_structured_sparsity(*b));

  const int64_t a_out = expect_removed ? static_cast<int64_t>(a_kept.size()) : channels;
  CHECK(a->get_parameter("weight").size(0) == a_out);
  if (auto* conv = dynamic_cast<nn::Conv2dImpl*>(a.get()))
    CHECK(conv->options().out_channels() == a_out);
  if (auto* linear = dynamic_cast<nn::LinearImpl*>(a.get()))
    CHECK(linear->options().out_features() == a_out);
  if (b != nullptr) {
    CHECK(b->get_parameter("weight").size(1) == a_out * features_per_channel);
    if (auto* conv = dynamic_cast<nn::Conv2dImpl*>(b.get()))
      CHECK(conv->options().in_channels() == a_out);
    if (auto* linear = dynamic_cast<nn::LinearImpl*>(b.get()))
      CHECK(linear->options().in_features() == a_out * features_per_channel);
  }
  for (const auto& [name, parameter] : net->named_parameters()) {
    if (name == "act.weight" || name == "prelu_weight") {
      CAPTURE(name);
      CHECK(parameter.numel() == (per_channel_prelu ? a_out : 1));
    }
  }
  if (expect_removed) {
    ++outcome.removed;
  } else {
    // Padded consumer: A keeps its rows; the pruned ones are zero and its bias holds c_p.
    ++outcome.kept;
    const Tensor weight = a->get_parameter("weight").reshape({channels, -1});
    const Tensor bias = variant.a_bias ? a->get_parameter("bias") : Tensor();
    for (size_t row = 0; row < a_mask.size(); ++row) {
      if (a_mask[row]) continue;
      const int64_t p = static_cast<int64_t>(row);
      CHECK(pare::max(pare::abs(weight.select(0, p))).item<float>() == 0.0f);
      if (bias.defined()) CHECK(bias.select(0, p).item<float>() == constants[row]);
    }
  }
}

TEST_CASE("prune equivalence: every Linear / Conv2d pattern x activation x prune_bias x mask") {
  use_one_thread();
  const std::vector<Family> rows = families();
  Outcome outcome;
  uint32_t case_index = 0;
  for (const Family& family : rows) {
    const bool with_act = family.has_act();
    const size_t activation_count = with_act ? activations().size() : 1;
    for (size_t index = 0; index < activation_count; ++index) {
      const Activation* activation = with_act ? &activations()[index] : nullptr;
      ++case_index;
      for (bool prune_bias : {true, false})
        for (uint32_t seed_index = 0; seed_index < std::size(kVariants); ++seed_index)
          run_case(family, activation, prune_bias, seed_index, case_index, outcome);
    }
  }
  MESSAGE("cases: " << outcome.cases << ", A removed: " << outcome.removed
                    << ", padded consumer kept A: " << outcome.kept);
  // Both sides of the padded-consumer rule were exercised.
  CHECK(outcome.removed > 0);
  CHECK(outcome.kept > 0);
}

// LSTM -> [LayerNorm ->] Linear. H hidden units, gates i, f, g, o in row blocks of H.
struct LstmNet : nn::Module {
  LstmNet(int64_t layers, bool bias, bool layer_norm, bool fc_bias) : nn::Module("LstmNet") {
    lstm = register_module(
        "lstm", nn::LSTM(nn::LSTMOptions(kInputs, kHidden).num_layers(layers).bias(bias)));
    if (layer_norm) norm = register_module("norm", nn::LayerNorm(pare::Shape{kHidden}));
    fc = register_module("fc", nn::Linear(nn::LinearOptions(kHidden, kOutputs).bias(fc_bias)));
  }
  Tensor forward(const Tensor& x) {
    Tensor y = std::get<0>(lstm(x));
    if (norm) y = norm(y);
    return fc(y);
  }
  static constexpr int64_t kHidden = 6;
  nn::LSTM lstm{nullptr};
  nn::LayerNorm norm{nullptr};
  nn::Linear fc{nullptr};
};

// Masks of one LSTM layer: about a third of the 4H rows of weight_ih and of weight_hh pruned, and
// exactly `pruned_units` units of weight_hh's output gate (every layer keeps the same number).
struct LstmLayerMasks {
  std::vector<bool> ih;
  std::vector<bool> hh;
  Indices kept_units;  // output-gate rows of weight_hh kept
};

LstmLayerMasks random_lstm_masks(int64_t hidden, int64_t pruned_units, uint32_t seed) {
  LstmLayerMasks masks;
  masks.ih = random_mask(4 * hidden, seed);
  masks.hh = random_mask(4 * hidden, seed + 1);
  std::vector<int64_t> units(static_cast<size_t>(hidden));
  std::iota(units.begin(), units.end(), 0);
  std::mt19937 generator(seed + 2);
  std::shuffle(units.begin(), units.end(), generator);
  for (int64_t unit = 0; unit < hidden; ++unit) masks.hh[3 * hidden + unit] = true;
  for (int64_t i = 0; i < pruned_units; ++i) masks.hh[3 * hidden + units[i]] = false;
  for (int64_t unit = 0; unit < hidden; ++unit)
    if (masks.hh[3 * hidden + unit]) masks.kept_units.push_back(unit);
  return masks;
}

TEST_CASE("prune equivalence: LSTM -> [LayerNorm ->] Linear, 1 and 2 layers, random masks") {
  use_one_thread();
  constexpr int64_t kHidden = LstmNet::kHidden;
  constexpr int64_t kSteps = 5;
  int64_t cases = 0;
  for (int64_t layers : {1, 2})
    for (bool lstm_bias : {true, false})
      for (bool layer_norm : {false, true})
        for (bool prune_bias : {true, false})
          for (uint32_t seed_index = 0; seed_index < 4; ++seed_index) {
            const bool fc_bias = seed_index % 2 == 0;
            const uint32_t seed = 7000u + 100u * seed_index + 10u * static_cast<uint32_t>(layers) +
                                  (lstm_bias ? 4u : 0u) + (layer_norm ? 2u : 0u) +
                                  (prune_bias ? 1u : 0u);
            const std::string label = pare::str_cat(
                layer_norm ? "(LSTM, getitem, LayerNorm, Linear)" : "(LSTM, getitem, Linear)",
                " layers=", layers, " lstm_bias=", lstm_bias, " fc_bias=", fc_bias,
                " prune_bias=", prune_bias, " seed=", seed_index);
            CAPTURE(label);
            ++cases;
            pare::manual_seed(seed);
            auto net = std::make_shared<LstmNet>(layers, lstm_bias, layer_norm, fc_bias);
            if (layer_norm) {  // not the identity, so slicing the wrong units shows in the shapes
              net->norm->register_parameter("weight", random_tensor({kHidden}, seed + 1, 0.5, 1.5));
              net->norm->register_parameter("bias", random_tensor({kHidden}, seed + 2, -1, 1));
            }
            std::vector<json> config;
            std::vector<LstmLayerMasks> masks;
            for (int64_t layer = 0; layer < layers; ++layer) {
              masks.push_back(random_lstm_masks(kHidden, 2, seed + 10 * (layer + 1)));
              LstmLayerMasks& layer_masks = masks.back();
              if (layer + 1 < layers) {
                // A lower layer's pruned units feed the next layer in the masked model; the
                // pruned model drops them. They emit 0 at step 0 from a zero state exactly when
                // their cell input g is 0: mask their g rows and zero their g biases.
                for (int64_t unit = 0; unit < kHidden; ++unit) {
                  if (layer_masks.hh[3 * kHidden + unit]) continue;
                  layer_masks.ih[2 * kHidden + unit] = false;
                  for (const std::string kind : {"ih", "hh"}) {
                    const std::string name = pare::str_cat("bias_", kind, "_l", layer);
                    if (!lstm_bias) continue;
                    std::vector<float> bias = pare::to_float_vector(net->lstm->get_parameter(name));
                    bias[2 * kHidden + unit] = 0.0f;
                    net->lstm->register_parameter(name, pare::tensor(bias, {4 * kHidden}));
                  }
                }
              }
              for (const std::string kind : {"ih", "hh"})
                config.push_back(
                    {{"tensor_fqn", pare::str_cat("lstm.weight_", kind, "_l", layer)},
                     {"mask", mask_json(kind == "ih" ? layer_masks.ih : layer_masks.hh)},
                     {"prune_bias", prune_bias}});
            }
            net->eval();
            const Indices& kept = masks.back().kept_units;
            const int64_t parameters_before = parameter_count(*net);
            const Tensor x = random_tensor({kSteps, kBatch, kInputs}, seed + 3, -2, 2);

            MatchLog log;
            FixedMaskPruner pruner;
            pruner.patterns = recording_table(log);
            pruner.prepare(net, config);
            net->forward(x);  // the masked model after one forward
            const Tensor masked_sequence = std::get<0>(net->lstm(x));

            std::optional<pare::ir::GraphModule> pruned;
            try {
              pruned.emplace(pruner.prune({x}));
            } catch (const std::exception& error) {
              FAIL_CHECK("prune threw: " << error.what());
              continue;
            }
            CHECK(log["lstm"] ==
                  (layer_norm ? "prune_lstm_output_layernorm_linear" : "prune_lstm_output_linear"));
            const Tensor pruned_sequence = std::get<0>(net->lstm(x));
            // Step 0 from a zero state: the kept units agree exactly.
            CHECK(max_abs_diff(pruned_sequence.select(0, 0),
                               select_channels(masked_sequence.select(0, 0), 1, kept)) <= 1e-5f);
            // Shapes over the whole sequence, and the graph agrees with the user's class.
            const int64_t kept_count = static_cast<int64_t>(kept.size());
            CHECK(pruned_sequence.sizes() == pare::Shape{kSteps, kBatch, kept_count});
            const Tensor graph_output = pruned->forward({x});
            CHECK(graph_output.sizes() == pare::Shape{kSteps, kBatch, kOutputs});
            CHECK(max_abs_diff(graph_output, net->forward(x)) <= 1e-6f);
            CHECK(net->lstm->options().hidden_size() == kept_count);
            for (int64_t layer = 0; layer < layers; ++layer) {
              const int64_t in = layer == 0 ? kInputs : kept_count;
              CHECK(net->lstm->get_parameter(pare::str_cat("weight_ih_l", layer)).sizes() ==
                    pare::Shape{4 * kept_count, in});
              CHECK(net->lstm->get_parameter(pare::str_cat("weight_hh_l", layer)).sizes() ==
                    pare::Shape{4 * kept_count, kept_count});
            }
            if (layer_norm) {
              CHECK(net->norm->options().normalized_shape() == pare::Shape{kept_count});
              CHECK(net->norm->weight().sizes() == pare::Shape{kept_count});
            }
            CHECK(net->fc->options().in_features() == kept_count);
            CHECK(!pruning::carries_structured_sparsity(*net->lstm));
            CHECK(parameter_count(*net) <= parameters_before);
          }
  MESSAGE("LSTM cases: " << cases);
}

}  // namespace

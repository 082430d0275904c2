// `pare run MODEL.pare [--input IN.safetensors] [--output OUT.safetensors] [--threads N]`:
// runs a saved model with no model class, on the tensors of a file or on seeded random inputs.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "check_inputs.h"
#include "command.h"
#include "file_identity.h"
#include "pare/autograd.h"
#include "pare/creation.h"
#include "pare/inference/inference_session.h"
#include "pare/ir/pare_file.h"
#include "pare/random.h"
#include "pare/safetensors.h"

namespace pare::cli {

namespace {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

struct GraphInput {
  std::string name;
  std::optional<ir::TensorMeta> recorded;  // the traced example's shape and dtype
};

std::vector<GraphInput> graph_inputs(const ir::GraphModule& model) {
  std::vector<GraphInput> inputs;
  for (const ir::Node* placeholder : model.graph().placeholders()) {
    GraphInput input{placeholder->name(), std::nullopt};
    if (placeholder->meta.size() == 1) input.recorded = placeholder->meta[0];
    inputs.push_back(std::move(input));
  }
  return inputs;
}

void check_input_tensor(const GraphInput& input, const Tensor& tensor) {
  if (!input.recorded) return;
  const ir::TensorMeta& expected = *input.recorded;
  PARE_CHECK(tensor.dtype() == expected.dtype, "tensor '", input.name, "' is ",
             dtype_name(tensor.dtype()), " but the model's input '", input.name, "' is ",
             dtype_name(expected.dtype));
  const Shape& shape = tensor.sizes();
  bool matches = shape.size() == expected.shape.size() && !shape.empty();
  for (size_t dim = 1; matches && dim < shape.size(); ++dim)
    matches = shape[dim] == expected.shape[dim];
  PARE_CHECK(matches, "tensor '", input.name, "' has shape ", shape, " but the model expects ",
             expected.shape.empty() ? std::string("[]") : shape_with_free_batch(expected.shape),
             " (any batch size N)");
  PARE_CHECK(shape[0] >= 1, "tensor '", input.name, "' has shape ", shape, ": the batch is empty");
}

std::vector<Tensor> read_inputs(const std::string& path, const std::vector<GraphInput>& inputs) {
  check_not_directory(path);
  SafetensorsFile file = read_safetensors(path);
  std::vector<std::string> expected, missing, unexpected;
  for (const GraphInput& input : inputs) {
    expected.push_back(input.name);
    if (!file.contains(input.name)) missing.push_back(input.name);
  }
  const std::set<std::string> known(expected.begin(), expected.end());
  for (const auto& [name, tensor] : file.tensors)
    if (!known.count(name)) unexpected.push_back(name);
  if (!missing.empty() || !unexpected.empty()) {
    std::string problem = str_cat("expected one tensor per graph input ", expected);
    if (!missing.empty()) problem += str_cat("; missing ", missing);
    if (!unexpected.empty()) problem += str_cat("; unexpected ", unexpected);
    throw Error(problem);
  }
  std::vector<Tensor> tensors;
  for (const GraphInput& input : inputs) {
    Tensor tensor = file.get(input.name);
    check_input_tensor(input, tensor);
    tensors.push_back(tensor);
  }
  return tensors;
}

std::vector<Tensor> random_inputs(const std::vector<GraphInput>& inputs, uint64_t seed) {
  Generator generator(seed);
  std::vector<Tensor> tensors;
  for (const GraphInput& input : inputs) {
    PARE_CHECK(input.recorded, "input '", input.name,
               "' has no recorded shape; pass its tensor with --input");
    const ir::TensorMeta& meta = *input.recorded;
    tensors.push_back(meta.dtype == kFloat32 ? randn(meta.shape, generator)
                                             : zeros(meta.shape, meta.dtype));
  }
  return tensors;
}

// "output", or "output.0", "output.1.0", ... when the graph returns a tuple.
NamedTensors named_outputs(const ir::Value& result) {
  NamedTensors named;
  for (auto& [path, tensor] : result.flatten())
    named.emplace_back(path.empty() ? "output" : "output." + path, tensor);
  return named;
}

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.6g", value);
  return text;
}

struct Summary {
  double mean = NAN, std = NAN, min = NAN, max = NAN;
};

// Sample standard deviation (n - 1), as torch.std reports it.
Summary summarise(const Tensor& tensor) {
  const std::vector<float> values = to_float_vector(tensor);
  Summary summary;
  if (values.empty()) return summary;
  double sum = 0.0;
  summary.min = std::numeric_limits<double>::infinity();
  summary.max = -summary.min;
  for (float value : values) {
    sum += value;
    summary.min = std::min<double>(summary.min, value);
    summary.max = std::max<double>(summary.max, value);
  }
  summary.mean = sum / values.size();
  double squares = 0.0;
  for (float value : values) squares += (value - summary.mean) * (value - summary.mean);
  summary.std = values.size() > 1 ? std::sqrt(squares / (values.size() - 1)) : 0.0;
  return summary;
}

void print_summary(const NamedTensors& outputs, std::ostream& stream) {
  Table rows = {{"output", "shape", "mean", "std", "min", "max"}};
  for (const auto& [name, tensor] : outputs) {
    const Summary summary = summarise(tensor);
    rows.push_back({name, to_string(tensor.sizes()), number(summary.mean), number(summary.std),
                    number(summary.min), number(summary.max)});
  }
  print_table(rows, {2, 3, 4, 5}, "", stream);
}

int run(const ParsedArgs& args) {
  const std::string model_path = args.positionals()[0];
  const std::optional<std::string> input_path = args.get("input");
  const std::optional<std::string> output_path = args.get("output");
  const std::optional<int64_t> threads = args.get_int("threads");
  const int64_t seed = args.get_int("seed").value_or(0);
  if (threads && (*threads < 1 || *threads > 4096))
    throw UsageError("--threads expects a positive integer, got " + std::to_string(*threads));

  if (output_path) {
    // Writing the outputs over the model or the inputs would destroy them.
    PARE_CHECK(!same_file(*output_path, model_path), *output_path,
               ": is the model file; choose another --output");
    PARE_CHECK(!input_path || !same_file(*output_path, *input_path), *output_path,
               ": is the --input file; choose another --output");
  }

  Progress progress;
  progress.show("loading " + model_path);
  ir::GraphModule model = about_file(model_path, [&] {
    check_not_directory(model_path);
    return ir::load(model_path);
  });
  model.eval();
  if (args.flag("no-optimize")) {
    inference::disable(model);
  } else {
    inference::enable(model);
  }
  const std::vector<GraphInput> inputs_wanted = graph_inputs(model);
  std::vector<Tensor> inputs;
  if (input_path) {
    progress.show("reading " + *input_path);
    inputs = about_file(*input_path, [&] { return read_inputs(*input_path, inputs_wanted); });
  } else {
    inputs = about_file(model_path, [&] { return random_inputs(inputs_wanted, seed); });
  }

  if (threads) omp_set_num_threads(static_cast<int>(*threads));
  progress.show("running " + model_path);
  const NamedTensors outputs = about_file(model_path, [&] {
    NoGradGuard no_grad;
    return named_outputs(model.forward(inputs));
  });

  if (output_path) {
    progress.show("writing " + *output_path);
    about_file(*output_path, [&] { write_safetensors(*output_path, outputs); });
  }
  progress.show("");
  if (!input_path) {
    std::cout << "random inputs (seed " << seed << "):";
    for (size_t index = 0; index < inputs.size(); ++index)
      std::cout << (index ? ", " : " ") << inputs_wanted[index].name << " "
                << to_string(inputs[index].sizes());
    std::cout << "\n";
  }
  if (!input_path || !output_path) print_summary(outputs, std::cout);
  return 0;
}

}  // namespace

Subcommand run_command() {
  ArgParser parser("pare run",
                   "Runs a model on inputs from a safetensors file or on random inputs.");
  parser.positional("MODEL.pare", "the model to run")
      .option("input", "IN.safetensors",
              "one tensor per graph input, named as the input (any batch size); without it, "
              "seeded random inputs of the recorded shapes")
      .option("output", "OUT.safetensors",
              "writes the result as 'output', or 'output.0', 'output.1', ... for several "
              "outputs ('output.1.0' when nested)")
      .option("threads", "N", "OpenMP threads for the kernels (default: OpenMP's)")
      .option("seed", "N", "seed of the random inputs (default 0)")
      .flag("no-optimize", "run the plain interpreter, not the compiled inference path")
      .epilog(
          "Without --output, or with random inputs, prints each output's shape, mean, std, min "
          "and max.");
  return {"run", std::move(parser), run};
}

}  // namespace pare::cli

// Seeded check inputs for `pare prune`.
#include "check_inputs.h"

#include "pare/creation.h"
#include "pare/random.h"

namespace pare::cli {

std::vector<Tensor> check_inputs(const ir::GraphModule& model, std::string& described) {
  Generator generator(kCheckSeed);
  std::vector<Tensor> inputs;
  for (const ir::Node* placeholder : model.graph().placeholders()) {
    PARE_CHECK(placeholder->meta.size() == 1, "input '", placeholder->name(),
               "' has no recorded shape to build the check's input from");
    const ir::TensorMeta& meta = placeholder->meta[0];
    inputs.push_back(meta.dtype == kFloat32 ? randn(meta.shape, generator)
                                            : zeros(meta.shape, meta.dtype));
    described +=
        (described.empty() ? "" : ", ") + placeholder->name() + " " + to_string(meta.shape);
  }
  return inputs;
}

std::string shape_with_free_batch(const Shape& shape) {
  std::string text = "[";
  for (size_t dim = 0; dim < shape.size(); ++dim)
    text += (dim ? ", " : "") + (dim == 0 ? std::string("N") : std::to_string(shape[dim]));
  return text + "]";
}

}  // namespace pare::cli

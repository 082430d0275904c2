// The MAC counts of matmul, mm and bmm (their op definitions' `macs`) against a brute-force
// count: the multiply-adds a naive product performs on the actual shapes. The naive product's
// values are checked against pare's own, so the loop that is counted is a real product under
// torch.matmul's rules (1-d operands promoted, batch dims broadcast), not a restated formula.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "pare/ir/graph.h"
#include "pare/ir/op_definition.h"
#include "pare/pare.h"
#include "test_util.h"

using pare::Shape;
using pare::Tensor;

namespace {

struct NaiveProduct {
  Tensor value;
  int64_t multiply_adds = 0;
};

// The row-major offset of a batch index in an operand whose batch dims are `dims`, right-aligned
// against the broadcast batch; a dim of size 1 repeats its one matrix.
int64_t batch_offset(const Shape& index, const Shape& dims, int64_t matrix_size) {
  int64_t offset = 0;
  const size_t lead = index.size() - dims.size();
  for (size_t d = 0; d < dims.size(); ++d)
    offset = offset * dims[d] + (dims[d] == 1 ? 0 : index[lead + d]);
  return offset * matrix_size;
}

// torch.matmul by loops over every batch index, row, column and inner step.
NaiveProduct naive_matmul(const Tensor& a, const Tensor& b) {
  const Shape left = a.dim() == 1 ? Shape{1, a.size(0)} : a.sizes();
  const Shape right = b.dim() == 1 ? Shape{b.size(0), 1} : b.sizes();
  const int64_t m = left[left.size() - 2], k = left.back(), n = right.back();
  REQUIRE(right[right.size() - 2] == k);
  const Shape left_batch(left.begin(), left.end() - 2);
  const Shape right_batch(right.begin(), right.end() - 2);
  const Shape batch = pare::broadcast_shapes(left_batch, right_batch, "naive_matmul");
  const std::vector<float> x = pare::testing::values(a);
  const std::vector<float> y = pare::testing::values(b);
  NaiveProduct product;
  std::vector<float> out;
  Shape index(batch.size(), 0);
  for (int64_t item = 0; item < pare::shape_numel(batch); ++item) {
    const int64_t x_base = batch_offset(index, left_batch, m * k);
    const int64_t y_base = batch_offset(index, right_batch, k * n);
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double sum = 0.0;
        for (int64_t p = 0; p < k; ++p) {
          sum += static_cast<double>(x[x_base + i * k + p]) * y[y_base + p * n + j];
          ++product.multiply_adds;
        }
        out.push_back(static_cast<float>(sum));
      }
    }
    for (size_t d = batch.size(); d-- > 0;) {
      if (++index[d] < batch[d]) break;
      index[d] = 0;
    }
  }
  Shape shape = batch;
  if (a.dim() > 1) shape.push_back(m);
  if (b.dim() > 1) shape.push_back(n);
  // Built 1-d and reshaped, as tensor() reads an empty shape as "the vector's length".
  product.value = pare::tensor(out, {static_cast<int64_t>(out.size())}).reshape(shape);
  return product;
}

Tensor pare_product(const std::string& op, const Tensor& a, const Tensor& b) {
  if (op == "mm") return pare::mm(a, b);
  if (op == "bmm") return pare::bmm(a, b);
  return pare::matmul(a, b);
}

// The definition's MAC count for one call_function node on operands of these shapes.
int64_t definition_macs(const std::string& op, const Shape& a, const Shape& b, Shape& output) {
  pare::ir::Graph graph;
  pare::ir::Node* node = graph.call_function(op, {graph.placeholder("a"), graph.placeholder("b")});
  const pare::ir::OpDefinition& definition = pare::ir::op_definition(op);
  REQUIRE(static_cast<bool>(definition.macs));
  const std::vector<pare::ir::Symbol> args = {pare::ir::Symbol::of(a), pare::ir::Symbol::of(b)};
  const pare::ir::OpCall call(definition, *node, &args);
  const pare::ir::Symbol result = definition.infer(call);
  output = result.meta.shape;
  return definition.macs(call, result);
}

struct MacCase {
  std::string op;
  Shape a;
  Shape b;
};

}  // namespace

TEST_CASE("matmul, mm and bmm count the multiply-adds of the product they compute") {
  const std::vector<MacCase> cases = {
      {"matmul", {3, 4}, {4, 5}},
      {"matmul", {4}, {4}},                 // a dot product
      {"matmul", {4}, {4, 5}},              // a row vector times a matrix
      {"matmul", {3, 4}, {4}},              // a matrix times a column vector
      {"matmul", {2, 3, 4}, {4, 5}},        // a batch times one matrix
      {"matmul", {4}, {2, 4, 5}},           // a vector times a batch
      {"matmul", {2, 3, 4}, {4}},           // a batch times a vector
      {"matmul", {2, 1, 3, 4}, {5, 4, 2}},  // batches broadcast to [2, 5]
      {"matmul", {1, 3, 4}, {6, 4, 2}},
      {"matmul", {2, 3, 0}, {0, 5}},  // an empty inner dim: no multiply-adds
      {"mm", {3, 4}, {4, 5}},
      {"mm", {1, 7}, {7, 1}},
      {"bmm", {2, 3, 4}, {2, 4, 5}},
      {"bmm", {5, 1, 6}, {5, 6, 2}},
  };
  uint32_t seed = 1;
  for (const MacCase& test : cases) {
    CAPTURE(pare::str_cat(test.op, " ", test.a, " ", test.b));
    const Tensor a = pare::testing::random_tensor(test.a, seed++);
    const Tensor b = pare::testing::random_tensor(test.b, seed++);
    const NaiveProduct naive = naive_matmul(a, b);
    const Tensor expected = pare_product(test.op, a, b);
    REQUIRE(naive.value.sizes() == expected.sizes());
    CHECK(pare::testing::max_abs_diff(naive.value, expected) <= 1e-5);
    Shape output;
    CHECK(definition_macs(test.op, test.a, test.b, output) == naive.multiply_adds);
    CHECK(output == expected.sizes());
  }
}

TEST_CASE("the MAC count refuses a product whose count overflows int64") {
  Shape output;
  const int64_t big = int64_t{1} << 21;
  CHECK(pare::testing::contains(pare::testing::error_of([&] {
                                  definition_macs("mm", {big, big}, {big, big}, output);
                                }),
                                "mm: MACs of shapes"));
}

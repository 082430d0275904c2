// The shapes of cat, stack, split and chunk from shapes alone. The engine's ops (indexing.h) and
// the IR's shape rules (ir/ops/joining.cpp) both take them from here, so their checks, messages
// and sizes are one rule.
//
//   const pare::DType f32 = pare::kFloat32;
//   const pare::CatGeometry cat = pare::cat_geometry({{2, 3}, {0}, {4, 3}}, {f32, f32, f32}, 0);
//   // cat.shape: [6, 3]; cat.parts: {0, 2} (the 1-d empty tensor is skipped, as in PyTorch)
//   pare::split_geometry({7, 2}, 3, 0).lengths;   // {3, 3, 1}
#pragma once

#include <vector>

#include "pare/dtype.h"
#include "pare/tensor.h"

namespace pare {

struct CatGeometry {
  Shape shape;  // the result's
  DType dtype = kFloat32;
  int64_t dim = 0;  // wrapped
  // The inputs that contribute, in order: 1-d empty inputs are skipped whatever the other ranks
  // are (PyTorch's legacy rule), unless every input is one.
  std::vector<size_t> parts;
};

// `shapes` and `dtypes` are the inputs', one each; checks a non-empty list, equal dtypes and
// sizes that match except in `dim`.
CatGeometry cat_geometry(const std::vector<Shape>& shapes, const std::vector<DType>& dtypes,
                         int64_t dim);

// Checks that stack's inputs have one shape; returns the new dim, wrapped.
int64_t stack_dim(const std::vector<Shape>& shapes, int64_t dim);

struct SplitGeometry {
  int64_t dim = 0;               // wrapped
  std::vector<int64_t> lengths;  // the pieces' sizes along dim; one empty piece for an empty dim
};

// split(x, split_size, dim): pieces of split_size, the last one shorter.
SplitGeometry split_geometry(const Shape& shape, int64_t split_size, int64_t dim);

// chunk(x, chunks, dim) as a split: PyTorch's pieces of ceil(length / chunks), so fewer than
// `chunks` may come back.
SplitGeometry chunk_geometry(const Shape& shape, int64_t chunks, int64_t dim);

}  // namespace pare

// flatten and reshape as functional ops: Tensor's views, reported to the tracer under
// torch's names so that a traced graph keeps them as call_function nodes.
#include "pare/functional.h"
#include "pare/observer.h"

namespace pare {

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  OpScope scope;
  PARE_CHECK(x.defined(), "flatten: the input is undefined");
  Tensor result = x.flatten(start_dim, end_dim);
  if (scope.should_report()) {
    notify_function("flatten", {x}, {{"start_dim", start_dim}, {"end_dim", end_dim}}, {result});
  }
  return result;
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  OpScope scope;
  PARE_CHECK(x.defined(), "reshape: the input is undefined");
  Tensor result = x.reshape(shape);
  if (scope.should_report()) notify_function("reshape", {x}, {{"shape", shape}}, {result});
  return result;
}

}  // namespace pare

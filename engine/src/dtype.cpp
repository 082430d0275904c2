#include "pare/dtype.h"

#include "pare/error.h"

namespace pare {

size_t element_size(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return 4;
    case DType::i64:
      return 8;
    case DType::u8:
    case DType::boolean:
      return 1;
  }
  throw Error("element_size: unknown dtype");
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return "float32";
    case DType::i64:
      return "int64";
    case DType::u8:
      return "uint8";
    case DType::boolean:
      return "bool";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& stream, DType dtype) { return stream << dtype_name(dtype); }

std::ostream& operator<<(std::ostream& stream, const Device& device) {
  if (device.is_cpu()) return stream << "cpu";
  return stream << "cuda:" << device.index;
}

}  // namespace pare

// Formatting of layer arguments the way Python prints them, so that printing a pare model gives
// the same text as printing the PyTorch one (1e-05, 1.0, (3, 3), (16,), True, 'none').
#pragma once

#include <string>
#include <vector>

#include "pare/functional.h"
#include "pare/observer.h"

namespace pare::nn::detail {

// Python's repr(float): shortest round-trip digits, scientific below 1e-4 and from 1e16 on.
std::string python_repr(double value);
std::string python_repr(bool value);
std::string python_repr(int64_t value);
std::string python_repr(const std::string& value);
// A Python tuple: "(3, 3)", "(16,)".
std::string python_repr(const std::vector<int64_t>& values);
// An int when both halves agree (how `kernel_size=2` prints), otherwise a tuple.
std::string python_repr(const IntPair& pair);
std::string python_repr(const AttrValue& value);

// "name=value, name=value" in Python formatting.
std::string keyword_repr(const Attrs& attrs);

}  // namespace pare::nn::detail

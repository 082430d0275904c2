// Python-style formatting of layer arguments for printing.
#include "python_repr.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string_view>

namespace pare::nn::detail {

std::string python_repr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  if (value == 0.0) return std::signbit(value) ? "-0.0" : "0.0";
  // Shortest round-trip digits as d.ddde±x, then laid out by Python's repr rules.
  char buffer[64];
  auto [end, error] =
      std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::scientific);
  std::string_view text(buffer, end - buffer);
  const bool negative = text.front() == '-';
  if (negative) text.remove_prefix(1);
  const size_t exponent_at = text.find('e');
  std::string digits;
  for (char c : text.substr(0, exponent_at))
    if (c != '.') digits += c;
  const int exponent = std::atoi(std::string(text.substr(exponent_at + 1)).c_str());

  std::string result = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    result.append(digits, 0, 1);
    if (digits.size() > 1) result.append(".").append(digits, 1);
    const int magnitude = std::abs(exponent);
    result.append(exponent < 0 ? "e-" : "e+");
    if (magnitude < 10) result.append("0");
    result.append(std::to_string(magnitude));
  } else if (exponent < 0) {
    result.append("0.").append(static_cast<size_t>(-exponent - 1), '0').append(digits);
  } else {
    const size_t integer_digits = static_cast<size_t>(exponent) + 1;
    if (digits.size() <= integer_digits) {
      result.append(digits).append(integer_digits - digits.size(), '0').append(".0");
    } else {
      result.append(digits, 0, integer_digits).append(".").append(digits, integer_digits);
    }
  }
  return result;
}

std::string python_repr(bool value) { return value ? "True" : "False"; }

std::string python_repr(int64_t value) { return std::to_string(value); }

std::string python_repr(const std::string& value) { return "'" + value + "'"; }

std::string python_repr(const std::vector<int64_t>& values) {
  std::string result = "(";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) result += ", ";
    result += std::to_string(values[i]);
  }
  if (values.size() == 1) result += ",";
  return result + ")";
}

std::string python_repr(const IntPair& pair) {
  if (pair.first == pair.second) return std::to_string(pair.first);
  return python_repr(pair.vec());
}

std::string python_repr(const AttrValue& value) {
  return std::visit([](const auto& v) { return python_repr(v); }, value);
}

std::string keyword_repr(const Attrs& attrs) {
  std::string result;
  for (const auto& [name, value] : attrs) {
    if (!result.empty()) result += ", ";
    result += name + "=" + python_repr(value);
  }
  return result;
}

}  // namespace pare::nn::detail

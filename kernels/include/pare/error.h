// pare::Error and PARE_CHECK: every failure pare reports is a pare::Error whose message names the
// op or module and the shapes involved.
//
//   PARE_CHECK(a.dim() == 2, "matmul: expected a 2-d tensor, got shape ", a.sizes());
//   try { ... } catch (const pare::Error& e) { std::cerr << e.what() << "\n"; }
#pragma once

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace pare {

// Thrown for every user-facing failure: bad shapes or dtypes, bad files, bad configs.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

namespace detail {

inline void append_to_stream(std::ostringstream&) {}

template <typename T>
void append_one(std::ostringstream& stream, const T& value) {
  stream << value;
}

// Shapes print as [2, 3, 4] so that messages read like PyTorch's.
template <typename T>
void append_one(std::ostringstream& stream, const std::vector<T>& values) {
  stream << '[';
  for (size_t i = 0; i < values.size(); ++i) stream << (i ? ", " : "") << values[i];
  stream << ']';
}

template <typename First, typename... Rest>
void append_to_stream(std::ostringstream& stream, const First& first, const Rest&... rest) {
  append_one(stream, first);
  append_to_stream(stream, rest...);
}

}  // namespace detail

// Concatenates its arguments (vectors print as [a, b, c]) into one string.
template <typename... Parts>
std::string str_cat(const Parts&... parts) {
  std::ostringstream stream;
  detail::append_to_stream(stream, parts...);
  return stream.str();
}

}  // namespace pare

// Throws pare::Error with the concatenated message when `condition` is false.
#define PARE_CHECK(condition, ...)                       \
  do {                                                   \
    if (!(condition)) {                                  \
      throw ::pare::Error(::pare::str_cat(__VA_ARGS__)); \
    }                                                    \
  } while (false)

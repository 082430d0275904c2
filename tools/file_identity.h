// Whether two paths name one file (after links and `..`), so a command can refuse to write its
// output over its own input: `pare run m.pare --output m.pare` would destroy the model it reads.
//
//   PARE_CHECK(!pare::cli::same_file(output, model), output, ": is the model itself");
#pragma once

#include <filesystem>
#include <string>
#include <system_error>

namespace pare::cli {

// False when either path does not exist (yet).
inline bool same_file(const std::string& a, const std::string& b) {
  std::error_code ignored;
  return std::filesystem::equivalent(a, b, ignored);
}

}  // namespace pare::cli

// The helpers every subcommand shares (command.h).
#include "command.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace pare::cli {

std::string prefix_with_file(const std::string& path, const std::string& message) {
  if (message.rfind(path + ":", 0) == 0) return message;
  return path + ": " + message;
}

void check_not_directory(const std::string& path) {
  std::error_code ignored;
  PARE_CHECK(!std::filesystem::is_directory(path, ignored), path, ": is a directory");
}

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

void print_table(const Table& rows, const std::vector<size_t>& right_aligned,
                 const std::string& indent, std::ostream& stream) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t column = 0; column < row.size(); ++column)
      widths[column] = std::max(widths[column], row[column].size());
  }
  for (const auto& row : rows) {
    std::string line = indent;
    for (size_t column = 0; column < row.size(); ++column) {
      const std::string padding(widths[column] - row[column].size(), ' ');
      const bool right =
          std::find(right_aligned.begin(), right_aligned.end(), column) != right_aligned.end();
      line += right ? padding + row[column] : row[column] + padding;
      if (column + 1 < row.size()) line += "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    stream << line << "\n";
  }
}

Progress::Progress() : enabled_(isatty(STDERR_FILENO) == 1) {}

Progress::~Progress() {
  if (shown_) std::fputs("\r\033[K", stderr);
}

void Progress::show(const std::string& message) {
  if (!enabled_) return;
  std::fprintf(stderr, "\r\033[K%s", message.c_str());
  std::fflush(stderr);
  shown_ = true;
}

}  // namespace pare::cli

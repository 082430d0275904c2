// What every `pare` subcommand provides, and the helpers they share: the file-naming error
// wrapper and terminal-only progress. main.cpp's dispatch table lists one factory per
// subcommand; a new subcommand is one more factory declared here and one more table entry.
//
//   pare::cli::Subcommand info_command() {
//     pare::cli::ArgParser parser("pare info", "Prints a model's graph, modules, params, MACs.");
//     parser.positional("MODEL.pare", "the model file");
//     return {"info", std::move(parser), [](const pare::cli::ParsedArgs& args) {
//               auto model = pare::cli::about_file(args.positionals()[0], [&] { ... });
//               return 0;
//             }};
//   }
#pragma once

#include <functional>
#include <new>
#include <ostream>
#include <string>
#include <vector>

#include "cli_args.h"
#include "pare/error.h"

namespace pare::cli {

struct Subcommand {
  std::string name;
  ArgParser parser;
  // Returns the exit status. May throw UsageError (exit 2) or pare::Error (exit 1; the message
  // starts with the file at fault, see about_file).
  std::function<int(const ParsedArgs&)> run;
};

Subcommand info_command();
Subcommand run_command();
Subcommand prune_command();
Subcommand profile_command();
Subcommand bench_command();
Subcommand demo_command();
Subcommand ops_command();

// "path: problem", unless `message` already starts with "path:".
std::string prefix_with_file(const std::string& path, const std::string& message);

// Runs `body`; any failure becomes a pare::Error whose message starts with `path`, so that the
// user is told which file is at fault.
template <typename Body>
auto about_file(const std::string& path, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    throw Error(prefix_with_file(path, "out of memory"));
  } catch (const std::exception& error) {
    throw Error(prefix_with_file(path, error.what()));
  }
}

// Fails with "path: is a directory" (reading a directory would otherwise look like an empty
// file).
void check_not_directory(const std::string& path);

// Rows of cells printed in columns padded to their widest cell, each line starting with
// `indent`; the columns listed in `right_aligned` hold numbers.
using Table = std::vector<std::vector<std::string>>;
void print_table(const Table& rows, const std::vector<size_t>& right_aligned,
                 const std::string& indent, std::ostream& stream);
// `value` with `decimals` digits after the point ("%.*f"), for table cells.
std::string fixed(double value, int decimals);

// One status line on stderr, rewritten in place, shown only when stderr is a terminal so that
// scripts and logs stay quiet. The line is cleared when the Progress goes away.
class Progress {
 public:
  Progress();
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void show(const std::string& message);

 private:
  bool enabled_;
  bool shown_ = false;
};

}  // namespace pare::cli

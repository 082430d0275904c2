// A small command-line parser for the `pare` subcommands: options with values (`--output FILE`,
// `--output=FILE`, `-o FILE`), boolean flags (`--json`), positional arguments (one, optional, or
// a trailing list) and the usage text built from the same declarations. Wrong usage is a
// UsageError, which the dispatcher prints with the usage and turns into exit status 2.
//
//   pare::cli::ArgParser parser("pare run", "Runs a .pare model on inputs from a file.");
//   parser.positional("MODEL.pare", "the model to run")
//       .option("input", "IN.safetensors", "one tensor per graph input")
//       .option("threads", "N", "OpenMP threads")
//       .flag("json", "print JSON");
//   pare::cli::ParsedArgs args = parser.parse({"net.pare", "--threads", "4"});
//   if (args.help_requested()) std::cout << parser.usage();
//   int64_t threads = args.get_int("threads").value_or(1);
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace pare::cli {

// Wrong usage: an unknown option, a missing value or positional, a value of the wrong form.
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& message) : std::runtime_error(message) {}
};

class ParsedArgs {
 public:
  bool help_requested() const { return help_requested_; }
  // True when the option or flag appeared on the command line.
  bool has(const std::string& name) const;
  bool flag(const std::string& name) const { return has(name); }
  // The value given to an option, or std::nullopt.
  std::optional<std::string> get(const std::string& name) const;
  // The value parsed as an integer; a UsageError naming the option when it is not one.
  std::optional<int64_t> get_int(const std::string& name) const;
  std::optional<double> get_double(const std::string& name) const;
  // Every value of a repeatable option, in the order given (empty when it did not appear).
  std::vector<std::string> get_all(const std::string& name) const;
  // Positional arguments in order (the trailing list, if declared, included).
  const std::vector<std::string>& positionals() const { return positionals_; }

 private:
  friend class ArgParser;
  bool help_requested_ = false;
  std::map<std::string, std::string> values_;  // flags map to ""; a repeated option, its last
  std::map<std::string, std::vector<std::string>> repeated_;
  std::vector<std::string> positionals_;
};

class ArgParser {
 public:
  // `command` is what the user typed ("pare info"); `summary` is one sentence.
  ArgParser(std::string command, std::string summary);

  // A required positional argument. Declare required ones before optional ones.
  ArgParser& positional(const std::string& name, const std::string& help);
  // An optional positional argument.
  ArgParser& optional_positional(const std::string& name, const std::string& help);
  // Any number (zero or more) of further positional arguments; declare it last.
  ArgParser& trailing_positionals(const std::string& name, const std::string& help);
  // `--name VALUE`; `short_name` (e.g. 'o') also accepts `-o VALUE`.
  ArgParser& option(const std::string& name, const std::string& value_name, const std::string& help,
                    char short_name = '\0');
  // `--name VALUE` that may be given more than once (ParsedArgs::get_all).
  ArgParser& repeatable_option(const std::string& name, const std::string& value_name,
                               const std::string& help);
  // `--name`, a boolean.
  ArgParser& flag(const std::string& name, const std::string& help);
  // A paragraph printed after the option list.
  ArgParser& epilog(const std::string& text);

  // Parses the arguments after the subcommand name. `--help` / `-h` anywhere sets
  // help_requested and skips the other checks. A lone `--` ends the options.
  ParsedArgs parse(const std::vector<std::string>& arguments) const;
  std::string usage() const;
  const std::string& command() const { return command_; }
  const std::string& summary() const { return summary_; }

 private:
  struct Option {
    std::string name;
    std::string value_name;  // empty for a flag
    std::string help;
    char short_name;
    bool repeatable = false;
  };
  struct Positional {
    std::string name;
    std::string help;
    bool required;
  };
  const Option* find_long(const std::string& name) const;
  const Option* find_short(char name) const;

  std::string command_;
  std::string summary_;
  std::string epilog_;
  std::vector<Positional> positionals_;
  std::optional<Positional> trailing_;
  std::vector<Option> options_;
};

}  // namespace pare::cli

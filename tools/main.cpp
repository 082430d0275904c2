// `pare`: one binary, one subcommand per job (docs/cli.md). Exit status 0 on success, 1 when a
// file or config is bad (one line on stderr naming the file), 2 on wrong usage (with the usage).
#include <algorithm>
#include <csignal>
#include <iostream>
#include <new>
#include <string>
#include <vector>

#include "command.h"
#include "pare/error.h"

namespace pare::cli {

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// The dispatch table: one factory per subcommand, in the order `pare --help` lists them.
const std::vector<Subcommand (*)()> kSubcommands = {info_command,    run_command,   prune_command,
                                                    profile_command, bench_command, demo_command,
                                                    ops_command};

std::vector<Subcommand> all_subcommands() {
  std::vector<Subcommand> subcommands;
  for (auto make : kSubcommands) subcommands.push_back(make());
  return subcommands;
}

std::string global_usage(const std::vector<Subcommand>& subcommands) {
  std::string text =
      "usage: pare <command> [arguments] [options]\n"
      "       pare --help | --version\n\n"
      "pare: a tensor engine for structured pruning.\n\ncommands:\n";
  size_t width = 0;
  for (const Subcommand& subcommand : subcommands) width = std::max(width, subcommand.name.size());
  for (const Subcommand& subcommand : subcommands)
    text += "  " + subcommand.name + std::string(width - subcommand.name.size() + 2, ' ') +
            subcommand.parser.summary() + "\n";
  text += "\nRun 'pare <command> --help' for the arguments of one command.\n";
  return text;
}

// Keeps an error to one line whatever the message holds.
std::string one_line(std::string message) {
  for (char& character : message)
    if (character == '\n' || character == '\r') character = ' ';
  while (!message.empty() && message.back() == ' ') message.pop_back();
  return message;
}

int usage_error(const std::string& command, const std::string& problem, const std::string& usage) {
  std::cerr << command << ": " << problem << "\n\n" << usage;
  return kExitUsage;
}

int run_subcommand(const Subcommand& subcommand, const std::vector<std::string>& arguments) {
  const ArgParser& parser = subcommand.parser;
  try {
    ParsedArgs parsed = parser.parse(arguments);
    if (parsed.help_requested()) {
      std::cout << parser.usage();
      return 0;
    }
    return subcommand.run(parsed);
  } catch (const UsageError& error) {
    return usage_error(parser.command(), error.what(), parser.usage());
  } catch (const std::bad_alloc&) {
    std::cerr << "pare: out of memory\n";
  } catch (const std::exception& error) {
    std::cerr << "pare: " << one_line(error.what()) << "\n";
  } catch (...) {
    std::cerr << "pare: " << parser.command() << " failed with an unknown error\n";
  }
  return kExitFailure;
}

int main_with_arguments(const std::vector<std::string>& arguments) {
  const std::vector<Subcommand> subcommands = all_subcommands();
  const std::string usage = global_usage(subcommands);
  if (arguments.empty()) return usage_error("pare", "no command given", usage);
  const std::string& first = arguments[0];
  if (first == "--help" || first == "-h" || first == "help") {
    if (first == "help" && arguments.size() > 1) {
      for (const Subcommand& subcommand : subcommands) {
        if (subcommand.name != arguments[1]) continue;
        std::cout << subcommand.parser.usage();
        return 0;
      }
      return usage_error("pare", "unknown command '" + arguments[1] + "'", usage);
    }
    std::cout << usage;
    return 0;
  }
  if (first == "--version" || first == "-V") {
    std::cout << "pare " << PARE_VERSION << "\n";
    return 0;
  }
  for (const Subcommand& subcommand : subcommands) {
    if (subcommand.name == first)
      return run_subcommand(subcommand, {arguments.begin() + 1, arguments.end()});
  }
  if (!first.empty() && first[0] == '-')
    return usage_error("pare", "unknown option '" + first + "'", usage);
  return usage_error("pare", "unknown command '" + first + "'", usage);
}

}  // namespace
}  // namespace pare::cli

int main(int argc, char** argv) {
  // A reader that goes away (`pare run --output /dev/stdout | head -c 8`, a FIFO whose reader
  // exits) then makes the write fail with EPIPE, reported as an error naming the output, instead
  // of killing pare silently.
  std::signal(SIGPIPE, SIG_IGN);
  return pare::cli::main_with_arguments(std::vector<std::string>(argv + 1, argv + argc));
}

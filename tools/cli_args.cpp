#include "cli_args.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <sstream>

namespace pare::cli {

bool ParsedArgs::has(const std::string& name) const { return values_.count(name) > 0; }

std::optional<std::string> ParsedArgs::get(const std::string& name) const {
  auto found = values_.find(name);
  if (found == values_.end()) return std::nullopt;
  return found->second;
}

std::optional<int64_t> ParsedArgs::get_int(const std::string& name) const {
  std::optional<std::string> text = get(name);
  if (!text) return std::nullopt;
  int64_t value = 0;
  const char* end = text->data() + text->size();
  auto [last, error] = std::from_chars(text->data(), end, value);
  if (text->empty() || error != std::errc() || last != end)
    throw UsageError("--" + name + " expects an integer, got '" + *text + "'");
  return value;
}

std::optional<double> ParsedArgs::get_double(const std::string& name) const {
  std::optional<std::string> text = get(name);
  if (!text) return std::nullopt;
  char* last = nullptr;
  const double value = std::strtod(text->c_str(), &last);
  if (text->empty() || last != text->c_str() + text->size())
    throw UsageError("--" + name + " expects a number, got '" + *text + "'");
  return value;
}

std::vector<std::string> ParsedArgs::get_all(const std::string& name) const {
  auto found = repeated_.find(name);
  return found == repeated_.end() ? std::vector<std::string>{} : found->second;
}

ArgParser::ArgParser(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

ArgParser& ArgParser::positional(const std::string& name, const std::string& help) {
  positionals_.push_back({name, help, true});
  return *this;
}

ArgParser& ArgParser::optional_positional(const std::string& name, const std::string& help) {
  positionals_.push_back({name, help, false});
  return *this;
}

ArgParser& ArgParser::trailing_positionals(const std::string& name, const std::string& help) {
  trailing_ = Positional{name, help, false};
  return *this;
}

ArgParser& ArgParser::option(const std::string& name, const std::string& value_name,
                             const std::string& help, char short_name) {
  options_.push_back({name, value_name, help, short_name});
  return *this;
}

ArgParser& ArgParser::repeatable_option(const std::string& name, const std::string& value_name,
                                        const std::string& help) {
  options_.push_back({name, value_name, help, '\0', /*repeatable=*/true});
  return *this;
}

ArgParser& ArgParser::flag(const std::string& name, const std::string& help) {
  options_.push_back({name, "", help, '\0'});
  return *this;
}

ArgParser& ArgParser::epilog(const std::string& text) {
  epilog_ = text;
  return *this;
}

const ArgParser::Option* ArgParser::find_long(const std::string& name) const {
  for (const Option& option : options_)
    if (option.name == name) return &option;
  return nullptr;
}

const ArgParser::Option* ArgParser::find_short(char name) const {
  for (const Option& option : options_)
    if (option.short_name != '\0' && option.short_name == name) return &option;
  return nullptr;
}

ParsedArgs ArgParser::parse(const std::vector<std::string>& arguments) const {
  ParsedArgs parsed;
  for (const std::string& argument : arguments) {
    if (argument == "--") break;
    if (argument == "--help" || argument == "-h") {
      parsed.help_requested_ = true;
      return parsed;
    }
  }
  bool options_ended = false;
  for (size_t index = 0; index < arguments.size(); ++index) {
    const std::string& argument = arguments[index];
    if (options_ended || argument == "-" || argument.empty() || argument[0] != '-') {
      parsed.positionals_.push_back(argument);
      continue;
    }
    if (argument == "--") {
      options_ended = true;
      continue;
    }
    const Option* option = nullptr;
    std::string spelled;
    std::optional<std::string> inline_value;
    if (argument.rfind("--", 0) == 0) {
      std::string name = argument.substr(2);
      const size_t equals = name.find('=');
      if (equals != std::string::npos) {
        inline_value = name.substr(equals + 1);
        name.resize(equals);
      }
      option = find_long(name);
      spelled = "--" + name;
    } else if (argument.size() == 2) {
      option = find_short(argument[1]);
      spelled = argument;
    }
    if (option == nullptr) throw UsageError("unknown option '" + argument + "'");
    if (parsed.values_.count(option->name) && !option->repeatable)
      throw UsageError("option " + spelled + " given more than once");
    if (option->value_name.empty()) {
      if (inline_value) throw UsageError("option " + spelled + " takes no value");
      parsed.values_[option->name] = "";
    } else if (inline_value) {
      parsed.values_[option->name] = *inline_value;
    } else {
      if (index + 1 >= arguments.size())
        throw UsageError("option " + spelled + " needs a value (" + option->value_name + ")");
      parsed.values_[option->name] = arguments[++index];
    }
    if (option->repeatable) parsed.repeated_[option->name].push_back(parsed.values_[option->name]);
  }
  const size_t required = std::count_if(positionals_.begin(), positionals_.end(),
                                        [](const Positional& p) { return p.required; });
  if (parsed.positionals_.size() < required)
    throw UsageError("missing " + positionals_[parsed.positionals_.size()].name);
  if (!trailing_ && parsed.positionals_.size() > positionals_.size())
    throw UsageError("unexpected argument '" + parsed.positionals_[positionals_.size()] + "'");
  return parsed;
}

namespace {

constexpr size_t kLineWidth = 100;

// Breaks `text` at spaces so that no line passes kLineWidth; lines after the first start with
// `indent` spaces, and the first is assumed to start at column `indent` too.
std::string wrap(const std::string& text, size_t indent) {
  std::istringstream words(text);
  std::string word, wrapped;
  size_t column = indent;
  while (words >> word) {
    if (column > indent && column + 1 + word.size() > kLineWidth) {
      wrapped += '\n';
      wrapped.append(indent, ' ');
      column = indent;
    } else if (column > indent) {
      wrapped += ' ';
      ++column;
    }
    wrapped += word;
    column += word.size();
  }
  return wrapped;
}

}  // namespace

std::string ArgParser::usage() const {
  std::ostringstream text;
  text << "usage: " << command_;
  for (const Positional& positional : positionals_)
    text << (positional.required ? " " + positional.name : " [" + positional.name + "]");
  if (trailing_) text << " [" << trailing_->name << " ...]";
  if (!options_.empty()) text << " [options]";
  text << "\n\n" << wrap(summary_, 0) << "\n";

  std::vector<std::pair<std::string, std::string>> rows;
  for (const Positional& positional : positionals_)
    rows.emplace_back(positional.name, positional.help);
  if (trailing_) rows.emplace_back(trailing_->name, trailing_->help);
  const size_t positional_rows = rows.size();
  for (const Option& option : options_) {
    std::string spelled = option.short_name != '\0'
                              ? std::string("-") + option.short_name + ", --" + option.name
                              : "--" + option.name;
    if (!option.value_name.empty()) spelled += " " + option.value_name;
    rows.emplace_back(spelled, option.help);
  }
  rows.emplace_back("-h, --help", "show this help and exit");
  size_t width = 0;
  for (const auto& row : rows) width = std::max(width, row.first.size());
  for (size_t index = 0; index < rows.size(); ++index) {
    if (index == 0 && positional_rows > 0) text << "\narguments:\n";
    if (index == positional_rows) text << "\noptions:\n";
    text << "  " << rows[index].first << std::string(width - rows[index].first.size() + 2, ' ')
         << wrap(rows[index].second, width + 4) << "\n";
  }
  if (!epilog_.empty()) text << "\n" << wrap(epilog_, 0) << "\n";
  return text.str();
}

}  // namespace pare::cli

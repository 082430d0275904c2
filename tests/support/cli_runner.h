// Runs the built `pare` command line as a separate process for the CLI tests (tests/tools/), with
// stdout, stderr and the exit status captured, plus the checks every command's errors share.
//
//   pare::testing::TempDir dir;
//   const pare::testing::Result result = pare::testing::run_pare({"info", dir.file("m.pare")});
//   pare::testing::check_file_error(result, dir.file("m.pare"), "cannot open");
#pragma once

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

namespace pare::testing {

// The running test binary is <build>/tests/test_<name> and the CLI is <build>/tools/pare.
inline std::filesystem::path pare_binary() {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() / "tools" /
         "pare";
}

// A fresh folder under the system temp dir, removed with everything in it on destruction. The
// name holds the test binary's name and pid, so parallel test runs never share one.
struct TempDir {
  TempDir() {
    static std::atomic<int> counter{0};
    const std::string binary = std::filesystem::read_symlink("/proc/self/exe").filename().string();
    path = std::filesystem::temp_directory_path() /
           ("pare_" + binary + "_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return (path / name).string(); }
  std::filesystem::path path;
};

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream stream(path, std::ios::binary);
  std::ostringstream contents;
  contents << stream.rdbuf();
  return contents.str();
}

// `argument` in single quotes for /bin/sh, with any ' inside written as '\''.
inline std::string quoted(const std::string& argument) {
  std::string text = "'";
  for (char character : argument)
    text += character == '\'' ? std::string("'\\''") : std::string(1, character);
  return text + "'";
}

struct Result {
  int status = -1;  // the exit status; -1 when the process did not exit normally
  std::string out;
  std::string err;
};

// Runs `pare ARGS...` with stdin from /dev/null and stdout and stderr captured in files (so
// stderr is not a terminal, and the CLI must stay quiet there on success).
inline Result run_pare(const std::vector<std::string>& arguments) {
  TempDir capture;
  const std::filesystem::path binary = pare_binary();
  REQUIRE_MESSAGE(std::filesystem::exists(binary),
                  "build the pare binary first: ", binary.string());
  std::string command = quoted(binary.string());
  for (const std::string& argument : arguments) command.append(" ").append(quoted(argument));
  command.append(" >").append(quoted(capture.file("out")));
  command.append(" 2>").append(quoted(capture.file("err"))).append(" </dev/null");
  const int raw = std::system(command.c_str());
  Result result;
  result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  result.out = read_text(capture.file("out"));
  result.err = read_text(capture.file("err"));
  return result;
}

inline size_t count_lines(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

// True when one line of `text` holds `words` in order.
inline bool has_line(const std::string& text, const std::vector<std::string>& words) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    size_t at = 0;
    bool all = true;
    for (const std::string& word : words) {
      at = line.find(word, at);
      if (at == std::string::npos) {
        all = false;
        break;
      }
      at += word.size();
    }
    if (all) return true;
  }
  return false;
}

// Exit 1 with exactly one stderr line "pare: <file>: ..." holding `also`; stdout is not looked
// at (`pare prune` prints its report before the check that refuses the pruned model).
inline void check_file_error_ignoring_stdout(const Result& result, const std::string& file,
                                             const std::string& also = "") {
  INFO("stdout: ", result.out, "\nstderr: ", result.err);
  CHECK(result.status == 1);
  CHECK(count_lines(result.err) == 1);
  CHECK(result.err.rfind("pare: " + file + ": ", 0) == 0);
  if (!also.empty()) CHECK(result.err.find(also) != std::string::npos);
}

// The same, and nothing on stdout.
inline void check_file_error(const Result& result, const std::string& file,
                             const std::string& also = "") {
  check_file_error_ignoring_stdout(result, file, also);
  INFO("stdout: ", result.out);
  CHECK(result.out.empty());
}

}  // namespace pare::testing

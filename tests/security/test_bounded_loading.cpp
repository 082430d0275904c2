// Loading reads what the file declares and nothing more: endless streams (/dev/zero, a valid file
// followed by zeros) and short ones are refused quickly with a message naming the file; a header
// or data buffer larger than the file is refused; trailing bytes are refused; `--input` and the
// model may come from a pipe; a regular file is mapped copy-on-write rather than copied and the
// layers are built without initialising the weights the file replaces, so loading a model costs
// no more than its size plus a small constant, and `pare prune` stays under 1.5 times the size.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "pare/ir/pare_file.h"
#include "pare/ir/tracer.h"
#include "pare/pare.h"
#include "test_util.h"

namespace {

using pare::Shape;
using pare::Tensor;
using pare::ir::GraphModule;
using pare::testing::quoted;
using pare::testing::Result;
using pare::testing::TempDir;

// An MLP of `pairs` times Linear(width, 2 * width) -> Linear(2 * width, width): 16 * width^2
// bytes of weights per pair, in layers small enough that no one of them dominates the peak.
GraphModule make_mlp(int64_t width, int pairs) {
  pare::manual_seed(7);
  pare::nn::Sequential layers;
  for (int pair = 0; pair < pairs; ++pair) {
    layers->push_back(pare::nn::Linear(width, 2 * width));
    layers->push_back(pare::nn::ReLU());
    layers->push_back(pare::nn::Linear(2 * width, width));
  }
  layers->eval();
  return pare::ir::trace(layers.ptr(), {pare::randn({1, width})});
}

std::string save_mlp(const TempDir& dir, const std::string& name, int64_t width, int pairs) {
  const std::string path = dir.file(name);
  pare::ir::save(make_mlp(width, pairs), path);
  return path;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream stream(path, std::ios::binary | std::ios::trunc);
  stream.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(stream.good());
}

std::string le64(uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  return bytes;
}

// A safetensors file with `header` as its JSON (no padding) and `buffer` as its data.
std::string safetensors_bytes(const std::string& header, const std::string& buffer) {
  return le64(header.size()) + header + buffer;
}

// Runs `command` under /bin/sh with a time limit, capturing stdout and stderr; status 124 means
// the limit was hit (a reader that did not stop where the file's sizes said it should).
Result run_shell(const std::string& command, const TempDir& capture, int seconds = 60) {
  const std::string full = "timeout " + std::to_string(seconds) + " sh -c " + quoted(command) +
                           " >" + quoted(capture.file("out")) + " 2>" + quoted(capture.file("err"));
  const int raw = std::system(full.c_str());
  Result result;
  result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  result.out = pare::testing::read_text(capture.file("out"));
  result.err = pare::testing::read_text(capture.file("err"));
  return result;
}

std::string pare_command() { return quoted(pare::testing::pare_binary().string()); }

// Exit 1 with one stderr line naming `file` and holding `also`.
void check_refused(const Result& result, const std::string& file, const std::string& also) {
  INFO("stdout: ", result.out, "\nstderr: ", result.err);
  CHECK(result.status == 1);
  CHECK(pare::testing::count_lines(result.err) == 1);
  CHECK(result.err.rfind("pare: " + file + ": ", 0) == 0);
  CHECK(result.err.find(also) != std::string::npos);
}

}  // namespace

TEST_CASE("pare info /dev/zero is refused at once, not read until memory runs out") {
  TempDir capture;
  const Result result = run_shell(pare_command() + " info /dev/zero", capture);
  check_refused(result, "/dev/zero", "header");
}

TEST_CASE("a valid model followed by an endless stream is refused after the declared bytes") {
  TempDir dir;
  const std::string model = save_mlp(dir, "m.pare", 8, 1);
  const Result result = run_shell(
      "cat " + quoted(model) + " /dev/zero | " + pare_command() + " info /dev/stdin", dir);
  check_refused(result, "/dev/stdin", "unused trailing bytes");
}

TEST_CASE("a model read from a pipe loads like the file") {
  TempDir dir;
  const std::string model = save_mlp(dir, "m.pare", 8, 1);
  const Result piped =
      run_shell("cat " + quoted(model) + " | " + pare_command() + " info --json /dev/stdin", dir);
  const Result direct = pare::testing::run_pare({"info", "--json", model});
  INFO("piped stderr: ", piped.err);
  CHECK(piped.status == 0);
  CHECK(direct.status == 0);
  CHECK(piped.out == direct.out);
}

TEST_CASE("streams that end early are refused with the byte count and what was being read") {
  TempDir dir;
  const std::string model = save_mlp(dir, "m.pare", 8, 1);
  const std::string bytes = pare::testing::read_text(model);
  uint64_t header_size = 0;
  std::memcpy(&header_size, bytes.data(), 8);
  struct Cut {
    size_t keep;
    std::string inside;
  };
  for (const Cut& cut : {Cut{3, "the 8-byte header size"}, Cut{8 + header_size / 2, "the header"},
                         Cut{bytes.size() - 5, "tensor '"}}) {
    CAPTURE(cut.keep);
    write_bytes(dir.file("cut.pare"), bytes.substr(0, cut.keep));
    const Result result = run_shell(
        "cat " + quoted(dir.file("cut.pare")) + " | " + pare_command() + " info /dev/stdin", dir);
    check_refused(result, "/dev/stdin", "ends after " + std::to_string(cut.keep) + " bytes");
    CHECK(result.err.find(cut.inside) != std::string::npos);
  }
}

TEST_CASE("a header size larger than the file or stream holds is refused before allocating it") {
  TempDir dir;
  // Declares a 64 MiB header (under the 100 MiB limit) and sends 16 bytes of it.
  const std::string lying = le64(64ull << 20) + std::string(16, '{');
  write_bytes(dir.file("h.safetensors"), lying);
  CHECK(pare::testing::contains(
      pare::testing::error_of([&] { pare::read_safetensors(dir.file("h.safetensors")); }),
      "header size"));
  const Result piped = run_shell(
      "cat " + quoted(dir.file("h.safetensors")) + " | " + pare_command() + " info /dev/stdin",
      dir);
  check_refused(piped, "/dev/stdin", "ends after 24 bytes, inside the header");
  // Above the limit, a stream is refused before reading any of it.
  write_bytes(dir.file("huge.safetensors"), le64(~0ull));
  const Result huge = run_shell(
      "cat " + quoted(dir.file("huge.safetensors")) + " | " + pare_command() + " info /dev/stdin",
      dir);
  check_refused(huge, "/dev/stdin", "header size");
}

TEST_CASE("a data buffer larger than the file or stream holds is refused") {
  TempDir dir;
  // 2^28 floats (1 GiB) declared, 8 bytes present.
  const std::string bytes = safetensors_bytes(
      R"({"w":{"dtype":"F32","shape":[268435456],"data_offsets":[0,1073741824]}})",
      std::string(8, '\0'));
  write_bytes(dir.file("b.safetensors"), bytes);
  CHECK(pare::testing::contains(
      pare::testing::error_of([&] { pare::read_safetensors(dir.file("b.safetensors")); }),
      "outside the data buffer of 8 bytes"));
  const Result piped = run_shell(
      "cat " + quoted(dir.file("b.safetensors")) + " | " + pare_command() + " info /dev/stdin",
      dir);
  check_refused(piped, "/dev/stdin", "inside tensor 'w' (1073741824 bytes declared, 8 present)");
}

TEST_CASE("trailing bytes after the declared data are refused in files and in streams") {
  TempDir dir;
  const std::string model = save_mlp(dir, "m.pare", 8, 1);
  write_bytes(dir.file("t.pare"), pare::testing::read_text(model) + "xx");
  check_refused(pare::testing::run_pare({"info", dir.file("t.pare")}), dir.file("t.pare"),
                "2 unused trailing bytes");
  const Result piped = run_shell(
      "cat " + quoted(dir.file("t.pare")) + " | " + pare_command() + " info /dev/stdin", dir);
  check_refused(piped, "/dev/stdin", "unused trailing bytes");
}

TEST_CASE("pare run --input reads a pipe") {
  TempDir dir;
  const std::string model = save_mlp(dir, "m.pare", 8, 1);
  const std::string input_name = pare::ir::load(model).graph().placeholders().at(0)->name();
  pare::write_safetensors(dir.file("in.safetensors"),
                          {{input_name, pare::testing::random_tensor({3, 8}, 5)}});
  const Result from_file = pare::testing::run_pare(
      {"run", model, "--input", dir.file("in.safetensors"), "--output", dir.file("a.st")});
  REQUIRE(from_file.status == 0);
  const Result from_pipe =
      run_shell("cat " + quoted(dir.file("in.safetensors")) + " | " + pare_command() + " run " +
                    quoted(model) + " --input /dev/stdin --output " + quoted(dir.file("b.st")),
                dir);
  INFO("stderr: ", from_pipe.err);
  REQUIRE(from_pipe.status == 0);
  CHECK(pare::testing::read_text(dir.file("a.st")) == pare::testing::read_text(dir.file("b.st")));
}

TEST_CASE("a tensor read from a file points into a copy-on-write mapping") {
  TempDir dir;
  const std::string path = save_mlp(dir, "m.pare", 16, 1);
  const std::string before = pare::testing::read_text(path);
  {
    GraphModule loaded = pare::ir::load(path);
    pare::NoGradGuard no_grad;
    for (Tensor parameter : loaded.root().parameters()) parameter.add_(1.0);
    // The change is seen by the model ...
    const Tensor first = loaded.root().parameters()[0];
    GraphModule fresh = pare::ir::load(path);
    CHECK(pare::testing::max_abs_diff(first, fresh.root().parameters()[0] + 1.0) < 1e-6);
  }
  // ... and never reaches the file.
  CHECK(pare::testing::read_text(path) == before);
}

TEST_CASE(
    "a tensor whose bytes are not 64-byte aligned in the mapping is copied, with its values") {
  TempDir dir;
  std::string buffer = "\x01";
  const float values[2] = {1.5f, -2.25f};
  buffer.append(reinterpret_cast<const char*>(values), sizeof(values));
  // The header padded so that the data starts 64-byte aligned: "f" starts one byte after.
  std::string header = R"({"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                       R"("f":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}})";
  header.append((64 - (8 + header.size()) % 64) % 64, ' ');
  write_bytes(dir.file("u.safetensors"), safetensors_bytes(header, buffer));
  const pare::SafetensorsFile file = pare::read_safetensors(dir.file("u.safetensors"));
  const Tensor f = file.get("f");
  CHECK(reinterpret_cast<uintptr_t>(f.raw_data()) % 64 == 0);
  CHECK(pare::to_float_vector(f) == std::vector<float>{1.5f, -2.25f});
}

TEST_CASE("loading builds the layers without initialising the weights it then replaces") {
  TempDir dir;
  GraphModule saved = make_mlp(16, 1);
  const std::string path = dir.file("m.pare");
  pare::ir::save(saved, path);
  // The generator's next values, untouched ...
  pare::manual_seed(5);
  const std::vector<float> untouched = pare::to_float_vector(pare::rand({8}));
  // ... are still the next ones after a load: no kaiming fill drew from it.
  pare::manual_seed(5);
  GraphModule loaded = pare::ir::load(path);
  CHECK(pare::to_float_vector(pare::rand({8})) == untouched);
  // Every layer holds the file's values.
  const pare::nn::StateDict expected = saved.root().state_dict();
  const pare::nn::StateDict actual = loaded.root().state_dict();
  REQUIRE(actual.size() == expected.size());
  for (size_t index = 0; index < actual.size(); ++index) {
    CAPTURE(actual[index].first);
    CHECK(actual[index].first == expected[index].first);
    CHECK(pare::to_float_vector(actual[index].second) ==
          pare::to_float_vector(expected[index].second));
  }
}

// Runs `pare ARGS...` as a child with its output discarded; returns its peak RSS in bytes (the
// kernel's own count for the child, from wait4), or -1 if it did not exit with 0.
int64_t peak_rss_of_pare(const std::vector<std::string>& arguments) {
  const std::string binary = pare::testing::pare_binary().string();
  std::vector<char*> argv = {const_cast<char*>(binary.c_str())};
  for (const std::string& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);
  // A forked child starts with this process's resident pages, and its peak counts them until it
  // execs: hand the heap this test freed (the models it built and saved) back to the system, so
  // that the peak measures pare rather than the test.
  malloc_trim(0);
  const pid_t child = fork();
  if (child == 0) {
    const int null_fd = open("/dev/null", O_WRONLY);
    dup2(null_fd, 1);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  struct rusage usage {};
  if (child < 0 || wait4(child, &status, 0, &usage) != child) return -1;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;
}

TEST_CASE("loading a model peaks at its size plus a small constant") {
  TempDir dir;
  // 4 pairs of 1024 <-> 2048 layers: 64 MiB of weights in 8 MiB layers; and a tiny model for the
  // process's own footprint (libraries, kernels).
  const std::string big = save_mlp(dir, "big.pare", 1024, 4);
  const std::string tiny = save_mlp(dir, "tiny.pare", 8, 1);
  const int64_t file_size = static_cast<int64_t>(std::filesystem::file_size(big));
  REQUIRE(file_size > (64ll << 20));
  // `pare info` loads the model (building every module, checking every tensor) and counts it.
  const int64_t baseline = peak_rss_of_pare({"info", tiny});
  const int64_t peak = peak_rss_of_pare({"info", big});
  REQUIRE(baseline > 0);
  REQUIRE(peak > 0);
  MESSAGE("pare info of a ", file_size, "-byte model: peak RSS ", peak, " bytes, ", peak - baseline,
          " above a tiny model's");
  // The layers are built without initialising the weights the file replaces, and counting reads
  // no weight: what remains above the tiny model's peak is the allocator's slack. (A forked
  // child's peak starts from this test process's resident size, which is why the baseline is
  // measured the same way; initialising the layers cost about 40 MB here.)
  CHECK(peak - baseline <= (8ll << 20));
}

TEST_CASE("pruning a model peaks under one and a half times its size") {
  TempDir dir;
  const std::string big = save_mlp(dir, "big.pare", 1024, 4);
  const std::string tiny = save_mlp(dir, "tiny.pare", 8, 1);
  const int64_t file_size = static_cast<int64_t>(std::filesystem::file_size(big));
  const int64_t baseline =
      peak_rss_of_pare({"prune", tiny, "-o", dir.file("tiny-pruned.pare"), "--sparsity", "0.5"});
  const int64_t peak =
      peak_rss_of_pare({"prune", big, "-o", dir.file("big-pruned.pare"), "--sparsity", "0.5"});
  REQUIRE(baseline > 0);
  REQUIRE(peak > 0);
  MESSAGE("pare prune of a ", file_size, "-byte model: peak RSS ", peak, " bytes, ",
          peak - baseline, " above a tiny model's");
  // The mapped file (read in full to score the rows) and the pruned weights (a quarter of the
  // model at sparsity 0.5), nothing else: measured 1.32 times the file above the tiny model's
  // peak. Before, 2.85 times: the registration check, the self-check's masked forward and the
  // consumer's column slice each copied a layer, and the check's compiled run packed a copy of
  // the pruned model (4.4 times when loading also initialised the layers).
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer holds freed blocks in quarantine (256 MiB by default) and adds shadow
  // memory: the peak then measures the sanitizer, not pare's copies.
  MESSAGE("AddressSanitizer build: the peak is not compared");
#else
  CHECK(2 * (peak - baseline) <= 3 * file_size);
#endif
}

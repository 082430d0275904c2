// Outputs never replace what is not a regular file: a FIFO or a character device at the output
// path is written into and stays what it was; a directory or a socket is refused; a symbolic link
// is followed to its final target, which is replaced atomically while the link stays a link.
// Regular files are still replaced atomically, keep their permissions and leave no temporary.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.h"
#include "pare/ir/pare_file.h"
#include "pare/ir/tracer.h"
#include "pare/pare.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using pare::Tensor;
using pare::testing::Result;
using pare::testing::run_pare;
using pare::testing::TempDir;

std::string save_model(const TempDir& dir) {
  pare::manual_seed(3);
  pare::nn::Sequential layers(pare::nn::Linear(4, 6), pare::nn::ReLU(), pare::nn::Linear(6, 2));
  layers->eval();
  const std::string path = dir.file("m.pare");
  pare::ir::save(pare::ir::trace(layers.ptr(), {pare::randn({1, 4})}), path);
  return path;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream stream(path, std::ios::binary | std::ios::trunc);
  stream << text;
  REQUIRE(stream.good());
}

struct stat lstat_of(const std::string& path) {
  struct stat status {};
  REQUIRE(::lstat(path.c_str(), &status) == 0);
  return status;
}

// What `pare run MODEL --output FILE` writes, from a regular file, to compare against.
std::string reference_output(const TempDir& dir, const std::string& model) {
  const Result result = run_pare({"run", model, "--output", dir.file("reference.st")});
  REQUIRE(result.status == 0);
  return pare::testing::read_text(dir.file("reference.st"));
}

// Reads a FIFO to its end on a thread. finish() unblocks a reader still waiting in open() (the
// writer failed before opening the FIFO) by opening and closing the write end itself.
class FifoReader {
 public:
  explicit FifoReader(std::string path) : path_(std::move(path)) {
    thread_ = std::thread([this] {
      const int fd = ::open(path_.c_str(), O_RDONLY);
      if (fd < 0) return;
      char chunk[1 << 16];
      for (ssize_t got; (got = ::read(fd, chunk, sizeof(chunk))) != 0;) {
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) break;
        bytes_.append(chunk, static_cast<size_t>(got));
      }
      ::close(fd);
    });
  }
  ~FifoReader() { finish(); }
  const std::string& finish() {
    if (thread_.joinable()) {
      const int fd = ::open(path_.c_str(), O_WRONLY | O_NONBLOCK);
      if (fd >= 0) ::close(fd);
      thread_.join();
    }
    return bytes_;
  }

 private:
  std::string path_;
  std::string bytes_;
  std::thread thread_;
};

int bind_socket(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  REQUIRE(path.size() < sizeof(address.sun_path));
  std::strcpy(address.sun_path, path.c_str());
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  return fd;
}

std::vector<std::string> entries(const TempDir& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir.path))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

bool no_temporaries(const fs::path& folder) {
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.path().filename().string().find(".tmp.") != std::string::npos) return false;
  return true;
}

}  // namespace

TEST_CASE("an output FIFO is written into and is still a FIFO afterwards") {
  TempDir dir;
  const std::string model = save_model(dir);
  const std::string expected = reference_output(dir, model);
  const std::string fifo = dir.file("out.fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  FifoReader reader(fifo);
  const Result result = run_pare({"run", model, "--output", fifo});
  const std::string& received = reader.finish();
  INFO("stderr: ", result.err);
  CHECK(result.status == 0);
  CHECK(received == expected);
  CHECK(S_ISFIFO(lstat_of(fifo).st_mode));
}

TEST_CASE("a .pare saved into a FIFO streams the same bytes as a saved file") {
  TempDir dir;
  const std::string model = save_model(dir);
  const pare::ir::GraphModule loaded = pare::ir::load(model);
  const std::string fifo = dir.file("model.fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  FifoReader reader(fifo);
  pare::ir::save(loaded, fifo);
  CHECK(reader.finish() == pare::ir::encode_pare(loaded));
  CHECK(S_ISFIFO(lstat_of(fifo).st_mode));
}

// mknod needs root (CAP_MKNOD); elsewhere the test reports itself skipped.
TEST_CASE("an output character device is written into and is still a device afterwards" *
          doctest::skip(::geteuid() != 0)) {
  TempDir dir;
  const std::string model = save_model(dir);
  // A private twin of /dev/null (1, 3) and of /dev/full (1, 7), made inside the TempDir so that
  // no test ever writes to the system's own.
  const std::string null_device = dir.file("null");
  const std::string full_device = dir.file("full");
  REQUIRE(::mknod(null_device.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
  REQUIRE(::mknod(full_device.c_str(), S_IFCHR | 0666, makedev(1, 7)) == 0);

  const Result written = run_pare({"run", model, "--output", null_device});
  INFO("stderr: ", written.err);
  CHECK(written.status == 0);
  const struct stat after = lstat_of(null_device);
  CHECK(S_ISCHR(after.st_mode));
  CHECK(after.st_rdev == makedev(1, 3));

  // A device that fails the write: the error names the path, and the device is still there.
  const Result failed = run_pare({"run", model, "--output", full_device});
  pare::testing::check_file_error_ignoring_stdout(failed, full_device, "write failed");
  CHECK(S_ISCHR(lstat_of(full_device).st_mode));
  CHECK(lstat_of(full_device).st_rdev == makedev(1, 7));
  CHECK(no_temporaries(dir.path));
}

TEST_CASE("a directory or a socket at the output path is refused and left as it was") {
  TempDir dir;
  const std::string model = save_model(dir);
  const std::string folder = dir.file("folder");
  fs::create_directory(folder);
  pare::testing::check_file_error(run_pare({"run", model, "--output", folder}), folder,
                                  "is a directory");
  CHECK(fs::is_directory(folder));
  CHECK(fs::is_empty(folder));

  const std::string socket_path = dir.file("s.sock");
  const int fd = bind_socket(socket_path);
  pare::testing::check_file_error(run_pare({"run", model, "--output", socket_path}), socket_path,
                                  "is a socket");
  CHECK(S_ISSOCK(lstat_of(socket_path).st_mode));
  ::close(fd);
  CHECK(no_temporaries(dir.path));
}

TEST_CASE("a symlinked output replaces the link's final target and leaves the link a link") {
  TempDir dir;
  const std::string model = save_model(dir);
  const std::string expected = reference_output(dir, model);
  fs::create_directory(dir.path / "real");
  write_text(dir.file("real/out.st"), "old contents");
  // A relative link to a relative link: each hop resolves against its own folder.
  fs::create_symlink("real/out.st", dir.path / "hop");
  fs::create_directory(dir.path / "links");
  fs::create_symlink("../hop", dir.path / "links" / "out.st");

  const Result result = run_pare({"run", model, "--output", dir.file("links/out.st")});
  INFO("stderr: ", result.err);
  CHECK(result.status == 0);
  CHECK(fs::is_symlink(dir.path / "links" / "out.st"));
  CHECK(fs::is_symlink(dir.path / "hop"));
  CHECK(pare::testing::read_text(dir.file("real/out.st")) == expected);
  CHECK(no_temporaries(dir.path / "real"));
  CHECK(no_temporaries(dir.path / "links"));

  // A dangling link creates the file it names.
  fs::create_symlink("real/new.st", dir.path / "dangling");
  CHECK(run_pare({"run", model, "--output", dir.file("dangling")}).status == 0);
  CHECK(fs::is_symlink(dir.path / "dangling"));
  CHECK(pare::testing::read_text(dir.file("real/new.st")) == expected);

  // A link to a FIFO writes into the FIFO.
  REQUIRE(::mkfifo(dir.file("real/pipe").c_str(), 0600) == 0);
  fs::create_symlink("real/pipe", dir.path / "to_pipe");
  FifoReader reader(dir.file("real/pipe"));
  CHECK(run_pare({"run", model, "--output", dir.file("to_pipe")}).status == 0);
  CHECK(reader.finish() == expected);
  CHECK(S_ISFIFO(lstat_of(dir.file("real/pipe")).st_mode));

  // A loop of links is refused with the path.
  fs::create_symlink("loop_b", dir.path / "loop_a");
  fs::create_symlink("loop_a", dir.path / "loop_b");
  pare::testing::check_file_error(run_pare({"run", model, "--output", dir.file("loop_a")}),
                                  dir.file("loop_a"), "symbolic links");
}

TEST_CASE("a replaced regular file keeps its permissions and no temporary is left behind") {
  TempDir dir;
  const std::string model = save_model(dir);
  const std::string output = dir.file("out.st");
  write_text(output, "old contents");
  fs::permissions(output, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  const std::vector<std::string> before = entries(dir);
  CHECK(run_pare({"run", model, "--output", output}).status == 0);
  CHECK(fs::status(output).permissions() ==
        (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read));
  CHECK(pare::testing::read_text(output) != "old contents");
  CHECK(entries(dir) == before);
}

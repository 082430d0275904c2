// Work in a forked child, its result through a pipe (bench_child_process.h).
#include "bench_child_process.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

#include "pare/error.h"

namespace pare::cli {

namespace {

// The first byte of what the child writes says how the rest reads.
constexpr char kResult = 'R';
constexpr char kError = 'E';
constexpr int kChildFailed = 1;

void write_all(int fd, const std::string& bytes) {
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t count = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) return;  // the parent is gone; nobody is left to tell
    written += static_cast<size_t>(count);
  }
}

std::string read_all(int fd) {
  std::string bytes;
  char buffer[1 << 16];
  while (true) {
    const ssize_t count = ::read(fd, buffer, sizeof(buffer));
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) return bytes;
    bytes.append(buffer, static_cast<size_t>(count));
  }
}

[[noreturn]] void run_child(int fd, const std::function<std::string()>& work) {
  std::string message;
  int status = 0;
  try {
    message = kResult + work();
  } catch (const std::bad_alloc&) {
    message = std::string(1, kError) + "out of memory";
    status = kChildFailed;
  } catch (const std::exception& error) {
    message = kError + std::string(error.what());
    status = kChildFailed;
  } catch (...) {
    message = std::string(1, kError) + "the measuring process failed with an unknown error";
    status = kChildFailed;
  }
  write_all(fd, message);
  ::close(fd);
  std::fflush(stderr);
  // _exit: the parent's stdout buffer and static objects belong to the parent.
  ::_exit(status);
}

}  // namespace

std::string run_in_child_process(const std::function<std::string()>& work) {
  int fds[2];
  PARE_CHECK(::pipe(fds) == 0, "cannot create a pipe: ", std::strerror(errno));
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int error = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw Error(str_cat("cannot start a measuring process: ", std::strerror(error)));
  }
  if (pid == 0) {
    ::close(fds[0]);
    run_child(fds[1], work);
  }
  ::close(fds[1]);
  const std::string message = read_all(fds[0]);
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status))
    throw Error(str_cat("the measuring process was killed by signal ", WTERMSIG(status), " (",
                        strsignal(WTERMSIG(status)), ")"));
  PARE_CHECK(!message.empty(), "the measuring process exited with status ",
             WIFEXITED(status) ? WEXITSTATUS(status) : -1, " and no result");
  if (message[0] == kError) throw Error(message.substr(1));
  return message.substr(1);
}

}  // namespace pare::cli

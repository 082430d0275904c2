// InputFile: a mapped regular file or a bounded stream (input_file.h).
#include "input_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "pare/error.h"

namespace pare::detail {

InputFile::InputFile(const std::string& path) : path_(path) {
  // Opening a FIFO blocks until a writer appears, as a shell redirection does.
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  PARE_CHECK(fd_ >= 0, path, ": cannot open (", std::strerror(errno), ")");
  struct stat status {};
  if (::fstat(fd_, &status) != 0) {
    const std::string reason = std::strerror(errno);
    ::close(fd_);
    throw Error(str_cat(path, ": cannot inspect (", reason, ")"));
  }
  if (S_ISDIR(status.st_mode)) {
    ::close(fd_);
    throw Error(str_cat(path, ": is a directory"));
  }
  // Files of size 0 are read as streams: /proc and /sys report 0 for files that do hold bytes.
  if (!S_ISREG(status.st_mode) || status.st_size == 0) return;
  size_ = static_cast<uint64_t>(status.st_size);
  void* address = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd_, 0);
  if (address == MAP_FAILED) {
    const std::string reason = std::strerror(errno);
    ::close(fd_);
    throw Error(str_cat(path, ": cannot map its ", size_, " bytes (", reason, ")"));
  }
  const uint64_t length = size_;
  mapping_ = std::shared_ptr<char>(static_cast<char*>(address),
                                   [length](char* data) { ::munmap(data, length); });
  // The mapping holds the file; the descriptor is no longer needed.
  ::close(fd_);
  fd_ = -1;
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

void InputFile::read_exactly(void* destination, uint64_t size, const std::string& what) {
  PARE_CHECK(fd_ >= 0, path_, ": read_exactly on a mapped file");
  char* out = static_cast<char*>(destination);
  uint64_t done = 0;
  while (done < size) {
    // One read() returns at most about 2 GiB on Linux; ask for at most 1 GiB at a time.
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(size - done, 1ull << 30));
    const ssize_t got = ::read(fd_, out + done, chunk);
    if (got < 0 && errno == EINTR) continue;
    PARE_CHECK(got >= 0, path_, ": read failed after ", consumed_ + done, " bytes (",
               std::strerror(errno), ")");
    PARE_CHECK(got > 0, path_, ": ends after ", consumed_ + done, " bytes, inside ", what, " (",
               size, " bytes declared, ", done, " present)");
    done += static_cast<uint64_t>(got);
  }
  consumed_ += size;
}

bool InputFile::at_end() {
  PARE_CHECK(fd_ >= 0, path_, ": at_end on a mapped file");
  char byte = 0;
  for (;;) {
    const ssize_t got = ::read(fd_, &byte, 1);
    if (got < 0 && errno == EINTR) continue;
    PARE_CHECK(got >= 0, path_, ": read failed after ", consumed_, " bytes (", std::strerror(errno),
               ")");
    return got == 0;
  }
}

}  // namespace pare::detail

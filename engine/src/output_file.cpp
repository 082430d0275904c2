// OutputFile: atomic replacement of regular files, direct writes into FIFOs and character
// devices, refusal of everything else (output_file.h).
#include "pare/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "pare/error.h"

namespace pare {

namespace {

// Small writes (headers, JSON) are gathered up to this size; tensors larger than it are written
// straight from their memory, so the writer never holds a second copy of a model.
constexpr size_t kBufferBytes = 1 << 20;
// The kernel's own limit on symlink hops (ELOOP beyond it).
constexpr int kMaxSymlinkHops = 40;

std::string errno_text() { return std::strerror(errno); }

// Follows `path` through symlinks to the path that is finally written. `status` receives the
// lstat of that path; `exists` is false when nothing is there (a new file, or a dangling link).
std::string final_target(const std::string& path, struct stat& status, bool& exists) {
  std::string current = path;
  for (int hop = 0; hop <= kMaxSymlinkHops; ++hop) {
    if (::lstat(current.c_str(), &status) != 0) {
      PARE_CHECK(errno == ENOENT, path, ": cannot inspect the output path (", errno_text(), ")");
      exists = false;
      return current;
    }
    if (!S_ISLNK(status.st_mode)) {
      exists = true;
      return current;
    }
    std::error_code error;
    const std::filesystem::path link = std::filesystem::read_symlink(current, error);
    PARE_CHECK(!error, path, ": cannot read the symbolic link '", current, "' (", error.message(),
               ")");
    current = link.is_absolute() ? link.string()
                                 : (std::filesystem::path(current).parent_path() / link).string();
  }
  throw Error(str_cat(path, ": too many levels of symbolic links"));
}

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

}  // namespace

OutputFile::OutputFile(const std::string& path) : path_(path) {
  PARE_CHECK(!path.empty(), "the output path is empty");
  struct stat status {};
  bool exists = false;
  target_ = final_target(path, status, exists);
  const bool direct = exists && (S_ISFIFO(status.st_mode) || S_ISCHR(status.st_mode));
  PARE_CHECK(!exists || direct || S_ISREG(status.st_mode), path, ": is ", kind_of(status.st_mode),
             "; pare writes regular files, FIFOs and character devices only");
  if (direct) {
    // No O_TRUNC or O_CREAT: the FIFO or device stays what it is. A FIFO blocks here until a
    // reader opens it, as a shell redirection does.
    fd_ = ::open(target_.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
    PARE_CHECK(fd_ >= 0, path, ": cannot open for writing (", errno_text(), ")");
    struct stat opened {};
    if (::fstat(fd_, &opened) != 0 || !(S_ISFIFO(opened.st_mode) || S_ISCHR(opened.st_mode))) {
      ::close(fd_);
      fd_ = -1;
      throw Error(str_cat(path, ": changed while it was being opened; not writing"));
    }
    buffer_.reserve(kBufferBytes);
    return;
  }
  // A new name in the target's folder, so that the rename stays on one file system. O_EXCL never
  // follows or reuses whatever is already there (a stale temporary, a planted link).
  static std::atomic<uint64_t> counter{0};
  const std::filesystem::path target(target_);
  const mode_t mode = exists ? (status.st_mode & 0777) : 0666;
  for (int attempt = 0; fd_ < 0; ++attempt) {
    temporary_ = (target.parent_path() /
                  str_cat(".", target.filename().string(), ".tmp.", ::getpid(), ".", counter++))
                     .string();
    fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd_ < 0 && (errno != EEXIST || attempt >= 100)) {
      const std::string reason = errno_text();
      temporary_.clear();
      throw Error(str_cat(path, ": cannot open for writing (", reason, ")"));
    }
  }
  // open() applied the umask; a replaced file keeps exactly the permissions it had.
  if (exists) (void)::fchmod(fd_, mode);
  buffer_.reserve(kBufferBytes);
}

OutputFile::~OutputFile() {
  if (!committed_) discard();
}

void OutputFile::discard() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temporary_.empty()) ::unlink(temporary_.c_str());
  temporary_.clear();
}

void OutputFile::write_fully(const char* data, size_t size) {
  while (size > 0) {
    const ssize_t written = ::write(fd_, data, size);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      const std::string reason = written < 0 ? errno_text() : "no progress";
      discard();
      throw Error(str_cat(path_, ": write failed (", reason, ")"));
    }
    data += written;
    size -= static_cast<size_t>(written);
  }
}

void OutputFile::flush() {
  if (buffer_.empty()) return;
  write_fully(buffer_.data(), buffer_.size());
  buffer_.clear();
}

void OutputFile::write(const void* data, size_t size) {
  PARE_CHECK(fd_ >= 0 && !committed_, path_, ": write after the file was closed");
  const char* bytes = static_cast<const char*>(data);
  if (buffer_.size() + size <= kBufferBytes) {
    buffer_.append(bytes, size);
    return;
  }
  flush();
  if (size >= kBufferBytes) {
    write_fully(bytes, size);
  } else {
    buffer_.append(bytes, size);
  }
}

void OutputFile::commit() {
  PARE_CHECK(fd_ >= 0 && !committed_, path_, ": commit after the file was closed");
  flush();
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    const std::string reason = errno_text();
    discard();
    throw Error(str_cat(path_, ": write failed (", reason, ")"));
  }
  if (!temporary_.empty() && ::rename(temporary_.c_str(), target_.c_str()) != 0) {
    const std::string reason = errno_text();
    discard();
    throw Error(str_cat(path_, ": cannot move the finished file into place (", reason, ")"));
  }
  temporary_.clear();
  committed_ = true;
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  OutputFile file(path);
  file.write(bytes);
  file.commit();
}

}  // namespace pare

// Internal to engine/: the bytes of an input file, read without trusting any size in it. A
// regular file is mapped whole (MAP_PRIVATE and writable, so an in-place write to a tensor that
// points into it is copy-on-write and never reaches the file); a pipe, FIFO or character device
// is read as a stream, exactly as many bytes as the caller asks for.
//
//   pare::detail::InputFile input(path);
//   if (input.mapped()) use(input.mapping(), input.size());
//   else input.read_exactly(buffer, 8, "the 8-byte header size");
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace pare::detail {

class InputFile {
 public:
  // Opens `path`; a pare::Error naming it if it cannot be opened or is a directory.
  explicit InputFile(const std::string& path);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  bool mapped() const { return mapping_ != nullptr; }
  // The whole mapped file; the mapping lives as long as any copy of this pointer.
  const std::shared_ptr<char>& mapping() const { return mapping_; }
  uint64_t size() const { return size_; }

  // Streams only: reads exactly `size` bytes, or throws a pare::Error naming the file, `what`
  // was being read, and how many bytes the stream held.
  void read_exactly(void* destination, uint64_t size, const std::string& what);
  // Streams only: true when the stream has no byte left (reads at most one byte to know).
  bool at_end();
  // Bytes consumed from the stream so far.
  uint64_t consumed() const { return consumed_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::shared_ptr<char> mapping_;
  uint64_t size_ = 0;
  uint64_t consumed_ = 0;
};

}  // namespace pare::detail

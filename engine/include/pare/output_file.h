// Where every pare writer puts its bytes. What happens depends on what is at the output path:
//
//   nothing, or a regular file: the bytes go to a temporary file in the same folder, which
//     replaces the path only once it is complete (rename), so a failure never leaves a partial
//     or truncated file behind; a replaced file keeps its permission bits.
//   a FIFO or a character device (/dev/stdout, /dev/null, a terminal): the bytes are written
//     into it directly; it is never replaced. A failure may leave part of the bytes written.
//   a symbolic link: followed (every hop, up to 40) to its final target, to which the rules
//     above apply; the link itself stays a link. A dangling link creates the file it names.
//   a directory, a socket, a block device: refused with a pare::Error naming the path.
//
//   pare::OutputFile out("net.pare");
//   out.write(header);
//   out.write(tensor.raw_data(), tensor.nbytes());
//   out.commit();  // without it the destructor discards the temporary file
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pare {

class OutputFile {
 public:
  // Opens the temporary file or the FIFO / device; a pare::Error naming `path` if it cannot.
  explicit OutputFile(const std::string& path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // Buffers small pieces; large ones go straight to the file.
  void write(const void* data, size_t size);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  // Flushes and moves the temporary file into place (a FIFO or device is only flushed).
  void commit();

  const std::string& path() const { return path_; }

 private:
  void flush();
  void write_fully(const char* data, size_t size);
  void discard();

  std::string path_;       // as the caller gave it, for messages
  std::string target_;     // where the finished file goes (the final target of a symlink)
  std::string temporary_;  // empty when writing into a FIFO or device directly
  int fd_ = -1;
  std::string buffer_;
  bool committed_ = false;
};

// Writes `bytes` to `path` through an OutputFile. Shared by every pare writer of small files.
void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace pare

// The safetensors container (docs/format.md, "Container"): an 8-byte little-endian header
// size, a JSON header naming every tensor's dtype, shape and byte range, then the raw bytes.
// The reader trusts nothing in the file: every size, offset and dtype is checked before use, and
// it reads exactly what the header declares (the 8-byte size, the header, then the data buffer
// its tensors tile), refusing a file that is shorter or longer.
//
//   pare::write_safetensors("w.safetensors", {{"fc.weight", w}, {"fc.bias", b}}, {{"k", "v"}});
//   pare::SafetensorsFile file = pare::read_safetensors("w.safetensors");
//   pare::Tensor w2 = file.get("fc.weight");
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pare/output_file.h"
#include "pare/tensor.h"

namespace pare {

struct SafetensorsFile {
  std::vector<std::pair<std::string, Tensor>> tensors;  // in file order
  std::map<std::string, std::string> metadata;          // "__metadata__"
  // The tensor called `name`; a pare::Error naming `source` if absent.
  Tensor get(const std::string& name) const;
  bool contains(const std::string& name) const;
  std::string source;  // the file name, for messages
};

// Serialises to bytes (the header padded with spaces so that the data starts 64-byte aligned).
// Tensors may be any layout; they are written contiguous.
std::string encode_safetensors(const std::vector<std::pair<std::string, Tensor>>& tensors,
                               const std::map<std::string, std::string>& metadata = {});
// Parses bytes; `source` names the origin in error messages. The tensors are copies.
SafetensorsFile decode_safetensors(std::string_view bytes, const std::string& source);

// Streams the header and then each tensor's bytes to `path` through an OutputFile
// (output_file.h: a regular file is replaced atomically, a FIFO or device written into).
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});
// A regular file is mapped (copy-on-write) and its tensors point into the mapping, which lives
// as long as any of them: loading costs no copy of the weights. A tensor whose bytes are not
// 64-byte aligned (as pare's own allocations are) is copied. A pipe, FIFO or character device is
// read as a stream: exactly the bytes the header declares, each tensor straight into its own
// memory, and the stream must end there (so `/dev/zero` is refused at its header).
SafetensorsFile read_safetensors(const std::string& path);

// The format's dtype names ("F32", "I64", "U8", "BOOL"); parse returns false for any other.
const char* safetensors_dtype_name(DType dtype);
bool parse_safetensors_dtype(const std::string& name, DType& dtype);

}  // namespace pare

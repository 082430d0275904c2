// The safetensors container (spec/pare-format.md, "Container"): an 8-byte little-endian header
// size, a JSON header naming every tensor's dtype, shape and byte range, then the raw bytes.
// The reader trusts nothing in the file: every size, offset and dtype is checked before use.
//
//   pare::write_safetensors("w.safetensors", {{"fc.weight", w}, {"fc.bias", b}}, {{"k", "v"}});
//   pare::SafetensorsFile file = pare::read_safetensors("w.safetensors");
//   pare::Tensor w2 = file.get("fc.weight");
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

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

// Serialises to bytes (header padded with spaces to a multiple of 8, as the reference writer
// does). Tensors may be any layout; they are written contiguous.
std::string encode_safetensors(const std::vector<std::pair<std::string, Tensor>>& tensors,
                               const std::map<std::string, std::string>& metadata = {});
// Parses bytes; `source` names the origin in error messages.
SafetensorsFile decode_safetensors(const std::string& bytes, const std::string& source);

// Writes through a temporary file in the same folder and renames it into place, so a failure
// never leaves a partial file at `path`.
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});
SafetensorsFile read_safetensors(const std::string& path);

// The format's dtype names ("F32", "I64", "U8", "BOOL"); parse returns false for any other.
const char* safetensors_dtype_name(DType dtype);
bool parse_safetensors_dtype(const std::string& name, DType& dtype);

// Writes `bytes` to `path` atomically (temporary file + rename). Shared by every pare writer.
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace pare

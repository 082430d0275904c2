// The safetensors reader and writer.
#include "pare/safetensors.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

#include "input_file.h"
#include "pare/bounded_json.h"
#include "pare/creation.h"
#include "pare/output_file.h"

namespace pare {

namespace {

// A header larger than this is refused before any allocation: real headers are kilobytes.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;
// The alignment of the memory pare allocates (Storage::allocate), which mapped tensors keep too.
constexpr size_t kStorageAlignment = 64;

}  // namespace

const char* safetensors_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return "F32";
    case DType::i64:
      return "I64";
    case DType::u8:
      return "U8";
    case DType::boolean:
      return "BOOL";
  }
  return "?";
}

bool parse_safetensors_dtype(const std::string& name, DType& dtype) {
  for (DType candidate : {DType::f32, DType::i64, DType::u8, DType::boolean}) {
    if (name == safetensors_dtype_name(candidate)) {
      dtype = candidate;
      return true;
    }
  }
  return false;
}

Tensor SafetensorsFile::get(const std::string& name) const {
  for (const auto& [key, tensor] : tensors)
    if (key == name) return tensor;
  throw Error(str_cat(source, ": no tensor named '", name, "'"));
}

bool SafetensorsFile::contains(const std::string& name) const {
  for (const auto& [key, tensor] : tensors)
    if (key == name) return true;
  return false;
}

namespace {

uint64_t read_le64(const char* bytes) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i)
    value |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  return value;
}

// One tensor as the header declares it.
struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

struct Header {
  std::vector<Entry> entries;  // in file order
  std::map<std::string, std::string> metadata;
  uint64_t buffer_size = 0;  // what the entries tile: the exact size of the data buffer
};

// Parses and checks the JSON header. `available` is the size of the data buffer when it is known
// (a file in memory or mapped); a stream passes nullopt and reads exactly buffer_size bytes.
Header parse_header(std::string_view text, const std::string& source,
                    std::optional<uint64_t> available) {
  // ordered_json keeps the file's tensor order (nlohmann::json would sort the names).
  const nlohmann::ordered_json header =
      parse_bounded_json<nlohmann::ordered_json>(text, str_cat(source, ": the header"));
  PARE_CHECK(header.is_object(), source, ": the header is not a JSON object");
  Header parsed;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::ordered_json& value = it.value();
    if (name == "__metadata__") {
      PARE_CHECK(value.is_object(), source, ": __metadata__ is not an object");
      for (auto meta = value.begin(); meta != value.end(); ++meta) {
        PARE_CHECK(meta.value().is_string(), source, ": __metadata__ value of '", meta.key(),
                   "' is not a string");
        parsed.metadata[meta.key()] = meta.value().get<std::string>();
      }
      continue;
    }
    PARE_CHECK(value.is_object() && value.contains("dtype") && value.contains("shape") &&
                   value.contains("data_offsets"),
               source, ": tensor '", name, "' lacks dtype, shape or data_offsets");
    Entry entry{name, DType::f32, {}, 0, 0};
    PARE_CHECK(value["dtype"].is_string() && parse_safetensors_dtype(value["dtype"], entry.dtype),
               source, ": tensor '", name, "' has unsupported dtype ", json_excerpt(value["dtype"]),
               " (pare reads F32, I64, U8, BOOL)");
    const auto& shape = value["shape"];
    PARE_CHECK(shape.is_array(), source, ": tensor '", name, "' has a shape that is not a list");
    uint64_t elements = 1;
    for (const auto& dim : shape) {
      PARE_CHECK(dim.is_number_unsigned() || (dim.is_number_integer() && dim.get<int64_t>() >= 0),
                 source, ": tensor '", name, "' has an invalid dimension ", json_excerpt(dim));
      uint64_t size = dim.get<uint64_t>();
      PARE_CHECK(size == 0 || elements <= std::numeric_limits<uint64_t>::max() / size, source,
                 ": tensor '", name, "' has a shape whose size overflows");
      elements *= size;
      entry.shape.push_back(static_cast<int64_t>(size));
    }
    const auto& offsets = value["data_offsets"];
    PARE_CHECK(offsets.is_array() && offsets.size() == 2 && offsets[0].is_number_unsigned() &&
                   offsets[1].is_number_unsigned(),
               source, ": tensor '", name, "' has invalid data_offsets ", json_excerpt(offsets));
    entry.begin = offsets[0].get<uint64_t>();
    entry.end = offsets[1].get<uint64_t>();
    PARE_CHECK(entry.begin <= entry.end, source, ": tensor '", name, "' has data_offsets [",
               entry.begin, ", ", entry.end, "] that end before they begin");
    PARE_CHECK(!available || entry.end <= *available, source, ": tensor '", name,
               "' has data_offsets [", entry.begin, ", ", entry.end,
               "] outside the data buffer of ", available.value_or(0), " bytes");
    PARE_CHECK(elements <= std::numeric_limits<uint64_t>::max() / element_size(entry.dtype) &&
                   elements * element_size(entry.dtype) == entry.end - entry.begin,
               source, ": tensor '", name, "' of shape ", entry.shape, " and dtype ",
               value["dtype"].get<std::string>(), " needs ", elements * element_size(entry.dtype),
               " bytes but data_offsets cover ", entry.end - entry.begin);
    parsed.entries.push_back(std::move(entry));
  }

  // Tensors must tile the buffer exactly: no overlaps and no holes.
  std::vector<const Entry*> by_offset;
  for (const Entry& entry : parsed.entries) by_offset.push_back(&entry);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t expected = 0;
  for (const Entry* entry : by_offset) {
    PARE_CHECK(entry->begin >= expected, source, ": tensor '", entry->name,
               "' overlaps the tensor before it (starts at byte ", entry->begin, ", expected ",
               expected, ")");
    PARE_CHECK(entry->begin == expected, source, ": hole in the data buffer before tensor '",
               entry->name, "' (bytes ", expected, " to ", entry->begin, " are unused)");
    expected = entry->end;
  }
  PARE_CHECK(!available || expected == *available, source, ": the data buffer has ",
             available.value_or(0) - expected, " unused trailing bytes");
  parsed.buffer_size = expected;
  return parsed;
}

void check_bool_values(const Tensor& tensor, const std::string& name, const std::string& source) {
  if (tensor.dtype() != DType::boolean) return;
  const uint8_t* values = static_cast<const uint8_t*>(tensor.raw_data());
  for (int64_t i = 0; i < tensor.numel(); ++i)
    PARE_CHECK(values[i] <= 1, source, ": BOOL tensor '", name, "' holds the byte ", int(values[i]),
               " (must be 0 or 1)");
}

// A tensor of the entry's shape and dtype in memory pare allocates; the error names the tensor
// when the declared size cannot be allocated.
Tensor allocate_tensor(const Entry& entry, const std::string& source) {
  try {
    return empty(entry.shape, entry.dtype);
  } catch (const Error& error) {
    throw Error(str_cat(source, ": tensor '", entry.name, "': ", error.what()));
  }
}

Tensor copy_tensor(const Entry& entry, const char* data, const std::string& source) {
  Tensor tensor = allocate_tensor(entry, source);
  if (entry.end > entry.begin) std::memcpy(tensor.raw_data(), data, entry.end - entry.begin);
  return tensor;
}

// Decodes a whole file held in memory at `bytes` (a string or a mapping); `make` turns an entry
// and its first byte into a tensor.
using MakeTensor = std::function<Tensor(const Entry&, const char*)>;
SafetensorsFile decode_bytes(std::string_view bytes, const std::string& source,
                             const MakeTensor& make) {
  PARE_CHECK(bytes.size() >= 8, source, ": not a safetensors file (", bytes.size(),
             " bytes, shorter than the 8-byte header size)");
  const uint64_t header_size = read_le64(bytes.data());
  PARE_CHECK(header_size <= bytes.size() - 8 && header_size <= kMaxHeaderBytes, source,
             ": header size ", header_size, " is larger than the file (", bytes.size(),
             " bytes) allows");
  const uint64_t buffer_size = bytes.size() - 8 - header_size;
  Header header = parse_header(bytes.substr(8, header_size), source, buffer_size);
  const char* buffer = bytes.data() + 8 + header_size;
  SafetensorsFile file;
  file.source = source;
  file.metadata = std::move(header.metadata);
  for (const Entry& entry : header.entries) {
    Tensor tensor = make(entry, buffer + entry.begin);
    check_bool_values(tensor, entry.name, source);
    file.tensors.emplace_back(entry.name, tensor);
  }
  return file;
}

// A pipe, FIFO or character device: exactly the declared bytes are read, each tensor straight
// into its own storage, and the stream must end there.
SafetensorsFile read_stream(detail::InputFile& input, const std::string& source) {
  char size_bytes[8];
  input.read_exactly(size_bytes, 8, "the 8-byte header size");
  const uint64_t header_size = read_le64(size_bytes);
  PARE_CHECK(header_size <= kMaxHeaderBytes, source, ": header size ", header_size,
             " is larger than the ", kMaxHeaderBytes, " bytes a header may have");
  // Grown as the bytes arrive, so a stream that lies about its header size costs what it sends.
  std::string text;
  while (text.size() < header_size) {
    const size_t chunk =
        static_cast<size_t>(std::min<uint64_t>(header_size - text.size(), 1 << 20));
    const size_t old_size = text.size();
    text.resize(old_size + chunk);
    input.read_exactly(text.data() + old_size, chunk,
                       str_cat("the header of ", header_size, " bytes"));
  }
  Header header = parse_header(text, source, std::nullopt);
  std::vector<size_t> order(header.entries.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return header.entries[a].begin < header.entries[b].begin; });
  std::vector<Tensor> tensors(header.entries.size());
  for (size_t index : order) {
    const Entry& entry = header.entries[index];
    Tensor tensor = allocate_tensor(entry, source);
    input.read_exactly(tensor.raw_data(), entry.end - entry.begin,
                       str_cat("tensor '", entry.name, "'"));
    check_bool_values(tensor, entry.name, source);
    tensors[index] = tensor;
  }
  PARE_CHECK(input.at_end(), source, ": unused trailing bytes after the ", input.consumed(),
             " bytes that its header declares (the file must end there)");
  SafetensorsFile file;
  file.source = source;
  file.metadata = std::move(header.metadata);
  for (size_t i = 0; i < tensors.size(); ++i)
    file.tensors.emplace_back(header.entries[i].name, tensors[i]);
  return file;
}

// The header of a safetensors file: the 8-byte size, then the JSON padded with spaces so that the
// data buffer starts at a multiple of kStorageAlignment bytes (the reference writer pads to 8; the
// format allows any whitespace). Mapped, every tensor whose predecessors' sizes keep the offset
// aligned (all but those after odd-sized ones) can then be used in place.
std::string encode_header(const std::vector<std::pair<std::string, Tensor>>& tensors,
                          const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    PARE_CHECK(name != "__metadata__" && !name.empty(), "safetensors: invalid tensor name '", name,
               "'");
    PARE_CHECK(!header.contains(name), "safetensors: duplicate tensor name '", name, "'");
    PARE_CHECK(tensor.defined(), "safetensors: tensor '", name, "' is undefined");
    const uint64_t bytes = static_cast<uint64_t>(tensor.numel()) * tensor.element_size();
    header[name] = {{"dtype", safetensors_dtype_name(tensor.dtype())},
                    {"shape", tensor.sizes()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string header_text;
  try {
    header_text = header.dump();
  } catch (const nlohmann::json::exception&) {
    // JSON holds UTF-8 only; a reader could not parse the header otherwise.
    throw Error(
        "safetensors: a tensor name or metadata value is not valid UTF-8, which the JSON header "
        "cannot hold");
  }
  header_text.append(
      (kStorageAlignment - (8 + header_text.size()) % kStorageAlignment) % kStorageAlignment, ' ');
  std::string out;
  out.reserve(8 + header_text.size());
  const uint64_t header_size = header_text.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((header_size >> (8 * i)) & 0xff));
  out += header_text;
  return out;
}

// Calls `emit` with the bytes of each tensor in turn; a strided tensor is made contiguous one at a
// time, so at most one tensor is ever copied.
void for_each_tensor_bytes(const std::vector<std::pair<std::string, Tensor>>& tensors,
                           const std::function<void(const void*, size_t)>& emit) {
  for (const auto& [name, tensor] : tensors) {
    const Tensor dense = tensor.detach().contiguous();
    if (dense.nbytes() > 0) emit(dense.raw_data(), dense.nbytes());
  }
}

}  // namespace

std::string encode_safetensors(const std::vector<std::pair<std::string, Tensor>>& tensors,
                               const std::map<std::string, std::string>& metadata) {
  std::string out = encode_header(tensors, metadata);
  size_t total = out.size();
  for (const auto& [name, tensor] : tensors) total += tensor.nbytes();
  out.reserve(total);
  for_each_tensor_bytes(tensors, [&](const void* data, size_t size) {
    out.append(static_cast<const char*>(data), size);
  });
  return out;
}

SafetensorsFile decode_safetensors(std::string_view bytes, const std::string& source) {
  return decode_bytes(bytes, source, [&](const Entry& entry, const char* data) {
    return copy_tensor(entry, data, source);
  });
}

void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string header = encode_header(tensors, metadata);
  OutputFile out(path);
  out.write(header);
  for_each_tensor_bytes(tensors, [&](const void* data, size_t size) { out.write(data, size); });
  out.commit();
}

SafetensorsFile read_safetensors(const std::string& path) {
  detail::InputFile input(path);
  if (!input.mapped()) return read_stream(input, path);
  const std::shared_ptr<char> mapping = input.mapping();
  const MakeTensor in_place = [&](const Entry& entry, const char* data) {
    // The tensor points into the mapping and keeps it alive. One whose bytes do not start at the
    // alignment pare gives every storage is copied: kernels may take another (bit-different) path
    // on less aligned memory, and a loaded model must compute exactly what the saved one did.
    if (reinterpret_cast<uintptr_t>(data) % kStorageAlignment != 0)
      return copy_tensor(entry, data, path);
    return from_blob(const_cast<char*>(data), entry.shape, entry.dtype, [mapping](void*) {});
  };
  return decode_bytes(std::string_view(mapping.get(), input.size()), path, in_place);
}

}  // namespace pare

// The safetensors reader and writer.
#include "pare/safetensors.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "pare/bounded_json.h"
#include "pare/creation.h"

namespace pare {

namespace {

// A header larger than this is refused before any allocation: real headers are kilobytes.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

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

std::string encode_safetensors(const std::vector<std::pair<std::string, Tensor>>& tensors,
                               const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<Tensor> dense;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    PARE_CHECK(name != "__metadata__" && !name.empty(), "safetensors: invalid tensor name '", name,
               "'");
    PARE_CHECK(!header.contains(name), "safetensors: duplicate tensor name '", name, "'");
    PARE_CHECK(tensor.defined(), "safetensors: tensor '", name, "' is undefined");
    Tensor contiguous = tensor.detach().contiguous();
    uint64_t bytes = contiguous.nbytes();
    header[name] = {{"dtype", safetensors_dtype_name(contiguous.dtype())},
                    {"shape", contiguous.sizes()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    dense.push_back(contiguous);
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');
  std::string out;
  out.reserve(8 + header_text.size() + offset);
  uint64_t header_size = header_text.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((header_size >> (8 * i)) & 0xff));
  out += header_text;
  for (const Tensor& tensor : dense)
    out.append(static_cast<const char*>(tensor.raw_data()), tensor.nbytes());
  return out;
}

SafetensorsFile decode_safetensors(const std::string& bytes, const std::string& source) {
  SafetensorsFile file;
  file.source = source;
  PARE_CHECK(bytes.size() >= 8, source, ": not a safetensors file (", bytes.size(),
             " bytes, shorter than the 8-byte header size)");
  uint64_t header_size = 0;
  for (int i = 0; i < 8; ++i)
    header_size |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  PARE_CHECK(header_size <= bytes.size() - 8 && header_size <= kMaxHeaderBytes, source,
             ": header size ", header_size, " is larger than the file (", bytes.size(),
             " bytes) allows");
  // ordered_json keeps the file's tensor order (nlohmann::json would sort the names).
  const nlohmann::ordered_json header = parse_bounded_json<nlohmann::ordered_json>(
      std::string_view(bytes).substr(8, header_size), str_cat(source, ": the header"));
  PARE_CHECK(header.is_object(), source, ": the header is not a JSON object");
  const uint64_t buffer_size = bytes.size() - 8 - header_size;
  const char* buffer = bytes.data() + 8 + header_size;

  struct Entry {
    std::string name;
    DType dtype;
    Shape shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::ordered_json& value = it.value();
    if (name == "__metadata__") {
      PARE_CHECK(value.is_object(), source, ": __metadata__ is not an object");
      for (auto meta = value.begin(); meta != value.end(); ++meta) {
        PARE_CHECK(meta.value().is_string(), source, ": __metadata__ value of '", meta.key(),
                   "' is not a string");
        file.metadata[meta.key()] = meta.value().get<std::string>();
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
    PARE_CHECK(entry.begin <= entry.end && entry.end <= buffer_size, source, ": tensor '", name,
               "' has data_offsets [", entry.begin, ", ", entry.end,
               "] outside the data buffer of ", buffer_size, " bytes");
    PARE_CHECK(elements <= std::numeric_limits<uint64_t>::max() / element_size(entry.dtype) &&
                   elements * element_size(entry.dtype) == entry.end - entry.begin,
               source, ": tensor '", name, "' of shape ", entry.shape, " and dtype ",
               value["dtype"].get<std::string>(), " needs ", elements * element_size(entry.dtype),
               " bytes but data_offsets cover ", entry.end - entry.begin);
    entries.push_back(std::move(entry));
  }

  // Tensors must tile the buffer exactly: no overlaps and no holes.
  std::vector<const Entry*> by_offset;
  for (const Entry& entry : entries) by_offset.push_back(&entry);
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
  PARE_CHECK(expected == buffer_size, source, ": the data buffer has ", buffer_size - expected,
             " unused trailing bytes");

  for (const Entry& entry : entries) {
    Tensor tensor = empty(entry.shape, entry.dtype);
    if (entry.end > entry.begin)
      std::memcpy(tensor.raw_data(), buffer + entry.begin, entry.end - entry.begin);
    if (entry.dtype == DType::boolean) {
      const uint8_t* values = static_cast<const uint8_t*>(tensor.raw_data());
      for (int64_t i = 0; i < tensor.numel(); ++i)
        PARE_CHECK(values[i] <= 1, source, ": BOOL tensor '", entry.name, "' holds the byte ",
                   int(values[i]), " (must be 0 or 1)");
    }
    file.tensors.emplace_back(entry.name, tensor);
  }
  return file;
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  std::filesystem::path target(path);
  std::filesystem::path temporary = target.parent_path() / ("." + target.filename().string() +
                                                            ".tmp." + std::to_string(getpid()));
  {
    std::ofstream stream(temporary, std::ios::binary | std::ios::trunc);
    PARE_CHECK(stream.good(), path, ": cannot open for writing (", std::strerror(errno), ")");
    stream.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    stream.flush();
    if (!stream.good()) {
      std::error_code ignored;
      std::filesystem::remove(temporary, ignored);
      throw Error(str_cat(path, ": write failed (", std::strerror(errno), ")"));
    }
  }
  std::error_code error;
  std::filesystem::rename(temporary, target, error);
  if (error) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw Error(
        str_cat(path, ": cannot move the finished file into place (", error.message(), ")"));
  }
}

void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  write_file_atomically(path, encode_safetensors(tensors, metadata));
}

SafetensorsFile read_safetensors(const std::string& path) {
  std::ifstream stream(path, std::ios::binary | std::ios::ate);
  PARE_CHECK(stream.good(), path, ": cannot open (", std::strerror(errno), ")");
  std::streamoff size = stream.tellg();
  PARE_CHECK(size >= 0, path, ": cannot determine the file size");
  std::string bytes(static_cast<size_t>(size), '\0');
  stream.seekg(0);
  stream.read(bytes.data(), size);
  PARE_CHECK(stream.good() || stream.eof(), path, ": read failed");
  return decode_safetensors(bytes, path);
}

}  // namespace pare

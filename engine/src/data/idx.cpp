// IDX reading and writing through zlib's gz* functions, which read gzip and plain files alike.
#include "pare/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <utility>

#include "pare/creation.h"

namespace pare::data {

namespace {

constexpr uint8_t kUnsignedByteType = 0x08;
constexpr uint32_t kLabelsMagic = 0x00000801;
constexpr uint32_t kImagesMagic = 0x00000803;
// zlib's gzread/gzwrite take an unsigned length: move data in pieces well below its limit.
constexpr size_t kChunkBytes = size_t{1} << 20;
// Deflate cannot expand more than about 1032:1, which bounds what a gzip file can decode to.
constexpr uint64_t kMaxDeflateRatio = 1032;

const char* idx_type_name(uint8_t type) {
  switch (type) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
    default:
      return "unknown";
  }
}

class GzFile {
 public:
  GzFile(const std::string& path, const char* mode) : handle_(gzopen(path.c_str(), mode)) {}
  ~GzFile() {
    if (handle_ != nullptr) gzclose(handle_);
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;
  gzFile get() const { return handle_; }
  // Closes now, returning zlib's status (a write error may surface only here).
  int close() { return gzclose(std::exchange(handle_, nullptr)); }

 private:
  gzFile handle_;
};

class IdxReader {
 public:
  explicit IdxReader(const std::string& path) : path_(path), file_(path, "rb") {
    std::error_code error;
    PARE_CHECK(std::filesystem::is_regular_file(path, error), "IDX: cannot open '", path,
               "': no such file");
    PARE_CHECK(file_.get() != nullptr, "IDX: cannot open '", path, "': ", std::strerror(errno));
    disk_bytes_ = std::filesystem::file_size(path, error);
    gzbuffer(file_.get(), 1 << 17);
  }

  // Reads up to `count` bytes into `destination`; returns how many arrived before the end.
  size_t read(uint8_t* destination, size_t count) {
    size_t got = 0;
    while (got < count) {
      const auto piece = static_cast<unsigned>(std::min(count - got, kChunkBytes));
      const int n = gzread(file_.get(), destination + got, piece);
      check_stream();
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    return got;
  }

  void read_exactly(uint8_t* destination, size_t count, const char* what) {
    const size_t got = read(destination, count);
    PARE_CHECK(got == count, "IDX: '", path_, "' is truncated: it ends inside the ", what, " (",
               got, " of ", count, " bytes)");
  }

  // zlib keeps a truncated or corrupt gzip stream's error in the handle.
  void check_stream() {
    int status = Z_OK;
    std::string message = gzerror(file_.get(), &status);
    if (status == Z_OK) return;
    // zlib prefixes the path, which the message names already.
    if (message.rfind(path_ + ": ", 0) == 0) message.erase(0, path_.size() + 2);
    PARE_CHECK(status != Z_BUF_ERROR, "IDX: '", path_,
               "' is truncated: the gzip stream ends early (zlib: ", message, ")");
    PARE_CHECK(false, "IDX: '", path_, "' is not a readable gzip or IDX file (zlib: ", message,
               ")");
  }

  bool gzip() { return gzdirect(file_.get()) == 0; }
  uint64_t disk_bytes() const { return disk_bytes_; }

 private:
  std::string path_;
  GzFile file_;
  uint64_t disk_bytes_ = 0;
};

uint32_t big_endian_u32(const uint8_t* bytes) {
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) |
         uint32_t{bytes[3]};
}

void put_big_endian_u32(std::string& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string hex32(uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof(text), "0x%08x", value);
  return text;
}

}  // namespace

namespace {

// Reads an unsigned-byte IDX file; `expected_magic` (0: any rank) is checked before any data is
// read, and `kind` names what the caller wanted in the error.
Tensor read_idx_checked(const std::string& path, uint32_t expected_magic, const char* kind) {
  IdxReader reader(path);
  uint8_t magic_bytes[4];
  reader.read_exactly(magic_bytes, 4, "4-byte magic number");
  const uint32_t magic = big_endian_u32(magic_bytes);
  PARE_CHECK(magic_bytes[0] == 0 && magic_bytes[1] == 0, "IDX: '", path, "' starts with ",
             hex32(magic), ", not an IDX magic number (00 00 <type> <rank>)",
             expected_magic != 0 ? str_cat("; ", kind, " files start with ", hex32(expected_magic))
                                 : std::string());
  PARE_CHECK(magic_bytes[2] == kUnsignedByteType, "IDX: '", path, "' holds ",
             idx_type_name(magic_bytes[2]), " elements (magic ", hex32(magic),
             "); pare reads unsigned-byte (type 0x08) IDX files only");
  PARE_CHECK(expected_magic == 0 || magic == expected_magic, "IDX: '", path, "' has magic ",
             hex32(magic), " (", static_cast<int>(magic_bytes[3]), "-d data) but ", kind,
             " files have magic ", hex32(expected_magic), " (", expected_magic & 0xff, "-d)");
  const int rank = magic_bytes[3];
  PARE_CHECK(rank >= 1, "IDX: '", path, "' has rank 0 in its magic number ", hex32(magic));

  std::vector<uint8_t> header(4 * static_cast<size_t>(rank));
  reader.read_exactly(header.data(), header.size(), "dims of the header");
  Shape dims(rank);
  int64_t count = 1;
  for (int d = 0; d < rank; ++d) {
    dims[d] = big_endian_u32(&header[4 * d]);
    PARE_CHECK(dims[d] == 0 || count <= std::numeric_limits<int64_t>::max() / dims[d], "IDX: '",
               path, "' has dims ", dims, " whose product overflows");
    count *= dims[d];
  }

  // Never allocate more than the file can hold: its own size, or that times deflate's ratio.
  const uint64_t header_bytes = 4 + header.size();
  const uint64_t disk = reader.disk_bytes();
  const uint64_t can_hold =
      reader.gzip() ? disk * kMaxDeflateRatio : (disk > header_bytes ? disk - header_bytes : 0);
  std::vector<uint8_t> data;
  data.reserve(std::min<uint64_t>(static_cast<uint64_t>(count), can_hold));
  while (static_cast<int64_t>(data.size()) < count) {
    const size_t have = data.size();
    const size_t piece = std::min<size_t>(static_cast<size_t>(count) - have, kChunkBytes);
    data.resize(have + piece);
    const size_t got = reader.read(data.data() + have, piece);
    data.resize(have + got);
    if (got < piece) break;
  }
  PARE_CHECK(static_cast<int64_t>(data.size()) == count, "IDX: '", path,
             "' is truncated: its header (dims ", dims, ") calls for ", count,
             " data bytes but it holds only ", data.size());
  uint8_t extra;
  PARE_CHECK(reader.read(&extra, 1) == 0, "IDX: '", path,
             "' holds more bytes than its header (dims ", dims, ", ", count,
             " data bytes) calls for");

  Tensor values = empty(dims, kUInt8);
  if (count > 0) std::memcpy(values.raw_data(), data.data(), data.size());
  return values;
}

}  // namespace

Tensor read_idx(const std::string& path) { return read_idx_checked(path, 0, "IDX"); }

Tensor read_idx_images(const std::string& path) {
  return read_idx_checked(path, kImagesMagic, "image");
}

Tensor read_idx_labels(const std::string& path) {
  return read_idx_checked(path, kLabelsMagic, "label");
}

void write_idx(const std::string& path, const Tensor& values) {
  PARE_CHECK(values.defined(), "write_idx: the tensor for '", path, "' is undefined");
  PARE_CHECK(values.dim() >= 1 && values.dim() <= 255, "write_idx: '", path,
             "' needs 1 to 255 dims, got shape ", values.sizes());
  PARE_CHECK(values.dtype() == kUInt8 || values.dtype() == kInt64, "write_idx: '", path,
             "' needs uint8 or int64 values, got ", dtype_name(values.dtype()));
  std::string bytes;
  bytes.reserve(4 + 4 * values.dim() + values.numel());
  bytes.append({0, 0, static_cast<char>(kUnsignedByteType), static_cast<char>(values.dim())});
  for (int64_t size : values.sizes()) {
    PARE_CHECK(size <= std::numeric_limits<uint32_t>::max(), "write_idx: '", path, "': dim ", size,
               " does not fit the 32-bit IDX header");
    put_big_endian_u32(bytes, static_cast<uint32_t>(size));
  }
  Tensor dense = values.detach().contiguous();
  if (dense.dtype() == kUInt8) {
    bytes.append(reinterpret_cast<const char*>(dense.data_ptr<uint8_t>()), dense.numel());
  } else {
    const int64_t* source = dense.data_ptr<int64_t>();
    for (int64_t i = 0; i < dense.numel(); ++i) {
      PARE_CHECK(source[i] >= 0 && source[i] <= 255, "write_idx: '", path, "': value ", source[i],
                 " at flat index ", i, " does not fit an unsigned byte");
      bytes.push_back(static_cast<char>(source[i]));
    }
  }

  if (ends_with(path, ".gz")) {
    GzFile file(path, "wb");
    PARE_CHECK(file.get() != nullptr, "write_idx: cannot create '", path,
               "': ", std::strerror(errno));
    for (size_t done = 0; done < bytes.size();) {
      const auto piece = static_cast<unsigned>(std::min(bytes.size() - done, kChunkBytes));
      PARE_CHECK(gzwrite(file.get(), bytes.data() + done, piece) == static_cast<int>(piece),
                 "write_idx: writing '", path, "' failed");
      done += piece;
    }
    PARE_CHECK(file.close() == Z_OK, "write_idx: finishing '", path, "' failed");
    return;
  }
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  PARE_CHECK(file.good(), "write_idx: cannot create '", path, "': ", std::strerror(errno));
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  file.close();
  PARE_CHECK(!file.fail(), "write_idx: writing '", path, "' failed");
}

void write_idx_images(const std::string& path, const Tensor& images) {
  PARE_CHECK(images.defined() && images.dim() == 3, "write_idx_images: '", path,
             "' needs images [N, H, W]",
             images.defined() ? str_cat(", got shape ", images.sizes()) : std::string());
  write_idx(path, images);
}

void write_idx_labels(const std::string& path, const Tensor& labels) {
  PARE_CHECK(labels.defined() && labels.dim() == 1, "write_idx_labels: '", path,
             "' needs labels [N]",
             labels.defined() ? str_cat(", got shape ", labels.sizes()) : std::string());
  write_idx(path, labels);
}

}  // namespace pare::data

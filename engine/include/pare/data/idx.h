// The IDX format of (Fashion-)MNIST: a big-endian header (magic 00 00 <type> <rank>, then `rank`
// u32 dims) followed by the elements, row-major. pare reads and writes unsigned-byte IDX files
// (type 0x08), gzip-compressed (detected by the 1f 8b magic; written when the path ends in
// ".gz") or plain. The header is never trusted: the file must hold exactly the bytes its dims
// call for, and every failure names the file.
//
//   pare::Tensor images = pare::data::read_idx_images("train-images-idx3-ubyte.gz");  // u8 [N, H,
//   W] pare::Tensor labels = pare::data::read_idx_labels("train-labels-idx1-ubyte.gz");  // u8 [N]
//   pare::data::write_idx("tiny-images-idx3-ubyte.gz", pare::zeros({2, 28, 28}, pare::kUInt8));
#pragma once

#include <string>

#include "pare/tensor.h"

namespace pare::data {

// Any unsigned-byte IDX file, as a uint8 tensor of the header's dims.
Tensor read_idx(const std::string& path);
// An image file: magic 0x00000803, uint8 [N, H, W].
Tensor read_idx_images(const std::string& path);
// A label file: magic 0x00000801, uint8 [N].
Tensor read_idx_labels(const std::string& path);

// Writes `values` (uint8, or int64 within 0..255, 1 to 255 dims) as an unsigned-byte IDX file,
// gzip-compressed when `path` ends in ".gz".
void write_idx(const std::string& path, const Tensor& values);
// write_idx, checking for the image layout [N, H, W] ...
void write_idx_images(const std::string& path, const Tensor& images);
// ... and the label layout [N].
void write_idx_labels(const std::string& path, const Tensor& labels);

}  // namespace pare::data

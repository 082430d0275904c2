// Normalize, RandomCrop, RandomHorizontalFlip and Compose on float32 samples. They loop over raw
// memory (no autograd, no tracer): they run per sample on the DataLoader's prefetch thread.
#include "pare/data/transforms.h"

#include <algorithm>

#include "pare/creation.h"

namespace pare::data::transforms {

namespace {

// A contiguous float32 copy-or-view of `sample`, checked to have at least `min_rank` dims.
Tensor dense_float(const Tensor& sample, int64_t min_rank, const char* op) {
  PARE_CHECK(sample.defined(), op, ": the sample is undefined");
  PARE_CHECK(sample.dtype() == kFloat32, op, ": expected a float32 sample, got ",
             dtype_name(sample.dtype()), " ", sample.sizes());
  PARE_CHECK(sample.dim() >= min_rank, op, ": expected a sample with at least ", min_rank,
             " dims ([C, H, W] or [H, W]), got shape ", sample.sizes());
  return sample.detach().contiguous();
}

}  // namespace

Normalize::Normalize(double mean, double std) : Normalize(std::vector{mean}, std::vector{std}) {}

Normalize::Normalize(std::vector<double> mean_values, std::vector<double> std_values)
    : mean(std::move(mean_values)), std(std::move(std_values)) {
  PARE_CHECK(!mean.empty() && mean.size() == std.size(), "Normalize: ", mean.size(), " means and ",
             std.size(), " standard deviations; need the same number, at least one");
  for (double value : std) PARE_CHECK(value > 0, "Normalize: std must be positive, got ", value);
}

Tensor Normalize::operator()(const Tensor& sample) const {
  const int64_t channels = static_cast<int64_t>(mean.size());
  Tensor input = dense_float(sample, channels > 1 ? 1 : 0, "Normalize");
  PARE_CHECK(channels == 1 || input.size(0) == channels, "Normalize: ", channels,
             " channel means but the sample's dim 0 is ", input.size(0), " (shape ", input.sizes(),
             ")");
  Tensor output = empty(input.sizes());
  const float* source = input.data_ptr<float>();
  float* destination = output.data_ptr<float>();
  const int64_t per_channel = channels == 1 ? input.numel() : input.numel() / channels;
  for (int64_t c = 0; c < channels; ++c) {
    const double shift = mean[c];
    const double scale = 1.0 / std[c];
    for (int64_t i = c * per_channel; i < (c + 1) * per_channel; ++i)
      destination[i] = static_cast<float>((source[i] - shift) * scale);
  }
  return output;
}

RandomCrop::RandomCrop(int64_t crop_height, int64_t crop_width, int64_t crop_padding)
    : height(crop_height), width(crop_width), padding(crop_padding) {
  PARE_CHECK(height > 0 && width > 0 && padding >= 0, "RandomCrop: need a positive size and a ",
             "non-negative padding, got ", height, "x", width, " padding ", padding);
}

Tensor RandomCrop::operator()(const Tensor& sample, Generator& generator) const {
  Tensor input = dense_float(sample, 2, "RandomCrop");
  const int64_t in_height = input.size(-2);
  const int64_t in_width = input.size(-1);
  const int64_t padded_height = in_height + 2 * padding;
  const int64_t padded_width = in_width + 2 * padding;
  PARE_CHECK(height <= padded_height && width <= padded_width, "RandomCrop: a ", height, "x", width,
             " window does not fit a sample of shape ", input.sizes(), " padded by ", padding);
  const auto top =
      static_cast<int64_t>(generator.next() % static_cast<uint64_t>(padded_height - height + 1));
  const auto left =
      static_cast<int64_t>(generator.next() % static_cast<uint64_t>(padded_width - width + 1));
  Shape output_shape = input.sizes();
  output_shape[output_shape.size() - 2] = height;
  output_shape.back() = width;
  Tensor output = zeros(output_shape);
  const int64_t planes = in_height * in_width == 0 ? 0 : input.numel() / (in_height * in_width);
  const float* source = input.data_ptr<float>();
  float* destination = output.data_ptr<float>();
  // Output (y, x) reads input (top + y - padding, left + x - padding); outside is the zero pad.
  const int64_t x_begin = std::max<int64_t>(0, padding - left);
  const int64_t x_end = std::min<int64_t>(width, in_width + padding - left);
  for (int64_t plane = 0; plane < planes; ++plane) {
    const float* in_plane = source + plane * in_height * in_width;
    float* out_plane = destination + plane * height * width;
    for (int64_t y = 0; y < height; ++y) {
      const int64_t in_y = top + y - padding;
      if (in_y < 0 || in_y >= in_height) continue;
      for (int64_t x = x_begin; x < x_end; ++x)
        out_plane[y * width + x] = in_plane[in_y * in_width + (left + x - padding)];
    }
  }
  return output;
}

RandomHorizontalFlip::RandomHorizontalFlip(double probability) : p(probability) {
  PARE_CHECK(p >= 0 && p <= 1, "RandomHorizontalFlip: p must be in [0, 1], got ", p);
}

Tensor RandomHorizontalFlip::operator()(const Tensor& sample, Generator& generator) const {
  Tensor input = dense_float(sample, 1, "RandomHorizontalFlip");
  // Always draw, so that whether one sample flips does not shift the draws of later transforms.
  if (!(generator.uniform(0.0, 1.0) < p)) return input;
  Tensor output = empty(input.sizes());
  const int64_t row = input.size(-1);
  const int64_t rows = row == 0 ? 0 : input.numel() / row;
  const float* source = input.data_ptr<float>();
  float* destination = output.data_ptr<float>();
  for (int64_t r = 0; r < rows; ++r)
    std::reverse_copy(source + r * row, source + (r + 1) * row, destination + r * row);
  return output;
}

Compose::Compose(std::vector<Transform> steps) : transforms(std::move(steps)) {
  for (size_t i = 0; i < transforms.size(); ++i)
    PARE_CHECK(static_cast<bool>(transforms[i]), "Compose: transform ", i, " is empty");
}

Tensor Compose::operator()(const Tensor& sample, Generator& generator) const {
  Tensor result = sample;
  for (const Transform& transform : transforms) result = transform(result, generator);
  return result;
}

}  // namespace pare::data::transforms

// A pre-norm transformer encoder block (as in ViT): x + attention(LayerNorm(x)), then
// x + MLP(LayerNorm(x)). Attention is written out with Linear, reshape, permute, matmul and
// softmax (no fused kernel), so every tensor a pruner must keep consistent is a graph edge: the
// residual stream (embedding), whole attention heads and the MLP's hidden units.
//
//   pare::models::TransformerBlock block(pare::models::TransformerBlockOptions(64, 4, 256));
//   auto y = block(pare::randn({2, 16, 64}));                // [batch, tokens, embedding]
//   auto encoder = pare::models::transformer_encoder(         // patch embedding + blocks + head
//       pare::models::TransformerEncoderOptions().image_size(28).patch_size(7).in_channels(1));
#pragma once

#include <cstdint>

#include "pare/nn/nn.h"

namespace pare::models {

class TransformerBlockOptions {
 public:
  TransformerBlockOptions(int64_t embedding, int64_t heads, int64_t mlp_hidden)
      : embedding_(embedding), heads_(heads), mlp_hidden_(mlp_hidden) {}
  TransformerBlockOptions& eps(double value) {
    eps_ = value;
    return *this;
  }
  int64_t embedding() const { return embedding_; }
  int64_t heads() const { return heads_; }
  int64_t mlp_hidden() const { return mlp_hidden_; }
  double eps() const { return eps_; }

 private:
  int64_t embedding_;
  int64_t heads_;
  int64_t mlp_hidden_;
  double eps_ = 1e-6;
};

// Multi-head self-attention over [N, T, E]: q, k, v and the output projection are Linear(E, E).
class SelfAttentionImpl : public nn::UnaryModule {
 public:
  SelfAttentionImpl(int64_t embedding, int64_t heads);
  Tensor forward(const Tensor& x) override;
  int64_t heads() const { return heads_; }

  nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, proj{nullptr};

 private:
  int64_t heads_;
};

class TransformerBlockImpl : public nn::UnaryModule {
 public:
  explicit TransformerBlockImpl(const TransformerBlockOptions& options);
  Tensor forward(const Tensor& x) override;

  nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  std::shared_ptr<SelfAttentionImpl> attn;
  nn::Linear fc1{nullptr}, fc2{nullptr};
  nn::GELU act{nullptr};
};
using TransformerBlock = nn::ModuleHolder<TransformerBlockImpl>;

class TransformerEncoderOptions {
 public:
  TransformerEncoderOptions& image_size(int64_t value) {
    image_size_ = value;
    return *this;
  }
  TransformerEncoderOptions& patch_size(int64_t value) {
    patch_size_ = value;
    return *this;
  }
  TransformerEncoderOptions& in_channels(int64_t value) {
    in_channels_ = value;
    return *this;
  }
  TransformerEncoderOptions& embedding(int64_t value) {
    embedding_ = value;
    return *this;
  }
  TransformerEncoderOptions& heads(int64_t value) {
    heads_ = value;
    return *this;
  }
  TransformerEncoderOptions& mlp_hidden(int64_t value) {
    mlp_hidden_ = value;
    return *this;
  }
  TransformerEncoderOptions& depth(int64_t value) {
    depth_ = value;
    return *this;
  }
  TransformerEncoderOptions& num_classes(int64_t value) {
    num_classes_ = value;
    return *this;
  }
  int64_t image_size() const { return image_size_; }
  int64_t patch_size() const { return patch_size_; }
  int64_t in_channels() const { return in_channels_; }
  int64_t embedding() const { return embedding_; }
  int64_t heads() const { return heads_; }
  int64_t mlp_hidden() const { return mlp_hidden_; }
  int64_t depth() const { return depth_; }
  int64_t num_classes() const { return num_classes_; }

 private:
  int64_t image_size_ = 32;
  int64_t patch_size_ = 4;
  int64_t in_channels_ = 3;
  int64_t embedding_ = 64;
  int64_t heads_ = 4;
  int64_t mlp_hidden_ = 128;
  int64_t depth_ = 2;
  int64_t num_classes_ = 10;
};

// A small ViT: a patch-embedding conv, `depth` blocks, LayerNorm, mean over tokens, Linear head.
// (No class token or position embedding: they are parameters outside any layer.)
class TransformerEncoderImpl : public nn::UnaryModule {
 public:
  explicit TransformerEncoderImpl(const TransformerEncoderOptions& options = {});
  Tensor forward(const Tensor& x) override;

  nn::Conv2d patch_embed{nullptr};
  nn::Sequential blocks{nullptr};
  nn::LayerNorm norm{nullptr};
  nn::Linear head{nullptr};
};
using TransformerEncoder = nn::ModuleHolder<TransformerEncoderImpl>;

TransformerEncoder transformer_encoder(const TransformerEncoderOptions& options = {});

}  // namespace pare::models

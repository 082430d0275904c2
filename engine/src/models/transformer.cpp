// The transformer block and the small ViT of pare/models/transformer.h.
#include "pare/models/transformer.h"

#include <cmath>

#include "pare/elementwise.h"
#include "pare/linalg.h"
#include "pare/reduction.h"

namespace pare::models {

SelfAttentionImpl::SelfAttentionImpl(int64_t embedding, int64_t heads)
    : nn::UnaryModule("SelfAttention"), heads_(heads) {
  PARE_CHECK(embedding > 0 && heads > 0 && embedding % heads == 0, "SelfAttention: embedding (",
             embedding, ") must be a positive multiple of heads (", heads, ")");
  q = register_module("q", nn::Linear(embedding, embedding));
  k = register_module("k", nn::Linear(embedding, embedding));
  v = register_module("v", nn::Linear(embedding, embedding));
  proj = register_module("proj", nn::Linear(embedding, embedding));
}

Tensor SelfAttentionImpl::forward(const Tensor& x) {
  PARE_CHECK(x.dim() == 3, "SelfAttention: expected [batch, tokens, embedding], got ", x.sizes());
  const int64_t batch = x.size(0), tokens = x.size(1), embedding = x.size(2);
  const int64_t head_dim = embedding / heads_;
  // [N, T, E] -> [N, heads, T, head_dim]
  auto split_heads = [&](const Tensor& t) {
    return t.reshape({batch, tokens, heads_, head_dim}).permute({0, 2, 1, 3});
  };
  const Tensor queries = split_heads(q(x));
  const Tensor keys = split_heads(k(x));
  const Tensor values = split_heads(v(x));
  const Tensor scores =
      matmul(queries, keys.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(head_dim)));
  const Tensor mixed = matmul(softmax(scores, -1), values);
  return proj(mixed.permute({0, 2, 1, 3}).reshape({batch, tokens, embedding}));
}

TransformerBlockImpl::TransformerBlockImpl(const TransformerBlockOptions& options)
    : nn::UnaryModule("TransformerBlock") {
  const int64_t embedding = options.embedding();
  norm1 =
      register_module("norm1", nn::LayerNorm(nn::LayerNormOptions({embedding}).eps(options.eps())));
  attn = register_module("attn", std::make_shared<SelfAttentionImpl>(embedding, options.heads()));
  norm2 =
      register_module("norm2", nn::LayerNorm(nn::LayerNormOptions({embedding}).eps(options.eps())));
  fc1 = register_module("fc1", nn::Linear(embedding, options.mlp_hidden()));
  act = register_module("act", nn::GELU());
  fc2 = register_module("fc2", nn::Linear(options.mlp_hidden(), embedding));
}

Tensor TransformerBlockImpl::forward(const Tensor& x) {
  const Tensor h = x + attn->call(norm1(x));
  return h + fc2(act(fc1(norm2(h))));
}

TransformerEncoderImpl::TransformerEncoderImpl(const TransformerEncoderOptions& options)
    : nn::UnaryModule("TransformerEncoder") {
  PARE_CHECK(options.patch_size() > 0 && options.image_size() % options.patch_size() == 0,
             "TransformerEncoder: image_size (", options.image_size(),
             ") must be a multiple of patch_size (", options.patch_size(), ")");
  patch_embed = register_module(
      "patch_embed",
      nn::Conv2d(nn::Conv2dOptions(options.in_channels(), options.embedding(), options.patch_size())
                     .stride(options.patch_size())));
  nn::Sequential layers;
  for (int64_t index = 0; index < options.depth(); ++index) {
    layers->push_back(TransformerBlock(
        TransformerBlockOptions(options.embedding(), options.heads(), options.mlp_hidden())));
  }
  blocks = register_module("blocks", layers);
  norm =
      register_module("norm", nn::LayerNorm(nn::LayerNormOptions({options.embedding()}).eps(1e-6)));
  head = register_module("head", nn::Linear(options.embedding(), options.num_classes()));
}

Tensor TransformerEncoderImpl::forward(const Tensor& x) {
  // [N, C, H, W] -> [N, E, H/p, W/p] -> [N, tokens, E]
  const Tensor patches = patch_embed(x);
  const Tensor tokens = flatten(patches, 2).transpose(1, 2);
  return head(mean(norm(blocks(tokens)), {1}));
}

TransformerEncoder transformer_encoder(const TransformerEncoderOptions& options) {
  return TransformerEncoder(options);
}

}  // namespace pare::models

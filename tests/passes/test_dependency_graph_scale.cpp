// The analysis is linear in the graph: a chain of 1,000 residual blocks is analysed with each
// link taken from the worklist exactly once (no concat cuts a space), and the link count is the
// closed form of the rules' links per node.
#include <doctest/doctest.h>

#include <vector>

#include "pare/pare.h"
#include "pare/passes/pruning/dependency_graph.h"
#include "pruning_test_util.h"

TEST_CASE("a 1,000-block residual chain: one visit per link, links by closed form") {
  constexpr int64_t kBlocks = 1000;
  constexpr int64_t kWidth = 4;
  auto net = std::make_shared<pare::testing::Net>();
  std::vector<pare::nn::Linear> layers;
  for (int64_t i = 0; i < kBlocks; ++i)
    layers.push_back(
        net->register_module(pare::str_cat("fc", i), pare::nn::Linear(kWidth, kWidth)));
  net->body = [layers](const pare::Tensor& x) {
    pare::Tensor h = x;
    for (const pare::nn::Linear& layer : layers) h = h + pare::relu(layer(h));
    return h;
  };
  pare::ir::GraphModule gm = pare::ir::trace(net, {pare::randn({2, kWidth})});
  const pare::pruning::DependencyGraph graph(gm);
  // Per block on [N, C]: Linear 4 links (batch, in = weight dim 1, out = weight dim 0, bias),
  // relu 2 (each axis), add 4 (each axis of each operand).
  CHECK(graph.stats().links == kBlocks * (4 + 2 + 4));
  CHECK(graph.stats().link_visits == graph.stats().links);
  // Every Linear reads and writes the residual stream, which blocks at the graph's input and
  // output: one group, with every layer a root.
  const std::vector<const pare::pruning::Group*> stream = graph.groups_of("fc0.weight", 1);
  REQUIRE(stream.size() == 1);
  CHECK(stream[0]->roots.size() == kBlocks);
  CHECK_FALSE(stream[0]->prunable);
  CHECK(graph.groups().size() == 1);
  CHECK(graph.not_prunable().size() == kBlocks);
}

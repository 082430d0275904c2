// Dependency groups against groups written by hand from the architectures: which parameters (and
// some edges) lose the same channels together, with which index maps, which layers root them, and
// why the others cannot be pruned.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "group_models.h"
#include "pare/pare.h"
#include "pare/passes/pruning/dependency_graph.h"

namespace {

using pare::pruning::DependencyGraph;
using pare::pruning::Group;
using pare::pruning::GroupMember;
using Strings = std::vector<std::string>;

// "name:axis", with "+offset" and "xblock" where the map is not the identity.
std::string describe(const GroupMember& member) {
  std::string text = pare::str_cat(member.name, ":", member.axis);
  if (member.offset != 0) text += pare::str_cat("+", member.offset);
  if (member.block != 1) text += pare::str_cat("x", member.block);
  return text;
}

Strings sorted(Strings values) {
  std::sort(values.begin(), values.end());
  return values;
}

Strings parameters_of(const Group& group) {
  Strings names;
  for (const GroupMember& member : group.members)
    if (member.kind == GroupMember::Kind::parameter) names.push_back(describe(member));
  return sorted(names);
}

// The one group holding `member` (as describe() writes it); fails when none or several do.
const Group& group_with(const DependencyGraph& graph, const std::string& member) {
  const Group* found = nullptr;
  int count = 0;
  for (const Group& group : graph.groups()) {
    for (const GroupMember& candidate : group.members) {
      if (describe(candidate) != member) continue;
      found = &group;
      ++count;
      break;
    }
  }
  REQUIRE_MESSAGE(count == 1, member, " is in ", count, " groups");
  return *found;
}

// The BatchNorm's four per-channel tensors along axis 0, with a suffix for the map.
Strings batch_norm(const std::string& name, const std::string& map = "") {
  return {name + ".weight:0" + map, name + ".bias:0" + map, name + ".running_mean:0" + map,
          name + ".running_var:0" + map};
}

Strings join(std::initializer_list<Strings> parts) {
  Strings all;
  for (const Strings& part : parts) all.insert(all.end(), part.begin(), part.end());
  return sorted(all);
}

void check_prunable(const Group& group, int64_t size, const Strings& roots,
                    const Strings& parameters) {
  CAPTURE(group);
  CHECK(group.prunable);
  CHECK(group.size == size);
  CHECK(sorted(group.roots) == sorted(roots));
  CHECK(parameters_of(group) == sorted(parameters));
}

}  // namespace

TEST_CASE("conv-bn-relu chain: each conv's out space with its BN and the next layer's inputs") {
  const pare::testing::TracedModel model = pare::testing::conv_bn_relu();
  const DependencyGraph graph(model.gm);
  CHECK(graph.groups().size() == 4);
  check_prunable(group_with(graph, "conv1.weight:0"), 8, {"conv1"},
                 join({{"conv1.weight:0", "conv1.bias:0", "conv2.weight:1"}, batch_norm("bn1")}));
  check_prunable(group_with(graph, "conv2.weight:0"), 6, {"conv2"},
                 join({{"conv2.weight:0", "conv2.bias:0", "fc.weight:1"}, batch_norm("bn2")}));
  // The edges of conv2's group, up to the flatten in front of fc.
  const Group& second = group_with(graph, "conv2.weight:0");
  for (const char* edge : {"conv2:1", "bn2:1", "relu_1:1", "adaptive_avg_pool2d:1", "flatten:1"})
    CHECK_MESSAGE(std::count_if(second.members.begin(), second.members.end(),
                                [&](const GroupMember& m) { return describe(m) == edge; }) == 1,
                  edge);

  const Group& input = group_with(graph, "conv1.weight:1");
  CHECK_FALSE(input.prunable);
  CHECK(pare::testing::contains(input.reason, "graph input 'x'"));
  CHECK(input.path == Strings{"conv1", "x"});

  const Group& classifier = group_with(graph, "fc.weight:0");
  CHECK_FALSE(classifier.prunable);
  CHECK(pare::testing::contains(classifier.reason, "graph output 'output'"));
  CHECK(classifier.path == Strings{"fc", "output"});
  REQUIRE(graph.not_prunable().size() == 1);
  CHECK(graph.not_prunable()[0].layer == "fc");
  CHECK(pare::testing::contains(graph.explain(), "fc: its output is the graph output"));

  SUBCASE("allow_output_change makes the classifier's outputs prunable") {
    const DependencyGraph open(model.gm, {.allow_output_change = true, .ignored_layers = {}});
    const Group& outputs = group_with(open, "fc.weight:0");
    CHECK(outputs.prunable);
    CHECK(outputs.roots == Strings{"fc"});
    CHECK(open.not_prunable().empty());
  }
  SUBCASE("an ignored layer is no root but stays a member") {
    const DependencyGraph ignoring(model.gm, {.ignored_layers = {"conv2"}});
    const Group& group = group_with(ignoring, "conv2.weight:0");
    CHECK_FALSE(group.prunable);
    CHECK(group.roots.empty());
    CHECK(pare::testing::contains(group.reason, "no Conv2d or Linear"));
    CHECK(group_with(ignoring, "conv2.weight:1").prunable);
    REQUIRE(ignoring.not_prunable().size() == 2);
    CHECK(ignoring.not_prunable()[0].layer == "conv2");
    CHECK(ignoring.not_prunable()[0].reason == "ignored");
  }
}

TEST_CASE(
    "ResNet basic blocks: the residual add joins conv2's out space, the shortcut and the "
    "next block's input") {
  const DependencyGraph graph(pare::testing::resnet_blocks().gm);
  // Without a downsample: the stem, layer1's conv2 and everything reading the stream.
  check_prunable(
      group_with(graph, "conv1.weight:0"), 8, {"conv1", "layer1_conv2"},
      join({{"conv1.weight:0", "conv1.bias:0", "layer1_conv1.weight:1", "layer1_conv2.weight:0",
             "layer1_conv2.bias:0", "layer2_down_conv.weight:1", "layer2_conv1.weight:1"},
            batch_norm("bn1"),
            batch_norm("layer1_bn2")}));
  check_prunable(group_with(graph, "layer1_conv1.weight:0"), 8, {"layer1_conv1"},
                 join({{"layer1_conv1.weight:0", "layer1_conv1.bias:0", "layer1_conv2.weight:1"},
                       batch_norm("layer1_bn1")}));
  // With a downsample: its conv and layer2's conv2 root the same stream.
  check_prunable(group_with(graph, "layer2_conv2.weight:0"), 12,
                 {"layer2_down_conv", "layer2_conv2"},
                 join({{"layer2_down_conv.weight:0", "layer2_down_conv.bias:0",
                        "layer2_conv2.weight:0", "layer2_conv2.bias:0", "fc.weight:1"},
                       batch_norm("layer2_down_bn"),
                       batch_norm("layer2_bn2")}));
  check_prunable(group_with(graph, "layer2_conv1.weight:0"), 12, {"layer2_conv1"},
                 join({{"layer2_conv1.weight:0", "layer2_conv1.bias:0", "layer2_conv2.weight:1"},
                       batch_norm("layer2_bn1")}));
  CHECK(graph.groups().size() == 6);
}

TEST_CASE(
    "MobileNetV2 inverted residual: expand, depthwise and project-in are one group; the "
    "residual stream another") {
  const DependencyGraph graph(pare::testing::inverted_residual().gm);
  check_prunable(group_with(graph, "expand.weight:0"), 24, {"expand", "depthwise"},
                 join({{"expand.weight:0", "expand.bias:0", "depthwise.weight:0",
                        "depthwise.bias:0", "project.weight:1"},
                       batch_norm("expand_bn"),
                       batch_norm("depthwise_bn")}));
  check_prunable(group_with(graph, "stem.weight:0"), 8, {"stem", "project"},
                 join({{"stem.weight:0", "stem.bias:0", "expand.weight:1", "project.weight:0",
                        "project.bias:0", "head.weight:1"},
                       batch_norm("stem_bn"),
                       batch_norm("project_bn")}));
  check_prunable(group_with(graph, "head.weight:0"), 16, {"head"},
                 {"head.weight:0", "head.bias:0", "fc.weight:1"});
}

TEST_CASE(
    "DenseNet-style concat: each layer's new channels are a group, offset into every later "
    "concat") {
  const DependencyGraph graph(pare::testing::dense_concat().gm);
  check_prunable(group_with(graph, "conv0.weight:0"), 4, {"conv0"},
                 join({{"conv0.weight:0", "conv0.bias:0", "layer1.weight:1", "layer2.weight:1",
                        "transition.weight:1"},
                       batch_norm("norm2")}));
  check_prunable(
      group_with(graph, "layer1.weight:0"), 3, {"layer1"},
      join({{"layer1.weight:0", "layer1.bias:0", "layer2.weight:1+4", "transition.weight:1+4"},
            batch_norm("norm2", "+4")}));
  check_prunable(group_with(graph, "layer2.weight:0"), 3, {"layer2"},
                 {"layer2.weight:0", "layer2.bias:0", "transition.weight:1+7"});
  CHECK(group_with(graph, "cat:1+4").roots == Strings{"layer1"});
  CHECK(group_with(graph, "cat_1:1+7").roots == Strings{"layer2"});
}

TEST_CASE("concats with different boundaries, added: the cuts carry back into the producers") {
  const DependencyGraph graph(pare::testing::crossed_concats().gm);
  // cat(a[4], b[4]) + cat(c[2], d[6]): channels [0, 2), [2, 4) and [4, 8) of the sum.
  check_prunable(group_with(graph, "c.weight:0"), 2, {"a", "c"},
                 {"a.weight:0", "a.bias:0", "c.weight:0", "c.bias:0", "next.weight:1"});
  check_prunable(group_with(graph, "a.weight:0+2"), 2, {"a", "d"},
                 {"a.weight:0+2", "a.bias:0+2", "d.weight:0", "d.bias:0", "next.weight:1+2"});
  check_prunable(group_with(graph, "b.weight:0"), 4, {"b", "d"},
                 {"b.weight:0", "b.bias:0", "d.weight:0+2", "d.bias:0+2", "next.weight:1+4"});
  CHECK(graph.groups_of("a.weight", 0).size() == 2);
  CHECK(graph.stats().link_visits > graph.stats().links);
}

TEST_CASE("flatten into Linear: a channel is a block of H * W features") {
  const DependencyGraph graph(pare::testing::flatten_linear().gm);
  check_prunable(group_with(graph, "features.weight:0"), 4, {"features"},
                 {"features.weight:0", "features.bias:0", "fc1.weight:1x25"});
  CHECK(group_with(graph, "features.weight:0").member("flatten", 1)->block == 25);
  check_prunable(group_with(graph, "fc1.weight:0"), 6, {"fc1"},
                 {"fc1.weight:0", "fc1.bias:0", "fc2.weight:1"});
}

TEST_CASE("transformer-style residual stream: LayerNorm over [C] and the Linears on it") {
  const DependencyGraph graph(pare::testing::layer_norm_stream().gm);
  check_prunable(group_with(graph, "embed.weight:0"), 8, {"embed", "fc2"},
                 {"embed.weight:0", "embed.bias:0", "ln1.weight:0", "ln1.bias:0", "fc1.weight:1",
                  "fc2.weight:0", "fc2.bias:0", "ln_f.weight:0", "ln_f.bias:0", "head.weight:1"});
  check_prunable(group_with(graph, "fc1.weight:0"), 16, {"fc1"},
                 {"fc1.weight:0", "fc1.bias:0", "fc2.weight:1"});
  // The stream is the last axis (2) of every edge on it.
  CHECK(group_with(graph, "embed.weight:0").member("add", 2) != nullptr);
}

TEST_CASE("refusals name the reason and the path") {
  SUBCASE("softmax over the channels") {
    const DependencyGraph graph(pare::testing::softmax_over_channels().gm);
    const Group& group = group_with(graph, "conv1.weight:0");
    CHECK_FALSE(group.prunable);
    CHECK(pare::testing::contains(group.reason, "softmax over dim 1"));
    CHECK(group.path == Strings{"conv1", "softmax"});
    CHECK(group_with(graph, "conv2.weight:0").prunable);
    CHECK(graph.not_prunable().at(0).layer == "conv1");
  }
  SUBCASE("an op without a channel rule") {
    const DependencyGraph graph(pare::testing::into_functional_lstm().gm);
    const Group& group = group_with(graph, "fc.weight:0");
    CHECK_FALSE(group.prunable);
    CHECK(pare::testing::contains(group.reason, "no channel rule for lstm"));
    CHECK(group.path == Strings{"fc", "relu", "lstm"});
  }
}

namespace {

// `member` ("name:axis") at offsets 0, width, 2 * width, ... (`count` of them).
Strings blocks_of(const std::string& member, int64_t count, int64_t width) {
  Strings all{member};
  for (int64_t b = 1; b < count; ++b) all.push_back(pare::str_cat(member, "+", b * width));
  return all;
}

Strings batch_norm_blocks(const std::string& name, int64_t count, int64_t width) {
  Strings all = batch_norm(name);
  for (int64_t b = 1; b < count; ++b) {
    const Strings more = batch_norm(name, pare::str_cat("+", b * width));
    all.insert(all.end(), more.begin(), more.end());
  }
  return all;
}

}  // namespace

TEST_CASE("grouped convs: index j of every block goes together, so every group keeps its width") {
  SUBCASE("groups = 2 feeding a plain conv") {
    const DependencyGraph graph(pare::testing::grouped_conv().gm);
    // conv1's 8 channels are conv2's 2 input blocks of 4; conv2.weight dim 1 is one block.
    const Group& in = group_with(graph, "conv2.weight:1");
    check_prunable(in, 4, {"conv1"},
                   join({blocks_of("conv1.weight:0", 2, 4),
                         blocks_of("conv1.bias:0", 2, 4),
                         {"conv2.weight:1"}}));
    CHECK(in.blocks == 2);
    for (const char* edge : {"conv1:1", "conv1:1+4", "relu:1", "relu:1+4"})
      CHECK_MESSAGE(std::count_if(in.members.begin(), in.members.end(),
                                  [&](const GroupMember& m) { return describe(m) == edge; }) == 1,
                    edge);
    const Group& out = group_with(graph, "conv2.weight:0");
    check_prunable(out, 4, {"conv2"},
                   join({blocks_of("conv2.weight:0", 2, 4), blocks_of("conv2.bias:0", 2, 4),
                         blocks_of("conv3.weight:1", 2, 4)}));
    CHECK(out.blocks == 2);
    CHECK(group_with(graph, "conv3.weight:0").blocks == 1);
    CHECK(graph.not_prunable().size() == 1);  // fc, the graph output
  }
  SUBCASE("a ResNeXt bottleneck with groups = 4") {
    const DependencyGraph graph(pare::testing::resnext_block().gm);
    const Group& in = group_with(graph, "reduce.weight:0");
    check_prunable(in, 4, {"reduce"},
                   join({blocks_of("reduce.weight:0", 4, 4),
                         blocks_of("reduce.bias:0", 4, 4),
                         batch_norm_blocks("reduce_bn", 4, 4),
                         {"grouped.weight:1"}}));
    CHECK(in.blocks == 4);
    const Group& out = group_with(graph, "grouped.weight:0");
    check_prunable(
        out, 4, {"grouped"},
        join({blocks_of("grouped.weight:0", 4, 4), blocks_of("grouped.bias:0", 4, 4),
              batch_norm_blocks("grouped_bn", 4, 4), blocks_of("expand.weight:1", 4, 4)}));
    CHECK(out.blocks == 4);
    // The residual stream is untouched by the blocks.
    const Group& stream = group_with(graph, "stem.weight:0");
    check_prunable(stream, 8, {"stem", "expand"},
                   join({{"stem.weight:0", "stem.bias:0", "reduce.weight:1", "expand.weight:0",
                          "expand.bias:0", "fc.weight:1"},
                         batch_norm("stem_bn"),
                         batch_norm("expand_bn")}));
    CHECK(stream.blocks == 1);
    CHECK(graph.groups().size() == 5);
  }
  SUBCASE("groups = 2 feeding groups = 3: both block structures tie the same indices") {
    const DependencyGraph graph(pare::testing::grouped_chain().gm);
    check_prunable(group_with(graph, "conv2.weight:1"), 6, {"conv1"},
                   join({blocks_of("conv1.weight:0", 2, 6),
                         blocks_of("conv1.bias:0", 2, 6),
                         {"conv2.weight:1"}}));
    // 2 blocks of 6 and 3 blocks of 4: indices c, c + 2, ..., c + 10 go together (c < 2).
    const Group& middle = group_with(graph, "conv2.weight:0");
    check_prunable(middle, 2, {"conv2"},
                   join({blocks_of("conv2.weight:0", 6, 2), blocks_of("conv2.bias:0", 6, 2),
                         blocks_of("conv3.weight:1", 2, 2)}));
    CHECK(middle.blocks == 6);
    const Group& last = group_with(graph, "conv3.weight:0");
    check_prunable(last, 2, {"conv3"},
                   join({blocks_of("conv3.weight:0", 3, 2), blocks_of("conv3.bias:0", 3, 2),
                         blocks_of("fc.weight:1", 3, 2)}));
    CHECK(last.blocks == 3);
  }
  SUBCASE("a depthwise conv with a channel multiplier: input channel c is outputs 2c, 2c + 1") {
    const DependencyGraph graph(pare::testing::depthwise_multiplier().gm);
    const Group& group = group_with(graph, "conv1.weight:0");
    check_prunable(group, 4, {"conv1", "depthwise"},
                   join({{"conv1.weight:0", "conv1.bias:0", "depthwise.weight:0x2",
                          "depthwise.bias:0x2", "conv3.weight:1x2"},
                         batch_norm("bn1"),
                         batch_norm("bn2", "x2")}));
    CHECK(group.blocks == 1);
    CHECK(group.member("depthwise", 1)->block == 2);
  }
}

namespace {

// The four gate row blocks of an LSTM tensor with `hidden` units.
Strings gates(const std::string& name, int64_t hidden) { return blocks_of(name + ":0", 4, hidden); }

}  // namespace

TEST_CASE("LSTM: its input space and its hidden units (every gate block) are groups") {
  SUBCASE("a tagger: fc -> relu -> LSTM -> fc2") {
    const DependencyGraph graph(pare::testing::into_lstm().gm);
    check_prunable(group_with(graph, "fc.weight:0"), 6, {"fc"},
                   {"fc.weight:0", "fc.bias:0", "lstm.weight_ih_l0:1"});
    const Group& hidden = group_with(graph, "lstm.weight_hh_l0:1");
    check_prunable(hidden, 5, {"lstm"},
                   join({gates("lstm.weight_ih_l0", 5),
                         gates("lstm.weight_hh_l0", 5),
                         gates("lstm.bias_ih_l0", 5),
                         gates("lstm.bias_hh_l0", 5),
                         {"lstm.weight_hh_l0:1", "fc2.weight:1"}}));
    CHECK(hidden.blocks == 1);
    CHECK(hidden.unit == 1);
    CHECK(hidden.member("getitem", 2) != nullptr);
  }
  SUBCASE("two layers: one hidden_size, so both layers' units are one group") {
    const DependencyGraph graph(pare::testing::two_layer_lstm().gm);
    check_prunable(group_with(graph, "embed.weight:0"), 6, {"embed"},
                   {"embed.weight:0", "embed.bias:0", "lstm.weight_ih_l0:1"});
    Strings members{"lstm.weight_hh_l0:1", "lstm.weight_hh_l1:1", "lstm.weight_ih_l1:1",
                    "head.weight:1"};
    for (const char* layer : {"0", "1"})
      for (const char* tensor : {"weight_ih_l", "weight_hh_l", "bias_ih_l", "bias_hh_l"}) {
        const Strings more = gates(pare::str_cat("lstm.", tensor, layer), 5);
        members.insert(members.end(), more.begin(), more.end());
      }
    check_prunable(group_with(graph, "lstm.weight_hh_l0:1"), 5, {"lstm"}, members);
    CHECK(graph.not_prunable().size() == 1);  // head: the graph output
  }
  SUBCASE("the final state read: h_n is nested in the result, so the hidden units block") {
    const DependencyGraph graph(pare::testing::lstm_final_state().gm);
    const Group& hidden = group_with(graph, "lstm.weight_hh_l0:1");
    CHECK_FALSE(hidden.prunable);
    CHECK(pare::testing::contains(hidden.reason, "getitem"));
    REQUIRE(graph.not_prunable().size() == 2);
    CHECK(graph.not_prunable()[0].layer == "lstm");
  }
}

// The vocabulary of channel rules (pare/ir/channel_rule.h): building and printing.
#include "pare/ir/channel_rule.h"

#include <utility>

#include "pare/error.h"

namespace pare::ir {

ChannelTensor ChannelTensor::input(int64_t index, int64_t item) {
  ChannelTensor tensor;
  tensor.index = index;
  tensor.item = item;
  return tensor;
}

ChannelTensor ChannelTensor::output(int64_t item) {
  ChannelTensor tensor;
  tensor.kind = Kind::output;
  tensor.item = item;
  return tensor;
}

ChannelTensor ChannelTensor::parameter(std::string name) {
  ChannelTensor tensor;
  tensor.kind = Kind::parameter;
  tensor.name = std::move(name);
  return tensor;
}

std::string ChannelTensor::describe() const {
  const std::string suffix = item >= 0 ? str_cat("[", item, "]") : std::string();
  switch (kind) {
    case Kind::input:
      return str_cat("input ", index, suffix);
    case Kind::output:
      return str_cat("output", suffix);
    case Kind::parameter:
      return name;
  }
  return name;
}

ChannelRule& ChannelRule::link(ChannelAxis narrow, ChannelAxis wide, AxisMap map) {
  links.push_back({std::move(narrow), std::move(wide), map});
  return *this;
}

ChannelRule& ChannelRule::same(ChannelAxis a, ChannelAxis b) {
  return link(std::move(a), std::move(b));
}

ChannelRule& ChannelRule::block(ChannelAxis axis, std::string reason) {
  stops.push_back({std::move(axis), AxisStop::Kind::blocks, std::move(reason)});
  return *this;
}

ChannelRule& ChannelRule::reduce(ChannelAxis axis, std::string reason) {
  stops.push_back({std::move(axis), AxisStop::Kind::reduces, std::move(reason)});
  return *this;
}

ChannelRule& ChannelRule::broadcast(ChannelAxis axis) {
  stops.push_back({std::move(axis), AxisStop::Kind::broadcast, "a size-1 axis, broadcast"});
  return *this;
}

ChannelRule& ChannelRule::repeat(ChannelAxis axis, int64_t count) {
  repeats.push_back({std::move(axis), count});
  return *this;
}

bool ChannelRule::states(const ChannelAxis& axis) const {
  for (const AxisLink& link : links)
    if (link.narrow == axis || link.wide == axis) return true;
  for (const AxisRepeat& repeat : repeats)
    if (repeat.axis == axis) return true;
  for (const AxisStop& stop : stops)
    if (stop.axis == axis) return true;
  return false;
}

std::ostream& operator<<(std::ostream& stream, const ChannelAxis& axis) {
  return stream << axis.tensor.describe() << " axis " << axis.axis;
}

std::ostream& operator<<(std::ostream& stream, const ChannelRule& rule) {
  for (const AxisLink& link : rule.links) {
    stream << link.narrow << " <-> " << link.wide;
    if (link.map.offset != 0) stream << " offset " << link.map.offset;
    if (link.map.block != 1) stream << " block " << link.map.block;
    stream << "\n";
  }
  static const char* kinds[] = {"blocks", "reduces", "broadcast"};
  for (const AxisStop& stop : rule.stops)
    stream << stop.axis << " " << kinds[static_cast<int>(stop.kind)] << ": " << stop.reason << "\n";
  for (const AxisRepeat& repeat : rule.repeats)
    stream << repeat.axis << " repeats in " << repeat.count << " blocks\n";
  return stream;
}

}  // namespace pare::ir

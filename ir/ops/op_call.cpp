// OpCall, Symbol and the signature vocabulary of op_definition.h.
#include "pare/error.h"
#include "pare/ir/op_definition.h"

namespace pare::ir {

Symbol Symbol::of(Shape shape, DType dtype) {
  Symbol symbol;
  symbol.kind = Kind::tensor;
  symbol.meta = TensorMeta{std::move(shape), dtype};
  return symbol;
}

Symbol Symbol::tuple(std::vector<Symbol> items) {
  Symbol symbol;
  symbol.kind = Kind::tuple;
  symbol.items = std::move(items);
  return symbol;
}

namespace {

void flatten_into(const Symbol& symbol, std::vector<TensorMeta>& out) {
  if (symbol.is_tensor()) out.push_back(symbol.meta);
  for (const Symbol& item : symbol.items) flatten_into(item, out);
}

}  // namespace

std::vector<TensorMeta> Symbol::flatten() const {
  std::vector<TensorMeta> out;
  flatten_into(*this, out);
  return out;
}

std::string Symbol::describe() const {
  if (is_tensor()) return str_cat(meta.shape);
  if (!is_tuple()) return "None";
  std::string text = "(";
  for (size_t i = 0; i < items.size(); ++i) text += (i ? ", " : "") + items[i].describe();
  return text + ")";
}

const char* param_type_name(ParamType type) {
  switch (type) {
    case ParamType::tensor:
      return "Tensor";
    case ParamType::optional_tensor:
      return "Tensor?";
    case ParamType::tensor_list:
      return "Tensor[]";
    case ParamType::tensor_or_number:
      return "Tensor|Scalar";
    case ParamType::integer:
      return "int";
    case ParamType::optional_integer:
      return "int?";
    case ParamType::integers:
      return "int[]";
    case ParamType::int_pair:
      return "int[2]";
    case ParamType::optional_int_pair:
      return "int[2]?";
    case ParamType::dims:
      return "int[]?";
    case ParamType::number:
      return "float";
    case ParamType::optional_number:
      return "float?";
    case ParamType::boolean:
      return "bool";
    case ParamType::string:
      return "str";
    case ParamType::norm_order:
      return "float|str";
    case ParamType::optional_dtype:
      return "ScalarType?";
  }
  return "?";
}

OpParam required_param(std::string name, ParamType type, int position) {
  return OpParam{std::move(name), type, position, Argument(), true};
}

OpParam param(std::string name, ParamType type, int position, Argument default_value) {
  return OpParam{std::move(name), type, position, std::move(default_value), false};
}

namespace {

bool is_tensor_type(ParamType type) {
  return type == ParamType::tensor || type == ParamType::optional_tensor ||
         type == ParamType::tensor_list;
}

}  // namespace

OpCall::OpCall(const OpDefinition& definition, const Node& node, const std::vector<Symbol>* args)
    : definition_(definition), node_(node), args_(args) {
  for (const auto& [key, value] : node.kwargs()) {
    // torch's `inplace` flags change nothing about the result.
    bool known = key == "inplace";
    for (const OpParam& declared : definition.params)
      known = known || (declared.name == key && !is_tensor_type(declared.type));
    if (!known) {
      std::string names;
      // inplace is accepted by every op, so naming it would not help.
      for (const OpParam& declared : definition.params) {
        if (!is_tensor_type(declared.type) && declared.name != "inplace")
          names += str_cat(names.empty() ? "" : ", ", declared.name);
      }
      throw Error(str_cat(node.target(), ": unknown keyword argument '", key, "'",
                          names.empty() ? " (it takes none)" : " (expected " + names + ")"));
    }
    bool references_node = false;
    value.for_each_node([&](Node*) { references_node = true; });
    PARE_CHECK(!references_node, node.target(), ": keyword argument '", key,
               "' must be a literal, got ", value);
  }
}

const OpParam* OpCall::find_param(std::string_view name) const {
  for (const OpParam& declared : definition_.params)
    if (declared.name == name) return &declared;
  return nullptr;
}

const Argument* OpCall::literal(std::string_view name) const {
  if (const Argument* keyword = node_.kwarg(std::string(name))) return keyword;
  const OpParam* declared = find_param(name);
  PARE_CHECK(declared != nullptr, "op definition '", definition_.name, "' declares no parameter '",
             name, "'");
  if (declared->position < 0) return nullptr;
  const size_t position = static_cast<size_t>(declared->position);
  if (position < node_.args().size() && !node_.args()[position].is_node())
    return &node_.args()[position];
  return nullptr;
}

bool OpCall::has(std::string_view name) const {
  const Argument* argument = literal(name);
  return argument != nullptr && !argument->is_none();
}

const Argument& OpCall::value(std::string_view name) const {
  if (has(name)) return *literal(name);
  require(name);
  return find_param(name)->default_value;
}

double OpCall::number(std::string_view name) const { return value(name).to_double(what(name)); }
int64_t OpCall::integer(std::string_view name) const { return value(name).to_int(what(name)); }
bool OpCall::flag(std::string_view name) const { return value(name).to_bool(what(name)); }
std::string OpCall::text(std::string_view name) const { return value(name).to_string(what(name)); }
std::vector<int64_t> OpCall::ints(std::string_view name, size_t expand_to) const {
  return value(name).to_ints(what(name), expand_to);
}
IntPair OpCall::int_pair(std::string_view name) const { return IntPair(ints(name, 2)); }

Shape OpCall::ints_or_varargs(std::string_view name) const {
  if (const Argument* keyword = node_.kwarg(std::string(name))) return keyword->to_ints(what(name));
  PARE_CHECK(node_.args().size() > 1, target(), ": missing argument '", name, "'");
  if (node_.args().size() == 2 && node_.args()[1].is_list())
    return node_.args()[1].to_ints(what(name));
  Shape values;
  for (size_t i = 1; i < node_.args().size(); ++i)
    values.push_back(node_.args()[i].to_int(what(name)));
  return values;
}

std::string OpCall::what(std::string_view name) const {
  return str_cat(target(), ": argument '", name, "'");
}

void OpCall::require(std::string_view name) const {
  const OpParam* declared = find_param(name);
  PARE_CHECK(has(name) || (declared != nullptr && !declared->required), target(),
             ": missing argument '", name, "'");
}

void OpCall::require_tensor_args(size_t count) const {
  PARE_CHECK(node_.args().size() >= count, target(), ": expected ", count,
             " tensor argument(s), got ", node_.args().size(), " argument(s)");
  for (size_t i = 0; i < count; ++i) {
    PARE_CHECK(node_.args()[i].is_node(), target(), ": argument ", i,
               " must be a node reference, got ", node_.args()[i]);
  }
}

std::vector<size_t> OpCall::tensor_slots() const {
  std::vector<size_t> slots;
  for (size_t i = 0; i < node_.args().size(); ++i)
    if (node_.args()[i].is_node() || node_.args()[i].is_none()) slots.push_back(i);
  return slots;
}

std::vector<size_t> OpCall::node_slots() const {
  std::vector<size_t> slots;
  for (size_t i = 0; i < node_.args().size(); ++i)
    if (node_.args()[i].is_node()) slots.push_back(i);
  return slots;
}

bool OpCall::is_node_arg(size_t index) const {
  return index < node_.args().size() && node_.args()[index].is_node();
}

size_t OpCall::arg_count() const { return args_ == nullptr ? node_.args().size() : args_->size(); }

const Symbol& OpCall::arg(size_t index) const {
  PARE_CHECK(args_ != nullptr, target(), ": argument symbols are only known in shape inference");
  return args_->at(index);
}

bool OpCall::has_tensor(size_t index) const {
  return args_ != nullptr && index < args_->size() && (*args_)[index].is_tensor();
}

const TensorMeta& OpCall::tensor(size_t index) const {
  PARE_CHECK(has_tensor(index), target(), ": argument ", index, " must be a tensor, got ",
             args_ != nullptr && index < args_->size() ? (*args_)[index].describe() : "nothing");
  return (*args_)[index].meta;
}

const TensorMeta* OpCall::optional_tensor(size_t index) const {
  return has_tensor(index) ? &(*args_)[index].meta : nullptr;
}

const TensorMeta& OpCall::float_tensor(size_t index, std::string_view role) const {
  const TensorMeta& meta = tensor(index);
  PARE_CHECK(meta.dtype == kFloat32, target(), ": expected a float32 ", role, ", got ",
             dtype_name(meta.dtype), " of shape ", meta.shape);
  return meta;
}

}  // namespace pare::ir

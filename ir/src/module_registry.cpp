// The module registry: type name -> factory, with every built-in layer of the .pare format
// registered under its attribute names (docs/format.md, "Module types").
#include "pare/ir/module_registry.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <sstream>

#include "pare/error.h"
#include "pare/nn/nn.h"

namespace pare::ir {

namespace {

std::string describe(const AttrValue& value) {
  std::ostringstream stream;
  std::visit(
      [&](const auto& held) {
        using T = std::decay_t<decltype(held)>;
        if constexpr (std::is_same_v<T, bool>) {
          stream << "the bool " << (held ? "true" : "false");
        } else if constexpr (std::is_same_v<T, int64_t>) {
          stream << "the integer " << held;
        } else if constexpr (std::is_same_v<T, double>) {
          stream << "the number " << held;
        } else if constexpr (std::is_same_v<T, std::string>) {
          stream << "the string \"" << held << '"';
        } else {
          stream << "the list " << str_cat(held);
        }
      },
      value);
  return stream.str();
}

std::string join(const std::vector<std::string>& names) {
  if (names.empty()) return "none";
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

// Attribute values the layer constructors would accept but that no kernel can run.
void require_at_least(const AttrReader& attrs, const std::string& key,
                      const std::vector<int64_t>& values, int64_t minimum) {
  for (int64_t value : values)
    PARE_CHECK(value >= minimum, "module '", attrs.module_name(), "': attribute '", key,
               "' must be >= ", minimum, ", got ", values);
}

std::vector<int64_t> pair_at_least(const AttrReader& attrs, const std::string& key,
                                   int64_t minimum) {
  std::vector<int64_t> values = attrs.get_pair(key);
  require_at_least(attrs, key, values, minimum);
  return values;
}

int64_t int_at_least(const AttrReader& attrs, const std::string& key, int64_t minimum) {
  int64_t value = attrs.get_int(key);
  require_at_least(attrs, key, {value}, minimum);
  return value;
}

template <typename Impl>
ModuleFactory without_attributes() {
  return [](const AttrReader& attrs) -> std::shared_ptr<nn::Module> {
    attrs.check_only({});
    return std::make_shared<Impl>();
  };
}

// A registered type: its factory, and the kind of the modules it builds (custom for a type a user
// registers), which the reader of a file knows before it builds anything.
struct RegisteredType {
  nn::ModuleKind kind = nn::ModuleKind::custom;
  ModuleFactory factory;
};

void add(std::map<std::string, RegisteredType>& types, const std::string& type_name,
         nn::ModuleKind kind, ModuleFactory factory) {
  types[type_name] = {kind, std::move(factory)};
}

std::map<std::string, RegisteredType> builtin_types() {
  std::map<std::string, RegisteredType> types;
  add(types, "Linear", nn::ModuleKind::linear,
      [](const AttrReader& attrs) -> std::shared_ptr<nn::Module> {
        attrs.check_only({"in_features", "out_features", "bias"});
        return std::make_shared<nn::LinearImpl>(
            nn::LinearOptions(int_at_least(attrs, "in_features", 0),
                              int_at_least(attrs, "out_features", 0))
                .bias(attrs.get_bool("bias")));
      });
  add(types, "Conv2d", nn::ModuleKind::conv2d,
      [](const AttrReader& attrs) -> std::shared_ptr<nn::Module> {
        attrs.check_only({"in_channels", "out_channels", "kernel_size", "stride", "padding",
                          "dilation", "groups", "bias"});
        return std::make_shared<nn::Conv2dImpl>(
            nn::Conv2dOptions(int_at_least(attrs, "in_channels", 1),
                              int_at_least(attrs, "out_channels", 1),
                              pair_at_least(attrs, "kernel_size", 1))
                .stride(pair_at_least(attrs, "stride", 1))
                .padding(pair_at_least(attrs, "padding", 0))
                .dilation(pair_at_least(attrs, "dilation", 1))
                .groups(int_at_least(attrs, "groups", 1))
                .bias(attrs.get_bool("bias")));
      });
  add(types, "LSTM", nn::ModuleKind::lstm,
      [](const AttrReader& attrs) -> std::shared_ptr<nn::Module> {
        attrs.check_only({"input_size", "hidden_size", "num_layers", "bias", "batch_first"});
        return std::make_shared<nn::LSTMImpl>(nn::LSTMOptions(int_at_least(attrs, "input_size", 1),
                                                              int_at_least(attrs, "hidden_size", 1))
                                                  .num_layers(int_at_least(attrs, "num_layers", 1))
                                                  .bias(attrs.get_bool("bias"))
                                                  .batch_first(attrs.get_bool("batch_first")));
      });
  add(types, "LayerNorm", nn::ModuleKind::layer_norm,
      [](const AttrReader& attrs) -> std::shared_ptr<nn::Module> {
        attrs.check_only({"normalized_shape", "eps", "elementwise_affine"});
        Shape normalized_shape = attrs.get_ints("normalized_shape");
        PARE_CHECK(!normalized_shape.empty(), "module '", attrs.module_name(),
                   "': attribute 'normalized_shape' must not be empty");
        require_at_least(attrs, "normalized_shape", normalized_shape, 1);
        return std::make_shared<nn::LayerNormImpl>(
            nn::LayerNormOptions(normalized_shape)
                .eps(attrs.get_double("eps"))
                .elementwise_affine(attrs.get_bool("elementwise_affine")));
      });
  add(types, "BatchNorm2d", nn::ModuleKind::batch_norm2d,
      [](const AttrReader& attrs) -> std::shared_ptr<nn::Module> {
        attrs.check_only({"num_features", "eps", "momentum", "affine", "track_running_stats"});
        return std::make_shared<nn::BatchNorm2dImpl>(
            nn::BatchNorm2dOptions(int_at_least(attrs, "num_features", 1))
                .eps(attrs.get_double("eps"))
                .momentum(attrs.get_double("momentum"))
                .affine(attrs.get_bool("affine"))
                .track_running_stats(attrs.get_bool("track_running_stats")));
      });
  add(types, "MaxPool2d", nn::ModuleKind::max_pool2d,
      [](const AttrReader& attrs) -> std::shared_ptr<nn::Module> {
        attrs.check_only({"kernel_size", "stride", "padding", "dilation", "ceil_mode"});
        return std::make_shared<nn::MaxPool2dImpl>(
            nn::MaxPool2dOptions(pair_at_least(attrs, "kernel_size", 1))
                .stride(pair_at_least(attrs, "stride", 1))
                .padding(pair_at_least(attrs, "padding", 0))
                .dilation(pair_at_least(attrs, "dilation", 1))
                .ceil_mode(attrs.get_bool("ceil_mode")));
      });
  add(types, "AvgPool2d", nn::ModuleKind::avg_pool2d,
      [](const AttrReader& attrs) -> std::shared_ptr<nn::Module> {
        attrs.check_only({"kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"});
        return std::make_shared<nn::AvgPool2dImpl>(
            nn::AvgPool2dOptions(pair_at_least(attrs, "kernel_size", 1))
                .stride(pair_at_least(attrs, "stride", 1))
                .padding(pair_at_least(attrs, "padding", 0))
                .ceil_mode(attrs.get_bool("ceil_mode"))
                .count_include_pad(attrs.get_bool("count_include_pad")));
      });
  add(types, "AdaptiveAvgPool2d", nn::ModuleKind::adaptive_avg_pool2d,
      [](const AttrReader& attrs) -> std::shared_ptr<nn::Module> {
        attrs.check_only({"output_size"});
        return std::make_shared<nn::AdaptiveAvgPool2dImpl>(pair_at_least(attrs, "output_size", 1));
      });
  add(types, "AdaptiveMaxPool2d", nn::ModuleKind::adaptive_max_pool2d,
      [](const AttrReader& attrs) -> std::shared_ptr<nn::Module> {
        attrs.check_only({"output_size"});
        return std::make_shared<nn::AdaptiveMaxPool2dImpl>(pair_at_least(attrs, "output_size", 1));
      });
  add(types, "Flatten", nn::ModuleKind::flatten,
      [](const AttrReader& attrs) -> std::shared_ptr<nn::Module> {
        attrs.check_only({"start_dim", "end_dim"});
        return std::make_shared<nn::FlattenImpl>(attrs.get_int("start_dim"),
                                                 attrs.get_int("end_dim"));
      });
  add(types, "Dropout", nn::ModuleKind::dropout,
      [](const AttrReader& attrs) -> std::shared_ptr<nn::Module> {
        attrs.check_only({"p"});
        return std::make_shared<nn::DropoutImpl>(attrs.get_double("p"));
      });
  add(types, "Identity", nn::ModuleKind::identity, without_attributes<nn::IdentityImpl>());

  add(types, "ReLU", nn::ModuleKind::activation, without_attributes<nn::ReLUImpl>());
  add(types, "ReLU6", nn::ModuleKind::activation, without_attributes<nn::ReLU6Impl>());
  add(types, "Sigmoid", nn::ModuleKind::activation, without_attributes<nn::SigmoidImpl>());
  add(types, "Hardsigmoid", nn::ModuleKind::activation, without_attributes<nn::HardsigmoidImpl>());
  add(types, "Tanh", nn::ModuleKind::activation, without_attributes<nn::TanhImpl>());
  add(types, "SiLU", nn::ModuleKind::activation, without_attributes<nn::SiLUImpl>());
  add(types, "Mish", nn::ModuleKind::activation, without_attributes<nn::MishImpl>());
  add(types, "Hardswish", nn::ModuleKind::activation, without_attributes<nn::HardswishImpl>());
  add(types, "SELU", nn::ModuleKind::activation, without_attributes<nn::SELUImpl>());
  add(types, "LogSigmoid", nn::ModuleKind::activation, without_attributes<nn::LogSigmoidImpl>());
  add(types, "Softsign", nn::ModuleKind::activation, without_attributes<nn::SoftsignImpl>());
  add(types, "Tanhshrink", nn::ModuleKind::activation, without_attributes<nn::TanhshrinkImpl>());
  add(types, "RReLU", nn::ModuleKind::activation,
      [](const AttrReader& attrs) -> std::shared_ptr<nn::Module> {
        attrs.check_only({"lower", "upper"});
        return std::make_shared<nn::RReLUImpl>(attrs.get_double("lower"),
                                               attrs.get_double("upper"));
      });
  add(types, "Hardtanh", nn::ModuleKind::activation,
      [](const AttrReader& attrs) -> std::shared_ptr<nn::Module> {
        attrs.check_only({"min_val", "max_val"});
        return std::make_shared<nn::HardtanhImpl>(attrs.get_double("min_val"),
                                                  attrs.get_double("max_val"));
      });
  add(types, "ELU", nn::ModuleKind::activation,
      [](const AttrReader& attrs) -> std::shared_ptr<nn::Module> {
        attrs.check_only({"alpha"});
        return std::make_shared<nn::ELUImpl>(attrs.get_double("alpha"));
      });
  add(types, "CELU", nn::ModuleKind::activation,
      [](const AttrReader& attrs) -> std::shared_ptr<nn::Module> {
        attrs.check_only({"alpha"});
        return std::make_shared<nn::CELUImpl>(attrs.get_double("alpha"));
      });
  add(types, "Hardshrink", nn::ModuleKind::activation,
      [](const AttrReader& attrs) -> std::shared_ptr<nn::Module> {
        attrs.check_only({"lambd"});
        return std::make_shared<nn::HardshrinkImpl>(attrs.get_double("lambd"));
      });
  add(types, "LeakyReLU", nn::ModuleKind::activation,
      [](const AttrReader& attrs) -> std::shared_ptr<nn::Module> {
        attrs.check_only({"negative_slope"});
        return std::make_shared<nn::LeakyReLUImpl>(attrs.get_double("negative_slope"));
      });
  add(types, "Softplus", nn::ModuleKind::activation,
      [](const AttrReader& attrs) -> std::shared_ptr<nn::Module> {
        attrs.check_only({"beta", "threshold"});
        return std::make_shared<nn::SoftplusImpl>(attrs.get_double("beta"),
                                                  attrs.get_double("threshold"));
      });
  add(types, "PReLU", nn::ModuleKind::prelu,
      [](const AttrReader& attrs) -> std::shared_ptr<nn::Module> {
        attrs.check_only({"num_parameters"});
        return std::make_shared<nn::PReLUImpl>(int_at_least(attrs, "num_parameters", 1));
      });
  add(types, "GELU", nn::ModuleKind::activation,
      [](const AttrReader& attrs) -> std::shared_ptr<nn::Module> {
        attrs.check_only({"approximate"});
        return std::make_shared<nn::GELUImpl>(attrs.get_string("approximate"));
      });
  return types;
}

struct Registry {
  std::mutex mutex;
  std::map<std::string, RegisteredType> types = builtin_types();
};

Registry& registry() {
  static Registry instance;
  return instance;
}

}  // namespace

AttrReader::AttrReader(const Attrs& attrs, std::string type_name, std::string module_name)
    : attrs_(attrs), type_name_(std::move(type_name)), module_name_(std::move(module_name)) {}

bool AttrReader::has(const std::string& key) const {
  return std::any_of(attrs_.begin(), attrs_.end(),
                     [&](const auto& entry) { return entry.first == key; });
}

const AttrValue& AttrReader::get(const std::string& key) const {
  for (const auto& [name, value] : attrs_)
    if (name == key) return value;
  throw Error(
      str_cat("module '", module_name_, "' (", type_name_, "): missing attribute '", key, "'"));
}

int64_t AttrReader::get_int(const std::string& key) const {
  const AttrValue& value = get(key);
  PARE_CHECK(std::holds_alternative<int64_t>(value), "module '", module_name_, "' (", type_name_,
             "): attribute '", key, "' must be an integer, got ", describe(value));
  return std::get<int64_t>(value);
}

double AttrReader::get_double(const std::string& key) const {
  const AttrValue& value = get(key);
  if (std::holds_alternative<int64_t>(value)) return static_cast<double>(std::get<int64_t>(value));
  PARE_CHECK(std::holds_alternative<double>(value), "module '", module_name_, "' (", type_name_,
             "): attribute '", key, "' must be a number, got ", describe(value));
  return std::get<double>(value);
}

bool AttrReader::get_bool(const std::string& key) const {
  const AttrValue& value = get(key);
  PARE_CHECK(std::holds_alternative<bool>(value), "module '", module_name_, "' (", type_name_,
             "): attribute '", key, "' must be a bool, got ", describe(value));
  return std::get<bool>(value);
}

std::string AttrReader::get_string(const std::string& key) const {
  const AttrValue& value = get(key);
  PARE_CHECK(std::holds_alternative<std::string>(value), "module '", module_name_, "' (",
             type_name_, "): attribute '", key, "' must be a string, got ", describe(value));
  return std::get<std::string>(value);
}

std::vector<int64_t> AttrReader::get_ints(const std::string& key) const {
  const AttrValue& value = get(key);
  PARE_CHECK(std::holds_alternative<std::vector<int64_t>>(value), "module '", module_name_, "' (",
             type_name_, "): attribute '", key, "' must be a list of integers, got ",
             describe(value));
  return std::get<std::vector<int64_t>>(value);
}

std::vector<int64_t> AttrReader::get_pair(const std::string& key) const {
  const AttrValue& value = get(key);
  if (std::holds_alternative<int64_t>(value)) {
    int64_t single = std::get<int64_t>(value);
    return {single, single};
  }
  const auto* list = std::get_if<std::vector<int64_t>>(&value);
  PARE_CHECK(list != nullptr && (list->size() == 1 || list->size() == 2), "module '", module_name_,
             "' (", type_name_, "): attribute '", key, "' must be a list of 2 integers, got ",
             describe(value));
  if (list->size() == 1) return {(*list)[0], (*list)[0]};
  return *list;
}

void AttrReader::check_only(const std::vector<std::string>& known) const {
  for (const auto& [name, value] : attrs_) {
    PARE_CHECK(std::find(known.begin(), known.end(), name) != known.end(), "module '", module_name_,
               "' (", type_name_, "): unknown attribute '", name, "' (", type_name_, " takes ",
               join(known), ")");
  }
}

void register_module_type(const std::string& type_name, ModuleFactory factory) {
  PARE_CHECK(!type_name.empty(), "register_module_type: the type name is empty");
  PARE_CHECK(factory != nullptr, "register_module_type: the factory for '", type_name,
             "' is empty");
  Registry& instance = registry();
  std::lock_guard<std::mutex> lock(instance.mutex);
  instance.types[type_name] = {nn::ModuleKind::custom, std::move(factory)};
}

bool is_registered_module_type(const std::string& type_name) {
  Registry& instance = registry();
  std::lock_guard<std::mutex> lock(instance.mutex);
  return instance.types.count(type_name) > 0;
}

nn::ModuleKind registered_module_kind(const std::string& type_name) {
  Registry& instance = registry();
  std::lock_guard<std::mutex> lock(instance.mutex);
  auto found = instance.types.find(type_name);
  return found == instance.types.end() ? nn::ModuleKind::custom : found->second.kind;
}

std::vector<std::string> registered_module_types() {
  Registry& instance = registry();
  std::lock_guard<std::mutex> lock(instance.mutex);
  std::vector<std::string> names;
  for (const auto& [name, type] : instance.types) names.push_back(name);
  return names;
}

std::shared_ptr<nn::Module> create_module(const std::string& type_name, const Attrs& attrs,
                                          const std::string& module_name) {
  RegisteredType type;
  {
    Registry& instance = registry();
    std::lock_guard<std::mutex> lock(instance.mutex);
    auto found = instance.types.find(type_name);
    if (found != instance.types.end()) type = found->second;
  }
  PARE_CHECK(type.factory != nullptr, "module '", module_name, "': unknown module type '",
             type_name, "' (known: ", join(registered_module_types()), ")");
  const std::string prefix = "module '" + module_name + "'";
  std::shared_ptr<nn::Module> module;
  try {
    module = type.factory(AttrReader(attrs, type_name, module_name));
  } catch (const Error& error) {
    // Layer constructors name only their type; the reader of a file needs the module's name.
    const std::string message = error.what();
    if (message.rfind(prefix, 0) == 0) throw;
    throw Error(str_cat(prefix, " (", type_name, "): ", message));
  }
  PARE_CHECK(module != nullptr, prefix, ": the factory for '", type_name, "' returned no module");
  // The reader trusts the registered kind before building (registered_module_kind): hold the
  // built-in entries to it.
  PARE_CHECK(type.kind == nn::ModuleKind::custom || module->kind() == type.kind, prefix,
             ": the factory for '", type_name, "' built a ", module->kind(), " module, not a ",
             type.kind);
  return module;
}

}  // namespace pare::ir

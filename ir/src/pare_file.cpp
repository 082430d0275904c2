// The .pare file: a safetensors container whose metadata holds the graph (graph_json.h) and whose
// tensors are the called modules' state_dict entries plus the get_attr targets.
#include "pare/ir/pare_file.h"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

#include "graph_json.h"
#include "interpreter_functions.h"
#include "pare/autograd.h"
#include "pare/error.h"
#include "pare/ir/layer_definition.h"
#include "pare/ir/module_registry.h"
#include "pare/nn/skip_init.h"
#include "pare/safetensors.h"

namespace pare::ir {

namespace {

constexpr const char* kFormatKey = "format";
constexpr const char* kVersionKey = "pare.version";
constexpr const char* kGraphKey = "pare.graph";
constexpr const char* kFormatName = "pare";
constexpr int64_t kMajorVersion = 1;

std::vector<std::string> split_path(const std::string& qualified_name) {
  std::vector<std::string> parts;
  std::string part;
  std::stringstream stream(qualified_name);
  while (std::getline(stream, part, '.')) parts.push_back(part);
  if (!qualified_name.empty() && qualified_name.back() == '.') parts.emplace_back();
  return parts;
}

// "a.b.c" -> "a.b", "a": the modules that could own something called `qualified_name`.
std::vector<std::string> owner_prefixes(const std::string& qualified_name) {
  std::vector<std::string> prefixes;
  for (size_t cut = qualified_name.rfind('.'); cut != std::string::npos && cut > 0;
       cut = qualified_name.rfind('.', cut - 1))
    prefixes.push_back(qualified_name.substr(0, cut));
  return prefixes;
}

bool has_segment(const std::string& qualified_name, const std::string& segment) {
  for (const std::string& part : split_path(qualified_name))
    if (part == segment) return true;
  return false;
}

// ---- saving ----

void refuse_parametrizations(nn::Module& module, const std::string& qualified_name) {
  for (const auto& [name, submodule] : module.named_modules(qualified_name)) {
    auto parametrizations = submodule->get_child("parametrizations");
    if (!parametrizations) continue;
    std::vector<std::string> tensors;
    for (const auto& [tensor, list] : parametrizations->named_children()) tensors.push_back(tensor);
    throw Error(str_cat("save: module '", name, "' has parametrizations on ", tensors,
                        "; remove parametrizations before saving "
                        "(pare::nn::remove_parametrizations)"));
  }
}

void refuse_hooks(nn::Module& module, const std::string& qualified_name) {
  for (const auto& [name, submodule] : module.named_modules(qualified_name)) {
    PARE_CHECK(!submodule->has_hooks(), "save: module '", name,
               "' has forward hooks, which a .pare file cannot hold; remove them before saving");
  }
}

// ---- loading: checks of the tensors a built-in module will allocate ----

// The definition of a built-in layer the reader builds from `spec`, or nullptr for a type a user
// registered (even under a built-in's name: registered_module_kind says custom) or an unknown one.
const LayerDefinition* builtin_definition(const ModuleSpec& spec) {
  if (registered_module_kind(spec.type) == nn::ModuleKind::custom) return nullptr;
  return find_layer_definition(spec.type);
}

// Calls `check` for every tensor the built-in layer of `spec` allocates (its definition's layout),
// before it is built, so that a hostile file cannot make the reader allocate more than the file
// holds. Missing or out-of-range attributes expect nothing: create_module then reports them.
void expect_builtin_tensors(const ModuleSpec& spec, const LayerDefinition* definition,
                            const ExpectTensor& check) {
  if (definition == nullptr || definition->layout == nullptr) return;
  definition->layout(AttrReader(spec.attrs, spec.type, spec.name), check);
}

// The built-in layers that hold tensors (a layout): every tensor such a layer allocates is one of
// its state_dict entries, so the reader replaces all of them and may build the layer without
// initialising it. A user-registered type may keep tensors outside its state_dict that its
// constructor fills, so it is built normally.
bool builtin_layer_with_tensors(const LayerDefinition* definition) {
  return definition != nullptr && definition->layout != nullptr;
}

class PareReader {
 public:
  explicit PareReader(SafetensorsFile file) : source_(file.source), file_(std::move(file)) {
    for (const auto& [name, tensor] : file_.tensors) tensors_[name] = tensor;
  }

  GraphModule read() {
    ParsedGraph parsed = parse_graph_json(graph_text(), source_);
    check_function_arguments(*parsed.graph);
    root_ = std::make_shared<nn::Module>("GraphModule");
    for (const ModuleSpec& spec : parsed.modules) specs_[spec.name] = &spec;
    for (const ModuleSpec& spec : parsed.modules) build_module(spec.name);
    for (const Node* node : parsed.graph->nodes())
      if (node->op() == OpKind::get_attr) attach_attribute(*node);
    refuse_unclaimed_tensors();
    GraphModule graph_module(root_, parsed.graph);
    graph_module.eval();
    return graph_module;
  }

 private:
  template <typename... Parts>
  [[noreturn]] void fail(const Parts&... parts) const {
    throw Error(str_cat(source_, ": ", parts...));
  }
  template <typename... Parts>
  void require(bool condition, const Parts&... parts) const {
    if (!condition) fail(parts...);
  }

  // Compiling a call_function node checks its arguments and keywords against the target's
  // signature, so a bad keyword is reported at load time rather than at the first forward.
  void check_function_arguments(const Graph& graph) const {
    for (const Node* node : graph.nodes()) {
      if (node->op() != OpKind::call_function) continue;
      try {
        detail::compile_function(*node);
      } catch (const Error& error) {
        fail("node '", node->name(), "' (", node->target(), "): ", error.what());
      }
    }
  }

  std::string graph_text() const {
    auto format = file_.metadata.find(kFormatKey);
    require(format != file_.metadata.end(), "not a .pare file (the metadata has no \"", kFormatKey,
            "\")");
    require(format->second == kFormatName, "not a .pare file (metadata \"", kFormatKey, "\" is '",
            format->second, "', expected '", kFormatName, "')");
    auto version = file_.metadata.find(kVersionKey);
    require(version != file_.metadata.end(), "the metadata has no \"", kVersionKey, "\"");
    const std::string& text = version->second;
    const std::string major = text.substr(0, text.find('.'));
    require(!major.empty() && major.size() <= 9 &&
                major.find_first_not_of("0123456789") == std::string::npos,
            "unreadable ", kVersionKey, " '", text, "'");
    require(std::stoll(major) == kMajorVersion, ".pare version ", text,
            " is not supported (this reader knows version ", kMajorVersion, ")");
    auto graph = file_.metadata.find(kGraphKey);
    require(graph != file_.metadata.end(), "the metadata has no \"", kGraphKey, "\"");
    return graph->second;
  }

  // Builds the module called `name` (and first its declared ancestors) and hangs it in the tree.
  void build_module(const std::string& name) {
    if (built_.count(name)) return;
    const ModuleSpec& spec = *specs_.at(name);
    const std::vector<std::string> parts = split_path(name);
    require(!parts.empty(), "a module has an empty name");
    for (const std::string& part : parts)
      require(!part.empty() && part != "parametrizations", "module name '", name,
              "' is not a valid qualified name");
    std::string ancestor;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      ancestor += (i ? "." : "") + parts[i];
      if (specs_.count(ancestor)) build_module(ancestor);
    }
    const LayerDefinition* definition = builtin_definition(spec);
    try {
      expect_builtin_tensors(spec, definition, [&](const LayerTensor& tensor) {
        check_module_tensor(spec, tensor.local_name, tensor.shape, tensor.dtype, tensor.because);
      });
    } catch (const Error& error) {
      const std::string message = error.what();
      if (message.rfind(source_ + ": ", 0) == 0) throw;
      fail(message);
    }
    std::shared_ptr<nn::Module> module;
    try {
      // The file's tensors replace the layer's at once (adopt_module_tensors): initialising them
      // first would cost the seconds of a kaiming fill of every weight, and its temporaries.
      std::optional<nn::SkipInitGuard> skip_init;
      if (builtin_layer_with_tensors(definition)) skip_init.emplace();
      module = create_module(spec.type, spec.attrs, spec.name);
    } catch (const Error& error) {
      fail(error.what());
    }
    for (const auto& [local, tensor] : module->state_dict()) {
      check_module_tensor(spec, local, tensor.sizes(), tensor.dtype(),
                          "the module built from its attributes");
      claimed_[name + "." + local] = name;
    }
    std::shared_ptr<nn::Module> parent = container_for(name, parts);
    require(!parent->get_child(parts.back()) && !parent->has_parameter(parts.back()) &&
                !parent->has_buffer(parts.back()),
            "module '", name, "' collides with a module or tensor of the same name");
    parent->register_module(parts.back(), module);
    built_[name] = module;
    // At once, so that at most one module's freshly built weights exist at a time.
    adopt_module_tensors(spec, *module);
  }

  void check_module_tensor(const ModuleSpec& spec, const std::string& local, const Shape& shape,
                           DType dtype, const std::string& because) const {
    const std::string key = spec.name + "." + local;
    auto found = tensors_.find(key);
    require(found != tensors_.end(), "module '", spec.name, "' (", spec.type, "): tensor '", key,
            "' is missing from the file");
    const Tensor& tensor = found->second;
    const bool many = because.find(", ") != std::string::npos;
    require(tensor.sizes() == shape, "module '", spec.name, "' (", spec.type, "): tensor '", key,
            "' has shape ", tensor.sizes(), " but ", because, (many ? " need " : " needs "), shape);
    require(tensor.dtype() == dtype, "module '", spec.name, "' (", spec.type, "): tensor '", key,
            "' has dtype ", safetensors_dtype_name(tensor.dtype()), " but ", spec.type, " needs ",
            safetensors_dtype_name(dtype));
  }

  // The module that holds `qualified_name`'s last part, creating plain containers on the way.
  std::shared_ptr<nn::Module> container_for(const std::string& qualified_name,
                                            const std::vector<std::string>& parts) {
    std::shared_ptr<nn::Module> current = root_;
    std::string walked;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      walked += (i ? "." : "") + parts[i];
      std::shared_ptr<nn::Module> next = current->get_child(parts[i]);
      if (!next) {
        require(!current->has_parameter(parts[i]) && !current->has_buffer(parts[i]), "'",
                qualified_name, "' passes through '", walked, "', which is a tensor");
        next = std::make_shared<nn::Module>("Module");
        current->register_module(parts[i], next);
      }
      current = next;
    }
    return current;
  }

  void attach_attribute(const Node& node) {
    const std::string& target = node.target();
    require(tensors_.count(target), "get_attr node '", node.name(), "': target '", target,
            "' is not a tensor in the file");
    if (claimed_.count(target)) return;
    const std::vector<std::string> parts = split_path(target);
    for (const std::string& part : parts)
      require(!part.empty() && part != "parametrizations", "get_attr node '", node.name(),
              "': target '", target, "' is not a valid qualified name");
    for (const std::string& prefix : owner_prefixes(target)) {
      if (specs_.count(prefix))
        fail("get_attr node '", node.name(), "': target '", target, "' is not a tensor of module '",
             prefix, "' (", specs_.at(prefix)->type, ")");
    }
    std::shared_ptr<nn::Module> owner = container_for(target, parts);
    require(!owner->get_child(parts.back()), "get_attr node '", node.name(), "': target '", target,
            "' names a module, not a tensor");
    const Tensor& tensor = tensors_.at(target);
    if (tensor.dtype() == kFloat32) {
      owner->register_parameter(parts.back(), tensor);
    } else {
      owner->register_buffer(parts.back(), tensor);
    }
    claimed_[target] = "";
  }

  void refuse_unclaimed_tensors() const {
    for (const auto& [name, tensor] : file_.tensors) {
      if (claimed_.count(name)) continue;
      for (const std::string& prefix : owner_prefixes(name)) {
        if (specs_.count(prefix))
          fail("tensor '", name, "' is not a tensor of module '", prefix, "' (",
               specs_.at(prefix)->type, ")");
      }
      fail("unexpected tensor '", name, "' (no module or get_attr node uses it)");
    }
  }

  // Every module tensor was checked against the file's shape and dtype; the module now takes the
  // file's tensor itself in place of the one it allocated, rather than copying its values: a
  // tensor read from a mapped file points into the mapping, so loading copies no weights.
  void adopt_module_tensors(const ModuleSpec& spec, nn::Module& module) {
    // state_dict() entries are detached, so requires_grad is read from the module's own.
    for (const auto& [local, allocated] : module.state_dict()) {
      (void)allocated;
      const std::vector<std::string> parts = split_path(local);
      nn::Module* owner = &module;
      for (size_t i = 0; i + 1 < parts.size() && owner != nullptr; ++i)
        owner = owner->get_child(parts[i]).get();
      require(owner != nullptr, "module '", spec.name, "': no submodule holds '", local, "'");
      const Tensor& loaded = tensors_.at(spec.name + "." + local);
      if (owner->has_parameter(parts.back())) {
        const bool requires_grad = owner->get_parameter(parts.back()).requires_grad();
        owner->register_parameter(parts.back(), loaded, requires_grad);
      } else {
        owner->register_buffer(parts.back(), loaded);
      }
    }
  }

  std::string source_;
  SafetensorsFile file_;
  std::unordered_map<std::string, Tensor> tensors_;
  std::map<std::string, const ModuleSpec*> specs_;
  std::map<std::string, std::shared_ptr<nn::Module>> built_;
  // File tensor name -> the module that owns it ("" for a get_attr tensor).
  std::unordered_map<std::string, std::string> claimed_;
  std::shared_ptr<nn::Module> root_;
};

}  // namespace

namespace {

// What a .pare file holds: the tensors (in the model's state_dict order) and the metadata.
struct PareContents {
  std::vector<std::pair<std::string, Tensor>> tensors;
  std::map<std::string, std::string> metadata;
};

PareContents collect_contents(const GraphModule& graph_module) {
  const Graph& graph = graph_module.graph();
  nn::Module& root = *graph_module.root_ptr();
  std::vector<ModuleSpec> modules;
  std::set<std::string> called;
  std::map<std::string, Tensor> wanted;
  for (const Node* node : graph.nodes()) {
    if (node->op() != OpKind::call_module || !called.insert(node->target()).second) continue;
    const std::string& name = node->target();
    std::shared_ptr<nn::Module> module;
    try {
      module = root.get_submodule(name);
    } catch (const Error& error) {
      throw Error(str_cat("save: node '", node->name(), "' calls module '", name,
                          "', which the model does not have (", error.what(), ")"));
    }
    refuse_parametrizations(*module, name);
    refuse_hooks(*module, name);
    PARE_CHECK(is_registered_module_type(module->type_name()), "save: module '", name,
               "' has type '", module->type_name(),
               "', which is not registered (pare::ir::register_module_type), so no reader "
               "could rebuild it");
    modules.push_back({name, module->type_name(), module->config()});
    for (const auto& [local, tensor] : module->state_dict()) wanted[name + "." + local] = tensor;
  }
  const nn::StateDict root_state = root.state_dict();
  for (const Node* node : graph.nodes()) {
    if (node->op() != OpKind::get_attr) continue;
    const std::string& target = node->target();
    PARE_CHECK(!has_segment(target, "parametrizations"), "save: get_attr node '", node->name(),
               "' reads the parametrized tensor '", target,
               "'; remove parametrizations before saving (pare::nn::remove_parametrizations)");
    auto found = std::find_if(root_state.begin(), root_state.end(),
                              [&](const auto& entry) { return entry.first == target; });
    PARE_CHECK(found != root_state.end(), "save: get_attr node '", node->name(), "' reads '",
               target, "', which is not a parameter or buffer of the model");
    wanted[target] = found->second;
  }
  // PyTorch's state_dict order where the model has it, so the file reads like torch.save's.
  std::vector<std::pair<std::string, Tensor>> tensors;
  std::set<std::string> written;
  for (const auto& [key, tensor] : root_state) {
    if (wanted.count(key) && written.insert(key).second) tensors.emplace_back(key, wanted[key]);
  }
  for (const auto& [key, tensor] : wanted)
    if (written.insert(key).second) tensors.emplace_back(key, tensor);

  std::map<std::string, std::string> metadata = {{kFormatKey, kFormatName},
                                                 {kVersionKey, std::to_string(kMajorVersion)},
                                                 {kGraphKey, graph_to_json(graph, modules)}};
  return {std::move(tensors), std::move(metadata)};
}

}  // namespace

std::string encode_pare(const GraphModule& graph_module) {
  const PareContents contents = collect_contents(graph_module);
  return encode_safetensors(contents.tensors, contents.metadata);
}

GraphModule decode_pare(const std::string& bytes, const std::string& source) {
  return PareReader(decode_safetensors(bytes, source)).read();
}

void save(const GraphModule& graph_module, const std::string& path) {
  PareContents contents;
  try {
    contents = collect_contents(graph_module);
  } catch (const Error& error) {
    throw Error(str_cat(path, ": ", error.what()));
  }
  // Streamed: the header, then each tensor from its own memory.
  write_safetensors(path, contents.tensors, contents.metadata);
}

GraphModule load(const std::string& path) { return PareReader(read_safetensors(path)).read(); }

}  // namespace pare::ir

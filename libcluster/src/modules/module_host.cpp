#include "modules/module_host.hpp"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>

#include <algorithm>
#include <unordered_map>

#include "cluster/log.hpp"
#include "modules/module_code.hpp"

namespace cluster::internal {
namespace {

bool valid_module_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Names the node's own functions use: a module may not take them over.
bool reserved(const std::string& name) { return name == "sys" || name == "code" || name == "pg" || name == "global"; }

std::optional<std::string> real_path(const std::string& path) {
  char buffer[PATH_MAX];
  if (!::realpath(path.c_str(), buffer)) return std::nullopt;
  return std::string(buffer);
}

std::vector<std::shared_ptr<module_version>> alive(std::vector<std::weak_ptr<module_version>>& versions) {
  std::erase_if(versions, [](const auto& w) { return w.expired(); });
  std::vector<std::shared_ptr<module_version>> out;
  for (const auto& w : versions)
    if (auto v = w.lock()) out.push_back(std::move(v));
  return out;
}

std::size_t count_users(const std::vector<std::shared_ptr<module_version>>& versions) {
  std::size_t n = 0;
  for (const auto& v : versions) n += v->users().size();
  return n;
}

// Arguments of the code:* functions: [text] or [text, purge].
std::pair<std::string, bool> text_and_flag(const term& args, const char* what) {
  const auto* list = args.get_if<term_list>();
  if (list && !list->empty() && list->size() <= 2 && (*list)[0].is<std::string>() &&
      (list->size() == 1 || (*list)[1].is<bool>()))
    return {(*list)[0].as<std::string>(), list->size() == 2 && (*list)[1].as<bool>()};
  if (args.is<std::string>()) return {args.as<std::string>(), false};
  throw bad_arguments(std::string("expected [") + what + "] or [" + what + ", purge]");
}

term value_or_throw(result<term> r) {
  if (!r) throw call_error(r.err().code, r.err().message);
  return std::move(r).value();
}

}  // namespace

module_host::module_host(function_registry& functions, cluster::runtime& rt, std::vector<std::string> allowed_dirs)
    : functions_(functions), runtime_(rt) {
  for (const auto& d : allowed_dirs) {
    if (auto real = real_path(d))
      allowed_dirs_.push_back(*real);
    else
      log(log_level::warn, "module directory " + d + " does not exist: no module loads from it");
  }
}

module_host::~module_host() = default;

result<std::string> module_host::resolve(const std::string& path, origin from) const {
  if (from == origin::config) return path.find('/') == std::string::npos ? "./" + path : path;
  if (allowed_dirs_.empty())
    return error{errc::rejected, "this node loads no modules on request: start it with --module-dir DIR"};
  // A relative path is looked for in each allowed directory.
  std::vector<std::string> candidates;
  if (!path.starts_with("/"))
    for (const auto& d : allowed_dirs_) candidates.push_back(d + "/" + path);
  else
    candidates.push_back(path);
  for (const auto& c : candidates) {
    const auto real = real_path(c);
    if (!real) continue;
    for (const auto& d : allowed_dirs_)
      if (real->starts_with(d + "/")) return *real;
    std::string dirs;
    for (const auto& d : allowed_dirs_) dirs += (dirs.empty() ? "" : ", ") + d;
    return error{errc::rejected, path + " is outside the module directories (" + dirs + ")"};
  }
  return error{errc::not_found, "no module file " + path + (candidates.size() > 1 ? " in the module directories" : "")};
}

result<std::shared_ptr<module_version>> module_host::open(const std::string& path) {
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    return error{errc::io_error, "cannot load " + path + ": " + (why ? why : "dlopen failed")};
  }
  // dlopen of a file already open hands back the same handle: the version
  // loaded from it.
  for (auto& [name, m] : modules_) {
    auto versions = alive(m.old);
    if (m.current) versions.push_back(m.current);
    for (auto& v : versions)
      if (v->handle() == handle) {
        ::dlclose(handle);
        return std::move(v);
      }
  }
  auto entry = reinterpret_cast<module_entry_fn>(::dlsym(handle, module_entry_symbol));
  const module_descriptor* d = entry ? entry() : nullptr;
  std::optional<error> refused;
  if (!entry)
    refused = error{errc::bad_argument, path + " is not a libcluster module: it exports no " +
                                            std::string(module_entry_symbol) + " (see CLUSTER_MODULE)"};
  else if (!d)
    refused = error{errc::bad_argument, path + ": its entry point returned nothing"};
  else if (d->abi != module_abi)
    refused = error{errc::unsupported_version, path + " is built for module ABI " + std::to_string(d->abi) +
                                                   "; this node loads ABI " + std::to_string(module_abi) +
                                                   ": rebuild it against this libcluster"};
  else if (!d->name || !valid_module_name(d->name) || reserved(d->name))
    refused = error{errc::bad_argument, path + ": bad module name '" + std::string(d->name ? d->name : "") +
                                            "' (lower-case letters, digits, '_'; not sys, code, pg or global)"};
  else if (!d->version || !*d->version || !d->init)
    refused = error{errc::bad_argument, path + ": the module has no version or no init"};
  if (refused) {
    ::dlclose(handle);
    return *refused;
  }
  return std::make_shared<module_version>(d->name, d->version, path, handle, d->init);
}

result<term> module_host::install(const std::string& path, install_mode mode, bool purge, origin from) {
  const auto resolved = resolve(path, from);
  if (!resolved) return resolved.err();
  std::lock_guard lock(mutex_);
  auto opened = open(*resolved);
  if (!opened) return opened.err();
  std::shared_ptr<module_version> v = std::move(opened).value();
  const std::string name = v->module();
  const std::string label = name + " " + v->version();

  auto found = modules_.find(name);
  if (v->init() == nullptr) {  // a version loaded before, from this very file
    // An upgrade to what is current changes nothing: a rolling upgrade can be run again.
    if (mode == install_mode::upgrade && found != modules_.end() && found->second.current == v)
      return describe(name, found->second);
    return error{errc::rejected, *resolved + " is already loaded (" + label + "): give each version a file of its own"};
  }
  if (mode == install_mode::load && found != modules_.end() && found->second.current)
    return error{errc::rejected, name + " is already loaded (" + found->second.current->version() +
                                     "): use upgrade to load " + v->version()};
  if (mode == install_mode::upgrade && (found == modules_.end() || !found->second.current))
    return error{errc::not_found, name + " is not loaded here: use load"};
  if (found != modules_.end() && found->second.current && found->second.current->version() == v->version())
    return error{errc::rejected, label + " is already the current version"};

  // The module's init, run before anything changes: if it throws, the node
  // keeps what it had. The builder goes before `v`, and with it what the
  // module registered, while its code is still loaded.
  {
    module_builder builder(name, v->version(), [weak = std::weak_ptr(v)](const std::string& server, term args) {
      return server_behavior(weak, server, std::move(args));
    });
    try {
      v->init()(builder);
    } catch (const std::exception& e) {
      return error{errc::exception, "init of " + label + " failed: " + e.what()};
    } catch (...) {
      return error{errc::exception, "init of " + label + " failed: a non-standard exception"};
    }
    v->contents() = std::move(builder.registered());
    v->initialized();
  }

  loaded_module& m = modules_[name];
  if (m.current) {
    // At most two versions: the one being replaced becomes the old one.
    if (auto retired = retire_old(m, purge); !retired) return retired.err();
  }
  std::unordered_map<std::string, function_body> table;
  for (const auto& [fn, body] : v->contents().functions) table.emplace(name + ":" + fn, bind_function(v, body));
  for (const auto& [server, spec] : v->contents().servers) table.emplace(name + ":" + server, bind_server(v, server));
  functions_.replace_module(name, std::move(table));  // new calls use v from here on

  stop_supervisor(m);
  std::shared_ptr<module_version> previous = std::exchange(m.current, v);
  if (previous) m.old.push_back(previous);
  start_supervisor(m);
  log(log_level::info,
      runtime_.node() + ": " +
          (previous ? "upgraded " + name + " from " + previous->version() + " to " + v->version() : "loaded " + label) +
          " (" + v->path() + ")");
  return describe(name, m);
}

result<void> module_host::retire_old(loaded_module& m, bool purge) {
  const auto old = alive(m.old);
  const std::size_t running = count_users(old);
  if (running == 0) return {};
  std::string versions;
  for (const auto& v : old) versions += (versions.empty() ? "" : ", ") + v->version();
  if (!purge)
    return error{errc::busy, m.current->module() + " " + versions + " still runs in " + std::to_string(running) +
                                 " process(es), and a module keeps two versions at most: migrate them, wait for "
                                 "them to end, or purge (kills them)"};
  for (const auto& v : old)
    for (const auto& u : v->users()) runtime_.exit(u.process, reason::kill());
  log(log_level::warn, runtime_.node() + ": purged " + m.current->module() + " " + versions + ": killed " +
                           std::to_string(running) + " process(es)");
  return {};
}

result<term> module_host::load(const std::string& path, origin from) {
  return install(path, install_mode::load, false, from);
}

result<term> module_host::upgrade(const std::string& path, bool purge, origin from) {
  return install(path, install_mode::upgrade, purge, from);
}

result<term> module_host::unload(const std::string& name, bool purge) {
  std::lock_guard lock(mutex_);
  const auto found = modules_.find(name);
  if (found == modules_.end() || !found->second.current) return error{errc::not_found, name + " is not loaded here"};
  loaded_module& m = found->second;
  if (auto retired = retire_old(m, purge); !retired) return retired.err();
  functions_.replace_module(name, {});
  stop_supervisor(m);
  std::shared_ptr<module_version> previous = std::exchange(m.current, nullptr);
  if (purge)
    for (const auto& u : previous->users()) runtime_.exit(u.process, reason::kill());
  m.old.push_back(previous);
  log(log_level::info, runtime_.node() + ": unloaded " + name + " " + previous->version());
  previous.reset();  // closed here unless processes still run it
  return describe(name, m);
}

result<term> module_host::migrate(const std::string& name) {
  std::lock_guard lock(mutex_);
  const auto found = modules_.find(name);
  if (found == modules_.end() || !found->second.current) return error{errc::not_found, name + " is not loaded here"};
  loaded_module& m = found->second;
  std::uint64_t told = 0;
  for (const auto& v : alive(m.old))
    for (const auto& u : v->users())
      if (u.server) {
        runtime_.send(u.process, code_change_request{m.current});
        ++told;
      }
  return term(term_map{{atom{"module"}, name}, {atom{"version"}, m.current->version()}, {atom{"migrating"}, told}});
}

void module_host::start_supervisor(loaded_module& m) {
  auto& spec = m.current->contents().supervisor;
  if (!spec) return;
  m.supervisor = runtime_.spawn(supervisor_behavior(m.current, cluster::supervisor(spec->first, spec->second))
                                    .labelled(m.current->module() + ":supervisor"));
}

void module_host::stop_supervisor(loaded_module& m) {
  if (m.supervisor) runtime_.exit(*m.supervisor, reason::shutdown());
  m.supervisor.reset();
}

term module_host::describe(const std::string& name, const loaded_module& m) const {
  term_list versions;
  auto add = [&versions](const module_version& v, bool current) {
    std::uint64_t servers = 0;
    const auto users = v.users();
    for (const auto& u : users) servers += u.server ? 1 : 0;
    versions.push_back(term_map{{atom{"version"}, v.version()},
                                {atom{"path"}, v.path()},
                                {atom{"current"}, current},
                                {atom{"processes"}, static_cast<std::uint64_t>(users.size())},
                                {atom{"servers"}, servers}});
  };
  if (m.current) add(*m.current, true);
  for (const auto& w : m.old)
    if (auto v = w.lock()) add(*v, false);
  term_list functions;
  if (m.current) {
    for (const auto& [fn, body] : m.current->contents().functions) functions.push_back(name + ":" + fn);
    for (const auto& [server, spec] : m.current->contents().servers) functions.push_back(name + ":" + server);
  }
  return term_map{{atom{"name"}, name},
                  {atom{"current"}, m.current ? term(m.current->version()) : term()},
                  {atom{"versions"}, std::move(versions)},
                  {atom{"functions"}, std::move(functions)},
                  {atom{"supervisor"}, m.supervisor ? term(*m.supervisor) : term()}};
}

term module_host::list() const {
  std::lock_guard lock(mutex_);
  term_list out;
  for (const auto& [name, m] : modules_) {
    const bool any_old = std::any_of(m.old.begin(), m.old.end(), [](const auto& w) { return !w.expired(); });
    if (m.current || any_old) out.push_back(describe(name, m));
  }
  return out;
}

void module_host::add_functions() {
  functions_.add("code:modules", [this](const term&) { return list(); });
  functions_.add("code:load", [this](const term& args) {
    return value_or_throw(load(text_and_flag(args, "path").first, origin::remote));
  });
  functions_.add("code:upgrade", [this](const term& args) {
    const auto [path, purge] = text_and_flag(args, "path");
    return value_or_throw(upgrade(path, purge, origin::remote));
  });
  functions_.add("code:unload", [this](const term& args) {
    const auto [name, purge] = text_and_flag(args, "name");
    return value_or_throw(unload(name, purge));
  });
  functions_.add("code:migrate",
                 [this](const term& args) { return value_or_throw(migrate(text_and_flag(args, "name").first)); });
}

}  // namespace cluster::internal

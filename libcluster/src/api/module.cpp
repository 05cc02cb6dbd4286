#include "cluster/module.hpp"

#include <stdexcept>

namespace cluster {
namespace {

void check_name(const std::string& module, const std::string& name) {
  if (name.empty() || name.find(':') != std::string::npos)
    throw std::invalid_argument("module " + module + ": bad name '" + name + "' (empty or with ':')");
}

}  // namespace

module_builder::module_builder(std::string name, std::string version,
                               std::function<behavior(const std::string& server, term args)> make_server)
    : name_(std::move(name)), version_(std::move(version)), make_server_(std::move(make_server)) {}

void module_builder::function(const std::string& name, std::function<term(const term& args)> fn) {
  coroutine(name, [fn = std::move(fn)](context&, term args, term& result) -> task {
    result = fn(args);
    co_return;
  });
}

void module_builder::coroutine(const std::string& name, function_body body) {
  check_name(name_, name);
  if (!contents_.functions.emplace(name, std::move(body)).second || contents_.servers.contains(name))
    throw std::invalid_argument("module " + name_ + ": " + name + " is registered twice");
}

void module_builder::server(const std::string& name, server_spec spec) {
  check_name(name_, name);
  if (!spec.handle) throw std::invalid_argument("module " + name_ + ": server " + name + " has no handle");
  if (contents_.functions.contains(name) || !contents_.servers.emplace(name, std::move(spec)).second)
    throw std::invalid_argument("module " + name_ + ": " + name + " is registered twice");
}

behavior module_builder::server_process(const std::string& server, term args) const {
  if (!contents_.servers.contains(server))
    throw std::invalid_argument("module " + name_ + ": no server " + server + " registered (yet)");
  return make_server_(server, std::move(args)).labelled(name_ + ":" + server);
}

void module_builder::supervisor(supervisor_flags flags, std::vector<child_spec> children) {
  if (contents_.supervisor) throw std::invalid_argument("module " + name_ + ": one supervisor per module");
  contents_.supervisor.emplace(flags, std::move(children));
}

}  // namespace cluster

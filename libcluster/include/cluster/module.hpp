// Modules: code loaded into a running node from a shared object, and replaced
// without a restart, as Erlang loads and upgrades its modules. A module has a
// name and a version and registers, when it is loaded,
//
//   - functions, called and spawned as "name:function" from any node;
//   - servers: process types that keep a state (a term) from message to
//     message, spawned as "name:server"; when a newer version is loaded, a
//     running server keeps the old code until it is told to migrate, and then
//     the new version's `code_change` turns its state into the new one's;
//   - optionally a supervisor, started when the version becomes current and
//     stopped (exit `shutdown`) when it is replaced or unloaded.
//
// A module is a few lines:
//
//   #include <cluster/module.hpp>
//   CLUSTER_MODULE("hello", "v1") {
//     module.function("version", [](const cluster::term&) { return cluster::term("v1"); });
//   }
//
// built as a shared object with `cluster_add_module()` (cmake/module.cmake),
// which links nothing: the node supplies libcluster's symbols. The node keeps
// a version's shared object loaded while anything runs its code (a call, a
// process, a supervisor) and closes it after. One rule for authors follows:
// messages a module sends are terms or libcluster's own types, since a value
// of a type the module defines would point into its code after it is closed.
//
// See docs/MODULES.md for versions, upgrades, migration and unloading.
// Thread-safety: a module_builder is used only during the module's init.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cluster/functions.hpp"
#include "cluster/process.hpp"
#include "cluster/supervisor.hpp"
#include "cluster/term.hpp"

namespace cluster {

/// The module ABI this libcluster loads. A module built against another
/// version of the headers is refused with a clear error, never run.
inline constexpr std::uint32_t module_abi = 2;  // 2: a pid's node became a node_atom

/// A process type with a state: `init` makes the state from the spawn's
/// arguments, `handle` takes one message at a time (returning false ends the
/// process normally; throwing crashes it), and `code_change`, when a process
/// started from an older version migrates to this one, turns the old state
/// into this version's (without it the state is carried over as it is).
struct server_spec {
  std::function<term(const term& args)> init;
  std::function<bool(context& ctx, message& m, term& state)> handle;
  std::function<term(const std::string& old_version, term state)> code_change;
};

class module_builder;

/// What the entry point returns. `abi` stays the first member in every ABI,
/// so that the loader can read it from any module.
struct module_descriptor {
  std::uint32_t abi;
  const char* name;     ///< lower-case letters, digits and '_'
  const char* version;  ///< any text; two loaded versions differ in it
  void (*init)(module_builder& module);
};

/// The one symbol a module exports (C linkage, so no name mangling).
inline constexpr const char* module_entry_symbol = "cluster_module_entry";
using module_entry_fn = const module_descriptor* (*)();

/// Given to a module's init to register what the module offers. Names are
/// local to the module: `function("version", ...)` is called as "hello:version".
class module_builder {
 public:
  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }

  /// A plain function of its arguments (may throw `bad_arguments`).
  void function(const std::string& name, std::function<term(const term& args)> fn);
  /// A function that waits (receives, calls other nodes): a coroutine body.
  void coroutine(const std::string& name, function_body body);
  /// A server process type, spawned as "module:name" with its init's arguments.
  void server(const std::string& name, server_spec spec);
  /// A behavior running `server` (registered above) from `args`, for a
  /// supervisor's child_spec.
  behavior server_process(const std::string& server, term args) const;
  /// The module's supervisor: started with these children once this version
  /// is current, and registered as "<module>_sup".
  void supervisor(supervisor_flags flags, std::vector<child_spec> children);

  /// Used by the node that loads the module.
  struct contents {
    std::map<std::string, function_body> functions;  ///< by local name
    std::map<std::string, server_spec> servers;
    std::optional<std::pair<supervisor_flags, std::vector<child_spec>>> supervisor;
  };
  module_builder(std::string name, std::string version,
                 std::function<behavior(const std::string& server, term args)> make_server);
  contents& registered() { return contents_; }

 private:
  std::string name_, version_;
  std::function<behavior(const std::string&, term)> make_server_;
  contents contents_;
};

}  // namespace cluster

/// Defines a module's entry point; the block that follows is its init, with
/// the builder in scope as `module`. An exception thrown from it makes the
/// load fail cleanly (the node keeps the version it had).
#define CLUSTER_MODULE(NAME, VERSION)                                                                                  \
  static void cluster_module_init_(::cluster::module_builder& module);                                                 \
  extern "C" __attribute__((visibility("default"))) const ::cluster::module_descriptor* cluster_module_entry() {       \
    static const ::cluster::module_descriptor descriptor{::cluster::module_abi, NAME, VERSION, &cluster_module_init_}; \
    return &descriptor;                                                                                                \
  }                                                                                                                    \
  static void cluster_module_init_([[maybe_unused]] ::cluster::module_builder& module)

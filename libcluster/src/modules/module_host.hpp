// The node's modules: loads shared objects, installs what their init
// registers as functions, and keeps up to two versions of each module, as
// Erlang does: the current one, which new calls and spawns use, and an old
// one still running in processes started from it. Operations:
//
//   load     a module not loaded yet;
//   upgrade  to a new version: new calls use it at once, old processes keep
//            their code; refused while a still older version has processes,
//            unless `purge` kills them (Erlang's code:purge);
//   migrate  tells the old version's servers to move to the current one
//            through its code_change;
//   unload   removes the module's functions; its processes finish on its
//            code, or are killed with `purge`.
// A version's shared object is closed once nothing uses it.
//
// Loads named by other nodes or clients (the `code:*` functions) must come
// from the allowed directories; the node's own configuration may load any path.
// Thread-safety: every member function may be called from any thread; loads
// are serialized by a mutex.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cluster/error.hpp"
#include "cluster/functions.hpp"
#include "cluster/runtime.hpp"
#include "cluster/term.hpp"
#include "modules/module_version.hpp"

namespace cluster::internal {

class module_host {
 public:
  /// `allowed_dirs`: where `code:*` loads may come from (none: refused).
  module_host(function_registry& functions, cluster::runtime& rt, std::vector<std::string> allowed_dirs);
  ~module_host();
  module_host(const module_host&) = delete;
  module_host& operator=(const module_host&) = delete;

  /// Who asks: the node's own configuration, or someone over the network.
  enum class origin { config, remote };

  /// Each returns the module's description (as `list` shows it) or an error.
  result<term> load(const std::string& path, origin from);
  result<term> upgrade(const std::string& path, bool purge, origin from);
  result<term> unload(const std::string& name, bool purge);
  /// Answers how many servers were told to migrate.
  result<term> migrate(const std::string& name);
  /// Every module with its versions, functions and processes.
  term list() const;

  /// Registers code:modules, code:load, code:upgrade, code:unload and code:migrate.
  void add_functions();

 private:
  struct loaded_module {
    std::shared_ptr<module_version> current;         // null once unloaded
    std::vector<std::weak_ptr<module_version>> old;  // still used by processes
    std::optional<pid> supervisor;                   // the current version's
  };
  enum class install_mode { load, upgrade };

  result<std::string> resolve(const std::string& path, origin from) const;
  result<std::shared_ptr<module_version>> open(const std::string& path);
  result<term> install(const std::string& path, install_mode mode, bool purge, origin from);
  /// Kills the processes of every old version; refuses (without `purge`) if any runs.
  result<void> retire_old(loaded_module& m, bool purge);
  void start_supervisor(loaded_module& m);
  void stop_supervisor(loaded_module& m);
  term describe(const std::string& name, const loaded_module& m) const;

  function_registry& functions_;
  cluster::runtime& runtime_;
  std::vector<std::string> allowed_dirs_;
  mutable std::mutex mutex_;  // guards modules_, and serializes loads
  std::map<std::string, loaded_module> modules_;
};

}  // namespace cluster::internal

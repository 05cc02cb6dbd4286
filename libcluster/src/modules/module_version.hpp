// One loaded version of a module: its shared object and what its init
// registered, and the processes running its code. It is shared by whatever
// uses it (the node's current table, registered functions, running calls and
// processes); when the last one lets go, the shared object is closed.
// Thread-safety: the contents are read-only after the load; the user table
// is guarded by a mutex.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cluster/module.hpp"
#include "cluster/pid.hpp"

namespace cluster::internal {

class module_version {
 public:
  using init_fn = void (*)(module_builder&);
  /// Takes ownership of `handle` (from dlopen); `init` is the module's.
  module_version(std::string module, std::string version, std::string path, void* handle, init_fn entry_init);
  /// Destroys the contents (their code lives in the shared object), then closes it.
  ~module_version();
  module_version(const module_version&) = delete;
  module_version& operator=(const module_version&) = delete;

  const std::string& module() const { return module_; }
  const std::string& version() const { return version_; }
  const std::string& path() const { return path_; }
  void* handle() const { return handle_; }
  /// The module's init, until it has run (then null).
  init_fn init() const { return init_; }
  void initialized() { init_ = nullptr; }
  module_builder::contents& contents() { return contents_; }

  /// A process running this version's code, for as long as the user lives.
  struct user {
    user(std::shared_ptr<module_version> v, pid p, bool server);
    ~user();
    user(const user&) = delete;
    user& operator=(const user&) = delete;
    std::shared_ptr<module_version> version;
    pid process;
  };
  struct user_entry {
    pid process;
    bool server;  ///< a server, which can migrate to a newer version
  };
  std::vector<user_entry> users() const;

 private:
  std::string module_, version_, path_;
  void* handle_;
  init_fn init_;
  module_builder::contents contents_;
  mutable std::mutex mutex_;  // guards users_
  std::vector<user_entry> users_;
};

}  // namespace cluster::internal

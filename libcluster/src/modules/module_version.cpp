#include "modules/module_version.hpp"

#include <dlfcn.h>

#include <algorithm>

namespace cluster::internal {

module_version::module_version(std::string module, std::string version, std::string path, void* handle,
                               init_fn entry_init)
    : module_(std::move(module)),
      version_(std::move(version)),
      path_(std::move(path)),
      handle_(handle),
      init_(entry_init) {}

module_version::~module_version() {
  // The std::functions here were made by the module: their code must still
  // be mapped while they are destroyed.
  contents_ = {};
  if (handle_) dlclose(handle_);
}

module_version::user::user(std::shared_ptr<module_version> v, pid p, bool server)
    : version(std::move(v)), process(std::move(p)) {
  std::lock_guard lock(version->mutex_);
  version->users_.push_back({process, server});
}

module_version::user::~user() {
  std::lock_guard lock(version->mutex_);
  auto& users = version->users_;
  const auto it =
      std::find_if(users.begin(), users.end(), [this](const user_entry& u) { return u.process == process; });
  if (it != users.end()) users.erase(it);
}

std::vector<module_version::user_entry> module_version::users() const {
  std::lock_guard lock(mutex_);
  return users_;
}

}  // namespace cluster::internal

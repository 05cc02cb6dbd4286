#include "cluster/functions.hpp"

#include <algorithm>
#include <mutex>

namespace cluster {

void function_registry::add(const std::string& name, std::function<term(const term& args)> fn) {
  add_coroutine(name, [fn = std::move(fn)](context&, term args, term& result) -> task {
    result = fn(args);
    co_return;
  });
}

void function_registry::add_coroutine(const std::string& name, function_body body) {
  std::unique_lock lock(mutex_);
  functions_[name] = std::move(body);
}

std::optional<function_body> function_registry::find(const std::string& name) const {
  std::shared_lock lock(mutex_);
  const auto it = functions_.find(name);
  if (it == functions_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> function_registry::names() const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, fn] : functions_) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace cluster

#include "cluster/functions.hpp"

#include "runtime/runtime_core.hpp"

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
  auto added = std::make_shared<const function_body>(std::move(body));
  std::unique_lock lock(mutex_);
  added.swap(functions_[name]);
  lock.unlock();  // `added` now holds the old body, released here: that may unload a module
}

std::shared_ptr<const function_body> function_registry::find(const std::string& name) const {
  std::shared_lock lock(mutex_);
  const auto it = functions_.find(name);
  return it == functions_.end() ? nullptr : it->second;
}

void function_registry::replace_module(const std::string& module,
                                       std::unordered_map<std::string, function_body> functions) {
  const std::string prefix = module + ":";
  std::vector<std::pair<std::string, std::shared_ptr<const function_body>>> added;
  for (auto& [name, body] : functions) added.emplace_back(name, std::make_shared<const function_body>(std::move(body)));
  std::vector<std::shared_ptr<const function_body>> replaced;  // released after the lock: that may unload a module
  std::unique_lock lock(mutex_);
  for (auto it = functions_.begin(); it != functions_.end();) {
    if (!it->first.starts_with(prefix)) {
      ++it;
      continue;
    }
    replaced.push_back(std::move(it->second));
    it = functions_.erase(it);
  }
  for (auto& [name, body] : added) functions_.emplace(std::move(name), std::move(body));
  lock.unlock();
}

std::vector<std::string> function_registry::names() const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, fn] : functions_) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace cluster

// -- calls from processes ---------------------------------------------------------

namespace cluster {
namespace {

// Ids of calls made by processes have the top bit set, so they never collide
// with the ids a node picks for calls it forwards.
constexpr std::uint64_t process_call_bit = std::uint64_t{1} << 63;

matcher result_with(std::uint64_t id) {
  return [id](const message& m) {
    const auto* r = m.get_if<call_result>();
    return r && r->id == id;
  };
}

std::uint64_t start_request(context& ctx, const std::string& node, const std::string& function, const term& args,
                            bool spawn, internal::remote_router::spawn_ties ties = {}) {
  const std::uint64_t id = ctx.core().make_ref().id | process_call_bit;
  if (auto* remote = ctx.core().remote())
    remote->request(node, ctx.self(), id, function, args, spawn, ties);
  else
    ctx.send(ctx.self(), call_result{id, errc::no_connection, nil{}, "this runtime belongs to no node"});
  return id;
}

}  // namespace

call_awaiter::call_awaiter(context& ctx, std::uint64_t id, std::chrono::milliseconds timeout,
                           std::optional<ref> monitor)
    : id_(id), timeout_(timeout), monitor_(std::move(monitor)), inner_(ctx.process(), result_with(id), timeout) {}

result<term> call_awaiter::await_resume() {
  auto got = inner_.await_resume();
  if (!got) return error{errc::timeout, "no answer within " + std::to_string(timeout_.count()) + " ms"};
  auto& r = got->get<call_result>();
  if (r.code != errc::ok) return error{r.code, r.message};
  if (monitor_) {
    term_list both{std::move(r.value), term(*monitor_)};
    return term(std::move(both));
  }
  return std::move(r.value);
}

call_awaiter call(context& ctx, const std::string& node, const std::string& function, term args,
                  std::chrono::milliseconds timeout) {
  return call_awaiter(ctx, start_request(ctx, node, function, args, false), timeout);
}

call_awaiter spawn_on(context& ctx, const std::string& node, const std::string& function, term args,
                      std::chrono::milliseconds timeout, spawn_opts opts) {
  internal::remote_router::spawn_ties ties;
  ties.link = opts.link;
  if (opts.monitor) ties.monitor = ctx.core().make_ref();
  const auto monitor = ties.monitor;
  return call_awaiter(ctx, start_request(ctx, node, function, args, true, ties), timeout, monitor);
}

void cast(context& ctx, const std::string& node, const std::string& function, term args) {
  if (auto* remote = ctx.core().remote()) remote->request(node, std::nullopt, 0, function, args, false, {});
}

task multicall(context& ctx, std::vector<std::string> nodes, std::string function, term args,
               std::chrono::milliseconds timeout, std::vector<result<term>>& out) {
  std::vector<std::uint64_t> ids;
  for (const auto& n : nodes) ids.push_back(start_request(ctx, n, function, args, false));
  out.assign(nodes.size(), error{errc::timeout, "no answer within " + std::to_string(timeout.count()) + " ms"});
  const auto deadline = ctx.core().timers().time().now() + timeout;
  std::size_t answered = 0;
  while (answered < ids.size()) {
    const auto left = deadline - ctx.core().timers().time().now();
    if (left <= duration::zero()) break;
    auto got = co_await ctx.receive(
        [&ids](const message& m) {
          const auto* r = m.get_if<call_result>();
          return r && std::find(ids.begin(), ids.end(), r->id) != ids.end();
        },
        std::chrono::duration_cast<std::chrono::nanoseconds>(left));
    if (!got) break;
    auto& r = got->get<call_result>();
    const auto i = static_cast<std::size_t>(std::find(ids.begin(), ids.end(), r.id) - ids.begin());
    out[i] = r.code == errc::ok ? result<term>(std::move(r.value)) : result<term>(r.code, r.message);
    ids[i] = 0;  // answered
    ++answered;
  }
}

}  // namespace cluster

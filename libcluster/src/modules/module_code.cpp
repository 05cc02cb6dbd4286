#include "modules/module_code.hpp"

#include "cluster/log.hpp"

// Destruction order matters throughout: a std::function the module made is
// destroyed by its code, so it must go before the last reference to its
// version (which closes the shared object). Members and locals are destroyed
// in reverse order of declaration, hence the version first and the module's
// code after it, in every struct and frame below.

namespace cluster::internal {
namespace {

task run_function(context& ctx, std::shared_ptr<module_version> v, function_body body, term args, term& result) {
  const module_version::user in(std::move(v), ctx.self(), false);
  const function_body own = std::move(body);
  co_await own(ctx, std::move(args), result);
}

struct module_function {
  std::shared_ptr<module_version> version;
  function_body body;
  task operator()(context& ctx, term args, term& result) const {
    return run_function(ctx, version, body, std::move(args), result);
  }
};

task run_server(context& ctx, std::shared_ptr<module_version> v, std::string server, term args) {
  auto in = std::make_unique<module_version::user>(std::move(v), ctx.self(), true);
  const server_spec* spec = &in->version->contents().servers.at(server);
  term state = spec->init ? spec->init(args) : std::move(args);
  for (;;) {
    message m = co_await ctx.receive();
    if (const auto* change = m.get_if<code_change_request>()) {
      const auto& next = change->to;
      if (next == in->version) continue;
      const auto& from = in->version->version();
      const auto it = next->contents().servers.find(server);
      if (it == next->contents().servers.end()) {
        log(log_level::warn,
            next->module() + ":" + server + " is not in version " + next->version() + ": the process stays on " + from);
        continue;
      }
      if (it->second.code_change) {
        try {
          state = it->second.code_change(from, state);  // a copy: a failed change keeps the old state
        } catch (const std::exception& e) {
          log(log_level::warn, next->module() + ":" + server + " code_change from " + from + " to " + next->version() +
                                   " failed (" + e.what() + "): the process stays on " + from);
          continue;
        }
      }
      spec = &it->second;
      in = std::make_unique<module_version::user>(next, ctx.self(), true);  // the old user goes after
      continue;
    }
    if (!spec->handle(ctx, m, state)) co_return;
  }
}

task run_server_if_loaded(context& ctx, std::weak_ptr<module_version> v, std::string server, term args) {
  auto strong = v.lock();
  if (!strong) throw std::runtime_error("the module version of " + server + " is no longer loaded");
  co_await run_server(ctx, std::move(strong), std::move(server), std::move(args));
}

task run_supervisor(context& ctx, std::shared_ptr<module_version> v, behavior supervisor) {
  const module_version::user in(std::move(v), ctx.self(), false);
  const behavior own = std::move(supervisor);
  co_await own.coroutine()(ctx);
}

struct module_supervisor {
  std::shared_ptr<module_version> version;
  behavior supervisor;
  task operator()(context& ctx) const { return run_supervisor(ctx, version, supervisor); }
};

}  // namespace

function_body bind_function(std::shared_ptr<module_version> v, function_body body) {
  return module_function{std::move(v), std::move(body)};
}

function_body bind_server(std::shared_ptr<module_version> v, std::string server) {
  // Weak: the process keeps its body for as long as it runs, and a server
  // that migrated must not keep the version it left loaded.
  return [v = std::weak_ptr(v), server = std::move(server)](context& ctx, term args, term&) -> task {
    return run_server_if_loaded(ctx, v, server, std::move(args));
  };
}

behavior server_behavior(std::weak_ptr<module_version> v, std::string server, term args) {
  return [v = std::move(v), server = std::move(server), args = std::move(args)](context& ctx) -> task {
    return run_server_if_loaded(ctx, v, server, args);
  };
}

behavior supervisor_behavior(std::shared_ptr<module_version> v, behavior supervisor) {
  return module_supervisor{std::move(v), std::move(supervisor)};
}

}  // namespace cluster::internal

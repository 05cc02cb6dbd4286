// The `hello` module, version 1: a function, a function that waits, and a
// server (a counter). Built as libhello_v1.so; hello_v2.cpp is its next version.
//
//   noded --name n1@127.0.0.1 --module-dir build/examples/modules ...
//   clusterctl --node n1@127.0.0.1 load n1@127.0.0.1 libhello_v1.so
//   clusterctl --node n1@127.0.0.1 call n1@127.0.0.1 hello:version     -> "v1"
#include <cluster/module.hpp>

using cluster::term;
using cluster::term_list;

namespace {

// The counter's state in v1 is a plain count. It answers [From, "incr"]
// with ["v1", Count] and ends on "stop".
bool counter(cluster::context& ctx, cluster::message& m, term& state) {
  const auto* t = m.get_if<term>();
  if (t && t->is<std::string>() && t->as<std::string>() == "stop") return false;
  const auto* request = t ? t->get_if<term_list>() : nullptr;
  if (request && request->size() == 2 && (*request)[0].is<cluster::pid>()) {
    state = term(state.as<std::int64_t>() + 1);
    ctx.send((*request)[0].as<cluster::pid>(), term(term_list{"v1", state}));
  }
  return true;
}

}  // namespace

CLUSTER_MODULE("hello", "v1") {
  module.function("version", [](const term&) { return term("v1"); });
  module.function("greet", [](const term& args) {
    if (!args.is<std::string>()) throw cluster::bad_arguments("hello:greet takes a name");
    return term("hello, " + args.as<std::string>());
  });
  // Asks a counter (its pid is the argument) to count one more, and answers
  // what the counter replied.
  module.coroutine("ask", [](cluster::context& ctx, term args, term& result) -> cluster::task {
    const auto* counter_pid = args.get_if<cluster::pid>();
    if (!counter_pid) throw cluster::bad_arguments("hello:ask takes a counter's pid");
    ctx.send(*counter_pid, term(term_list{ctx.self(), "incr"}));
    auto reply = co_await ctx.receive(cluster::match_type<term>(), std::chrono::seconds(2));
    result = reply ? reply->get<term>() : term(cluster::atom{"timeout"});
  });
  // Runs until it gets "stop": a process that keeps this version in use.
  module.coroutine("wait", [](cluster::context& ctx, term, term& result) -> cluster::task {
    (void)co_await ctx.receive([](const cluster::message& m) {
      const auto* t = m.get_if<term>();
      return t && t->is<std::string>() && t->as<std::string>() == "stop";
    });
    result = "v1 stopped";
  });
  module.server("counter", {.init = [](const term&) { return term(std::int64_t{0}); }, .handle = counter});
}

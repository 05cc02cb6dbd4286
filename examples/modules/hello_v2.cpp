// The `hello` module, version 2 (libhello_v2.so): hello:version answers "v2",
// and the counter keeps a map as its state. A v1 counter that migrates (after
// `clusterctl upgrade` and `clusterctl migrate`) goes through code_change,
// which turns its count into the map, so it counts on where it was. Version 2
// also starts a supervisor with a counter of its own.
#include <cluster/module.hpp>

#ifndef HELLO_VERSION
#define HELLO_VERSION "v2"  // the tests build this file once more as "v3"
#endif

using cluster::atom;
using cluster::term;
using cluster::term_list;
using cluster::term_map;

namespace {

std::int64_t count_of(const term& state) {
  for (const auto& [k, v] : state.as<term_map>())
    if (k == term(atom{"count"})) return v.as<std::int64_t>();
  return 0;
}

// Answers [From, "incr"] with [HELLO_VERSION, Count]; ends on "stop".
bool counter(cluster::context& ctx, cluster::message& m, term& state) {
  const auto* t = m.get_if<term>();
  if (t && t->is<std::string>() && t->as<std::string>() == "stop") return false;
  const auto* request = t ? t->get_if<term_list>() : nullptr;
  if (request && request->size() == 2 && (*request)[0].is<cluster::pid>()) {
    const std::int64_t count = count_of(state) + 1;
    state = term(term_map{{atom{"count"}, count}});
    ctx.send((*request)[0].as<cluster::pid>(), term(term_list{HELLO_VERSION, count}));
  }
  return true;
}

// v1 kept a bare count; v2 a map.
term upgrade_state(const std::string& from, term state) {
  if (from == "v1") return term(term_map{{atom{"count"}, state.as<std::int64_t>()}});
  return state;
}

}  // namespace

CLUSTER_MODULE("hello", HELLO_VERSION) {
  module.function("version", [](const term&) { return term(HELLO_VERSION); });
  module.function("greet", [](const term& args) {
    if (!args.is<std::string>()) throw cluster::bad_arguments("hello:greet takes a name");
    return term("hello again, " + args.as<std::string>());
  });
  module.coroutine("ask", [](cluster::context& ctx, term args, term& result) -> cluster::task {
    const auto* counter_pid = args.get_if<cluster::pid>();
    if (!counter_pid) throw cluster::bad_arguments("hello:ask takes a counter's pid");
    ctx.send(*counter_pid, term(term_list{ctx.self(), "incr"}));
    auto reply = co_await ctx.receive(cluster::match_type<term>(), std::chrono::seconds(2));
    result = reply ? reply->get<term>() : term(atom{"timeout"});
  });
  module.server("counter", {.init =
                                [](const term&) {
                                  return term(term_map{{atom{"count"}, std::int64_t{0}}});
                                },
                            .handle = counter,
                            .code_change = upgrade_state});
  module.supervisor({}, {cluster::child_spec{.id = "counter", .start = module.server_process("counter", term())}});
}

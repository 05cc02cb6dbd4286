// call, cast and spawn: run a registered function on any node of the cluster,
// reached through the node clusterctl is connected to.
#include "command.hpp"
#include "json_term.hpp"

namespace clusterctl {
namespace {

cluster::result<cluster::term> arguments(const target_args& a) {
  if (a.term.empty()) return cluster::term(cluster::term_list{});
  return parse_term(a.term);
}

}  // namespace

int run_call(context& ctx, const target_args& a) {
  auto args = arguments(a);
  if (!args) return report(ctx.json, "call: arguments", args.err());
  auto result = ctx.client.call(a.function, *args, ctx.timeout, a.node);
  if (!result) return report(ctx.json, "call " + a.function + " on " + a.node, result.err());
  print(term_to_json(*result));  // results are JSON either way
  return exit_ok;
}

int run_cast(context& ctx, const target_args& a) {
  auto args = arguments(a);
  if (!args) return report(ctx.json, "cast: arguments", args.err());
  if (auto sent = ctx.client.cast(a.function, *args, a.node); !sent) return report(ctx.json, "cast", sent.err());
  if (ctx.json) print({{"cast", a.function}, {"node", a.node}});
  return exit_ok;
}

int run_spawn(context& ctx, const target_args& a) {
  auto args = arguments(a);
  if (!args) return report(ctx.json, "spawn: arguments", args.err());
  auto p = ctx.client.spawn(a.function, *args, a.node);
  if (!p) return report(ctx.json, "spawn " + a.function + " on " + a.node, p.err());
  if (ctx.json)
    print({{"pid", cluster::to_string(*p)}});
  else
    std::cout << cluster::to_string(*p) << "\n";
  return exit_ok;
}

int run_send(context& ctx, const target_args& a) {
  auto msg = parse_term(a.term);
  if (!msg) return report(ctx.json, "send: message", msg.err());
  cluster::result<void> sent;
  if (a.to.starts_with("<")) {
    auto to = cluster::parse_pid(a.to);
    if (!to) return report(ctx.json, "send", to.err());
    sent = ctx.client.send(*to, *msg);
  } else if (const auto at = a.to.find('@'); at != std::string::npos) {
    // NAME@NODE: a name registered on another node, reached through --node.
    auto node = cluster::parse_node_name(a.to.substr(at + 1));
    if (!node) return report(ctx.json, "send: bad argument", node.err());
    sent = ctx.client.send(a.to.substr(0, at), node->id(), *msg);
  } else {
    sent = ctx.client.send(a.to, *msg);
  }
  if (!sent) return report(ctx.json, "send", sent.err());
  if (ctx.json) print({{"sent", true}});
  return exit_ok;
}

}  // namespace clusterctl

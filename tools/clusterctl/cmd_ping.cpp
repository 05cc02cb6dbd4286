#include "command.hpp"

namespace clusterctl {

int run_ping(context& ctx) {
  auto rtt = ctx.client.ping();
  if (!rtt) return report(ctx.json, "ping", rtt.err());
  if (ctx.json)
    print({{"node", ctx.client.node()}, {"rtt_us", rtt->count()}});
  else
    std::cout << "pong from " << ctx.client.node() << " in " << rtt->count() << " us\n";
  return exit_ok;
}

}  // namespace clusterctl

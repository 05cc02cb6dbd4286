#include <iostream>

#include "command.hpp"
#include "json.hpp"

namespace clusterctl {

int run_ping(context& ctx) {
  auto rtt = ctx.client.ping();
  if (!rtt) return report(ctx.json, "ping", rtt.err());
  if (ctx.json) {
    json_writer w;
    w.begin_object().key("node").value(ctx.client.node()).key("rtt_us").value(std::int64_t{rtt->count()}).end_object();
    std::cout << w.str() << "\n";
  } else {
    std::cout << "pong from " << ctx.client.node() << " in " << rtt->count() << " us\n";
  }
  return exit_ok;
}

}  // namespace clusterctl

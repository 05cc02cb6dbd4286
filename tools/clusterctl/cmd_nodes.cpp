#include <iostream>

#include "command.hpp"
#include "json.hpp"

namespace clusterctl {

int run_nodes(context& ctx) {
  auto nodes = ctx.client.nodes();
  if (!nodes) return report(ctx.json, "nodes", nodes.err());
  if (ctx.json) {
    json_writer w;
    w.begin_array();
    for (const auto& n : *nodes)
      w.begin_object()
          .key("name")
          .value(n.name)
          .key("host")
          .value(n.host)
          .key("port")
          .value(n.port)
          .key("creation")
          .value(n.creation)
          .end_object();
    w.end_array();
    std::cout << w.str() << "\n";
  } else {
    for (const auto& n : *nodes) std::cout << n.name << "  port " << n.port << "  creation " << n.creation << "\n";
  }
  return exit_ok;
}

}  // namespace clusterctl

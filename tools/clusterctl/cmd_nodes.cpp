#include "command.hpp"

namespace clusterctl {

int run_nodes(context& ctx) {
  auto nodes = ctx.client.nodes();
  if (!nodes) return report(ctx.json, "nodes", nodes.err());
  if (ctx.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& n : *nodes)
      out.push_back({{"name", n.name}, {"host", n.host}, {"port", n.port}, {"creation", n.creation}});
    print(out);
  } else {
    for (const auto& n : *nodes) std::cout << n.name << "  port " << n.port << "  creation " << n.creation << "\n";
  }
  return exit_ok;
}

}  // namespace clusterctl

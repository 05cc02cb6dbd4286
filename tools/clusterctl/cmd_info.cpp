#include "command.hpp"

namespace clusterctl {

int run_info(context& ctx) {
  auto info = ctx.client.info();
  if (!info) return report(ctx.json, "info", info.err());
  if (ctx.json) {
    print({{"name", info->name},
           {"host", info->host},
           {"port", info->port},
           {"creation", info->creation},
           {"uptime_ms", info->uptime.count()},
           {"version", info->version},
           {"process_count", info->process_count},
           {"node_count", info->node_count},
           {"dist_port", info->dist_port}});
  } else {
    std::cout << "name:       " << info->name << "\n"
              << "listening:  " << info->host << ":" << info->port << "\n"
              << "creation:   " << info->creation << "\n"
              << "uptime:     " << info->uptime.count() / 1000.0 << " s\n"
              << "version:    " << info->version << "\n"
              << "processes:  " << info->process_count << "\n"
              << "nodes:      " << info->node_count << "\n"
              << "dist port:  " << (info->dist_port ? std::to_string(info->dist_port) : "off (links through ZeroMQ)")
              << "\n";
  }
  return exit_ok;
}

}  // namespace clusterctl

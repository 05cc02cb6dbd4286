#include <iostream>

#include "command.hpp"
#include "json.hpp"

namespace clusterctl {

int run_info(context& ctx) {
  auto info = ctx.client.info();
  if (!info) return report(ctx.json, "info", info.err());
  if (ctx.json) {
    json_writer w;
    w.begin_object()
        .key("name")
        .value(info->name)
        .key("host")
        .value(info->host)
        .key("port")
        .value(info->port)
        .key("creation")
        .value(info->creation)
        .key("uptime_ms")
        .value(std::int64_t{info->uptime.count()})
        .key("version")
        .value(info->version)
        .key("process_count")
        .value(info->process_count)
        .key("node_count")
        .value(info->node_count)
        .end_object();
    std::cout << w.str() << "\n";
  } else {
    std::cout << "name:       " << info->name << "\n"
              << "listening:  " << info->host << ":" << info->port << "\n"
              << "creation:   " << info->creation << "\n"
              << "uptime:     " << info->uptime.count() / 1000.0 << " s\n"
              << "version:    " << info->version << "\n"
              << "processes:  " << info->process_count << "\n"
              << "nodes:      " << info->node_count << "\n";
  }
  return exit_ok;
}

}  // namespace clusterctl

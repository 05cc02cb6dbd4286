// A light client: connects to one node and prints what it knows of the cluster.
//   cluster_probe n1@127.0.0.1
#include <cstdio>

#include <cluster/client.hpp>
#include <cluster/cookie.hpp>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: cluster_probe NAME@HOST[:PORT]\n");
    return 2;
  }
  auto node = cluster::parse_node_name(argv[1]);
  if (!node) {
    std::fprintf(stderr, "cluster_probe: %s\n", node.err().message.c_str());
    return 2;
  }
  auto cookie = cluster::load_cookie({});
  if (!cookie) {
    std::fprintf(stderr, "cluster_probe: %s\n", cookie.err().message.c_str());
    return 1;
  }
  cluster::client_options options;
  options.cookie = cookie->secret;
  auto client = cluster::client::connect(*node, options);
  if (!client) {
    std::fprintf(stderr, "cluster_probe: %s\n", client.err().message.c_str());
    return 1;
  }
  auto info = (*client)->info();
  auto nodes = (*client)->nodes();
  if (!info || !nodes) {
    std::fprintf(stderr, "cluster_probe: %s\n", (!info ? info.err() : nodes.err()).message.c_str());
    return 1;
  }
  std::printf("%s (creation %u, up %lld ms) sees %zu node(s):\n", info->name.c_str(), info->creation,
              static_cast<long long>(info->uptime.count()), nodes->size());
  for (const auto& n : *nodes) std::printf("  %s port %u creation %u\n", n.name.c_str(), n.port, n.creation);
  return 0;
}

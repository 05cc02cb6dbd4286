// A program that is itself a cluster node: it joins, prints node events, and
// leaves after the given number of seconds.
//   embedded_node app1@127.0.0.1:5001 n1@127.0.0.1 30
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <cluster/cookie.hpp>
#include <cluster/node.hpp>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: embedded_node NAME@HOST[:PORT] [SEED] [SECONDS]\n");
    return 2;
  }
  auto name = cluster::parse_node_name(argv[1]);
  if (!name) {
    std::fprintf(stderr, "embedded_node: %s\n", name.err().message.c_str());
    return 2;
  }
  auto cookie = cluster::load_cookie({});  // $CLUSTER_COOKIE or ~/.libcluster.cookie
  if (!cookie) {
    std::fprintf(stderr, "embedded_node: %s\n", cookie.err().message.c_str());
    return 1;
  }
  cluster::node_config cfg;
  cfg.name = *name;
  cfg.cookie = cookie->secret;
  if (argc >= 3) {
    auto seed = cluster::parse_node_name(argv[2]);
    if (!seed) {
      std::fprintf(stderr, "embedded_node: %s\n", seed.err().message.c_str());
      return 2;
    }
    cfg.join.push_back(*seed);
  }
  auto node = cluster::node::start(cfg);
  if (!node) {
    std::fprintf(stderr, "embedded_node: %s\n", node.err().message.c_str());
    return 1;
  }
  (*node)->subscribe([](const cluster::node_event& e) {
    std::printf("%s %s%s%s\n", std::string(to_string(e.what)).c_str(), e.node.name.c_str(),
                e.reason.message.empty() ? "" : ": ", e.reason.message.c_str());
    std::fflush(stdout);
  });
  std::this_thread::sleep_for(std::chrono::seconds(argc >= 4 ? std::atoi(argv[3]) : 10));
  for (const auto& peer : (*node)->nodes()) std::printf("linked to %s\n", peer.name.c_str());
  return 0;
}

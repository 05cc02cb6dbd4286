// noded: runs one cluster node until SIGTERM or SIGINT, then leaves gracefully.
#include <unistd.h>

#include <csignal>
#include <iostream>

#include "cluster/log.hpp"
#include "cluster/node.hpp"
#include "metrics_server.hpp"
#include "options.hpp"

int main(int argc, char** argv) {
  auto parsed = noded::parse_options(argc, argv);
  if (auto* done = std::get_if<noded::exit_now>(&parsed)) return done->code;
  auto& opts = std::get<noded::options>(parsed);
  cluster::set_log_level(opts.level);

  auto cookie = cluster::load_cookie(opts.cookie);
  if (!cookie) {
    std::cerr << "noded: " << cookie.err().message << "\n";
    return 1;
  }
  if (opts.cookie.value)
    cluster::log(cluster::log_level::warn,
                 "--cookie is visible to every user in ps; prefer --cookie-file or CLUSTER_COOKIE");
  cluster::log(cluster::log_level::debug, "cookie from " + cookie->origin);
  opts.node.cookie = cookie->secret;
  opts.node.accepted_cookies = cookie->also_accepted;
  if (!cookie->also_accepted.empty())
    cluster::log(cluster::log_level::info, "cookie rotation: connecting with the first cookie of " + cookie->origin +
                                               ", accepting " + std::to_string(cookie->also_accepted.size()) +
                                               " more (docs/SECURITY.md)");

  if (opts.node.insecure_plaintext)
    cluster::log(cluster::log_level::warn,
                 "--insecure-plaintext: links are NOT encrypted; anyone on the network can read and alter them");

  // Block the stop signals in every thread (the node's threads inherit the
  // mask) and take them synchronously here.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // `clusterctl stop` ends up here as if SIGTERM had arrived.
  opts.node.on_stop_request = [] { ::kill(::getpid(), SIGTERM); };
  auto node = cluster::node::start(opts.node);
  if (!node) {
    std::cerr << "noded: " << node.err().message << "\n";
    return 1;
  }
  std::unique_ptr<noded::metrics_server> metrics;
  if (opts.metrics_port != 0) {
    auto served = noded::metrics_server::start(**node, opts.metrics_address, opts.metrics_port);
    if (!served) {
      std::cerr << "noded: " << served.err().message << "\n";
      (*node)->stop();
      return 1;
    }
    metrics = std::move(served).value();
  }
  int signal = 0;
  sigwait(&stop_signals, &signal);
  cluster::log(cluster::log_level::info,
               std::string("received ") + (signal == SIGINT ? "SIGINT" : "SIGTERM") + ", leaving the cluster");
  metrics.reset();
  (*node)->stop();
  return 0;
}

#include "options.hpp"

#include <exception>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "cluster/version.hpp"

namespace noded {

using cluster::membership_config;

std::variant<options, exit_now> parse_options(int argc, char** argv) {
  CLI::App app{"noded: a libcluster node. It joins an authenticated cluster of nodes named name@host."};
  app.set_version_flag("--version", std::string(cluster::version));

  std::string name, level = "info", listen, preset = "lan";
  std::vector<std::string> joins, tags, discover;
  std::optional<int> probe_interval, probe_timeout, suspicion_mult, gossip_interval, sync_interval;
  std::optional<std::string> cookie, cookie_file;
  int port = 0;
  bool insecure_plaintext = false;
  app.add_option(
         "--name", name,
         "this node's name: name@host or name@host:port (default port " + std::to_string(cluster::default_port) + ")")
      ->required();
  app.add_option("--port", port, "port to listen on (overrides the one in --name)")->check(CLI::Range(1, 65535));
  std::string dist_port = "0";
  app.add_option("--dist-port", dist_port,
                 "TCP port for links from other nodes (0, the default: any free port, which the first contact "
                 "announces; off: node links go through ZeroMQ at --port, as clients do)");
  app.add_option("--cookie", cookie, "the cluster's shared secret (visible in ps: prefer --cookie-file)");
  app.add_option("--cookie-file", cookie_file,
                 "a file holding the cookie (default: $CLUSTER_COOKIE, else " + cluster::default_cookie_path() +
                     ", created if missing)");
  app.add_flag("--insecure-plaintext", insecure_plaintext,
               "do not encrypt links (benchmarks, debugging); every node and client must agree (docs/SECURITY.md)");
  app.add_option("--join", joins, "a node to join, name@host[:port]; repeatable; retried until reached");
  app.add_option("--listen", listen, "address to listen on (default: the address the host in --name resolves to)");
  app.add_option("--tag", tags, "key=value carried with this node's membership entry; repeatable");
  app.add_option("--discover", discover,
                 "more seeds: dns:NAME[:PORT] (every A/AAAA record, re-resolved) or multicast; repeatable");
  app.add_option("--preset", preset, "membership timings: lan (default), wan or local (docs/MEMBERSHIP.md)")
      ->check(CLI::IsMember({"lan", "wan", "local"}));
  app.add_option("--probe-interval", probe_interval, "ms between probes (overrides the preset)")
      ->check(CLI::Range(10, 600000));
  app.add_option("--probe-timeout", probe_timeout, "ms to wait for a direct ack (overrides the preset)")
      ->check(CLI::Range(1, 600000));
  app.add_option("--suspicion-mult", suspicion_mult, "shortest suspicion, in probe intervals x log10(N)")
      ->check(CLI::Range(1, 100));
  app.add_option("--gossip-interval", gossip_interval, "ms between gossip datagrams")->check(CLI::Range(1, 600000));
  app.add_option("--sync-interval", sync_interval, "ms between full-state exchanges")->check(CLI::Range(100, 3600000));
  std::optional<std::size_t> max_mailbox;
  app.add_option("--max-mailbox", max_mailbox,
                 "messages that may wait in one process's mailbox before further sends to it are dropped and "
                 "counted (default 10000000; 0: no limit)");
  std::optional<std::size_t> peer_queue_mib;
  app.add_option("--peer-queue-mib", peer_queue_mib,
                 "flow control: MiB that may wait to go to one peer node before senders are suspended (default 16)")
      ->check(CLI::Range(1, 65536));
  std::optional<int> busy_wait_us;
  app.add_option("--busy-wait-us", busy_wait_us,
                 "microseconds the I/O thread and idle scheduler threads keep looking for work, yielding the CPU, "
                 "before they sleep: lower latency for more CPU (default 300; 0: sleep at once)")
      ->check(CLI::Range(0, 100000));
  // Limits (docs/SECURITY.md): each has a safe default.
  std::optional<std::size_t> max_frame_kib, max_message_mib, pre_auth_frame_bytes, max_pending_handshakes,
      auth_failures_before_backoff;
  std::optional<int> handshake_timeout;
  app.add_option("--max-frame-kib", max_frame_kib,
                 "largest frame ZeroMQ reads from a connection, in KiB; also bounds a handshake command from a "
                 "peer not yet admitted (default 65536)")
      ->check(CLI::Range(512, 4 << 20));
  app.add_option("--max-message-mib", max_message_mib,
                 "largest message a peer node may send, reassembled from fragments (default 256)")
      ->check(CLI::Range(1, 1 << 16));
  app.add_option("--pre-auth-frame-bytes", pre_auth_frame_bytes,
                 "largest frame decoded before the cookie handshake completes (default 4096)")
      ->check(CLI::Range(1024, 1 << 20));
  app.add_option("--handshake-timeout", handshake_timeout,
                 "ms for ZeroMQ's handshake (admission) and for each step of the cookie handshake (default 5000)")
      ->check(CLI::Range(100, 600000));
  app.add_option("--max-pending-handshakes", max_pending_handshakes,
                 "connections that may be mid-handshake at once; more are refused and counted (default 64)")
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--auth-failures-before-backoff", auth_failures_before_backoff,
                 "failed authentications from one address before its new connections are refused for a while "
                 "(default 10; 0: never)")
      ->check(CLI::Range(0, 1 << 20));
  std::string partition_policy = "keep-running";
  std::size_t quorum = 0;
  app.add_option("--partition-policy", partition_policy,
                 "on the minority side of a partition: keep-running (default), keep-majority or static-quorum "
                 "(these two release the node's global names)")
      ->check(CLI::IsMember({"keep-running", "keep-majority", "static-quorum"}));
  app.add_option("--quorum", quorum, "static-quorum: members that must be alive, this node included")
      ->check(CLI::Range(1, 100000));
  std::vector<std::string> modules, module_dirs;
  app.add_option("--module", modules, "a module (shared object) to load at start; repeatable")
      ->check(CLI::ExistingFile);
  app.add_option("--module-dir", module_dirs,
                 "a directory that clusterctl load/upgrade may load modules from; repeatable (default: none)")
      ->check(CLI::ExistingDirectory);
  int metrics_port = 0;
  std::string metrics_address;
  app.add_option("--metrics-port", metrics_port, "serve Prometheus metrics over HTTP on this port (GET /metrics)")
      ->check(CLI::Range(1, 65535));
  app.add_option("--metrics-address", metrics_address,
                 "the address for --metrics-port (default: the node's listen address; 0.0.0.0 for all)");
  app.add_option("--log-level", level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.get_formatter()->column_width(30);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return exit_now{app.exit(e)};
  } catch (const CLI::CallForAllHelp& e) {
    return exit_now{app.exit(e)};
  } catch (const CLI::CallForVersion& e) {
    return exit_now{app.exit(e)};
  } catch (const CLI::ParseError& e) {
    std::cerr << "noded: " << e.what() << " (see noded --help)\n";
    return exit_now{2};
  }

  options o;
  auto parsed = cluster::parse_node_name(name);
  if (!parsed) {
    std::cerr << "noded: --name: " << parsed.err().message << "\n";
    return exit_now{2};
  }
  o.node.name = *parsed;
  if (port != 0) o.node.name.port = static_cast<std::uint16_t>(port);
  if (dist_port == "off") {
    o.node.dist_port.reset();
  } else {
    unsigned long value = 0;
    std::size_t end = 0;
    try {
      value = std::stoul(dist_port, &end);
    } catch (const std::exception&) {
      end = 0;
    }
    if (end == 0 || end != dist_port.size() || value > 65535) {
      std::cerr << "noded: --dist-port: expected a port (0-65535) or off, got '" << dist_port << "'\n";
      return exit_now{2};
    }
    o.node.dist_port = static_cast<std::uint16_t>(value);
  }
  for (const auto& j : joins) {
    auto peer = cluster::parse_node_name(j);
    if (!peer) {
      std::cerr << "noded: --join: " << peer.err().message << "\n";
      return exit_now{2};
    }
    o.node.join.push_back(*peer);
  }
  if (cookie && cookie_file) {
    std::cerr << "noded: give --cookie or --cookie-file, not both\n";
    return exit_now{2};
  }
  o.cookie = {cookie, cookie_file};
  o.node.insecure_plaintext = insecure_plaintext;
  o.node.listen_address = listen;
  membership_config::preset(preset, o.node.membership);
  using ms = std::chrono::milliseconds;
  if (probe_interval) o.node.membership.probe_interval = ms(*probe_interval);
  if (probe_timeout) o.node.membership.probe_timeout = ms(*probe_timeout);
  if (suspicion_mult) o.node.membership.suspicion_mult = *suspicion_mult;
  if (gossip_interval) o.node.membership.gossip_interval = ms(*gossip_interval);
  if (sync_interval) o.node.membership.sync_interval = ms(*sync_interval);
  if (peer_queue_mib) o.node.peer_queue_bytes = *peer_queue_mib << 20;
  if (busy_wait_us) o.node.busy_wait = std::chrono::microseconds(*busy_wait_us);
  if (max_mailbox) o.node.max_mailbox = *max_mailbox;
  if (max_frame_kib) o.node.max_frame_bytes = *max_frame_kib << 10;
  if (max_message_mib) o.node.max_message_bytes = *max_message_mib << 20;
  if (pre_auth_frame_bytes) o.node.max_pre_auth_frame_bytes = *pre_auth_frame_bytes;
  if (handshake_timeout) o.node.handshake_timeout = ms(*handshake_timeout);
  if (max_pending_handshakes) o.node.max_pending_handshakes = *max_pending_handshakes;
  if (auth_failures_before_backoff) o.node.auth_failures_before_backoff = *auth_failures_before_backoff;
  if (o.node.membership.probe_timeout >= o.node.membership.probe_interval) {
    std::cerr << "noded: the probe timeout must be shorter than the probe interval\n";
    return exit_now{2};
  }
  for (const auto& t : tags) {
    const auto eq = t.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "noded: --tag: expected key=value, got '" << t << "'\n";
      return exit_now{2};
    }
    o.node.tags[t.substr(0, eq)] = t.substr(eq + 1);
  }
  for (const auto& d : discover) {
    if (d != "multicast" && !(d.starts_with("dns:") && d.size() > 4)) {
      std::cerr << "noded: --discover: expected dns:NAME[:PORT] or multicast, got '" << d << "'\n";
      return exit_now{2};
    }
    o.node.discover.push_back(d);
  }
  if ((partition_policy == "static-quorum") != (quorum != 0)) {
    std::cerr << "noded: --quorum N goes with --partition-policy static-quorum, and only with it\n";
    return exit_now{2};
  }
  o.node.partitions = partition_policy == "keep-majority"   ? cluster::partition_policy::keep_majority
                      : partition_policy == "static-quorum" ? cluster::partition_policy::static_quorum
                                                            : cluster::partition_policy::keep_running;
  o.node.quorum = quorum;
  o.node.modules = modules;
  o.node.module_dirs = module_dirs;
  o.level = *cluster::parse_log_level(level);
  o.metrics_port = static_cast<std::uint16_t>(metrics_port);
  o.metrics_address = !metrics_address.empty() ? metrics_address : !listen.empty() ? listen : o.node.name.host;
  return o;
}

}  // namespace noded

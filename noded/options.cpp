#include "options.hpp"

#include <iostream>

#include <CLI/CLI.hpp>

#include "cluster/version.hpp"

namespace noded {

std::variant<options, exit_now> parse_options(int argc, char** argv) {
  CLI::App app{"noded: a libcluster node. It joins an authenticated mesh of nodes named name@host."};
  app.set_version_flag("--version", std::string(cluster::version));

  std::string name, level = "info", listen;
  std::vector<std::string> joins;
  std::optional<std::string> cookie, cookie_file;
  int port = 0;
  app.add_option(
         "--name", name,
         "this node's name: name@host or name@host:port (default port " + std::to_string(cluster::default_port) + ")")
      ->required();
  app.add_option("--port", port, "port to listen on (overrides the one in --name)")->check(CLI::Range(1, 65535));
  app.add_option("--cookie", cookie, "the cluster's shared secret (visible in ps: prefer --cookie-file)");
  app.add_option("--cookie-file", cookie_file,
                 "a file holding the cookie (default: $CLUSTER_COOKIE, else " + cluster::default_cookie_path() +
                     ", created if missing)");
  app.add_option("--join", joins, "a node to join, name@host[:port]; repeatable; retried until reached");
  app.add_option("--listen", listen, "address to listen on (default: the address the host in --name resolves to)");
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
  o.node.listen_address = listen;
  o.level = *cluster::parse_log_level(level);
  return o;
}

}  // namespace noded

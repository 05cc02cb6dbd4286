// noded's command line, parsed into a node configuration.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "cluster/config.hpp"
#include "cluster/cookie.hpp"
#include "cluster/log.hpp"

namespace noded {

struct options {
  cluster::node_config node;
  cluster::cookie_source cookie;
  cluster::log_level level = cluster::log_level::info;
  std::uint16_t metrics_port = 0;  ///< 0: no metrics endpoint
  std::string metrics_address;     ///< default: the address the node listens on
};

/// Exit now with this code (help, version, or a usage error already printed).
struct exit_now {
  int code = 0;
};

/// Parses argv; prints help, the version or a one-line error as needed.
std::variant<options, exit_now> parse_options(int argc, char** argv);

}  // namespace noded

// What every clusterctl subcommand gets: a connected client and the output
// mode. A subcommand prints its result to stdout and returns the exit code.
#pragma once

#include <string>

#include "cluster/client.hpp"

namespace clusterctl {

struct context {
  cluster::client& client;
  bool json = false;
};

/// Exit codes: 0 success, 1 the operation failed, 2 bad usage.
inline constexpr int exit_ok = 0, exit_failed = 1, exit_usage = 2;

/// Prints "clusterctl: <what>: <message>" to stderr (and, with --json, an
/// error object to stdout) and returns exit_failed.
int report(bool json, const std::string& what, const cluster::error& e);

int run_ping(context& ctx);
int run_nodes(context& ctx);
int run_info(context& ctx);

}  // namespace clusterctl

// Host name resolution for node names (blocking; done once at start or connect).
#pragma once

#include <string>

#include "cluster/error.hpp"

namespace cluster::internal {

/// The first address `host` resolves to (IPv4 preferred), as text.
/// `errc::unknown_node` with a clear message when it does not resolve.
result<std::string> resolve_host(const std::string& host);

}  // namespace cluster::internal

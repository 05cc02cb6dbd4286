// Finding the cookie, the shared secret that admits a node or client to a
// cluster. It never crosses the wire: both sides prove knowledge of it.
//
// Order of precedence, as Erlang's: an explicit value (`--cookie`, visible in
// `ps`, so the tools warn), a file (`--cookie-file`), the environment variable
// CLUSTER_COOKIE, and last the default file `$HOME/.libcluster.cookie`, created
// with 32 random characters and mode 0400 when it does not exist.
//
// A cookie file may hold several cookies, one per line: the first is the one
// this node proves when it connects, and every one is accepted from peers.
// That is how a cluster changes its cookie without downtime (docs/SECURITY.md):
// roll out "old, new", then "new, old", then "new".
// Blocking: reads (and may create) a file. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cluster/error.hpp"

namespace cluster {

struct cookie_source {
  std::optional<std::string> value;  ///< given on the command line or in code
  std::optional<std::string> file;   ///< a file holding the cookie
};

/// The cookie and where it came from (for a log line; never the cookie itself).
struct cookie {
  std::string secret;                      ///< proved when connecting, and accepted
  std::vector<std::string> also_accepted;  ///< the file's further lines: accepted from peers too
  std::string origin;  ///< "command line", "file /path", "CLUSTER_COOKIE", "file ~/.libcluster.cookie (created)"
};

/// Resolves the cookie; `errc::io_error` when a file cannot be read or created,
/// `errc::bad_argument` when the cookie is empty.
result<cookie> load_cookie(const cookie_source& source);

/// `$HOME/.libcluster.cookie`.
std::string default_cookie_path();

}  // namespace cluster

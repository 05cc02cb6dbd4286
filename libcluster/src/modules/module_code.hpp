// Running a module's code: its functions and servers wrapped so that the
// process running them counts as a user of their version (which keeps the
// shared object loaded), and servers that migrate to a newer version when
// told. The wrappers are libcluster code, so destroying them never runs code
// of a shared object that is already closed.
#pragma once

#include <memory>
#include <string>

#include "cluster/functions.hpp"
#include "cluster/process.hpp"
#include "modules/module_version.hpp"

namespace cluster::internal {

/// Sent to a server of an older version: move to `to` at this point in the
/// mailbox (Erlang's sys:change_code).
struct code_change_request {
  std::shared_ptr<module_version> to;
};

/// A module function as the registry holds it.
function_body bind_function(std::shared_ptr<module_version> v, function_body body);
/// The body of "module:server": runs the server until it stops. It holds
/// `v` weakly: the registry's entry stays, but a migrated server lets go.
function_body bind_server(std::shared_ptr<module_version> v, std::string server);
/// A behavior running `server` of `v` (for a module's supervisor's children);
/// refuses to start once the version is gone.
behavior server_behavior(std::weak_ptr<module_version> v, std::string server, term args);
/// Runs the module's supervisor, as a user of `v`.
behavior supervisor_behavior(std::shared_ptr<module_version> v, behavior supervisor);

}  // namespace cluster::internal

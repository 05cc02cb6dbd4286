// A version of `hello` whose init fails halfway through registering: the node
// must keep the version it had, untouched.
#include <stdexcept>

#include <cluster/module.hpp>

CLUSTER_MODULE("hello", "v9") {
  module.function("version", [](const cluster::term&) { return cluster::term("v9"); });
  throw std::runtime_error("v9 refuses to start");
}

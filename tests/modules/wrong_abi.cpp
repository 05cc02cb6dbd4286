// A module built for another module ABI (999): refused before its init runs.
#include <cluster/module.hpp>

static void never_run(cluster::module_builder&) {}

extern "C" __attribute__((visibility("default"))) const cluster::module_descriptor* cluster_module_entry() {
  static const cluster::module_descriptor descriptor{999, "hello", "v999", &never_run};
  return &descriptor;
}

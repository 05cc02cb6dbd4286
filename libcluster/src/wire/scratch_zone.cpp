#include "wire/scratch_zone.hpp"

#include <cstddef>
#include <memory>
#include <vector>

namespace cluster::internal::wire {
namespace {

struct thread_zones {
  std::vector<std::unique_ptr<msgpack::zone>> zones;  // one per nesting level
  std::size_t depth = 0;                              // levels borrowed now
};

thread_local thread_zones here;

msgpack::zone& borrow() {
  if (here.depth == here.zones.size()) here.zones.push_back(std::make_unique<msgpack::zone>());
  return *here.zones[here.depth++];
}

}  // namespace

scratch_zone::scratch_zone() : zone_(borrow()) {}

scratch_zone::~scratch_zone() {
  zone_.clear();
  --here.depth;
}

}  // namespace cluster::internal::wire

// A msgpack zone borrowed from the calling thread for one decode.
//
// msgpack::unpack without a zone makes a fresh one: two mallocs, one of them
// an 8 KiB chunk, and their frees, for every message. Chunks that size are
// past glibc's per-thread caches, so each goes through the arena's bins and
// lock, and over a long run they fragment the heap. A borrowed zone keeps its
// first chunk for the thread's life and is cleared when the borrow ends
// (chunks a large message added are freed then). A decode that started
// another while it held its zone would get a zone of its own (none does
// today).
#pragma once

#include <msgpack.hpp>

namespace cluster::internal::wire {

class scratch_zone {
 public:
  scratch_zone();
  ~scratch_zone();
  scratch_zone(const scratch_zone&) = delete;
  scratch_zone& operator=(const scratch_zone&) = delete;

  msgpack::zone& get() { return zone_; }

 private:
  msgpack::zone& zone_;
};

}  // namespace cluster::internal::wire

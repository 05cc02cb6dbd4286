// Per-thread pools of small blocks, for objects made on one thread and freed
// on another: message envelopes and coroutine frames.
//
// A message is allocated by the sender's thread and freed by the receiver's,
// often on another core; with malloc that round trip was a third of the cost
// of a local send. A remote spawn makes its process's coroutine frame on the
// node's I/O thread, and a scheduler thread frees it: once the freeing
// thread's cache for that size is full, glibc takes the allocating arena's
// lock for such a free, and after a long run the two threads queued on it
// (futex waits in every spawn). Each thread keeps free lists per size class;
// a thread that frees more than it allocates (a receiver) hands whole batches
// to a shared pool, and a thread that runs dry (a sender) takes a batch back,
// so the lock is taken once per batch, not per object. Sizes above the
// largest class go to malloc; under AddressSanitizer everything goes to the
// sized global new and delete, so ASan sees each object's life and size.
#include <array>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

#include "cluster/message.hpp"

namespace cluster::detail {
namespace {

constexpr std::size_t granule = 32;
constexpr std::size_t classes = 16;  // 32 .. 512 bytes
constexpr std::size_t batch = 256;   // blocks moved between a thread and the shared pool

// Batches the shared pool keeps per class; beyond this, memory goes back to
// malloc. Envelopes (up to 256 bytes) need deep pools for floods of messages;
// frames come and go with spawns, and 4,096 spare ones (2 MiB at most) do.
constexpr std::size_t max_shared_batches(std::size_t k) { return (k + 1) * granule <= 256 ? 256 : 16; }

#if defined(__SANITIZE_ADDRESS__)
constexpr bool pooling = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool pooling = false;
#else
constexpr bool pooling = true;
#endif
#else
constexpr bool pooling = true;
#endif

struct block {
  block* next;
};

struct chain {
  block* head = nullptr;
  std::size_t count = 0;
};

struct shared_pool {
  std::mutex mutex;  // guards batches
  std::vector<chain> batches;
};

std::array<shared_pool, classes>& shared() {
  static auto* pools = new std::array<shared_pool, classes>();  // never destroyed: threads may outlive statics
  return *pools;
}

void free_chain(chain c) {
  while (c.head) {
    block* next = c.head->next;
    std::free(c.head);
    c.head = next;
  }
}

struct local_pools {
  std::array<chain, classes> lists{};

  ~local_pools() {
    for (std::size_t k = 0; k < classes; ++k) {
      give_back(k, lists[k]);
      lists[k] = {};
    }
    gone = true;  // envelopes made or freed on this thread from now on use malloc
  }
  bool gone = false;

  static void give_back(std::size_t k, chain c) {
    if (!c.head) return;
    shared_pool& s = shared()[k];
    {
      std::lock_guard lock(s.mutex);
      if (s.batches.size() < max_shared_batches(k)) {
        s.batches.push_back(c);
        return;
      }
    }
    free_chain(c);
  }

  void* take(std::size_t k) {
    chain& c = lists[k];
    if (!c.head) {
      shared_pool& s = shared()[k];
      std::lock_guard lock(s.mutex);
      if (!s.batches.empty()) {
        c = s.batches.back();
        s.batches.pop_back();
      }
    }
    if (!c.head) return nullptr;
    block* b = c.head;
    c.head = b->next;
    --c.count;
    return b;
  }

  void put(std::size_t k, void* p) {
    chain& c = lists[k];
    auto* b = static_cast<block*>(p);
    b->next = c.head;
    c.head = b;
    if (++c.count >= 2 * batch) {
      // Split off one batch for the shared pool; keep the rest.
      chain out;
      for (std::size_t i = 0; i < batch; ++i) {
        block* x = c.head;
        c.head = x->next;
        x->next = out.head;
        out.head = x;
      }
      out.count = batch;
      c.count -= batch;
      give_back(k, out);
    }
  }
};

thread_local local_pools pools;

std::size_t class_of(std::size_t size) { return (size + granule - 1) / granule - 1; }

}  // namespace

void* pool_allocate(std::size_t size) {
  // Under ASan, the sized global operators: ASan then checks that each free
  // gives the size its allocation did, the rule the pools rely on.
  if (!pooling) return ::operator new(size);
  const std::size_t k = class_of(size);
  if (k >= classes || pools.gone) {
    if (k < classes) size = (k + 1) * granule;  // a pooled size: it may end in a pool
    if (void* p = std::malloc(size)) return p;
    throw std::bad_alloc();
  }
  if (void* p = pools.take(k)) return p;
  if (void* p = std::malloc((k + 1) * granule)) return p;
  throw std::bad_alloc();
}

void pool_free(void* p, std::size_t size) noexcept {
  if (!p) return;
  if (!pooling) return ::operator delete(p, size);
  const std::size_t k = class_of(size);
  if (k >= classes || pools.gone) {
    std::free(p);
    return;
  }
  pools.put(k, p);
}

void* envelope::operator new(std::size_t size) { return pool_allocate(size); }

void envelope::operator delete(void* p, std::size_t size) noexcept { pool_free(p, size); }

}  // namespace cluster::detail

namespace cluster::detail {
template struct typed_envelope<term>;  // declared extern in message.hpp
}  // namespace cluster::detail

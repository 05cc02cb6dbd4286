// The hint a spin-wait gives the CPU between two looks at a contended word:
// it saves power and, on a hyper-threaded core, leaves the pipeline to the
// sibling that is about to release the word. A plain loop elsewhere.
#pragma once

namespace cluster::internal {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__arm__) && __ARM_ARCH >= 7)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace cluster::internal

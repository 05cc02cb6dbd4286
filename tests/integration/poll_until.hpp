// Driving two transports from one test thread.
#pragma once

#include <chrono>

namespace itest {

/// Polls both transports (1 ms each, by turns) until `done` or `limit`;
/// false on timeout.
template <class A, class B, class Done>
bool poll_until(A& a, B& b, Done done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    a.poll(std::chrono::milliseconds(1));
    b.poll(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace itest

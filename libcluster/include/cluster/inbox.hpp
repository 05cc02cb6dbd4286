// An inbox gives code outside any process (a main thread, a test, a bridge
// to another system) a PID of its own: processes can send to it, it can
// monitor processes, and its owner takes messages with a timeout, as Erlang's
// shell does. Exit signals always arrive as `exit_message`s.
//
// Threading: `receive` blocks the calling thread (up to the timeout); use one
// inbox from one thread at a time. In a manual-mode runtime `receive` runs
// the runtime until idle instead of waiting.
#pragma once

#include <chrono>
#include <optional>

#include "cluster/process.hpp"
#include "cluster/runtime.hpp"

namespace cluster {

class inbox {
 public:
  explicit inbox(runtime& rt);
  ~inbox();
  inbox(const inbox&) = delete;
  inbox& operator=(const inbox&) = delete;

  pid self() const;
  /// The first message `m` accepts (any, if empty), waiting up to `timeout`.
  std::optional<message> receive(std::chrono::nanoseconds timeout, const matcher& m = {});
  /// The first message holding a T, waiting up to `timeout`.
  template <class T>
  std::optional<T> receive_as(std::chrono::nanoseconds timeout) {
    auto got = receive(timeout, match_type<T>());
    if (!got) return std::nullopt;
    return std::move(got->template get<T>());
  }
  ref monitor(const pid& p);
  void link(const pid& p);
  void send(const pid& to, message m) { rt_.send(to, std::move(m)); }
  template <class T>
  requires(!std::is_same_v<std::decay_t<T>, message>) void send(const pid& to, T value) {
    rt_.send(to, message::make(std::move(value)));
  }

 private:
  runtime& rt_;
  internal::process* process_;
};

}  // namespace cluster

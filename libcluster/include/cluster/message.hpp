// A message: any movable C++ value, or a term, handed from process to process.
// A local send moves the value into the receiver's mailbox without serializing
// it; only messages that cross nodes are encoded (as terms).
//
// The runtime also delivers two system messages to processes: `down_message`
// (a monitored process ended) and `exit_message` (a linked process ended, or
// someone sent an exit signal, while this process traps exits).
// Thread-safety: a message is owned by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <typeinfo>
#include <utility>

#include "cluster/term.hpp"

namespace cluster {

namespace detail {

/// What kind of mailbox entry an envelope is. User messages and the system
/// messages above are `user`; the rest are signals the runtime acts on.
/// `watching`: the receiver now monitors a process (set up on the other side,
/// as in a spawn with a monitor), so that its DOWN counts.
enum class envelope_kind : std::uint8_t { user, exit_signal, link, unlink, monitor, demonitor, timeout, watching };

/// Blocks from per-thread pools, for objects made on one thread and freed on
/// another (envelopes, coroutine frames): no malloc in the steady state.
/// Sizes above 512 bytes come from malloc. `size` must be the same in both
/// calls.
void* pool_allocate(std::size_t size);
void pool_free(void* p, std::size_t size) noexcept;

/// A mailbox entry: an intrusive list node carrying one value. Envelopes come
/// from the per-thread pools above (one message costs no malloc in the steady
/// state, even when the receiver frees on another thread).
struct envelope {
  envelope* next = nullptr;
  const std::type_info* type = nullptr;
  envelope_kind kind = envelope_kind::user;
  virtual ~envelope() = default;

  static void* operator new(std::size_t size);
  static void operator delete(void* p, std::size_t size) noexcept;
};

template <class T>
struct typed_envelope final : envelope {
  explicit typed_envelope(T v, envelope_kind k = envelope_kind::user) : value(std::move(v)) {
    type = &typeid(T);
    kind = k;
  }
  T value;
};

// Term messages, the ones modules send, are libcluster's own: their code
// (destructor, vtable) stays valid after the module that made one is unloaded.
extern template struct typed_envelope<term>;

}  // namespace detail

class message {
 public:
  message() = default;
  /// Wraps any movable value; the receiver gets exactly that type back
  /// (a `term` for messages that may cross nodes).
  template <class T>
  static message make(T value) {
    message m;
    m.envelope_.reset(new detail::typed_envelope<std::decay_t<T>>(std::move(value)));
    return m;
  }
  /// Adopts an envelope (runtime use).
  explicit message(std::unique_ptr<detail::envelope> e) : envelope_(std::move(e)) {}

  bool empty() const { return !envelope_; }
  template <class T>
  bool is() const {
    return envelope_ && (envelope_->type == &typeid(T) || *envelope_->type == typeid(T));
  }
  template <class T>
  T* get_if() {
    return is<T>() ? &static_cast<detail::typed_envelope<T>*>(envelope_.get())->value : nullptr;
  }
  template <class T>
  const T* get_if() const {
    return is<T>() ? &static_cast<const detail::typed_envelope<T>*>(envelope_.get())->value : nullptr;
  }
  /// The value; the message must hold a T.
  template <class T>
  T& get() {
    return *get_if<T>();
  }
  /// The C++ type's name, for logs.
  const char* type_name() const { return envelope_ ? envelope_->type->name() : "empty"; }

  detail::envelope* raw() const { return envelope_.get(); }
  std::unique_ptr<detail::envelope> release() { return std::move(envelope_); }

 private:
  std::unique_ptr<detail::envelope> envelope_;
};

/// Delivered to a monitoring process when the monitored one ends, or at once
/// (reason `noproc`) if it did not exist.
struct down_message {
  ref monitor;
  pid process;
  term reason;
};

/// Delivered to a process that traps exits instead of the exit signal.
struct exit_message {
  pid from;
  term reason;
};

/// Exit reasons used by the runtime. Any term may be a reason; a process that
/// throws exits with the exception's text (a string term).
namespace reason {
inline term normal() { return atom{"normal"}; }              ///< a clean end: linked processes live on
inline term kill() { return atom{"kill"}; }                  ///< an exit signal that cannot be trapped
inline term killed() { return atom{"killed"}; }              ///< the reason of a process that got `kill`
inline term noproc() { return atom{"noproc"}; }              ///< the process did not exist
inline term shutdown() { return atom{"shutdown"}; }          ///< an orderly stop (supervisors, the runtime)
inline term noconnection() { return atom{"noconnection"}; }  ///< the process's node went away
inline bool is(const term& t, const char* name) { return t.is<atom>() && t.as<atom>().name == name; }
}  // namespace reason

}  // namespace cluster

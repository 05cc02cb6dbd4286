// Errors are values at the library's API: a call that can fail returns
// `result<T>`, which holds either a T or an `error` (a code from one documented
// enum plus a human-readable message). Exceptions never cross the public API.
// Thread-safety: plain value types; no blocking.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cluster {

/// Every failure the library reports. Values are stable: they appear in the
/// wire protocol (error replies, handshake rejections) and in `--json` output.
enum class errc : int {
  ok = 0,
  bad_argument = 1,         ///< a malformed name, address, flag or value
  malformed = 2,            ///< bytes that do not decode (a trust-boundary failure)
  too_large = 3,            ///< a frame or value over a configured limit
  unsupported_version = 4,  ///< no protocol version in common with the peer
  auth_failed = 5,          ///< the peer did not prove knowledge of the cookie
  rejected = 6,             ///< the peer refused us for a stated reason
  timeout = 7,              ///< a deadline passed
  no_connection = 8,        ///< no (more) connection to the node
  unknown_node = 9,         ///< a node name that is not known or not resolvable
  io_error = 10,            ///< the operating system refused (port in use, file unreadable...)
  not_found = 11,           ///< a request for something that does not exist
  shutting_down = 12,       ///< the node or client is stopping
  busy = 13,                ///< a limit on concurrent work was reached
  internal = 14,            ///< a bug: please report it
  already_connected = 15,   ///< a second connection to a peer we are linked to (tie-break)
  exception = 16,           ///< a called function threw; the message is its text
};

/// The highest errc value; codes above it from a newer peer read as `rejected`.
inline constexpr errc errc_last = errc::exception;

/// A short stable name for `e`, such as "auth_failed".
std::string_view to_string(errc e) noexcept;

/// A failure: what kind it was and a sentence for humans.
struct error {
  errc code = errc::internal;
  std::string message;

  friend bool operator==(const error&, const error&) = default;
};

/// Either a value or an error. Check it before you use the value.
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  result(error e) : state_(std::move(e)) {}      // NOLINT: implicit by design
  result(errc code, std::string message) : state_(error{code, std::move(message)}) {}

  bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const error& err() const& {
    assert(!ok());
    return std::get<1>(state_);
  }

 private:
  std::variant<T, error> state_;
};

/// A result with no value: success or an error.
template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(error e) : error_(std::move(e)), failed_(true) {}  // NOLINT: implicit by design
  result(errc code, std::string message) : error_{code, std::move(message)}, failed_(true) {}

  bool ok() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return ok(); }
  const error& err() const& {
    assert(failed_);
    return error_;
  }

 private:
  error error_;
  bool failed_ = false;
};

}  // namespace cluster

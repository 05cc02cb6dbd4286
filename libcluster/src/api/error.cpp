#include "cluster/error.hpp"

namespace cluster {

std::string_view to_string(errc e) noexcept {
  switch (e) {
    case errc::ok:
      return "ok";
    case errc::bad_argument:
      return "bad_argument";
    case errc::malformed:
      return "malformed";
    case errc::too_large:
      return "too_large";
    case errc::unsupported_version:
      return "unsupported_version";
    case errc::auth_failed:
      return "auth_failed";
    case errc::rejected:
      return "rejected";
    case errc::timeout:
      return "timeout";
    case errc::no_connection:
      return "no_connection";
    case errc::unknown_node:
      return "unknown_node";
    case errc::io_error:
      return "io_error";
    case errc::not_found:
      return "not_found";
    case errc::shutting_down:
      return "shutting_down";
    case errc::busy:
      return "busy";
    case errc::internal:
      return "internal";
    case errc::already_connected:
      return "already_connected";
    case errc::exception:
      return "exception";
  }
  return "unknown";
}

}  // namespace cluster

#include "transport/resolve.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

namespace cluster::internal {

result<std::string> resolve_host(const std::string& host) {
  asio::error_code ec;
  const auto literal = asio::ip::make_address(host, ec);
  if (!ec) return literal.to_string();
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  const auto results = resolver.resolve(host, "", ec);
  if (ec || results.empty())
    return error{errc::unknown_node, "host '" + host + "' does not resolve" + (ec ? ": " + ec.message() : "")};
  for (const auto& r : results)
    if (r.endpoint().address().is_v4()) return r.endpoint().address().to_string();
  return results.begin()->endpoint().address().to_string();
}

}  // namespace cluster::internal

#include "cluster/node_name.hpp"

#include <charconv>

namespace cluster {
namespace {

bool valid_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

bool valid_host_char(char c) { return valid_name_char(c) || c == ':'; }

}  // namespace

std::string node_name::id() const {
  const bool v6 = host.find(':') != std::string::npos;
  return name + "@" + (v6 ? "[" + host + "]" : host);
}

std::string node_name::to_string() const { return id() + ":" + std::to_string(port); }

bool is_node_id(std::string_view text) {
  const auto n = parse_node_name(text);
  return n && n->id() == text;
}

result<node_name> parse_node_name(std::string_view text) {
  // The error names the text; built only on failure (a valid name is parsed
  // on every remote named send).
  const auto bad = [text](const char* what) {
    return error{errc::bad_argument, "node name '" + std::string(text) + "'" + what};
  };
  const auto at = text.find('@');
  if (at == std::string_view::npos) return bad(" must look like name@host or name@host:port");
  node_name n;
  n.name = std::string(text.substr(0, at));
  if (n.name.empty()) return bad(" has nothing before the '@'");
  for (const char c : n.name)
    if (!valid_name_char(c)) return bad(" may use only letters, digits, '_', '-' and '.' before the '@'");

  std::string_view rest = text.substr(at + 1);
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {  // [IPv6]:port
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return bad(" has an unclosed '['");
    n.host = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad(" has junk after ']'");
      port_text = rest.substr(1);
      if (port_text.empty()) return bad(" has an empty port");
    }
  } else {
    const auto colon = rest.rfind(':');
    if (colon != std::string_view::npos) {
      n.host = std::string(rest.substr(0, colon));
      port_text = rest.substr(colon + 1);
      if (port_text.empty()) return bad(" has an empty port");
    } else {
      n.host = std::string(rest);
    }
    if (n.host.find(':') != std::string::npos) return bad(": write an IPv6 host in brackets, as n1@[::1]:4370");
  }
  if (n.host.empty()) return bad(" has no host after the '@'");
  for (const char c : n.host)
    if (!valid_host_char(c)) return bad(" has an invalid host");
  if (!port_text.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 || value > 65535)
      return bad(" has an invalid port (1-65535)");
    n.port = static_cast<std::uint16_t>(value);
  }
  return n;
}

}  // namespace cluster

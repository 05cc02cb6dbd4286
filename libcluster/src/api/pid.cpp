#include "cluster/pid.hpp"

#include <charconv>

namespace cluster {
namespace {

// `<node.creation.id>`: the node may itself contain dots, so split from the right.
template <class Id>
result<Id> parse_id(std::string_view text, std::string_view open, std::string_view what) {
  const std::string bad = "malformed " + std::string(what) + " '" + std::string(text) + "': expected " +
                          std::string(open) + "name@host.creation.id>";
  if (text.size() < open.size() + 1 || text.substr(0, open.size()) != open || text.back() != '>')
    return error{errc::bad_argument, bad};
  std::string_view body = text.substr(open.size(), text.size() - open.size() - 1);
  const auto last = body.rfind('.');
  if (last == std::string_view::npos) return error{errc::bad_argument, bad};
  const auto middle = body.rfind('.', last - 1);
  if (middle == std::string_view::npos || last == 0) return error{errc::bad_argument, bad};
  Id v;
  v.node = std::string(body.substr(0, middle));
  if (v.node.empty() || v.node.str().find('@') == std::string::npos) return error{errc::bad_argument, bad};
  const std::string_view creation = body.substr(middle + 1, last - middle - 1);
  const std::string_view id = body.substr(last + 1);
  auto [e1, c1] = std::from_chars(creation.data(), creation.data() + creation.size(), v.creation);
  auto [e2, c2] = std::from_chars(id.data(), id.data() + id.size(), v.id);
  if (c1 != std::errc() || e1 != creation.data() + creation.size() || creation.empty() || c2 != std::errc() ||
      e2 != id.data() + id.size() || id.empty())
    return error{errc::bad_argument, bad};
  return v;
}

}  // namespace

std::string to_string(const pid& p) {
  return "<" + p.node.str() + "." + std::to_string(p.creation) + "." + std::to_string(p.id) + ">";
}

std::string to_string(const ref& r) {
  return "#ref<" + r.node.str() + "." + std::to_string(r.creation) + "." + std::to_string(r.id) + ">";
}

result<pid> parse_pid(std::string_view text) { return parse_id<pid>(text, "<", "PID"); }
result<ref> parse_ref(std::string_view text) { return parse_id<ref>(text, "#ref<", "reference"); }

}  // namespace cluster

#include "cluster/term.hpp"

#include <cstdio>

namespace cluster {
namespace {

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

std::string to_string(const term& t) {
  struct visitor {
    std::string operator()(const nil&) const { return "nil"; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::int64_t i) const { return std::to_string(i); }
    std::string operator()(std::uint64_t u) const { return std::to_string(u); }
    std::string operator()(double d) const {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", d);
      return buf;
    }
    std::string operator()(const std::string& s) const { return quote(s); }
    std::string operator()(const binary& b) const { return "<<" + std::to_string(b.bytes.size()) + " bytes>>"; }
    std::string operator()(const atom& a) const { return a.name; }
    std::string operator()(const pid& p) const { return to_string(p); }
    std::string operator()(const ref& r) const { return to_string(r); }
    std::string operator()(const term_list& l) const {
      std::string out = "[";
      for (std::size_t i = 0; i < l.size(); ++i) out += (i ? ", " : "") + to_string(l[i]);
      return out + "]";
    }
    std::string operator()(const term_map& m) const {
      std::string out = "#{";
      for (std::size_t i = 0; i < m.size(); ++i)
        out += (i ? ", " : "") + to_string(m[i].first) + " => " + to_string(m[i].second);
      return out + "}";
    }
  };
  return std::visit(visitor{}, t.value());
}

}  // namespace cluster

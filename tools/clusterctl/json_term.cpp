#include "json_term.hpp"

#include <cstring>

namespace clusterctl {
namespace {

using cluster::errc;
using cluster::error;
using cluster::term;

const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(const std::vector<std::uint8_t>& in) {
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (in[i] << 16) | (in[i + 1] << 8) | in[i + 2];
    out += {b64[v >> 18], b64[(v >> 12) & 63], b64[(v >> 6) & 63], b64[v & 63]};
  }
  if (i + 1 == in.size()) {
    const unsigned v = in[i] << 16;
    out += {b64[v >> 18], b64[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const unsigned v = (in[i] << 16) | (in[i + 1] << 8);
    out += {b64[v >> 18], b64[(v >> 12) & 63], b64[(v >> 6) & 63], '='};
  }
  return out;
}

cluster::result<std::vector<std::uint8_t>> base64_decode(const std::string& in) {
  std::vector<std::uint8_t> out;
  unsigned v = 0;
  int bits = 0;
  for (const char c : in) {
    if (c == '=') break;
    const char* p = std::strchr(b64, c);
    if (!p || !c) return error{errc::bad_argument, "invalid base64 in a binary"};
    v = (v << 6) | static_cast<unsigned>(p - b64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((v >> bits) & 0xff));
    }
  }
  return out;
}

}  // namespace

cluster::result<term> term_from_json(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return term(cluster::nil{});
    case nlohmann::json::value_t::boolean:
      return term(j.get<bool>());
    case nlohmann::json::value_t::number_integer:
      return term(j.get<std::int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      const auto u = j.get<std::uint64_t>();
      return u <= static_cast<std::uint64_t>(INT64_MAX) ? term(static_cast<std::int64_t>(u)) : term(u);
    }
    case nlohmann::json::value_t::number_float:
      return term(j.get<double>());
    case nlohmann::json::value_t::string:
      return term(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      cluster::term_list l;
      for (const auto& e : j) {
        auto t = term_from_json(e);
        if (!t) return t.err();
        l.push_back(std::move(t).value());
      }
      return term(std::move(l));
    }
    case nlohmann::json::value_t::object: {
      if (j.size() == 1) {
        const auto only = j.begin();  // (j.items() would be a temporary: keep the iterator)
        const std::string key = only.key();
        const nlohmann::json& value = only.value();
        if (key == "atom" && value.is_string()) return term(cluster::atom{value.get<std::string>()});
        if (key == "pid" && value.is_string()) {
          auto p = cluster::parse_pid(value.get<std::string>());
          if (!p) return p.err();
          return term(*p);
        }
        if (key == "ref" && value.is_string()) {
          auto r = cluster::parse_ref(value.get<std::string>());
          if (!r) return r.err();
          return term(*r);
        }
        if (key == "binary" && value.is_string()) {
          auto bytes = base64_decode(value.get<std::string>());
          if (!bytes) return bytes.err();
          return term(cluster::binary{std::move(bytes).value()});
        }
        if (key == "map" && value.is_array()) {
          cluster::term_map m;
          for (const auto& pair : value) {
            if (!pair.is_array() || pair.size() != 2)
              return error{errc::bad_argument, "a \"map\" holds [key, value] pairs"};
            auto k = term_from_json(pair[0]);
            auto v = term_from_json(pair[1]);
            if (!k) return k.err();
            if (!v) return v.err();
            m.emplace_back(std::move(k).value(), std::move(v).value());
          }
          return term(std::move(m));
        }
      }
      cluster::term_map m;
      for (const auto& [key, value] : j.items()) {
        auto v = term_from_json(value);
        if (!v) return v.err();
        m.emplace_back(term(key), std::move(v).value());
      }
      return term(std::move(m));
    }
    default:
      return error{errc::bad_argument, "unsupported JSON value"};
  }
}

cluster::result<term> parse_term(const std::string& text) {
  try {
    return term_from_json(nlohmann::json::parse(text));
  } catch (const nlohmann::json::parse_error& e) {
    return error{errc::bad_argument, std::string("malformed JSON: ") + e.what()};
  }
}

nlohmann::json term_to_json(const term& t) {
  struct visitor {
    nlohmann::json operator()(const cluster::nil&) const { return nullptr; }
    nlohmann::json operator()(bool b) const { return b; }
    nlohmann::json operator()(std::int64_t i) const { return i; }
    nlohmann::json operator()(std::uint64_t u) const { return u; }
    nlohmann::json operator()(double d) const { return d; }
    nlohmann::json operator()(const std::string& s) const { return s; }
    nlohmann::json operator()(const cluster::binary& b) const { return {{"binary", base64_encode(b.bytes)}}; }
    nlohmann::json operator()(const cluster::atom& a) const { return {{"atom", a.name}}; }
    nlohmann::json operator()(const cluster::pid& p) const { return {{"pid", cluster::to_string(p)}}; }
    nlohmann::json operator()(const cluster::ref& r) const { return {{"ref", cluster::to_string(r)}}; }
    nlohmann::json operator()(const cluster::term_list& l) const {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& e : l) out.push_back(term_to_json(e));
      return out;
    }
    nlohmann::json operator()(const cluster::term_map& m) const {
      // Atom and string keys read naturally as object keys; anything else
      // needs the explicit pair form.
      bool plain = true;
      for (const auto& [k, v] : m) plain = plain && (k.is<std::string>() || k.is<cluster::atom>());
      if (plain) {
        nlohmann::json out = nlohmann::json::object();
        for (const auto& [k, v] : m)
          out[k.is<std::string>() ? k.as<std::string>() : k.as<cluster::atom>().name] = term_to_json(v);
        return out;
      }
      nlohmann::json pairs = nlohmann::json::array();
      for (const auto& [k, v] : m) pairs.push_back({term_to_json(k), term_to_json(v)});
      return {{"map", pairs}};
    }
  };
  return std::visit(visitor{}, t.value());
}

}  // namespace clusterctl

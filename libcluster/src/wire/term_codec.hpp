// MessagePack adaptors for the public term, pid and ref types.
//
// Extension types (docs/PROTOCOL.md, "Terms"): 1 = pid, 2 = ref, both with the
// payload msgpack `[node, creation, id]`; 3 = atom, payload the UTF-8 name.
// Everything else maps to the obvious MessagePack type.
#pragma once

#include <cstdint>
#include <cstring>

#include <msgpack.hpp>

#include "cluster/term.hpp"

namespace cluster::internal::wire {

enum class ext_type : std::int8_t { pid = 1, ref = 2, atom = 3 };

/// Deepest nesting of lists and maps a decoded term may have.
inline constexpr std::size_t max_term_depth = 64;

}  // namespace cluster::internal::wire

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {

  template <>
  struct convert<cluster::term> {
    const msgpack::object& operator()(const msgpack::object& o, cluster::term& t) const;
  };
  template <>
  struct pack<cluster::term> {
    template <class Stream>
    msgpack::packer<Stream>& operator()(msgpack::packer<Stream>& p, const cluster::term& t) const;
  };

  template <>
  struct convert<cluster::pid> {
    const msgpack::object& operator()(const msgpack::object& o, cluster::pid& v) const;
  };
  template <>
  struct pack<cluster::pid> {
    template <class Stream>
    msgpack::packer<Stream>& operator()(msgpack::packer<Stream>& p, const cluster::pid& v) const;
  };

  template <>
  struct convert<cluster::ref> {
    const msgpack::object& operator()(const msgpack::object& o, cluster::ref& v) const;
  };
  template <>
  struct pack<cluster::ref> {
    template <class Stream>
    msgpack::packer<Stream>& operator()(msgpack::packer<Stream>& p, const cluster::ref& v) const;
  };

  }  // namespace adaptor
}  // MSGPACK_API_VERSION_NAMESPACE
}  // namespace msgpack

namespace cluster::internal::wire {

/// The ext payload `[node, creation, id]` shared by pid and ref.
template <class Stream, class Id>
void pack_id_payload(msgpack::packer<Stream>& p, const Id& v) {
  p.pack_array(3);
  p.pack(v.node.str());
  p.pack(v.creation);
  p.pack(v.id);
}

/// A stream that only counts what is written to it.
struct byte_counter {
  std::size_t bytes = 0;
  void write(const char*, std::size_t n) { bytes += n; }
};

// The payload is packed twice, once to learn its size for the ext header and
// once in place, rather than into a buffer to copy: every PID of every message
// passes here, and msgpack's buffer would start with an 8 KiB allocation.
template <class Stream, class Id>
msgpack::packer<Stream>& pack_id_ext(msgpack::packer<Stream>& p, ext_type type, const Id& v) {
  byte_counter size;
  msgpack::packer<byte_counter> counting(size);
  pack_id_payload(counting, v);
  p.pack_ext(static_cast<std::uint32_t>(size.bytes), static_cast<std::int8_t>(type));
  pack_id_payload(p, v);
  return p;
}

}  // namespace cluster::internal::wire

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {

  template <class Stream>
  msgpack::packer<Stream>& pack<cluster::pid>::operator()(msgpack::packer<Stream>& p, const cluster::pid& v) const {
    return cluster::internal::wire::pack_id_ext(p, cluster::internal::wire::ext_type::pid, v);
  }

  template <class Stream>
  msgpack::packer<Stream>& pack<cluster::ref>::operator()(msgpack::packer<Stream>& p, const cluster::ref& v) const {
    return cluster::internal::wire::pack_id_ext(p, cluster::internal::wire::ext_type::ref, v);
  }

  template <class Stream>
  msgpack::packer<Stream>& pack<cluster::term>::operator()(msgpack::packer<Stream>& p, const cluster::term& t) const {
    struct visitor {
      msgpack::packer<Stream>& p;
      void operator()(const cluster::nil&) { p.pack_nil(); }
      void operator()(bool b) { p.pack(b); }
      void operator()(std::int64_t i) { p.pack(i); }
      void operator()(std::uint64_t u) { p.pack(u); }
      void operator()(double d) {
        // msgpack-c 4 packs whole-number doubles as integers, which would turn
        // the term 1.0 into 1. Write float64 (0xcb, big-endian) ourselves; the
        // *_body calls append raw bytes.
        std::uint64_t bits;
        std::memcpy(&bits, &d, sizeof bits);
        char buf[9];
        buf[0] = static_cast<char>(0xcb);
        for (int i = 0; i < 8; ++i) buf[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
        p.pack_bin_body(buf, sizeof buf);
      }
      void operator()(const std::string& s) { p.pack(s); }
      void operator()(const cluster::binary& b) {
        p.pack_bin(static_cast<std::uint32_t>(b.bytes.size()));
        p.pack_bin_body(reinterpret_cast<const char*>(b.bytes.data()), static_cast<std::uint32_t>(b.bytes.size()));
      }
      void operator()(const cluster::atom& a) {
        p.pack_ext(static_cast<std::uint32_t>(a.name.size()),
                   static_cast<std::int8_t>(cluster::internal::wire::ext_type::atom));
        p.pack_ext_body(a.name.data(), static_cast<std::uint32_t>(a.name.size()));
      }
      void operator()(const cluster::pid& v) { p.pack(v); }
      void operator()(const cluster::ref& v) { p.pack(v); }
      void operator()(const cluster::term_list& l) {
        p.pack_array(static_cast<std::uint32_t>(l.size()));
        for (const auto& e : l) p.pack(e);
      }
      void operator()(const cluster::term_map& m) {
        p.pack_map(static_cast<std::uint32_t>(m.size()));
        for (const auto& [k, v] : m) {
          p.pack(k);
          p.pack(v);
        }
      }
    };
    std::visit(visitor{p}, t.value());
    return p;
  }

  }  // namespace adaptor
}  // MSGPACK_API_VERSION_NAMESPACE
}  // namespace msgpack

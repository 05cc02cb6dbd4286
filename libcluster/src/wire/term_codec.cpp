#include "wire/term_codec.hpp"

#include <cstring>
#include <string>

namespace cluster::internal::wire {
namespace {

template <class Id>
Id unpack_id(const msgpack::object& o, ext_type expected) {
  if (o.type != msgpack::type::EXT || o.via.ext.type() != static_cast<std::int8_t>(expected))
    throw msgpack::type_error();
  // The payload is itself msgpack; decode it with tight limits.
  msgpack::unpack_limit limit(3, 0, 1024, 0, 0, 2);
  std::size_t used = 0;
  msgpack::object_handle h = msgpack::unpack(o.via.ext.data(), o.via.ext.size, used, nullptr, nullptr, limit);
  if (used != o.via.ext.size) throw msgpack::type_error();  // trailing bytes in the payload
  const msgpack::object& a = h.get();
  if (a.type != msgpack::type::ARRAY || a.via.array.size != 3) throw msgpack::type_error();
  Id v;
  a.via.array.ptr[0].convert(v.node);
  a.via.array.ptr[1].convert(v.creation);
  a.via.array.ptr[2].convert(v.id);
  return v;
}

cluster::term to_term(const msgpack::object& o, std::size_t depth) {
  if (depth > max_term_depth) throw msgpack::depth_size_overflow("term too deep");
  switch (o.type) {
    case msgpack::type::NIL:
      return cluster::nil{};
    case msgpack::type::BOOLEAN:
      return o.via.boolean;
    case msgpack::type::POSITIVE_INTEGER:
      // Small non-negative values read as signed so `1` round-trips as an int.
      if (o.via.u64 <= static_cast<std::uint64_t>(INT64_MAX)) return static_cast<std::int64_t>(o.via.u64);
      return o.via.u64;
    case msgpack::type::NEGATIVE_INTEGER:
      return o.via.i64;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return o.via.f64;
    case msgpack::type::STR:
      return std::string(o.via.str.ptr, o.via.str.size);
    case msgpack::type::BIN: {
      cluster::binary b;
      b.bytes.assign(reinterpret_cast<const std::uint8_t*>(o.via.bin.ptr),
                     reinterpret_cast<const std::uint8_t*>(o.via.bin.ptr) + o.via.bin.size);
      return b;
    }
    case msgpack::type::ARRAY: {
      cluster::term_list l;
      l.reserve(o.via.array.size);
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) l.push_back(to_term(o.via.array.ptr[i], depth + 1));
      return l;
    }
    case msgpack::type::MAP: {
      cluster::term_map m;
      m.reserve(o.via.map.size);
      for (std::uint32_t i = 0; i < o.via.map.size; ++i)
        m.emplace_back(to_term(o.via.map.ptr[i].key, depth + 1), to_term(o.via.map.ptr[i].val, depth + 1));
      return m;
    }
    case msgpack::type::EXT:
      switch (static_cast<ext_type>(o.via.ext.type())) {
        case ext_type::pid:
          return unpack_id<cluster::pid>(o, ext_type::pid);
        case ext_type::ref:
          return unpack_id<cluster::ref>(o, ext_type::ref);
        case ext_type::atom:
          return cluster::atom{std::string(o.via.ext.data(), o.via.ext.size)};
      }
      throw msgpack::type_error();
  }
  throw msgpack::type_error();
}

}  // namespace
}  // namespace cluster::internal::wire

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {

  const msgpack::object& convert<cluster::term>::operator()(const msgpack::object& o, cluster::term& t) const {
    t = cluster::internal::wire::to_term(o, 0);
    return o;
  }

  const msgpack::object& convert<cluster::pid>::operator()(const msgpack::object& o, cluster::pid& v) const {
    v = cluster::internal::wire::unpack_id<cluster::pid>(o, cluster::internal::wire::ext_type::pid);
    return o;
  }

  const msgpack::object& convert<cluster::ref>::operator()(const msgpack::object& o, cluster::ref& v) const {
    v = cluster::internal::wire::unpack_id<cluster::ref>(o, cluster::internal::wire::ext_type::ref);
    return o;
  }

  }  // namespace adaptor
}  // MSGPACK_API_VERSION_NAMESPACE
}  // namespace msgpack

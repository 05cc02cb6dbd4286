#include "wire/term_codec.hpp"

#include <cstring>
#include <limits>
#include <string>

namespace cluster::internal::wire {
namespace {

// Reads the payload [node, creation, id] of a pid or ref straight from its
// bytes. Every PID received passes here, and msgpack's parser would allocate
// a zone and a parse stack for each one. Accepts what msgpack-c would for
// these fields (any array format, any encoding of a non-negative integer, a
// str node of at most 1024 bytes); anything else, trailing bytes included,
// is a type error.
class id_payload_reader {
 public:
  id_payload_reader(const char* data, std::size_t size)
      : at_(reinterpret_cast<const unsigned char*>(data)), end_(at_ + size) {}

  template <class Id>
  Id read() {
    if (array_size() != 3) throw msgpack::type_error();
    Id v;
    v.node = node();
    const std::uint64_t creation = uint();
    if (creation > std::numeric_limits<std::uint32_t>::max()) throw msgpack::type_error();
    v.creation = static_cast<std::uint32_t>(creation);
    v.id = uint();
    if (at_ != end_) throw msgpack::type_error();
    return v;
  }

 private:
  std::uint8_t next() {
    if (at_ == end_) throw msgpack::type_error();
    return *at_++;
  }

  std::uint64_t big_endian(int bytes) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | next();
    return v;
  }

  std::uint64_t array_size() {
    const std::uint8_t b = next();
    if ((b & 0xf0) == 0x90) return b & 0x0f;                           // fixarray
    if (b == 0xdc || b == 0xdd) return big_endian(b == 0xdc ? 2 : 4);  // array16, array32
    throw msgpack::type_error();
  }

  std::uint64_t uint() {
    const std::uint8_t b = next();
    if (b <= 0x7f) return b;
    if (b >= 0xcc && b <= 0xcf) return big_endian(1 << (b - 0xcc));  // uint8..uint64
    if (b >= 0xd0 && b <= 0xd3) {                                    // int8..int64, if not negative
      const int bytes = 1 << (b - 0xd0);
      const std::uint64_t v = big_endian(bytes);
      if (v >> (bytes * 8 - 1)) throw msgpack::type_error();
      return v;
    }
    throw msgpack::type_error();
  }

  cluster::node_atom node() {
    const std::uint8_t b = next();
    std::uint64_t size = 0;
    if ((b & 0xe0) == 0xa0)
      size = b & 0x1f;  // fixstr
    else if (b >= 0xd9 && b <= 0xdb)
      size = big_endian(1 << (b - 0xd9));  // str8, str16, str32
    else
      throw msgpack::type_error();
    if (size > 1024 || size > static_cast<std::uint64_t>(end_ - at_)) throw msgpack::type_error();
    cluster::node_atom name(std::string_view(reinterpret_cast<const char*>(at_), size));
    at_ += size;
    return name;
  }

  const unsigned char* at_;
  const unsigned char* end_;
};

template <class Id>
Id unpack_id(const msgpack::object& o, ext_type expected) {
  if (o.type != msgpack::type::EXT || o.via.ext.type() != static_cast<std::int8_t>(expected))
    throw msgpack::type_error();
  return id_payload_reader(o.via.ext.data(), o.via.ext.size).read<Id>();
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

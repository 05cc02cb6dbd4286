#include "wire/codec.hpp"

#include <algorithm>
#include <new>
#include <string>

#include "wire/scratch_zone.hpp"

namespace cluster::internal::wire {
namespace {

// A msgpack stream that appends to our byte vector.
struct byte_sink {
  bytes& out;
  void write(const char* data, std::size_t n) {
    out.insert(out.end(), reinterpret_cast<const std::uint8_t*>(data), reinterpret_cast<const std::uint8_t*>(data) + n);
  }
};

// msgpack-c allocates an array's element slots when it reads the header, before
// the elements arrive, so an element count is also capped by the bytes present:
// each element takes at least one byte, and a hostile header claiming 4 billion
// elements in a short frame must not allocate for them.
msgpack::unpack_limit to_unpack_limit(const decode_limits& l, std::size_t frame_bytes) {
  const std::size_t elements = std::min(l.max_elements, frame_bytes);
  return msgpack::unpack_limit(elements, elements, l.max_string_bytes, l.max_string_bytes, l.max_string_bytes,
                               l.max_depth);
}

// How many fields T declares: the size of the array a default T packs to.
template <class T>
std::uint32_t field_count() {
  static const std::uint32_t count = [] {
    msgpack::sbuffer buf;
    msgpack::pack(buf, T{});
    return msgpack::unpack(buf.data(), buf.size()).get().via.array.size;
  }();
  return count;
}

template <std::size_t I = 0>
message convert_body(msg_type type, const msgpack::object& body) {
  if constexpr (I == std::variant_size_v<message>) {
    throw msgpack::type_error();  // unknown type: caught and reported below
  } else {
    using T = std::variant_alternative_t<I, message>;
    if (type_of<T>() == type) {
      // Fewer fields than declared is malformed, unless the missing ones are
      // those an older version does not send; more is a newer peer's
      // addition and is ignored.
      std::uint32_t optional = 0;
      if constexpr (requires { T::optional_fields; }) optional = T::optional_fields;
      if (body.via.array.size + optional < field_count<T>()) throw msgpack::type_error();
      T value;
      body.convert(value);
      return value;
    }
    return convert_body<I + 1>(type, body);
  }
}

bool known_type(std::uint64_t t) {
  bool found = false;
  auto check = [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((found = found || static_cast<std::uint64_t>(type_of<std::variant_alternative_t<I, message>>()) == t), ...);
  };
  check(std::make_index_sequence<std::variant_size_v<message>>{});
  return found;
}

result<message> convert_message(const msgpack::object& o) {
  if (o.type != msgpack::type::ARRAY || o.via.array.size != 2)
    return error{errc::malformed, "a message must be a 2-element array [type, fields]"};
  const msgpack::object& type = o.via.array.ptr[0];
  const msgpack::object& body = o.via.array.ptr[1];
  if (type.type != msgpack::type::POSITIVE_INTEGER || !known_type(type.via.u64))
    return error{errc::malformed, "unknown message type"};
  if (body.type != msgpack::type::ARRAY) return error{errc::malformed, "message fields must be an array"};
  const auto t = static_cast<msg_type>(type.via.u64);
  try {
    return convert_body(t, body);
  } catch (const msgpack::type_error&) {
    return error{errc::malformed, "message type " + std::to_string(type.via.u64) + " has a field of the wrong type"};
  } catch (const msgpack::unpack_error& e) {
    return error{errc::malformed, std::string("message type ") + std::to_string(type.via.u64) + ": " + e.what()};
  }
}

}  // namespace

decode_limits decode_limits::pre_auth() {
  decode_limits l;
  l.max_frame_bytes = 4096;
  l.max_messages = 1;
  l.max_elements = 16;
  l.max_string_bytes = 1024;
  l.max_depth = 4;
  return l;
}

msg_type type_of(const message& m) {
  return std::visit([](const auto& v) { return wire::type_of<std::decay_t<decltype(v)>>(); }, m);
}

void encode(const message& m, bytes& out) {
  byte_sink sink{out};
  msgpack::packer<byte_sink> p(sink);
  p.pack_array(2);
  p.pack(static_cast<std::uint8_t>(type_of(m)));
  std::visit([&](const auto& v) { p.pack(v); }, m);
}

bytes encode(const message& m) {
  bytes out;
  // Most messages fit: one allocation instead of the vector doubling from one
  // byte as msgpack appends field by field. No more than 120 bytes: glibc
  // frees chunks up to 128 bytes (fast bins) without the arena's lock, and
  // these buffers are freed by the I/O thread while the sender's thread
  // allocates from the same arena.
  out.reserve(120);
  encode(m, out);
  return out;
}

result<std::vector<message>> decode_frame(std::span<const std::uint8_t> frame, const decode_limits& limits) {
  if (frame.size() > limits.max_frame_bytes)
    return error{errc::too_large, "frame of " + std::to_string(frame.size()) + " bytes exceeds the limit of " +
                                      std::to_string(limits.max_frame_bytes)};
  if (frame.empty()) return error{errc::malformed, "empty frame"};
  std::vector<message> out;
  std::size_t offset = 0;
  const auto limit = to_unpack_limit(limits, frame.size());
  try {
    while (offset < frame.size()) {
      if (out.size() == limits.max_messages)
        return error{errc::too_large, "frame holds more than " + std::to_string(limits.max_messages) + " messages"};
      scratch_zone zone;
      const msgpack::object o = msgpack::unpack(zone.get(), reinterpret_cast<const char*>(frame.data()), frame.size(),
                                                offset, nullptr, nullptr, limit);
      auto m = convert_message(o);
      if (!m) return m.err();
      out.push_back(std::move(m).value());
    }
  } catch (const msgpack::insufficient_bytes&) {
    return error{errc::malformed, "truncated message at byte " + std::to_string(offset)};
  } catch (const msgpack::size_overflow& e) {
    return error{errc::too_large, std::string("a value exceeds a decoding limit (") + e.what() + ")"};
  } catch (const msgpack::unpack_error& e) {
    return error{errc::malformed, std::string("not valid MessagePack: ") + e.what()};
  } catch (const std::bad_alloc&) {
    return error{errc::too_large, "frame too large to decode"};
  }
  return out;
}

bytes encode_term(const term& t) {
  bytes out;
  byte_sink sink{out};
  msgpack::packer<byte_sink> p(sink);
  p.pack(t);
  return out;
}

result<term> decode_term(std::span<const std::uint8_t> data, const decode_limits& limits) {
  if (data.size() > limits.max_frame_bytes) return error{errc::too_large, "term exceeds the size limit"};
  try {
    std::size_t offset = 0;
    scratch_zone zone;
    const msgpack::object o = msgpack::unpack(zone.get(), reinterpret_cast<const char*>(data.data()), data.size(),
                                              offset, nullptr, nullptr, to_unpack_limit(limits, data.size()));
    if (offset != data.size()) return error{errc::malformed, "trailing bytes after the term"};
    term t;
    o.convert(t);
    return t;
  } catch (const msgpack::insufficient_bytes&) {
    return error{errc::malformed, "truncated term"};
  } catch (const msgpack::size_overflow& e) {
    return error{errc::too_large, std::string("a value exceeds a decoding limit (") + e.what() + ")"};
  } catch (const msgpack::type_error&) {
    return error{errc::malformed, "a term contains an invalid extension value"};
  } catch (const msgpack::unpack_error& e) {
    return error{errc::malformed, std::string("not valid MessagePack: ") + e.what()};
  } catch (const std::bad_alloc&) {
    return error{errc::too_large, "term too large to decode"};
  }
}

}  // namespace cluster::internal::wire

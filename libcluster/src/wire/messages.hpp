// Every message of the libcluster wire protocol, defined once.
//
// On the wire a message is the MessagePack array `[type, [field, ...]]`: the
// type number below, then the struct's fields in declaration order. A ZeroMQ
// frame carries one or more such arrays back to back. docs/PROTOCOL.md
// describes the same bytes for implementers in other languages.
//
// ONLY APPEND: the numbers are part of the protocol. New fields go at the end
// of a struct; decoders ignore extra trailing fields and refuse missing ones.
// New message types come with a new protocol version, so a peer only sends
// the types of the version both sides agreed on in the handshake.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <msgpack.hpp>

#include "wire/term_codec.hpp"

namespace cluster::internal::wire {

/// Version 1: handshake, ping, peers, goodbye, nodes/info requests, calls,
/// spawns, process messages and signals between nodes, membership datagrams
/// and member requests. Version 2: every frame after the handshake is sealed
/// (crypto/link_cipher.hpp) unless both sides set `flag_insecure_plaintext`.
/// Version 3: `hello` and `challenge` carry a node's dist port (direct links,
/// links/link_manager.hpp), bound in the handshake's transcript; a version 2
/// peer (a client that predates it) is still spoken to, without one.
inline constexpr std::uint32_t protocol_version_min = 2;
inline constexpr std::uint32_t protocol_version_max = 3;

/// Bits of `hello.flags` and `challenge.flags`.
/// The sender runs with --insecure-plaintext: its frames after the handshake
/// are not sealed. Both sides must agree, or the handshake is refused.
inline constexpr std::uint64_t flag_insecure_plaintext = 1;

enum class msg_type : std::uint8_t {
  // -- handshake: the only messages accepted before authentication --
  hello = 1,
  challenge = 2,
  challenge_reply = 3,
  challenge_ack = 4,
  reject = 5,
  // -- link: between authenticated peers --
  ping = 16,
  pong = 17,
  peers = 18,
  goodbye = 19,
  // -- requests from clients (or nodes) and their replies --
  nodes_request = 32,
  nodes_reply = 33,
  info_request = 34,
  info_reply = 35,
  error_reply = 36,
  // -- calls and spawns of registered functions --
  call_request = 48,
  call_reply = 49,
  cast_request = 50,
  spawn_request = 51,
  spawn_reply = 52,
  spawn_tied_request = 53,
  // -- processes across nodes --
  process_send = 64,
  process_send_named = 65,
  process_signal = 66,
  process_send_named_at = 67,
  fragment = 68,
  // -- membership (SWIM), in sealed UDP datagrams: never on a link --
  swim_ping = 80,
  swim_ping_req = 81,
  swim_ack = 82,
  swim_nack = 83,
  swim_gossip = 84,
  swim_sync = 85,
  // -- membership, asked for by clients over a link --
  members_request = 96,
  members_reply = 97,
  watch_request = 98,
  member_event = 99,
  // -- operating a node (clusterctl) --
  stats_request = 100,
  stats_reply = 101,
  why_request = 102,
  why_reply = 103,
  admin_request = 104,
  admin_reply = 105,
  processes_request = 106,
  processes_reply = 107,
  registered_request = 108,
  registered_reply = 109,
  monitor_request = 110,
  monitor_down = 111,
};

/// Who opened a connection: a cluster member or a light client.
enum class peer_kind : std::uint8_t { node = 0, client = 1 };

/// Length of handshake nonces and digests (HMAC-SHA256).
inline constexpr std::size_t nonce_size = 32;
inline constexpr std::size_t digest_size = 32;

/// Initiator -> acceptor, first message on a new connection. `name` is the
/// initiator's `name@host` (for clients any label), `port` its listening port
/// (0 for clients) so the acceptor can tell others where to reach it, and
/// `nonce` a fresh random challenge the acceptor must answer.
struct hello {
  std::uint32_t version_min = protocol_version_min;
  std::uint32_t version_max = protocol_version_max;
  std::uint8_t kind = 0;  ///< peer_kind
  std::string name;
  std::uint16_t port = 0;
  std::uint32_t creation = 0;
  std::uint64_t flags = 0;
  std::vector<std::uint8_t> nonce;
  std::uint16_t dist_port = 0;  ///< version 3; see handshake::identity
  /// Trailing fields a version 2 peer does not send (codec.cpp).
  static constexpr std::uint32_t optional_fields = 1;
  MSGPACK_DEFINE(version_min, version_max, kind, name, port, creation, flags, nonce, dist_port)
};

/// Acceptor -> initiator: the acceptor admits the hello (tie-breaks and limits
/// passed), names itself, picks the version, and sends its own fresh nonce.
struct challenge {
  std::uint32_t version = 0;
  std::string name;
  std::uint16_t port = 0;
  std::uint32_t creation = 0;
  std::uint64_t flags = 0;
  std::vector<std::uint8_t> nonce;
  std::uint16_t dist_port = 0;                         ///< version 3; see handshake::identity
  static constexpr std::uint32_t optional_fields = 1;  ///< as hello's
  MSGPACK_DEFINE(version, name, port, creation, flags, nonce, dist_port)
};

/// Initiator -> acceptor: HMAC-SHA256 over the transcript, proving the cookie.
struct challenge_reply {
  std::vector<std::uint8_t> digest;
  MSGPACK_DEFINE(digest)
};

/// Acceptor -> initiator: the acceptor's own proof; the link is up.
struct challenge_ack {
  std::vector<std::uint8_t> digest;
  MSGPACK_DEFINE(digest)
};

/// Either side during the handshake: why the connection is refused (an
/// `errc` value and a sentence). The sender closes the connection after it.
struct reject {
  std::int32_t code = 0;
  std::string reason;
  MSGPACK_DEFINE(code, reason)
};

/// Liveness check; the receiver answers `pong` with the same `seq`.
struct ping {
  std::uint64_t seq = 0;
  MSGPACK_DEFINE(seq)
};

struct pong {
  std::uint64_t seq = 0;
  MSGPACK_DEFINE(seq)
};

/// One node as known to another: identity, where it listens, which incarnation.
struct node_entry {
  std::string name;  ///< name@host
  std::string host;
  std::uint16_t port = 0;
  std::uint32_t creation = 0;
  MSGPACK_DEFINE(name, host, port, creation)
};

/// Node -> node after the link comes up (and whenever a new peer joins): the
/// sender's connected nodes, so the receiver can complete the full mesh.
struct peers {
  std::vector<node_entry> nodes;
  MSGPACK_DEFINE(nodes)
};

/// Node -> peers when it stops on purpose: a leave, not a failure.
struct goodbye {
  std::string reason;
  MSGPACK_DEFINE(reason)
};

/// Asks for the receiving node's connected nodes.
struct nodes_request {
  std::uint64_t request_id = 0;
  MSGPACK_DEFINE(request_id)
};

struct nodes_reply {
  std::uint64_t request_id = 0;
  std::vector<node_entry> nodes;
  MSGPACK_DEFINE(request_id, nodes)
};

/// Asks for the receiving node's identity and vital statistics.
struct info_request {
  std::uint64_t request_id = 0;
  MSGPACK_DEFINE(request_id)
};

struct info_reply {
  std::uint64_t request_id = 0;
  std::string name;
  std::string host;
  std::uint16_t port = 0;
  std::uint32_t creation = 0;
  std::uint64_t uptime_ms = 0;
  std::string version;
  std::uint64_t process_count = 0;
  std::uint64_t node_count = 0;
  std::uint16_t dist_port = 0;                         ///< 0: no direct lane
  static constexpr std::uint32_t optional_fields = 1;  ///< dist_port: older nodes do not send it (codec.cpp)
  MSGPACK_DEFINE(request_id, name, host, port, creation, uptime_ms, version, process_count, node_count, dist_port)
};

/// The answer to a request that failed (the request's id, an errc, a sentence).
struct error_reply {
  std::uint64_t request_id = 0;
  std::int32_t code = 0;  ///< errc
  std::string message;
  MSGPACK_DEFINE(request_id, code, message)
};

/// Runs `function` with `args` and answers with `call_reply`. An empty `node`
/// means the receiver; another node's name asks the receiver to forward the
/// call there and relay the answer (so a client reaches the whole cluster
/// through one node).
struct call_request {
  std::uint64_t request_id = 0;
  std::string node;
  std::string function;  ///< "module:function"
  term args;
  MSGPACK_DEFINE(request_id, node, function, args)
};

/// `code` 0 with `result`, or an errc with `message`.
struct call_reply {
  std::uint64_t request_id = 0;
  std::int32_t code = 0;
  term result;
  std::string message;
  MSGPACK_DEFINE(request_id, code, result, message)
};

/// Runs `function` with `args` and answers nothing.
struct cast_request {
  std::string node;
  std::string function;
  term args;
  MSGPACK_DEFINE(node, function, args)
};

/// Starts a process on the receiver (or on `node`) that runs `function`.
struct spawn_request {
  std::uint64_t request_id = 0;
  std::string node;
  std::string function;
  term args;
  MSGPACK_DEFINE(request_id, node, function, args)
};

/// A spawn tied to the process that asked, set up before the new process
/// runs, so no early exit goes unseen (Erlang's spawn_request with link or
/// monitor): `link` links it to `parent`; a `monitor` ref makes `parent`
/// watch it under that ref. Answered with `spawn_reply`.
struct spawn_tied_request {
  std::uint64_t request_id = 0;
  std::string node;
  std::string function;
  term args;
  cluster::pid parent;
  bool link = false;
  term monitor;  ///< a ref, or nil
  MSGPACK_DEFINE(request_id, node, function, args, parent, link, monitor)
};

/// `code` 0 and the new process's `pid`, or an errc with `message`.
struct spawn_reply {
  std::uint64_t request_id = 0;
  std::int32_t code = 0;
  term pid;  ///< a pid, or nil on error
  std::string message;
  MSGPACK_DEFINE(request_id, code, pid, message)
};

/// A message for a process on the receiving node.
struct process_send {
  cluster::pid to;
  term message;
  MSGPACK_DEFINE(to, message)
};

/// A message for the process registered as `name` on the receiving node.
struct process_send_named {
  std::string name;
  term message;
  MSGPACK_DEFINE(name, message)
};

/// A message for the process registered as `name` on `node` (any node: the
/// receiver forwards it), as `clusterctl send NAME@NODE` sends it.
struct process_send_named_at {
  std::string node;
  std::string name;
  term message;
  MSGPACK_DEFINE(node, name, message)
};

/// A piece of a message too large to go whole (over 64 KiB encoded): the
/// message's encoding cut into consecutive chunks, sent in order on the link
/// and interleaved with other traffic, so one large message cannot hold up
/// small ones for long. Every piece says the whole message's size and where
/// it starts in it; the receiver appends the chunks and decodes the message
/// once it has `total` bytes. A piece at offset 0 starts a new message (so a
/// receiver never mixes two); one that does not follow on is dropped with
/// the rest of its message. One message is cut up at a time per link.
struct fragment {
  std::uint64_t total = 0;
  std::uint64_t offset = 0;
  std::vector<std::uint8_t> chunk;
  MSGPACK_DEFINE(total, offset, chunk)
};

/// Signals between processes on two nodes.
enum class signal_kind : std::uint8_t {
  exit = 1,       ///< exit(to, reason) from `from`
  link_exit = 2,  ///< `from` was linked to `to` and has ended with `reason`
  link = 3,
  unlink = 4,
  monitor = 5,  ///< `from` monitors `to` under `monitor`
  demonitor = 6,
  down = 7,  ///< `from`, monitored by `to` under `monitor`, has ended with `reason`
};

struct process_signal {
  std::uint8_t kind = 0;  ///< signal_kind
  cluster::pid from;
  cluster::pid to;
  term monitor;  ///< a ref for monitor, demonitor and down; nil otherwise
  term reason;   ///< for exit, link_exit and down; nil otherwise
  MSGPACK_DEFINE(kind, from, to, monitor, reason)
};

/// What one node says about a member: its identity and address, the
/// incarnation the claim is about, its state (`member_state`: 0 alive,
/// 1 suspect, 2 dead, 3 left), its tags, and which member made the claim.
struct member_update {
  std::string name;  ///< name@host
  std::string host;  ///< the address its UDP and data ports listen on
  std::uint16_t port = 0;
  std::uint32_t creation = 0;
  std::uint64_t incarnation = 0;
  std::uint8_t state = 0;
  std::vector<std::pair<std::string, std::string>> tags;
  std::string from;  ///< the member that made this claim
  MSGPACK_DEFINE(name, host, port, creation, incarnation, state, tags, from)
};

/// SWIM probe: `target` (name and creation) should answer `swim_ack` with
/// `seq`. Gossip rides along in `updates`.
struct swim_ping {
  std::uint64_t seq = 0;
  std::string target;
  std::uint32_t target_creation = 0;
  std::string from;
  std::vector<member_update> updates;
  MSGPACK_DEFINE(seq, target, target_creation, from, updates)
};

/// Asks the receiver to probe `target` for `from` and relay the ack (SWIM's
/// indirect probe); the receiver answers `swim_nack` if the target is silent
/// (Lifeguard), so the prober can tell a dead target from its own trouble.
struct swim_ping_req {
  std::uint64_t seq = 0;
  std::string target;
  std::uint32_t target_creation = 0;
  std::string target_host;
  std::uint16_t target_port = 0;
  std::string from;
  std::vector<member_update> updates;
  MSGPACK_DEFINE(seq, target, target_creation, target_host, target_port, from, updates)
};

struct swim_ack {
  std::uint64_t seq = 0;
  std::string from;
  std::vector<member_update> updates;
  MSGPACK_DEFINE(seq, from, updates)
};

struct swim_nack {
  std::uint64_t seq = 0;
  std::string from;
  MSGPACK_DEFINE(seq, from)
};

/// Gossip alone, sent to a few random members every gossip interval.
struct swim_gossip {
  std::string from;
  std::vector<member_update> updates;
  MSGPACK_DEFINE(from, updates)
};

/// Anti-entropy and join: part of the sender's whole member table (the
/// table is cut to fit datagrams); `reply` asks the receiver to send its own.
struct swim_sync {
  bool reply = false;
  std::string from;
  std::vector<member_update> members;
  MSGPACK_DEFINE(reply, from, members)
};

/// Asks for the receiving node's member table.
struct members_request {
  std::uint64_t request_id = 0;
  MSGPACK_DEFINE(request_id)
};

/// One row of a member table, as `clusterctl members` shows it.
struct member_row {
  member_update member;
  std::uint64_t since_ms = 0;  ///< how long ago its state last changed
  std::string reason;          ///< why it changed
  MSGPACK_DEFINE(member, since_ms, reason)
};

struct members_reply {
  std::uint64_t request_id = 0;
  std::vector<member_row> members;
  MSGPACK_DEFINE(request_id, members)
};

/// Asks the node to stream `member_event`s on this link until it closes.
struct watch_request {
  std::uint64_t request_id = 0;
  MSGPACK_DEFINE(request_id)
};

/// A membership event: `kind` is 0 up, 1 down, 2 left, 3 updated, 4 suspect,
/// 5 refuted; `reporter` is the member whose report caused it.
struct member_event {
  std::uint64_t request_id = 0;
  std::uint8_t kind = 0;
  member_row row;
  std::string reporter;
  MSGPACK_DEFINE(request_id, kind, row, reporter)
};

/// Asks for the node's counters (`clusterctl stats`).
struct stats_request {
  std::uint64_t request_id = 0;
  MSGPACK_DEFINE(request_id)
};

/// One link's counters.
struct link_row {
  std::string node;
  std::uint32_t creation = 0;
  std::uint64_t frames_in = 0, frames_out = 0, bytes_in = 0, bytes_out = 0;
  std::uint64_t queued = 0;
  std::uint64_t up_ms = 0;
  std::uint64_t messages_in = 0, messages_out = 0, queued_bytes = 0;
  bool busy = false;
  std::uint64_t suspended = 0;
  MSGPACK_DEFINE(node, creation, frames_in, frames_out, bytes_in, bytes_out, queued, up_ms, messages_in, messages_out,
                 queued_bytes, busy, suspended)
};

/// A latency histogram: counts per bucket (bounds in the protocol doc), sum, count.
struct histogram_row {
  std::vector<std::uint64_t> counts;
  std::uint64_t sum_us = 0;
  std::uint64_t count = 0;
  MSGPACK_DEFINE(counts, sum_us, count)
};

struct stats_reply {
  std::uint64_t request_id = 0;
  std::vector<std::pair<std::string, std::uint64_t>> counters;
  std::vector<link_row> links;
  histogram_row call_latency;
  histogram_row spawn_latency;
  MSGPACK_DEFINE(request_id, counters, links, call_latency, spawn_latency)
};

/// Asks how the member `node` got to its state in the receiver's view.
struct why_request {
  std::uint64_t request_id = 0;
  std::string node;
  MSGPACK_DEFINE(request_id, node)
};

struct history_row {
  std::uint64_t ago_ms = 0;
  std::uint8_t state = 0;
  std::uint64_t incarnation = 0;
  std::string reason;
  std::string reporter;
  MSGPACK_DEFINE(ago_ms, state, incarnation, reason, reporter)
};

/// Newest first; empty if the receiver does not know `node`.
struct why_reply {
  std::uint64_t request_id = 0;
  std::vector<history_row> history;
  MSGPACK_DEFINE(request_id, history)
};

/// Asks the node to `leave` the cluster or `stop` (leave, then exit).
struct admin_request {
  std::uint64_t request_id = 0;
  std::string action;
  MSGPACK_DEFINE(request_id, action)
};

/// `code` 0, or an errc with `message`.
struct admin_reply {
  std::uint64_t request_id = 0;
  std::int32_t code = 0;
  std::string message;
  MSGPACK_DEFINE(request_id, code, message)
};

/// Asks for the node's processes, sorted by `sort` (mailbox, handled,
/// memory, name or pid; largest first for numbers), at most `limit` (0: all).
struct processes_request {
  std::uint64_t request_id = 0;
  std::string sort;
  std::uint32_t limit = 0;
  MSGPACK_DEFINE(request_id, sort, limit)
};

struct process_row {
  cluster::pid pid;
  std::string name;
  std::uint64_t mailbox = 0, handled = 0, memory = 0;
  std::string function;
  MSGPACK_DEFINE(pid, name, mailbox, handled, memory, function)
};

struct processes_reply {
  std::uint64_t request_id = 0;
  std::uint64_t total = 0;  ///< processes on the node (rows may be fewer)
  std::vector<process_row> processes;
  MSGPACK_DEFINE(request_id, total, processes)
};

/// Asks for the names registered on the node.
struct registered_request {
  std::uint64_t request_id = 0;
  MSGPACK_DEFINE(request_id)
};

struct registered_reply {
  std::uint64_t request_id = 0;
  std::vector<std::pair<std::string, cluster::pid>> names;
  MSGPACK_DEFINE(request_id, names)
};

/// Monitors `pid` (on any node) for the client: the node answers
/// `monitor_down` when the process ends (`noproc` if it never existed).
struct monitor_request {
  std::uint64_t request_id = 0;
  cluster::pid pid;
  MSGPACK_DEFINE(request_id, pid)
};

struct monitor_down {
  std::uint64_t request_id = 0;
  term reason;
  MSGPACK_DEFINE(request_id, reason)
};

/// Any message. The variant's alternatives and `type_of` are kept in step by a
/// round-trip test over every `msg_type`.
using message =
    std::variant<hello, challenge, challenge_reply, challenge_ack, reject, ping, pong, peers, goodbye, nodes_request,
                 nodes_reply, info_request, info_reply, error_reply, call_request, call_reply, cast_request,
                 spawn_request, spawn_reply, spawn_tied_request, process_send, process_send_named, process_signal,
                 process_send_named_at, fragment, swim_ping, swim_ping_req, swim_ack, swim_nack, swim_gossip, swim_sync,
                 members_request, members_reply, watch_request, member_event, stats_request, stats_reply, why_request,
                 why_reply, admin_request, admin_reply, processes_request, processes_reply, registered_request,
                 registered_reply, monitor_request, monitor_down>;

/// The wire number of each message struct.
template <class T>
constexpr msg_type type_of();
template <>
constexpr msg_type type_of<hello>() {
  return msg_type::hello;
}
template <>
constexpr msg_type type_of<challenge>() {
  return msg_type::challenge;
}
template <>
constexpr msg_type type_of<challenge_reply>() {
  return msg_type::challenge_reply;
}
template <>
constexpr msg_type type_of<challenge_ack>() {
  return msg_type::challenge_ack;
}
template <>
constexpr msg_type type_of<reject>() {
  return msg_type::reject;
}
template <>
constexpr msg_type type_of<ping>() {
  return msg_type::ping;
}
template <>
constexpr msg_type type_of<pong>() {
  return msg_type::pong;
}
template <>
constexpr msg_type type_of<peers>() {
  return msg_type::peers;
}
template <>
constexpr msg_type type_of<goodbye>() {
  return msg_type::goodbye;
}
template <>
constexpr msg_type type_of<nodes_request>() {
  return msg_type::nodes_request;
}
template <>
constexpr msg_type type_of<nodes_reply>() {
  return msg_type::nodes_reply;
}
template <>
constexpr msg_type type_of<info_request>() {
  return msg_type::info_request;
}
template <>
constexpr msg_type type_of<info_reply>() {
  return msg_type::info_reply;
}
template <>
constexpr msg_type type_of<error_reply>() {
  return msg_type::error_reply;
}
template <>
constexpr msg_type type_of<call_request>() {
  return msg_type::call_request;
}
template <>
constexpr msg_type type_of<call_reply>() {
  return msg_type::call_reply;
}
template <>
constexpr msg_type type_of<cast_request>() {
  return msg_type::cast_request;
}
template <>
constexpr msg_type type_of<spawn_request>() {
  return msg_type::spawn_request;
}
template <>
constexpr msg_type type_of<spawn_reply>() {
  return msg_type::spawn_reply;
}
template <>
constexpr msg_type type_of<process_send>() {
  return msg_type::process_send;
}
template <>
constexpr msg_type type_of<process_send_named>() {
  return msg_type::process_send_named;
}
template <>
constexpr msg_type type_of<process_signal>() {
  return msg_type::process_signal;
}

template <>
constexpr msg_type type_of<swim_ping>() {
  return msg_type::swim_ping;
}
template <>
constexpr msg_type type_of<swim_ping_req>() {
  return msg_type::swim_ping_req;
}
template <>
constexpr msg_type type_of<swim_ack>() {
  return msg_type::swim_ack;
}
template <>
constexpr msg_type type_of<swim_nack>() {
  return msg_type::swim_nack;
}
template <>
constexpr msg_type type_of<swim_gossip>() {
  return msg_type::swim_gossip;
}
template <>
constexpr msg_type type_of<swim_sync>() {
  return msg_type::swim_sync;
}
template <>
constexpr msg_type type_of<members_request>() {
  return msg_type::members_request;
}
template <>
constexpr msg_type type_of<members_reply>() {
  return msg_type::members_reply;
}
template <>
constexpr msg_type type_of<watch_request>() {
  return msg_type::watch_request;
}
template <>
constexpr msg_type type_of<member_event>() {
  return msg_type::member_event;
}

template <>
constexpr msg_type type_of<stats_request>() {
  return msg_type::stats_request;
}
template <>
constexpr msg_type type_of<stats_reply>() {
  return msg_type::stats_reply;
}
template <>
constexpr msg_type type_of<why_request>() {
  return msg_type::why_request;
}
template <>
constexpr msg_type type_of<why_reply>() {
  return msg_type::why_reply;
}
template <>
constexpr msg_type type_of<admin_request>() {
  return msg_type::admin_request;
}
template <>
constexpr msg_type type_of<admin_reply>() {
  return msg_type::admin_reply;
}

template <>
constexpr msg_type type_of<processes_request>() {
  return msg_type::processes_request;
}
template <>
constexpr msg_type type_of<processes_reply>() {
  return msg_type::processes_reply;
}
template <>
constexpr msg_type type_of<registered_request>() {
  return msg_type::registered_request;
}
template <>
constexpr msg_type type_of<registered_reply>() {
  return msg_type::registered_reply;
}
template <>
constexpr msg_type type_of<monitor_request>() {
  return msg_type::monitor_request;
}
template <>
constexpr msg_type type_of<monitor_down>() {
  return msg_type::monitor_down;
}
template <>
constexpr msg_type type_of<process_send_named_at>() {
  return msg_type::process_send_named_at;
}
template <>
constexpr msg_type type_of<fragment>() {
  return msg_type::fragment;
}
template <>
constexpr msg_type type_of<spawn_tied_request>() {
  return msg_type::spawn_tied_request;
}

/// True for the handshake messages, the only ones a connection may send
/// before it is authenticated.
constexpr bool is_handshake(msg_type t) { return static_cast<int>(t) >= 1 && static_cast<int>(t) <= 5; }

}  // namespace cluster::internal::wire

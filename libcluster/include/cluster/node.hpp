// A cluster node embedded in a program: it listens for peers and clients,
// authenticates every connection with the cookie, joins the cluster through
// its seeds (gossip membership: SWIM + Lifeguard over UDP), and keeps a link
// to every live member. It runs processes (`processes()`)
// that address processes on other nodes exactly as local ones, and serves
// calls and spawns of its registered functions (`functions()`). `noded` is a
// thin shell around it.
//
// Threading: `start` spawns one I/O thread that owns all sockets and protocol
// state. The other member functions are thread-safe; those that return state
// post a request to the I/O thread and block until it answers (microseconds).
// Event callbacks run on the I/O thread and must not block.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cluster/config.hpp"
#include "cluster/error.hpp"
#include "cluster/events.hpp"
#include "cluster/functions.hpp"
#include "cluster/histogram.hpp"
#include "cluster/member.hpp"
#include "cluster/node_info.hpp"
#include "cluster/runtime.hpp"

namespace cluster {

/// One link to a peer node: what went through it, and what waits for it.
/// A node that is not linked yet but has messages waiting gets a row too
/// (creation 0, up_for 0).
struct link_stats {
  std::string node;  ///< name@host
  std::uint32_t creation = 0;
  std::uint64_t frames_in = 0, frames_out = 0, bytes_in = 0, bytes_out = 0;  ///< this link
  std::uint64_t messages_in = 0, messages_out = 0;  ///< with this node, since it was first linked
  /// Waiting to go: for the link to come up, or for room in the transport;
  /// bytes include what senders have queued and the I/O thread not yet seen.
  std::uint64_t queued = 0, queued_bytes = 0;
  std::chrono::milliseconds up_for{0};
  bool busy = false;            ///< queued_bytes passed node_config::peer_queue_bytes (not yet down to half)
  std::uint64_t suspended = 0;  ///< processes suspended until the queue drains
};

/// The node's counters (`clusterctl stats`, `noded --metrics-port`). Every
/// drop is counted somewhere here.
struct node_stats {
  std::uint64_t frames_in = 0, frames_out = 0, bytes_in = 0, bytes_out = 0;
  std::uint64_t handshakes_ok = 0, handshakes_failed = 0, auth_failures = 0;
  std::uint64_t refused_pending_cap = 0, malformed_frames = 0, send_failures = 0, links_lost = 0;
  std::uint64_t dropped_from_closed = 0;
  std::uint64_t refused_backoff = 0;    ///< connections from a source backed off after failed authentications
  std::uint64_t refused_admission = 0;  ///< connections without a valid admission token (wrong cookie, clock, replay)
  /// Connections that failed ZeroMQ's handshake before any message was read:
  /// refused at admission, or not presenting a token at all.
  std::uint64_t zmtp_handshakes_refused = 0;
  std::uint64_t unopened_frames = 0;  ///< sealed frames forged, altered or replayed (peer dropped)
  /// The direct lane (node_config::dist_port): node links on it now; first
  /// contacts replaced by a direct link; direct dials that did not connect
  /// (that peer's links then go through ZeroMQ); connections refused at its
  /// admission, malformed, or silent before it; and its links lost, of them
  /// to heartbeat silence.
  std::uint64_t direct_links = 0, direct_upgrades = 0, direct_dials_failed = 0, direct_handshakes_refused = 0;
  std::uint64_t direct_disconnects = 0, direct_heartbeat_timeouts = 0;
  /// Turns of I/O that idle workers took and that moved traffic: messages
  /// read off the direct lane by the worker that then ran their receivers,
  /// or sent without waking the I/O thread (docs/ARCHITECTURE.md, "Turns of I/O").
  std::uint64_t worker_io_turns = 0;
  std::uint64_t remote_sent = 0, remote_received = 0, remote_frames = 0;
  std::uint64_t dropped_unserializable = 0;  ///< non-term messages to remote PIDs
  std::uint64_t dropped_no_connection = 0;   ///< messages to nodes without a link
  std::uint64_t dropped_busy = 0;            ///< messages to a node whose queue was past 4x its bound
  std::uint64_t suspensions = 0;             ///< times a sender was suspended at a busy node
  std::uint64_t suspended = 0;               ///< processes suspended right now
  std::uint64_t flow_records = 0;            ///< nodes with send accounting kept (linked, or messages on their way)
  std::uint64_t fragments = 0;               ///< pieces of large messages sent
  std::uint64_t dropped_fragmented = 0;      ///< large messages received over max_message_bytes
  std::uint64_t group_publishes = 0;         ///< pg::publish calls made here
  std::uint64_t group_remote_copies = 0;     ///< their copies sent to other nodes (one per node with members)
  std::uint64_t group_fanned_out = 0;        ///< messages handed to our members for other nodes' publishes
  std::uint64_t global_name_conflicts = 0;   ///< claims of ours that lost to another node's
  std::uint64_t global_names_released = 0;   ///< claims of ours released on the minority side of a partition
  std::uint64_t calls = 0, spawns = 0;       ///< served here
  std::uint64_t connections = 0;             ///< open: links, clients, handshakes
  std::uint64_t processes = 0;
  // The runtime's drops (runtime_stats).
  std::uint64_t dropped_dead = 0, dropped_foreign = 0, dropped_at_exit = 0, dropped_mailbox_full = 0;
  std::uint64_t crashed = 0;  ///< processes that threw
  // Membership (SWIM + Lifeguard over UDP).
  std::uint64_t membership_datagrams_in = 0, membership_datagrams_out = 0;
  std::uint64_t membership_bytes_in = 0, membership_bytes_out = 0;
  std::uint64_t membership_auth_failures = 0;   ///< datagrams sealed with another cookie, or junk
  std::uint64_t membership_malformed = 0;       ///< opened but undecodable
  std::uint64_t membership_misdirected = 0;     ///< probes for an earlier incarnation (normal after a restart)
  std::uint64_t membership_name_conflicts = 0;  ///< another live process claims our name
  std::uint64_t membership_oversized = 0;       ///< claims too big for a datagram, dropped
  std::uint64_t queued_messages = 0;            ///< waiting to go to other nodes
  std::uint64_t membership_send_errors = 0;
  std::uint64_t probes = 0, probe_failures = 0, suspicions = 0, refutations = 0, declared_dead = 0;
  std::uint64_t local_health = 0;  ///< Lifeguard's score: 0 healthy; timeouts stretch by (1 + score)

  std::vector<link_stats> links;          ///< one per linked node, by name
  histogram call_latency, spawn_latency;  ///< of calls and spawns our processes made

  /// Every counter above with a stable snake_case name, in declaration order.
  std::vector<std::pair<std::string, std::uint64_t>> counters() const;
  /// Sets the counters named in `by_name` (the inverse of `counters`).
  void assign(const std::map<std::string, std::uint64_t>& by_name);
};

class node {
 public:
  /// Resolves the host, binds the listener, and starts the I/O thread.
  /// Errors: `unknown_node` (host does not resolve), `io_error` (port in use),
  /// `bad_argument` (empty cookie).
  static result<std::unique_ptr<node>> start(node_config config);

  /// Leaves (peers see a graceful leave, not a failure) and joins the I/O thread.
  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// Tells peers we are leaving and stops. Idempotent; also done by the destructor.
  void stop();
  /// Leaves the cluster gracefully (members record `left`) but keeps running
  /// alone: local processes go on; no links, no membership. Idempotent.
  void leave();

  const node_name& name() const;
  std::uint32_t creation() const;
  node_info info() const;
  /// Nodes we have a link to (Erlang's `nodes()`).
  std::vector<peer_node> nodes() const;
  /// Every member the membership layer knows, ourselves included, with its
  /// state (alive, suspect, dead, left), incarnation, tags and last change.
  std::vector<member> members() const;
  /// How `name` got to its present state in our view, newest first
  /// (`clusterctl why`): state, incarnation, reason and reporter of each change.
  std::vector<member_history_entry> why(const std::string& name) const;
  /// Replaces our tags; every member learns them (a `node_updated` event).
  void set_tags(std::map<std::string, std::string> tags);
  node_stats stats() const;

  /// The node's process runtime: PIDs it hands out carry this node's name
  /// and creation, and sends to PIDs of other nodes go over the cluster.
  cluster::runtime& processes();
  /// Functions that other nodes and clients may call or spawn here.
  function_registry& functions();

  /// Sends every later node event to the process `watcher` as a
  /// `node_event` message (Erlang's monitor_node for all nodes).
  void monitor_nodes(const pid& watcher);

  /// Calls `fn` for every later node event. Returns nothing to unsubscribe
  /// with yet: subscriptions live as long as the node.
  void subscribe(std::function<void(const node_event&)> fn);

 private:
  class impl;
  explicit node(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace cluster

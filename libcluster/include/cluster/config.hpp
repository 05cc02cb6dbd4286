// Configuration of an embedded node. Durations are std::chrono types; sizes
// are in bytes or counts as named. The defaults suit a LAN.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cluster/membership_config.hpp"
#include "cluster/node_name.hpp"

namespace cluster {

/// What a node does when a partition leaves it on the smaller side
/// (docs/GROUPS.md, "Partitions"). Membership and processes go on in every
/// case; the policy decides about global names.
enum class partition_policy {
  keep_running,   ///< nothing changes (Erlang's behaviour): names may conflict, resolved after the heal
  keep_majority,  ///< with half or fewer of the known members alive, our global names are released
  static_quorum,  ///< with fewer than `quorum` members alive (us included), our global names are released
};

struct node_config {
  node_name name;      ///< who we are; the port is where we listen
  std::string cookie;  ///< the shared secret (see cookie.hpp to find it)
  /// Other cookies accepted from peers, for changing the cookie without
  /// downtime: we connect with `cookie`, and take any of these too.
  std::vector<std::string> accepted_cookies;
  std::vector<node_name> join;  ///< seeds: retried until linked, and after a loss
  /// Links to nodes and clients are sealed (ChaCha20-Poly1305, keys from the
  /// cookie and each handshake) unless this is set; every node and client of
  /// a cluster must agree. For benchmarks and debugging only (docs/SECURITY.md).
  bool insecure_plaintext = false;
  /// Where other nodes' links come in: plain TCP on this port, read and
  /// written by the node's own I/O thread, without ZeroMQ's threads in the
  /// way (about half a round trip, docs/PERFORMANCE.md). 0: any free port;
  /// a node's first contact (at `name.port`, through ZeroMQ) tells its peer
  /// which. Unset: links go through ZeroMQ at `name.port`, as clients do.
  std::optional<std::uint16_t> dist_port = 0;
  /// The address to listen on; empty means the address `name.host` resolves to.
  /// `0.0.0.0` listens everywhere (containers that know their name only by DNS).
  std::string listen_address;

  std::chrono::milliseconds handshake_timeout{5000};  ///< per handshake step
  std::size_t max_pending_handshakes = 64;            ///< unauthenticated connections at once
  /// The largest frame decoded before the cookie handshake completes (a
  /// handshake message is well under 1 KiB); more drops the connection.
  std::size_t max_pre_auth_frame_bytes = 4096;
  /// A source address whose handshakes failed authentication more than this
  /// many times has its new connections refused, for 1 s, then twice as long
  /// after each further failure, up to `auth_backoff_max` (counted:
  /// `refused_backoff`). A success starts it afresh. 0: no back-off.
  std::size_t auth_failures_before_backoff = 10;
  std::chrono::milliseconds auth_backoff_max{60000};
  std::chrono::milliseconds retry_interval{1000};     ///< between attempts to reach a peer
  std::chrono::milliseconds forget_after{30000};      ///< stop retrying a lost non-seed peer
  std::chrono::milliseconds heartbeat_timeout{5000};  ///< a silent connection is dropped after this
  /// The largest frame ZeroMQ reads from a connection (it drops one that
  /// sends more); before admission, this bounds one handshake command.
  std::size_t max_frame_bytes = 64u << 20;
  /// Flow control: bytes that may wait to go to one peer node. Past it, a
  /// process that sends there is suspended until the queue is down to half
  /// (Erlang's busy distribution port, `+zdbbl`); past four times it,
  /// messages to that node are dropped and counted (`dropped_busy`).
  std::size_t peer_queue_bytes = 16u << 20;
  /// The largest message a peer may send us (messages over 64 KiB travel in
  /// fragments and are put together here); larger ones are dropped, counted.
  std::size_t max_message_bytes = 256u << 20;
  std::size_t workers = 0;  ///< process scheduler threads; 0 = one per core
  /// How long the node's I/O thread and its idle scheduler threads keep
  /// looking for work after their last, yielding the CPU between looks,
  /// before they sleep (Erlang's `+sbwt`/`+swt`). Waking a sleeping thread
  /// costs tens of microseconds on a VM, several times per remote round
  /// trip; an idle node never waits this way. 0: sleep at once (saves CPU
  /// on a lightly loaded, shared machine, at the cost of latency).
  std::chrono::microseconds busy_wait{300};
  /// Messages that may wait in one mailbox before further sends to it are
  /// dropped and counted (`dropped_mailbox_full`); see runtime_config.
  std::size_t max_mailbox = 10'000'000;

  /// Membership (SWIM + Lifeguard over UDP on the same port number as the
  /// data listener): timings, from a preset (`membership_config::lan()` etc.).
  membership_config membership = membership_config::lan();
  std::map<std::string, std::string> tags;  ///< travel with our membership entry
  /// More ways to find seeds, re-resolved every discovery_interval:
  /// `dns:NAME` or `dns:NAME:PORT` (every A/AAAA record is a seed), `multicast`.
  std::vector<std::string> discover;
  std::chrono::milliseconds discovery_interval{5000};

  /// Partitions: the policy, the quorum for `static_quorum`, and a callback
  /// (on the node's I/O thread; must not block) called with false when the
  /// node finds itself on the minority side, and with true when it is back.
  /// On the minority side our global names are released (each owner gets
  /// [name_released, Name, "minority"]) and new ones are refused; a minority
  /// view counts once it has lasted `membership.quorum_settle` (until then
  /// the majority may already own the same names: docs/GROUPS.md).
  partition_policy partitions = partition_policy::keep_running;
  std::size_t quorum = 0;
  std::function<void(bool has_quorum)> on_quorum_change;

  /// Modules (shared objects; see module.hpp) loaded at start, in order; one
  /// that fails to load fails the start.
  std::vector<std::string> modules;
  /// Directories that loads asked for over the network (`code:load`,
  /// `code:upgrade`: `clusterctl load`, `upgrade`) may come from. None: such
  /// requests are refused.
  std::vector<std::string> module_dirs;

  /// Called (on the node's I/O thread) when an authenticated client asks the
  /// node to stop (`clusterctl stop`); noded exits. Without it, such requests
  /// are refused. It must not block: let another thread call `node::stop`.
  std::function<void()> on_stop_request;
};

}  // namespace cluster

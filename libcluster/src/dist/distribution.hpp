// Processes across nodes: routing of messages and signals to PIDs of other
// nodes, remote calls, casts and spawns of registered functions, and the
// `noconnection` signals when a node goes away.
//
// Outbound, `route` runs on the sending process's thread: it encodes the
// envelope as a wire message and appends it to an outbox; the I/O thread
// drains the outbox in `flush` into one queue per peer node and packs each
// queue into as few frames as it can (one ZeroMQ frame carries many
// messages). Inbound, `handle` runs on the I/O thread and delivers into the
// runtime.
//
// Flow control: each peer node's queue is bounded in bytes (`peer_flow`).
// Past the bound the sending process is suspended until the queue drains;
// ZeroMQ's own queue per connection is kept short (a few frames), so what
// waits is counted here. A message over `fragment_bytes` goes in fragments,
// one at a time, interleaved with the small messages, so it cannot hold them
// up for long; later messages to the same receiver wait behind it, which
// keeps the order per sender and receiver.
//
// Only `term` messages cross nodes; any other C++ type sent to a remote PID is
// dropped and counted (`dropped_unserializable`). Links and monitors between a
// local and a remote process are remembered per remote node, so that when the
// node goes down every one of them fires with reason `noconnection`.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster/functions.hpp"
#include "cluster/histogram.hpp"
#include "dist/peer_flow.hpp"
#include "links/link_manager.hpp"
#include "runtime/runtime_core.hpp"

namespace cluster::internal {

struct dist_stats {
  std::atomic<std::uint64_t> sent{0}, received{0}, dropped_unserializable{0}, dropped_no_connection{0},
      dropped_unknown_name{0}, calls{0}, spawns{0}, frames{0};
  /// Messages dropped because their node's queue was past four times its
  /// bound; senders suspended at a busy node; fragments sent; messages in
  /// fragments dropped (over max_message_bytes, or undecodable).
  std::atomic<std::uint64_t> dropped_busy{0}, suspensions{0}, fragments{0}, dropped_fragmented{0};
  /// Round trips of the calls and spawns our processes made (requests_mutex_).
  histogram call_latency, spawn_latency;
};

struct dist_limits {
  std::size_t peer_queue_bytes = 16u << 20;    ///< per peer node: past it senders are suspended
  std::size_t max_message_bytes = 256u << 20;  ///< one message, reassembled from fragments
};

class distribution final : public remote_router {
 public:
  struct hooks {
    std::function<void()> wake;                       ///< wake the I/O thread (any thread)
    std::function<void(std::function<void()>)> post;  ///< run on the I/O thread (any thread)
  };
  distribution(runtime_core& rt, link_manager& links, function_registry& functions, hooks h,
               dist_limits l = dist_limits());
  /// Messages over this many encoded bytes go in fragments of this size.
  static constexpr std::size_t fragment_bytes = 64 * 1024;

  // -- any thread --
  void route(const pid& to, std::unique_ptr<detail::envelope> e) override;
  bool route_named(const std::string& node, const std::string& name, std::unique_ptr<detail::envelope> e) override;
  void request(const std::string& node, std::optional<pid> reply_to, std::uint64_t id, const std::string& function,
               const term& args, bool spawn, spawn_ties ties) override;

  bool busy(const node_atom& node) const override;

  // -- I/O thread --
  /// Sends what processes queued since the last flush, as far as the
  /// transport takes it.
  void flush();
  /// True while a linked node's queue holds what the transport refused (its
  /// queue was full): call `flush` again soon.
  bool backlogged() const { return backlogged_; }
  /// Handles a distribution message; false if `m` is not one.
  bool handle(const link_info& from, wire::message& m);
  /// Fires `noconnection` for every link and monitor with processes of `node`.
  void on_node_down(const std::string& node);
  /// Forgets forwarded calls nobody will answer any more, and the flow
  /// records of nodes nothing goes to.
  void tick(time_point now);
  /// The node is leaving: from now on everything bounces at once, and no
  /// sender waits for a queue any more (any thread).
  void close();
  /// Messages waiting to go to `node`: for its link to come up, or for room
  /// in the transport (I/O thread).
  std::size_t queued(const std::string& node) const {
    const auto it = queues_.find(node);
    return it == queues_.end() ? 0 : it->second.size();
  }
  /// Messages to and from a peer node since it was first linked (I/O thread).
  struct node_traffic {
    std::uint64_t messages_in = 0, messages_out = 0;
  };
  node_traffic traffic(const std::string& node) const {
    const auto it = traffic_.find(node);
    return it == traffic_.end() ? node_traffic{} : it->second;
  }
  /// Bytes waiting to go to `node`, counted from the sender's side (outbox
  /// included); processes suspended on it (any thread).
  struct node_flow {
    std::size_t bytes = 0, suspended = 0;
    bool busy = false;
  };
  node_flow flow(const std::string& node) const;
  /// Nodes that have messages waiting (I/O thread).
  std::vector<std::string> queued_nodes() const {
    std::vector<std::string> out;
    for (const auto& [node, q] : queues_)
      if (!q.empty()) out.push_back(node);
    return out;
  }
  /// Messages waiting for any node (I/O thread).
  std::size_t queued_total() const {
    std::size_t n = 0;
    for (const auto& [node, q] : queues_) n += q.size();
    return n;
  }
  /// Processes suspended at any busy node (any thread).
  std::size_t suspended_total() const;
  /// Nodes with send accounting kept: linked ones, and those that messages
  /// are on their way to (any thread). The others' records go at the next
  /// sweep (once a second), a node whose link went once its queue is
  /// dropped (at most hold_limit later).
  std::size_t flow_records() const;
  /// on_node_down for every linked node in `linked` and every node with
  /// messages waiting: leaving, nothing will reach them any more.
  template <class Links>
  void on_every_node_down(const Links& linked) {
    std::vector<std::string> nodes;
    for (const auto& l : linked) nodes.push_back(l.name);
    for (const auto& [node, q] : queues_)
      if (!q.empty()) nodes.push_back(node);
    for (const auto& n : nodes) on_node_down(n);
  }
  /// Snapshots of the latency histograms (any thread).
  std::pair<histogram, histogram> latencies() const {
    std::lock_guard lock(requests_mutex_);
    return {stats_.call_latency, stats_.spawn_latency};
  }

  const dist_stats& stats() const { return stats_; }

 private:
  /// What to tell a local process if its signal cannot leave this node.
  struct bounce_info {
    enum class what : std::uint8_t { none, link, monitor, request } kind = what::none;
    pid local, remote;
    ref monitor;
    std::uint64_t request_id = 0;
  };
  /// Where the answer to a function run goes: a connection (a client or a
  /// forwarding node) or a local process.
  struct answer_to {
    bool wanted = false;
    conn_id conn = 0;
    std::optional<pid> process;
    std::uint64_t id = 0;
  };
  /// A call a local process made to another node.
  struct pending_request {
    pid reply_to;
    node_atom node;
    time_point expires{};  ///< forgotten then, if no answer came (the caller gave up long before)
    time_point started{};
    bool spawn = false;
    spawn_ties ties;  ///< set up our process's half when the pid comes
  };
  struct outgoing {
    node_atom node;
    wire::bytes bytes;
    bounce_info bounce;
    std::uint64_t receiver = 0;       ///< messages to one receiver keep their order
    std::shared_ptr<peer_flow> flow;  ///< where `bytes` were counted
  };
  /// What waits to go to one peer node (I/O thread).
  struct peer_queue {
    std::deque<outgoing> small;  ///< go whole, many to a frame
    /// Go in fragments, one message at a time; also any later message to a
    /// receiver that a large message is still on its way to.
    std::deque<outgoing> large;
    std::unordered_map<std::uint64_t, std::size_t> large_receivers;  ///< receivers with messages in `large`
    /// Receivers with messages in `small`: a large message starts only once
    /// those queued before it for its receiver have gone.
    std::unordered_map<std::uint64_t, std::size_t> small_receivers;
    std::size_t large_sent = 0;  ///< bytes of `large.front()` already sent
    /// The frame being built, or built and refused by the transport (its
    /// queue was full): then it goes first, next time.
    struct frame {
      wire::bytes bytes;
      std::vector<bounce_info> bounces;  ///< of the messages in it
      /// Bytes it takes off each flow once it goes.
      std::vector<std::pair<std::shared_ptr<peer_flow>, std::size_t>> counted;
      std::size_t messages = 0;  ///< messages it completes
      std::size_t fragments = 0;
    } unsent;
    time_point since{};  ///< when the oldest waiting message came

    std::size_t size() const { return small.size() + large.size() + unsent.messages; }
    bool empty() const { return small.empty() && large.empty() && unsent.bytes.empty(); }
  };
  /// A link or monitor between a local process and a process of another node.
  struct tie {
    enum class what : std::uint8_t { link, monitor_by_local } kind = what::link;
    pid local, remote;
    ref monitor;
  };
  struct forward {
    conn_id reply_conn = 0;
    std::uint64_t request_id = 0;  ///< the requester's own id
    bool spawn = false;
    std::string target;
    time_point expires{};
  };
  /// How long a forwarded call is remembered without an answer.
  static constexpr duration forward_lifetime = std::chrono::minutes(10);

  /// Queues `m` for `node`. `droppable`: a message (not a signal or a
  /// request), dropped and counted if the node's queue is past four times
  /// its bound.
  void enqueue(const node_atom& node, const wire::message& m, std::uint64_t receiver, bool droppable, bounce_info b);
  void enqueue(const node_atom& node, const wire::message& m, std::uint64_t receiver, bool droppable) {
    enqueue(node, m, receiver, droppable, bounce_info());
  }
  std::shared_ptr<peer_flow> flow_of(const node_atom& node);
  void intake(outgoing out);
  /// Moves what processes queued into the per-node queues (sends nothing).
  void take_outbox();
  /// Sends as much of `q` as the transport takes; false if it refused some.
  bool send_queue(conn_id link, const std::string& node, peer_queue& q);
  /// Moves a whole message into `f`.
  static void take_whole(outgoing& out, peer_queue::frame& f);
  /// Moves the next piece of the large lane into `f`.
  void take_large(peer_queue& q, peer_queue::frame& f);
  /// Drops (counted) and bounces what waits for `node`.
  void drop_queue(const std::string& node);
  /// A fragment from `node`; decodes and handles the whole when it is complete.
  void reassemble(const link_info& from, wire::fragment& f);
  void remember(const std::string& node, tie t);
  void forget_link(const pid& local, const pid& remote);
  void forget_monitor(const ref& r);
  void bounce_noconnection(const bounce_info& b);
  void deliver_signal(const wire::process_signal& s, const std::string& from_node);
  /// Runs `function` in a new process (its pid, unless the function is
  /// unknown); `child` ties a spawned one to a process before it runs.
  std::optional<pid> run_function(answer_to answer, const std::string& function, const term& args, bool spawn,
                                  const spawn_options& child = {});
  /// The body of a process that runs a registered function. All it needs
  /// is a parameter, so it lives in the coroutine's frame (see
  /// runtime_core::spawn_frame).
  static task run_registered(context& ctx, distribution& self, std::shared_ptr<const function_body> fn, term args,
                             answer_to a, bool reply_with_result);
  void answer(const answer_to& a, bool spawn, errc code, term value, const std::string& text);
  /// Sends a `call_reply` (or, for a spawn, a `spawn_reply`) on a connection
  /// (I/O thread).
  void send_reply(conn_id conn, bool spawn, std::uint64_t id, errc code, const term& value, const std::string& text);
  /// Sends on a connection (I/O thread): to a node through its queue, so it
  /// keeps its place after what went before and waits out a full transport;
  /// to a client at once.
  void send_on(conn_id conn, const wire::message& m);
  /// Delivers the answer to a call a local process made; false (and `value`
  /// untouched) if `id` is not one of those.
  bool finish_request(std::uint64_t id, errc code, term& value, const std::string& text);
  template <class Request>
  void forward_request(conn_id from, Request request, bool spawn, time_point now);
  /// Relays an answer from the node a call was forwarded to; false if `id`
  /// is not one we forwarded.
  bool relay(std::uint64_t id, errc code, const term& value, const std::string& text);
  time_point now_() const { return rt_.timers().time().now(); }

  runtime_core& rt_;
  link_manager& links_;
  function_registry& functions_;
  hooks hooks_;
  dist_limits limits_;
  dist_stats stats_;

  std::atomic<bool> closed_{false};
  mutable std::mutex outbox_mutex_;  // guards outbox_ and flows_
  std::vector<outgoing> outbox_;
  std::vector<outgoing> flushing_;  ///< the outbox being flushed (I/O thread)
  /// Per peer node. A record is copied out only under outbox_mutex_ (never
  /// as a raw or weak pointer): tick() relies on that to forget idle ones.
  std::unordered_map<node_atom, std::shared_ptr<peer_flow>> flows_;
  /// What waits to go, per peer node (I/O thread only): for the transport to
  /// take it, or for a live member's link to come up (bounced if the member
  /// goes or the link does not come up within hold_limit).
  std::map<std::string, peer_queue> queues_;
  bool backlogged_ = false;
  std::map<std::string, node_traffic> traffic_;  ///< per peer node (I/O thread only)
  /// The message arriving in fragments from each peer node (I/O thread).
  struct reassembly {
    std::uint64_t total = 0, received = 0;
    wire::bytes bytes;
    bool skipping = false;  ///< over max_message_bytes: the rest is dropped
  };
  std::unordered_map<std::string, reassembly> reassembly_;
  static constexpr duration hold_limit = std::chrono::seconds(10);

  mutable std::mutex requests_mutex_;  // guards requests_
  std::map<std::uint64_t, pending_request> requests_;
  time_point next_sweep_{};  // I/O thread: when `tick` next looks for expired requests

  std::mutex ties_mutex_;                 // guards ties_
  std::multimap<std::string, tie> ties_;  ///< by remote node

  // I/O thread only
  std::map<std::uint64_t, forward> forwards_;
  std::uint64_t next_forward_ = 1;
};

}  // namespace cluster::internal

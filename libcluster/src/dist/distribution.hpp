// Processes across nodes: routing of messages and signals to PIDs of other
// nodes, remote calls, casts and spawns of registered functions, and the
// `noconnection` signals when a node goes away.
//
// Outbound, `route` runs on the sending process's thread: it encodes the
// envelope as a wire message and appends it to an outbox; the I/O thread
// drains the outbox in `flush`, packing every message for one node into as
// few frames as it can (one ZeroMQ frame carries many messages). Inbound,
// `handle` runs on the I/O thread and delivers into the runtime.
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
#include <mutex>
#include <string>
#include <vector>

#include "cluster/functions.hpp"
#include "cluster/histogram.hpp"
#include "links/link_manager.hpp"
#include "runtime/runtime_core.hpp"

namespace cluster::internal {

struct dist_stats {
  std::atomic<std::uint64_t> sent{0}, received{0}, dropped_unserializable{0}, dropped_no_connection{0},
      dropped_unknown_name{0}, calls{0}, spawns{0}, frames{0};
  /// Round trips of the calls and spawns our processes made (requests_mutex_).
  histogram call_latency, spawn_latency;
};

class distribution final : public remote_router {
 public:
  struct hooks {
    std::function<void()> wake;                       ///< wake the I/O thread (any thread)
    std::function<void(std::function<void()>)> post;  ///< run on the I/O thread (any thread)
  };
  distribution(runtime_core& rt, link_manager& links, function_registry& functions, hooks h);

  // -- any thread --
  void route(const pid& to, std::unique_ptr<detail::envelope> e) override;
  void route_named(const std::string& node, const std::string& name, std::unique_ptr<detail::envelope> e) override;
  void request(const std::string& node, std::optional<pid> reply_to, std::uint64_t id, const std::string& function,
               const term& args, bool spawn) override;

  // -- I/O thread --
  /// Sends what processes queued since the last flush.
  void flush();
  /// Handles a distribution message; false if `m` is not one.
  bool handle(const link_info& from, wire::message& m);
  /// Fires `noconnection` for every link and monitor with processes of `node`.
  void on_node_down(const std::string& node);
  /// Forgets forwarded calls nobody will answer any more.
  void tick(time_point now);
  /// The node is leaving: from now on everything bounces at once (any thread).
  void close() { closed_.store(true); }
  /// Messages waiting for a link to `node` to come up (I/O thread).
  std::size_t held(const std::string& node) const {
    const auto it = held_.find(node);
    return it == held_.end() ? 0 : it->second.size();
  }
  /// Messages to and from a peer node since it was first linked (I/O thread).
  struct node_traffic {
    std::uint64_t messages_in = 0, messages_out = 0;
  };
  node_traffic traffic(const std::string& node) const {
    const auto it = traffic_.find(node);
    return it == traffic_.end() ? node_traffic{} : it->second;
  }
  /// Bytes of the messages waiting for a link to `node` (I/O thread).
  std::size_t held_bytes(const std::string& node) const {
    std::size_t n = 0;
    if (const auto it = held_.find(node); it != held_.end())
      for (const auto& out : it->second) n += out.bytes.size();
    return n;
  }
  /// Nodes that have messages waiting for their link (I/O thread).
  std::vector<std::string> held_nodes() const {
    std::vector<std::string> out;
    for (const auto& [node, q] : held_) out.push_back(node);
    return out;
  }
  /// Messages waiting for any link (I/O thread).
  std::size_t held_total() const {
    std::size_t n = 0;
    for (const auto& [node, q] : held_) n += q.size();
    return n;
  }
  /// on_node_down for every linked node in `linked` and every node with
  /// messages waiting: leaving, nothing will reach them any more.
  template <class Links>
  void on_every_node_down(const Links& linked) {
    std::vector<std::string> nodes;
    for (const auto& l : linked) nodes.push_back(l.name);
    for (const auto& [node, q] : held_) nodes.push_back(node);
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
    std::string node;
    time_point expires{};  ///< forgotten then, if no answer came (the caller gave up long before)
    time_point started{};
    bool spawn = false;
  };
  struct outgoing {
    std::string node;
    wire::bytes bytes;
    bounce_info bounce;
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

  void enqueue(const std::string& node, const wire::message& m);
  void enqueue(const std::string& node, const wire::message& m, bounce_info b);
  void remember(const std::string& node, tie t);
  void forget_link(const pid& local, const pid& remote);
  void forget_monitor(const ref& r);
  void bounce_noconnection(const bounce_info& b);
  /// Drops (counted) and bounces what waits for a link to `node`.
  void bounce_held(const std::string& node);
  void deliver_signal(const wire::process_signal& s, const std::string& from_node);
  void run_function(answer_to answer, const std::string& function, const term& args, bool spawn);
  void answer(const answer_to& a, bool spawn, errc code, term value, const std::string& text);
  /// Sends a `call_reply` (or, for a spawn, a `spawn_reply`) on a connection.
  static void send_reply(link_manager& links, conn_id conn, bool spawn, std::uint64_t id, errc code, const term& value,
                         const std::string& text);
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
  dist_stats stats_;

  std::atomic<bool> closed_{false};
  std::mutex outbox_mutex_;  // guards outbox_
  std::vector<outgoing> outbox_;
  /// Messages for live members whose link is not up yet (I/O thread only);
  /// sent when it comes up, bounced if the member goes.
  std::map<std::string, std::deque<outgoing>> held_;
  std::map<std::string, time_point> held_since_;  ///< when the oldest held message came
  std::map<std::string, node_traffic> traffic_;   ///< per peer node (I/O thread only)
  static constexpr std::size_t max_held_per_node = 65536;
  static constexpr duration hold_limit = std::chrono::seconds(10);

  mutable std::mutex requests_mutex_;  // guards requests_
  std::map<std::uint64_t, pending_request> requests_;

  std::mutex ties_mutex_;                 // guards ties_
  std::multimap<std::string, tie> ties_;  ///< by remote node

  // I/O thread only
  std::map<std::uint64_t, forward> forwards_;
  std::uint64_t next_forward_ = 1;
};

}  // namespace cluster::internal

#include "cluster/node.hpp"

#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <future>
#include <iterator>
#include <mutex>
#include <thread>

#include "cluster/groups.hpp"
#include "cluster/log.hpp"
#include "cluster/version.hpp"
#include "crypto/keys.hpp"
#include "dist/distribution.hpp"
#include "links/link_manager.hpp"
#include "membership/membership_service.hpp"
#include "modules/module_host.hpp"
#include "services/cluster_services.hpp"
#include "services/quorum_watch.hpp"
#include "transport/dual_transport.hpp"
#include "transport/resolve.hpp"
#include "wire/member_rows.hpp"

namespace cluster {

using internal::link_info;
using internal::link_manager;
namespace membership = internal::membership;
namespace wire = internal::wire;

// Everything below runs in a turn of I/O (holding io_turn_) except `post`,
// `call`, `wake`, `send_soon` and the constructor/`start`/`stop` path, which
// only touch the command queue and the flags. The I/O thread takes turns;
// with the direct lane, so does a busy-waiting worker (`poll`) while the I/O
// thread is between turns: it reads the direct lane and sends what waits, so
// a message reaches the process it wakes, and the process's answer the
// wire, with no hand-over between threads (docs/ARCHITECTURE.md, "Turns of
// I/O").
class node::impl final : public internal::link_listener, public internal::idle_work {
 public:
  impl(node_config cfg, std::uint32_t creation, std::string listen_ip)
      : cfg_(std::move(cfg)),
        creation_(creation),
        listen_ip_(std::move(listen_ip)),
        transport_(ctx_, transport_options(cfg_)),
        direct_(direct_options(cfg_)),
        lanes_(transport_, direct_),
        links_(link_config(cfg_, creation_), lanes_, clock_, *this),
        started_(clock_.now()),
        runtime_(runtime_config_of(cfg_, creation_)),
        dist_(runtime_.core(), links_, functions_,
              {[this] { send_soon(); }, [this](std::function<void()> fn) { (void)post(std::move(fn)); }},
              {cfg_.peer_queue_bytes, cfg_.max_message_bytes}),
        modules_(functions_, runtime_, cfg_.module_dirs),
        services_(runtime_, replica_hooks()) {
    runtime_.core().set_remote(&dist_);
    runtime_.core().set_services(&services_);
    add_builtins();
    modules_.add_functions();
  }

  ~impl() override {
    stop();
    runtime_.core().set_idle_work(nullptr);
    {
      std::lock_guard lock(membership_mutex_);  // a replica may be reading who is up
      membership_.reset();                      // its thread posts to us: it goes first
    }
    runtime_.shutdown();  // before the distribution layer its processes route through goes
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }

  cluster::runtime& processes() { return runtime_; }
  function_registry& functions() { return functions_; }

  result<void> start() {
    for (const auto& path : cfg_.modules)
      if (auto loaded = modules_.load(path, internal::module_host::origin::config); !loaded) return loaded.err();
    if (auto bound = transport_.bind(listen_ip_, cfg_.name.port); !bound) return bound;
    std::string links_at = "through ZeroMQ";
    if (cfg_.dist_port) {
      if (auto bound = direct_.bind(listen_ip_, *cfg_.dist_port); !bound)
        return error{bound.err().code, "dist port: " + bound.err().message};
      dist_port_ = direct_.bound_port();
      links_.set_dist_port(dist_port_);
      links_at = "direct, dist port " + std::to_string(dist_port_);
    }
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) return error{errc::io_error, "eventfd failed"};
    auto members = membership::membership_service::start(
        membership_options(), [this](const member& m, membership::change what, const std::string& reporter) {
          (void)post([this, m, what, reporter] { on_member_change(m, what, reporter); });
        });
    if (!members) return members.err();
    {
      std::lock_guard lock(membership_mutex_);
      membership_ = std::move(members).value();
    }
    log(log_level::info, cfg_.name.id() + ": listening on " + listen_ip_ + ":" + std::to_string(cfg_.name.port) +
                             " (creation " + std::to_string(creation_) + "; node links " + links_at + ")");
    {
      std::lock_guard turn(io_turn_);
      io_open_ = true;
    }
    thread_ = std::thread([this] { run(); });
    runtime_.core().set_idle_work(this);
    services_.start();  // groups and global names: they need membership
    // Dial the seeds too: a handshake that fails says why on both sides
    // (cookie mismatch, duplicate name), which a dropped datagram cannot.
    post([this] {
      for (const auto& seed : cfg_.join) links_.join(seed);
    });
    return {};
  }

  std::vector<member> members() const { return membership_->members(); }
  std::vector<member_history_entry> why(const std::string& name) const { return membership_->history(name); }
  void set_tags(std::map<std::string, std::string> tags) { membership_->set_tags(std::move(tags)); }

  // Leaving: links and monitors with other nodes' processes fire
  // noconnection (Erlang does the same when a node stops), and from now on
  // the distribution layer refuses new work at once instead of queueing it.
  void leave_cluster() {
    membership_->leave();  // members record "left", not a failure
    dist_.on_every_node_down(links_.nodes());
    dist_.close();
    links_.leave("shutdown");
    stopping_ = true;
    io_open_ = false;  // workers take no more turns
  }

  void stop() {
    if (on_io_thread()) {  // from an event callback: the loop ends after it returns
      leave_cluster();
      std::lock_guard lock(queue_mutex_);
      accepting_ = false;
      return;
    }
    std::lock_guard stop_lock(stop_mutex_);
    if (!thread_.joinable()) return;
    post([this] { leave_cluster(); });
    {
      std::lock_guard lock(queue_mutex_);
      accepting_ = false;
    }
    thread_.join();
    log(log_level::info, cfg_.name.id() + ": stopped");
  }

  /// Runs `fn` on the I/O thread; false once the node no longer takes work.
  bool post(std::function<void()> fn) {
    {
      std::lock_guard lock(queue_mutex_);
      if (!accepting_) return false;
      queue_.push_back(std::move(fn));
    }
    wake();
    return true;
  }

  void wake() {
    // A spinning I/O thread looks at the flag on every turn: no system call
    // then (a send's, on the sender's thread). We store the flag, then load
    // io_spinning_; run() stores io_spinning_, then loads the flag: one of
    // the two sides sees the other's store, so the I/O thread never blocks
    // on a wake that skipped the descriptor.
    wake_pending_.store(true, std::memory_order_seq_cst);
    if (io_spinning_.load(std::memory_order_seq_cst)) return;
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
  }

  // In a turn of I/O: on the I/O thread, or a worker taking one.
  bool on_io_thread() const { return turn_holder == this || std::this_thread::get_id() == io_thread_id_.load(); }

  // Marks this thread as in a turn of I/O, for `on_io_thread`.
  struct in_turn {
    explicit in_turn(const impl* n) : outer(std::exchange(turn_holder, n)) {}
    ~in_turn() { turn_holder = outer; }
    in_turn(const in_turn&) = delete;
    in_turn& operator=(const in_turn&) = delete;
    const impl* outer;
  };

  // The outbox was empty and a process queued a message for another node.
  // A spinning I/O thread sends it on its next turn, or a polling worker
  // sooner; an I/O thread blocked in poll is woken. Not `wake`: a spinning
  // I/O thread leaves the outbox to a polling worker (see `run`), never the
  // commands.
  void send_soon() {
    outbox_pending_.store(true, std::memory_order_seq_cst);  // the same handshake as wake's
    if (io_spinning_.load(std::memory_order_seq_cst)) return;
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
  }

  // idle_work: a busy-waiting worker reads the data sockets of both lanes,
  // as a spinning turn of the I/O thread does (which leaves them to it
  // meanwhile), and sends what waits; a process it wakes goes to that
  // worker's own queue, and runs next. Never waits for the turn. Not
  // without the direct lane: ZeroMQ's own I/O thread stands between its
  // sockets and us anyway. ZeroMQ's sockets (clients, and links through
  // ZeroMQ) are read every `zmq_read_every` only: reading them costs each
  // look a few microseconds, which a round trip on the direct lane pays.
  bool poll() override {
    if (!cfg_.dist_port) return false;
    std::unique_lock turn(io_turn_, std::try_to_lock);
    if (!turn || !io_open_) return false;
    const in_turn held(this);
    const time_point now = clock_.now();
    worker_polled_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
    const auto frames_before = dist_.stats().frames.load(std::memory_order_relaxed);
    bool read = false;
    try {
      if (now - zmq_read_at_ >= zmq_read_every) {
        zmq_read_at_ = now;
        read = transport_.read_ready();
      }
      read = direct_.read_ready() || read;
      outbox_pending_.store(false, std::memory_order_relaxed);  // before the flush: a later send sets it again
      dist_.flush();
    } catch (const zmq::error_t& e) {
      log(log_level::error, cfg_.name.id() + ": transport error: " + e.what());
    }
    if (read || dist_.stats().frames.load(std::memory_order_relaxed) != frames_before) {
      worker_turns_.fetch_add(1, std::memory_order_relaxed);
      helped_.store(true, std::memory_order_relaxed);  // traffic: the I/O thread keeps spinning
    }
    return read;
  }

  /// Runs `fn` on the I/O thread and waits for its value.
  template <class F>
  auto call(F fn) -> decltype(fn()) {
    using R = decltype(fn());
    if (on_io_thread()) return fn();
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(fn));
    auto answer = task->get_future();
    if (post([task] { (*task)(); })) return answer.get();
    // Stopped or stopping: once the I/O thread is gone, the state is ours to
    // read. It may still be in its last turn (stopped from a callback).
    std::lock_guard stop_lock(stop_mutex_);
    std::lock_guard turn(io_turn_);
    const in_turn held(this);
    (*task)();
    return answer.get();
  }

  node_info info_now() const {
    node_info i;
    i.name = cfg_.name.id();
    i.host = cfg_.name.host;
    i.port = cfg_.name.port;
    i.creation = creation_;
    i.uptime = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now() - started_);
    i.version = std::string(version);
    i.process_count = runtime_.process_count();
    i.node_count = links_.nodes().size();
    i.dist_port = dist_port_;
    return i;
  }

  std::vector<peer_node> nodes_now() const {
    std::vector<peer_node> out;
    for (const auto& l : links_.nodes()) out.push_back({l.name, l.host, l.port, l.creation});
    return out;
  }

  node_stats stats_now() const {
    const auto& s = links_.stats();
    node_stats out;
    out.frames_in = s.frames_in;
    out.frames_out = s.frames_out;
    out.bytes_in = s.bytes_in;
    out.bytes_out = s.bytes_out;
    out.handshakes_ok = s.handshakes_ok;
    out.handshakes_failed = s.handshakes_failed;
    out.auth_failures = s.auth_failures;
    out.refused_pending_cap = s.refused_pending_cap;
    out.refused_backoff = s.refused_backoff;
    out.refused_admission = s.refused_admission;
    out.zmtp_handshakes_refused = transport_.stats().handshakes_refused;
    out.malformed_frames = s.malformed_frames;
    out.unopened_frames = s.unopened_frames;
    for (const auto& l : links_.nodes()) out.direct_links += lanes_.direct(l.conn) ? 1 : 0;
    out.direct_upgrades = s.direct_upgrades;
    out.direct_dials_failed = s.direct_dials_failed;
    out.direct_handshakes_refused = direct_.stats().handshakes_refused;
    out.direct_disconnects = direct_.stats().disconnects;
    out.direct_heartbeat_timeouts = direct_.stats().heartbeat_timeouts;
    out.worker_io_turns = worker_turns_.load(std::memory_order_relaxed);
    out.send_failures = s.send_failures;
    out.links_lost = s.links_lost;
    out.dropped_from_closed = transport_.stats().dropped_from_closed;
    const auto& d = dist_.stats();
    out.remote_sent = d.sent.load();
    out.remote_received = d.received.load();
    out.remote_frames = d.frames.load();
    out.dropped_unserializable = d.dropped_unserializable.load();
    out.dropped_no_connection = d.dropped_no_connection.load();
    out.calls = d.calls.load();
    out.spawns = d.spawns.load();
    const auto m = membership_->stats();
    out.membership_datagrams_in = m.protocol.datagrams_in;
    out.membership_datagrams_out = m.protocol.datagrams_out;
    out.membership_bytes_in = m.protocol.bytes_in;
    out.membership_bytes_out = m.protocol.bytes_out;
    out.membership_auth_failures = m.auth_failures;
    out.membership_malformed = m.protocol.malformed;
    out.membership_misdirected = m.protocol.misdirected;
    out.membership_name_conflicts = m.protocol.name_conflicts;
    out.membership_oversized = m.protocol.oversized_dropped;
    out.queued_messages = dist_.queued_total();
    out.dropped_busy = d.dropped_busy.load();
    out.suspensions = d.suspensions.load();
    out.suspended = dist_.suspended_total();
    out.flow_records = dist_.flow_records();
    out.fragments = d.fragments.load();
    out.dropped_fragmented = d.dropped_fragmented.load();
    const auto groups = services_.group_counters();
    out.group_publishes = groups[0];
    out.group_remote_copies = groups[1];
    out.group_fanned_out = groups[2];
    out.global_name_conflicts = services_.names().conflicts();
    out.global_names_released = services_.names().released();
    out.membership_send_errors = m.send_errors;
    out.probes = m.protocol.probes;
    out.probe_failures = m.protocol.probe_failures;
    out.suspicions = m.protocol.suspicions;
    out.refutations = m.protocol.refutations;
    out.declared_dead = m.protocol.declared_dead;
    out.local_health = m.protocol.awareness;
    out.connections = links_.connection_count();
    out.processes = runtime_.process_count();
    const auto rs = runtime_.stats();
    out.dropped_dead = rs.dropped_dead;
    out.dropped_foreign = rs.dropped_foreign;
    out.dropped_at_exit = rs.dropped_at_exit;
    out.dropped_mailbox_full = rs.dropped_mailbox_full;
    out.crashed = rs.crashed;
    const auto now = clock_.now();
    for (const auto& l : links_.nodes()) {
      const auto traffic = dist_.traffic(l.name);
      const auto flow = dist_.flow(l.name);
      out.links.push_back({l.name, l.creation, l.frames_in, l.frames_out, l.bytes_in, l.bytes_out, traffic.messages_in,
                           traffic.messages_out, dist_.queued(l.name), flow.bytes,
                           std::chrono::duration_cast<std::chrono::milliseconds>(now - l.since), flow.busy,
                           flow.suspended});
    }
    // Nodes not linked (yet) that messages wait for: a row each, so the backlog shows.
    for (const auto& node : dist_.queued_nodes())
      if (!links_.node_link(node)) {
        const auto flow = dist_.flow(node);
        out.links.push_back({node, 0, 0, 0, 0, 0, dist_.traffic(node).messages_in, dist_.traffic(node).messages_out,
                             dist_.queued(node), flow.bytes, std::chrono::milliseconds(0), flow.busy, flow.suspended});
      }
    std::tie(out.call_latency, out.spawn_latency) = dist_.latencies();
    return out;
  }

  void subscribe(std::function<void(const node_event&)> fn) { subscribers_.push_back(std::move(fn)); }

  const node_config& config() const { return cfg_; }
  std::uint32_t creation() const { return creation_; }

  // Membership decides who is in the cluster; links follow it. A live member
  // gets a link (retried until it is gone); a dead or departed one loses it.
  void on_member_change(const member& m, membership::change what, const std::string& reporter) {
    using membership::change;
    if (stopping_ || left_) return;
    stream_to_watchers(m, what, reporter);
    check_quorum();
    // Filled field by field: GCC 12 warns (wrongly) of an uninitialized
    // string when this aggregate is a braced temporary.
    const auto event = [&](node_event::kind k, errc code) {
      node_event e;
      e.what = k;
      e.node = peer_node{m.name, m.host, m.port, m.creation};
      e.reason = error{code, m.reason};
      e.reporter = reporter;
      e.tags = m.tags;
      return e;
    };
    switch (what) {
      case change::up:
        links_.want(m.name, m.host, m.port);
        publish(event(node_event::kind::up, errc::ok));
        return;
      case change::down:
        links_.forget(m.name, m.creation, error{errc::no_connection, m.reason});
        dist_.on_node_down(m.name);
        publish(event(node_event::kind::down, errc::no_connection));
        return;
      case change::left:
        links_.forget(m.name, m.creation, error{errc::shutting_down, m.reason});
        dist_.on_node_down(m.name);
        publish(event(node_event::kind::left, errc::shutting_down));
        return;
      case change::updated:
        publish(event(node_event::kind::updated, errc::ok));
        return;
      case change::suspect:
      case change::refuted:
        return;  // logged by the membership layer; not (yet) an event
    }
  }

  // The partition policy: are we on the minority side? Members that left
  // on purpose do not count; dead ones do, until membership forgets them.
  // Run on every member change, and when a loss of quorum has settled.
  void check_quorum() {
    if (cfg_.partitions == partition_policy::keep_running) return;
    std::size_t alive = 0, known = 0;
    for (const auto& m : membership_->members()) {
      if (m.state == member_state::left) continue;
      ++known;
      if (m.state != member_state::dead) ++alive;  // a suspect still counts
    }
    const bool in_view = cfg_.partitions == partition_policy::keep_majority ? 2 * alive > known : alive >= cfg_.quorum;
    const auto verdict = quorum_.update(in_view, clock_.now());
    if (verdict == internal::quorum_watch::verdict::unchanged) return;
    const bool quorum = verdict == internal::quorum_watch::verdict::regained;
    services_.names().refuse_registrations(!quorum);
    if (!quorum) {
      const auto released = services_.names().release_all("minority");
      log(log_level::warn, cfg_.name.id() + ": on the minority side (" + std::to_string(alive) + " of " +
                               std::to_string(known) + " members alive): released " + std::to_string(released) +
                               " global name(s)");
    } else {
      log(log_level::info, cfg_.name.id() + ": quorum again (" + std::to_string(alive) + " of " +
                               std::to_string(known) + " members alive)");
    }
    if (cfg_.on_quorum_change) cfg_.on_quorum_change(quorum);
  }

  static wire::stats_reply stats_reply_of(std::uint64_t id, const node_stats& st) {
    wire::stats_reply r{id, st.counters(), {}, {}, {}};
    for (const auto& l : st.links)
      r.links.push_back({l.node, l.creation, l.frames_in, l.frames_out, l.bytes_in, l.bytes_out, l.queued,
                         static_cast<std::uint64_t>(l.up_for.count()), l.messages_in, l.messages_out, l.queued_bytes,
                         l.busy, l.suspended});
    const auto row = [](const histogram& h) {
      return wire::histogram_row{{h.counts.begin(), h.counts.end()}, h.sum_us, h.count};
    };
    r.call_latency = row(st.call_latency);
    r.spawn_latency = row(st.spawn_latency);
    return r;
  }

  wire::processes_reply processes_reply_of(const wire::processes_request& req) const {
    auto all = runtime_.processes();
    const auto key = [&](const process_info& p) -> std::uint64_t {
      if (req.sort == "handled") return p.handled;
      if (req.sort == "memory") return p.memory;
      return p.mailbox;
    };
    if (req.sort == "name")
      std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.name > b.name; });
    else if (req.sort == "pid" || req.sort.empty())
      std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.pid.id < b.pid.id; });
    else
      std::stable_sort(all.begin(), all.end(), [&](const auto& a, const auto& b) { return key(a) > key(b); });
    wire::processes_reply reply{req.request_id, all.size(), {}};
    for (const auto& p : all) {
      if (req.limit != 0 && reply.processes.size() >= req.limit) break;
      reply.processes.push_back({p.pid, p.name, p.mailbox, p.handled, p.memory, p.function});
    }
    return reply;
  }

  // A process here monitors the target for the client and reports its end
  // on the client's link; it is killed if the client goes first.
  void monitor_for_client(internal::conn_id conn, const wire::monitor_request& req) {
    const auto id = req.request_id;
    const pid target = req.pid;
    const pid watcher = runtime_.spawn(
        behavior([this, conn, id, target](context& ctx) -> task {
          const ref r = ctx.monitor(target);
          // Named, not a temporary in the co_await (GCC 12).
          const matcher its_down = [r](const message& m) {
            const auto* d = m.get_if<down_message>();
            return d && d->monitor == r;
          };
          auto down = co_await ctx.receive(its_down);
          term reason = down.get_if<down_message>()->reason;
          (void)post([this, conn, id, reason] { (void)links_.send(conn, wire::monitor_down{id, reason}); });
        }).labelled("clusterctl:monitor"));
    client_monitors_.emplace(conn, watcher);
  }

  // `leave`: out of the cluster, still running alone. `stop`: leave, then the
  // application's stop hook (noded exits); refused where there is none.
  void administer(const link_info& from, const wire::admin_request& req) {
    const auto reply = [&](errc code, const std::string& text) {
      (void)links_.send(from.conn, wire::admin_reply{req.request_id, static_cast<std::int32_t>(code), text});
    };
    if (req.action == "leave") {
      reply(errc::ok, "");
      log(log_level::info, cfg_.name.id() + ": leaving the cluster, as " + from.name + " asked");
      leave_only();
    } else if (req.action == "stop") {
      if (!cfg_.on_stop_request) return reply(errc::not_found, "this node cannot be stopped remotely (embedded)");
      reply(errc::ok, "");
      log(log_level::info, cfg_.name.id() + ": stopping, as " + from.name + " asked");
      cfg_.on_stop_request();
    } else {
      reply(errc::bad_argument, "unknown action '" + req.action + "' (expected leave or stop)");
    }
  }

 public:
  void leave_only() {
    if (left_) return;
    left_ = true;
    quorum_.cancel();  // membership no longer changes for us: nothing to settle
    membership_->leave();
    dist_.on_every_node_down(links_.nodes());
    links_.leave("left the cluster");
  }

 private:
  void stream_to_watchers(const member& m, membership::change what, const std::string& reporter) {
    using membership::change;
    if (member_watchers_.empty()) return;
    static constexpr std::uint8_t kinds[] = {0, 4, 5, 1, 2, 3};  // change -> member_event.kind
    const auto row = wire::row_of(m);
    for (const auto& [conn, id] : member_watchers_)
      (void)links_.send(conn, wire::member_event{id, kinds[static_cast<int>(what)], row, reporter});
  }

  // link_listener
  void on_link_up(const link_info&) override {}
  void on_link_down(const link_info& peer, const error& reason) override {
    if (peer.kind != wire::peer_kind::node) {
      std::erase_if(member_watchers_, [&](const auto& w) { return w.first == peer.conn; });
      const auto [first, last] = client_monitors_.equal_range(peer.conn);
      for (auto it = first; it != last; ++it) runtime_.exit(it->second, reason::kill());
      client_monitors_.erase(first, last);
      return;
    }
    dist_.on_node_down(peer.name);
    // A closed connection is a hint, not a verdict: membership probes the
    // node at once and declares it dead only if nobody can reach it.
    if (reason.code != errc::shutting_down) membership_->link_lost(peer.name);
  }
  void on_message(const link_info& from, wire::message&& m) override {
    if (dist_.handle(from, m)) return;
    std::visit(
        [&](auto& msg) {
          using T = std::decay_t<decltype(msg)>;
          if constexpr (std::is_same_v<T, wire::nodes_request>) {
            wire::nodes_reply reply{msg.request_id, {}};
            for (const auto& l : links_.nodes()) reply.nodes.push_back({l.name, l.host, l.port, l.creation});
            (void)links_.send(from.conn, reply);
          } else if constexpr (std::is_same_v<T, wire::info_request>) {
            const node_info i = info_now();
            (void)links_.send(from.conn, wire::info_reply{msg.request_id, i.name, i.host, i.port, i.creation,
                                                          static_cast<std::uint64_t>(i.uptime.count()), i.version,
                                                          i.process_count, i.node_count, i.dist_port});
          } else if constexpr (std::is_same_v<T, wire::members_request>) {
            wire::members_reply reply{msg.request_id, {}};
            for (const auto& row : membership_->members()) reply.members.push_back(wire::row_of(row));
            (void)links_.send(from.conn, reply);
          } else if constexpr (std::is_same_v<T, wire::watch_request>) {
            // One stream per connection: a second watch replaces the first.
            std::erase_if(member_watchers_, [&](const auto& w) { return w.first == from.conn; });
            member_watchers_.emplace_back(from.conn, msg.request_id);
          } else if constexpr (std::is_same_v<T, wire::stats_request>) {
            (void)links_.send(from.conn, stats_reply_of(msg.request_id, stats_now()));
          } else if constexpr (std::is_same_v<T, wire::why_request>) {
            wire::why_reply reply{msg.request_id, {}};
            for (const auto& h : membership_->history(msg.node))
              reply.history.push_back({static_cast<std::uint64_t>(h.ago.count()), static_cast<std::uint8_t>(h.state),
                                       h.incarnation, h.reason, h.reporter});
            (void)links_.send(from.conn, reply);
          } else if constexpr (std::is_same_v<T, wire::admin_request>) {
            administer(from, msg);
          } else if constexpr (std::is_same_v<T, wire::processes_request>) {
            (void)links_.send(from.conn, processes_reply_of(msg));
          } else if constexpr (std::is_same_v<T, wire::registered_request>) {
            wire::registered_reply reply{msg.request_id, {}};
            for (const auto& p : runtime_.processes())
              if (!p.name.empty()) reply.names.emplace_back(p.name, p.pid);
            std::sort(reply.names.begin(), reply.names.end());
            (void)links_.send(from.conn, reply);
          } else if constexpr (std::is_same_v<T, wire::monitor_request>) {
            monitor_for_client(from.conn, msg);
          } else if constexpr (std::is_same_v<T, wire::pong>) {
            // an answer to a ping we did not send: nothing to do
          } else {
            log(log_level::debug, cfg_.name.id() + ": ignoring an unexpected message from " + from.name);
          }
        },
        m);
  }

 private:
  static internal::zmq_transport_options transport_options(const node_config& cfg) {
    internal::zmq_transport_options o;
    o.heartbeat_timeout = cfg.heartbeat_timeout;
    o.max_frame_bytes = static_cast<std::int64_t>(cfg.max_frame_bytes);
    o.handshake_interval = cfg.handshake_timeout;
    // Strangers are refused inside ZeroMQ's handshake, before it reads (and
    // buffers) a single message from them: see links/admission.hpp.
    o.require_admission = true;
    o.credentials = internal::admission_credentials(cfg.cookie);
    // Short: what waits is counted and bounded in the distribution layer,
    // and small messages do not queue behind many fragments in ZeroMQ.
    o.send_high_water_mark = 64;
    return o;
  }

  static internal::tcp_transport_options direct_options(const node_config& cfg) {
    internal::tcp_transport_options o;
    o.heartbeat_timeout = cfg.heartbeat_timeout;
    // Several heartbeats per timeout, however short it is set.
    o.heartbeat_interval = std::min(o.heartbeat_interval, cfg.heartbeat_timeout / 4);
    o.max_frame_bytes = cfg.max_frame_bytes;
    o.handshake_interval = cfg.handshake_timeout;
    o.require_admission = true;  // as on the ZeroMQ port: see links/admission.hpp
    o.credentials = internal::admission_credentials(cfg.cookie);
    o.send_high_water_mark = 64;  // as on the ZeroMQ port
    o.max_unadmitted = cfg.max_pending_handshakes;
    return o;
  }

  static internal::link_config link_config(const node_config& cfg, std::uint32_t creation) {
    internal::link_config lc;
    lc.self = {wire::peer_kind::node, cfg.name.id(), cfg.name.port, creation,
               cfg.insecure_plaintext ? wire::flag_insecure_plaintext : 0};
    lc.host = cfg.name.host;
    lc.handshake_key = internal::crypto::derive_key(cfg.cookie, internal::crypto::key_purpose::handshake);
    for (const auto& c : cfg.accepted_cookies)
      lc.accepted_handshake_keys.push_back(internal::crypto::derive_key(c, internal::crypto::key_purpose::handshake));
    lc.handshake_timeout = cfg.handshake_timeout;
    lc.max_pending_handshakes = cfg.max_pending_handshakes;
    lc.auth_backoff.free_failures = cfg.auth_failures_before_backoff;
    lc.auth_backoff.max = cfg.auth_backoff_max;
    lc.retry_interval = cfg.retry_interval;
    lc.forget_after = cfg.forget_after;
    lc.limits.max_frame_bytes = cfg.max_frame_bytes;
    lc.pre_auth_limits.max_frame_bytes = cfg.max_pre_auth_frame_bytes;
    lc.admission.self = cfg.name.id();
    lc.admission.started = std::chrono::system_clock::now();
    lc.admission.keys.push_back(internal::crypto::derive_key(cfg.cookie, internal::crypto::key_purpose::admission));
    for (const auto& c : cfg.accepted_cookies)
      lc.admission.keys.push_back(internal::crypto::derive_key(c, internal::crypto::key_purpose::admission));
    lc.mesh_gossip = false;  // membership says whom to link to
    return lc;
  }

  membership::service_options membership_options() const {
    membership::service_options o;
    o.protocol = cfg_.membership;
    // Others reach us at the address we listen on, or, listening everywhere,
    // at the one our name resolves to.
    std::string advertised = listen_ip_;
    if (advertised == "0.0.0.0" || advertised == "::") {
      if (auto r = internal::resolve_host(cfg_.name.host)) advertised = std::move(r).value();
    }
    const auto now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
    o.self = {
        cfg_.name.id(), {advertised, cfg_.name.port}, creation_, static_cast<std::uint64_t>(now_ms.count()), cfg_.tags};
    o.bind_ip = listen_ip_;
    const auto gossip_key = [](const std::string& cookie, bool plaintext) {
      return internal::crypto::derive_key(
          cookie, plaintext ? internal::crypto::key_purpose::gossip_plaintext : internal::crypto::key_purpose::gossip);
    };
    o.key = gossip_key(cfg_.cookie, cfg_.insecure_plaintext);
    for (const auto& c : cfg_.accepted_cookies) o.also_accepted.push_back(gossip_key(c, cfg_.insecure_plaintext));
    o.other_setting_key = gossip_key(cfg_.cookie, !cfg_.insecure_plaintext);
    o.join = cfg_.join;
    for (const auto& d : cfg_.discover) {
      if (d == "multicast")
        o.multicast = true;
      else if (d.starts_with("dns:"))
        o.dns.push_back(d.substr(4));
    }
    o.discovery_interval = cfg_.discovery_interval;
    return o;
  }

  // How groups and global names learn who is up (alive members) and hear of changes.
  internal::replica_hooks replica_hooks() {
    return {[this] {
              std::vector<std::string> up;
              std::lock_guard lock(membership_mutex_);
              if (membership_)
                for (const auto& m : membership_->members())
                  if (m.state == member_state::alive && m.name != cfg_.name.id()) up.push_back(m.name);
              return up;
            },
            [this](const pid& p) { (void)post([this, p] { monitor_nodes(p); }); }};
  }

  static runtime_config runtime_config_of(const node_config& cfg, std::uint32_t creation) {
    runtime_config rc;
    rc.node = cfg.name.id();
    rc.creation = creation;
    rc.workers = cfg.workers;
    rc.busy_wait = cfg.busy_wait;
    rc.max_mailbox = cfg.max_mailbox;
    return rc;
  }

  // The functions every node offers, so a fresh cluster can be exercised.
  void add_builtins() {
    functions_.add("sys:echo", [](const term& args) { return args; });
    functions_.add("sys:info", [this](const term&) {
      const auto uptime = std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock{}.now() - started_);
      return term(term_map{{atom{"name"}, cfg_.name.id()},
                           {atom{"creation"}, std::uint64_t{creation_}},
                           {atom{"uptime_ms"}, static_cast<std::int64_t>(uptime.count())},
                           {atom{"process_count"}, static_cast<std::uint64_t>(runtime_.process_count())}});
    });
    functions_.add_coroutine("sys:sleep", [](context& ctx, term args, term& result) -> task {
      const auto* ms = args.get_if<std::int64_t>();
      if (!ms || *ms < 0) throw bad_arguments("sys:sleep takes a number of milliseconds");
      // Waiting in receive (for nothing) never blocks a scheduler thread.
      const matcher nothing = [](const message&) { return false; };  // named: see monitor_for_client
      (void)co_await ctx.receive(nothing, std::chrono::milliseconds(*ms));
      result = atom{"ok"};
    });
    // Groups and global names, for clusterctl and clients.
    functions_.add("pg:groups", [this](const term& args) {
      auto& scope = services_.scope(args.is<std::string>() ? args.as<std::string>() : pg::default_scope);
      term_list out;
      for (const auto& g : scope.groups())
        out.push_back(term_list{g, static_cast<std::uint64_t>(scope.members(g).size())});
      return term(std::move(out));
    });
    functions_.add("pg:members", [this](const term& args) {
      const auto* list = args.get_if<term_list>();
      if (!list || list->empty() || list->size() > 2 || !(*list)[0].is<std::string>() ||
          (list->size() == 2 && !(*list)[1].is<std::string>()))
        throw bad_arguments("expected [group] or [group, scope]");
      auto& scope = services_.scope(list->size() == 2 ? (*list)[1].as<std::string>() : pg::default_scope);
      term_list out;
      for (const auto& p : scope.members((*list)[0].as<std::string>())) out.push_back(p);
      return term(std::move(out));
    });
    // [group, pid] or [group, pid, scope]: a live process of this node joins or leaves.
    auto group_args = [](const term& args) {
      const auto* list = args.get_if<term_list>();
      if (!list || list->size() < 2 || list->size() > 3 || !(*list)[0].is<std::string>() || !(*list)[1].is<pid>() ||
          (list->size() == 3 && !(*list)[2].is<std::string>()))
        throw bad_arguments("expected [group, pid] or [group, pid, scope]");
      return std::tuple{(*list)[0].as<std::string>(), (*list)[1].as<pid>(),
                        list->size() == 3 ? (*list)[2].as<std::string>() : pg::default_scope};
    };
    functions_.add("pg:join", [this, group_args](const term& args) {
      const auto [group, p, scope] = group_args(args);
      if (!runtime_.alive(p) || !services_.scope(scope).join(group, p))
        throw call_error(errc::rejected, "not a live process of this node");
      return term(atom{"ok"});
    });
    functions_.add("pg:leave", [this, group_args](const term& args) {
      const auto [group, p, scope] = group_args(args);
      return term(services_.scope(scope).leave(group, p));
    });
    functions_.add("global:registered", [this](const term&) {
      term_list out;
      for (const auto& [name, p] : services_.names().registered()) out.push_back(term_list{name, p});
      return term(std::move(out));
    });
    functions_.add("global:register", [this](const term& args) {
      const auto* list = args.get_if<term_list>();
      if (!list || list->size() != 2 || !(*list)[0].is<std::string>() || !(*list)[1].is<pid>())
        throw bad_arguments("expected [name, pid]");
      if (services_.names().refusing())
        throw call_error(errc::rejected, "this node is on the minority side of a partition: no new global names");
      if (!services_.names().register_name((*list)[0].as<std::string>(), (*list)[1].as<pid>()))
        throw call_error(errc::rejected,
                         (*list)[0].as<std::string>() + " is taken, or the pid is not a live process here");
      return term(atom{"ok"});
    });
    functions_.add("global:unregister", [this](const term& args) {
      if (!args.is<std::string>()) throw bad_arguments("expected a name");
      services_.names().unregister_name(args.as<std::string>());
      return term(atom{"ok"});
    });
    functions_.add("global:whereis", [this](const term& args) {
      if (!args.is<std::string>()) throw bad_arguments("expected a name");
      const auto owner = services_.names().whereis(args.as<std::string>());
      return owner ? term(*owner) : term();
    });
    functions_.add("sys:fail", [](const term& args) -> term {
      throw std::runtime_error(args.is<std::string>() ? args.as<std::string>() : std::string("sys:fail"));
    });
  }

  void publish(const node_event& e) {
    // By index over a snapshot: a subscriber may subscribe another.
    const auto snapshot = subscribers_;
    for (const auto& fn : snapshot) fn(e);
    std::erase_if(node_watchers_, [this](const pid& w) { return !runtime_.alive(w); });
    for (const pid& w : node_watchers_) runtime_.send(w, e);
  }

 public:
  void monitor_nodes(const pid& watcher) { node_watchers_.push_back(watcher); }

 private:
  void run_commands() {
    wake_pending_.store(false, std::memory_order_relaxed);  // before the swap: a later post sets it again
    std::uint64_t count = 0;
    [[maybe_unused]] const auto n = ::read(wake_fd_, &count, sizeof count);
    {
      std::lock_guard lock(queue_mutex_);
      if (running_.empty()) {
        running_.swap(queue_);  // each keeps its allocation for the next turn
      } else {                  // a command threw last time: the rest run first
        std::move(queue_.begin(), queue_.end(), std::back_inserter(running_));
        queue_.clear();
      }
    }
    // Each leaves the queue before it runs: one that throws is not run again.
    while (!running_.empty()) {
      const std::function<void()> fn = std::move(running_.front());
      running_.pop_front();
      fn();
    }
  }

  void run() {
    io_thread_id_ = std::this_thread::get_id();
    time_point last_busy = clock_.now(), last_tick = last_busy;
    while (!stopping_) {
      if (helped_.exchange(false, std::memory_order_relaxed)) last_busy = clock_.now();
      // For `busy_wait` after the last traffic we poll without blocking,
      // yielding the CPU in between: the next message of a conversation
      // then costs no thread wake-up (tens of microseconds here, twice per
      // round trip: once for ZeroMQ's signal, once for our wake_fd).
      const time_point now = clock_.now();
      const bool spinning = now - last_busy < cfg_.busy_wait;
      // While a worker polls, it serves the direct lane and the outbox: a
      // turn of ours would only hold it up. Commands and timers are ours.
      const time_point polled{time_point::duration(worker_polled_.load(std::memory_order_relaxed))};
      if (spinning && now - polled < worker_covers && now - last_tick < std::chrono::milliseconds(1) &&
          !wake_pending_.load(std::memory_order_acquire)) {
        sched_yield();
        continue;
      }
      std::unique_lock turn(io_turn_, std::defer_lock);
      if (!spinning) {
        turn.lock();
      } else if (!turn.try_lock()) {  // a worker's turn: it is short, and waking from the lock is not
        sched_yield();
        continue;
      }
      const in_turn held(this);
      const bool idle = take_turn(spinning, last_busy, last_tick);
      turn.unlock();
      if (idle) sched_yield();
    }
    std::lock_guard turn(io_turn_);
    const in_turn held(this);
    io_open_ = false;  // nobody takes turns any more
    {
      std::lock_guard lock(queue_mutex_);
      accepting_ = false;  // later posts are refused, so nobody waits on a task that never runs
    }
    run_commands();  // whatever was posted before the queue closed
  }

  // One turn of the I/O thread: waits for traffic (not while spinning),
  // serves it, sends what waits, runs commands and, once a millisecond, the
  // timers. True if it found nothing to do while spinning.
  bool take_turn(bool spinning, time_point& last_busy, time_point& last_tick) {
    const time_point now = clock_.now();
    // A backlog the transport refused is retried every millisecond.
    auto timeout = std::chrono::milliseconds(dist_.backlogged() ? 1 : 1000);
    // The direct lane's heartbeats and timeouts run when it is served.
    const int direct_fd = cfg_.dist_port ? direct_.descriptor() : -1;
    if (direct_fd >= 0) timeout = std::min(timeout, direct_.timer_grain());
    for (const auto next : {links_.next_deadline(), quorum_.deadline()}) {
      if (!next) continue;
      const auto until = std::chrono::ceil<std::chrono::milliseconds>(*next - now);
      timeout = std::clamp(until, std::chrono::milliseconds(0), timeout);
    }
    io_spinning_.store(spinning, std::memory_order_seq_cst);
    if (spinning || wake_pending_.load(std::memory_order_seq_cst) || outbox_pending_.load(std::memory_order_seq_cst))
      timeout = std::chrono::milliseconds(0);
    // Timeouts and retries have millisecond grain: spinning need not scan them.
    const bool tick_due = !spinning || now - last_tick >= std::chrono::milliseconds(1);
    bool idle = false;
    try {
      // Between ticks a spinning turn looks only at the data sockets and
      // the wake flag: a third of the system calls of a full poll with one
      // peer, about half with many (the full poll alone serves admission
      // and the monitors). The shorter each turn, the sooner the threads
      // we wake (ZeroMQ's, the workers) get the CPU that this thread yields.
      internal::poll_outcome seen;
      if (tick_due)
        seen = transport_.poll(timeout, wake_fd_, direct_fd);
      else
        seen.traffic = transport_.read_ready();
      if (direct_fd >= 0) seen.traffic = direct_.read_ready() || seen.traffic;
      seen.woken = seen.woken || wake_pending_.load(std::memory_order_acquire);
      const bool sent = outbox_pending_.exchange(false, std::memory_order_relaxed);  // before the flush, as in poll
      // What processes sent goes out before the answers commands post, so
      // a call's result never overtakes its function's earlier messages.
      // The second flush is needed too: run_commands clears the wake flag,
      // which a process may have set for the outbox after the first one.
      dist_.flush();
      if (seen.woken) run_commands();
      dist_.flush();
      if (seen.woken || seen.traffic || sent)
        last_busy = clock_.now();
      else
        idle = spinning;
    } catch (const zmq::error_t& e) {
      // ZeroMQ refused something (EINTR, out of descriptors): say so, go on.
      log(log_level::error, cfg_.name.id() + ": transport error: " + e.what());
    }
    if (!tick_due) return idle;
    last_tick = now;
    links_.tick();
    dist_.tick(clock_.now());
    if (const auto settled = quorum_.deadline(); settled && clock_.now() >= *settled && !left_ && !stopping_)
      check_quorum();
    return idle;
  }

  node_config cfg_;
  std::uint32_t creation_;
  std::uint16_t dist_port_ = 0;  // the direct lane's, once bound in start; 0 without one
  std::string listen_ip_;
  steady_clock clock_;
  zmq::context_t ctx_{1};
  internal::zmq_transport transport_;
  internal::tcp_transport direct_;  // node links, when cfg_.dist_port (bound in start)
  internal::dual_transport lanes_;
  link_manager links_;
  time_point started_;
  function_registry functions_;
  cluster::runtime runtime_;
  internal::distribution dist_;
  internal::module_host modules_;        // after runtime_: its processes are stopped (in ~impl) before it goes
  internal::cluster_services services_;  // likewise
  internal::quorum_watch quorum_{cfg_.membership.quorum_settle};  // in a turn
  std::unique_ptr<membership::membership_service> membership_;
  std::mutex membership_mutex_;  // guards membership_ (the pointer) for the replicas, which read it from their threads
  std::vector<std::function<void(const node_event&)>> subscribers_;           // in a turn
  std::vector<pid> node_watchers_;                                            // in a turn
  std::vector<std::pair<internal::conn_id, std::uint64_t>> member_watchers_;  // clients watching; in a turn
  std::multimap<internal::conn_id, pid> client_monitors_;  // processes monitoring for clients; in a turn

  std::thread thread_;
  std::atomic<std::thread::id> io_thread_id_{};  // set by the I/O thread as it starts
  int wake_fd_ = -1;
  std::atomic<bool> wake_pending_{false};    // set by wake(), cleared by run_commands()
  std::atomic<bool> outbox_pending_{false};  // set by send_soon(), cleared by the turn that flushes
  std::atomic<bool> io_spinning_{false};     // the I/O thread busy-waits: wake() need not write wake_fd_
  std::mutex io_turn_;                       // held for a turn of I/O, by whichever thread takes it
  bool io_open_ = false;                     // guarded by io_turn_: turns may be taken (from start to the end of run)
  std::atomic<time_point::rep> worker_polled_{0};  // when a worker last took a turn (poll)
  std::atomic<std::uint64_t> worker_turns_{0};     // turns workers took that moved traffic
  std::atomic<bool> helped_{false};                // a worker moved traffic: the I/O thread keeps spinning
  // How long after a worker's turn the spinning I/O thread leaves the
  // direct lane and the outbox to it: a worker's busy wait polls every few
  // microseconds, and one that stopped (it runs a process, or sleeps) is
  // replaced this soon.
  static constexpr auto worker_covers = std::chrono::microseconds(50);
  static constexpr auto zmq_read_every = std::chrono::microseconds(20);
  time_point zmq_read_at_{};                                     // in a turn: when a worker last read ZeroMQ's sockets
  static inline thread_local const impl* turn_holder = nullptr;  // the node whose turn this thread is in
  std::atomic<bool> stopping_{false};                            // set in a turn; read by the I/O thread between turns
  bool left_ = false;                                            // in a turn: left the cluster, still running
  std::mutex stop_mutex_;                                        // held while stopping and joining
  std::mutex queue_mutex_;                                       // guards queue_ and accepting_
  std::deque<std::function<void()>> queue_;
  std::deque<std::function<void()>> running_;  // the commands being run (I/O thread)
  bool accepting_ = true;
};

result<std::unique_ptr<node>> node::start(node_config config) {
  if (config.cookie.empty()) return error{errc::bad_argument, "the cookie is empty"};
  // Our row must fit a datagram with room to spare, or we could never refute.
  std::size_t tag_bytes = 0;
  for (const auto& [k, v] : config.tags) tag_bytes += k.size() + v.size() + 2;
  if (tag_bytes > 512) return error{errc::too_large, "tags take " + std::to_string(tag_bytes) + " bytes; 512 at most"};
  for (const auto& d : config.discover)
    if (d != "multicast" && !(d.starts_with("dns:") && d.size() > 4))
      return error{errc::bad_argument, "unknown discovery '" + d + "' (expected dns:NAME or multicast)"};
  std::string listen_ip = config.listen_address;
  if (listen_ip.empty()) {
    auto resolved = internal::resolve_host(config.name.host);
    if (!resolved) return resolved.err();
    listen_ip = std::move(resolved).value();
  }
  // A creation of 0 would look like "unknown" in a PID; never use it.
  std::uint32_t creation = 0;
  while (creation == 0) creation = internal::crypto::random_u32();
  auto p = std::make_unique<impl>(std::move(config), creation, std::move(listen_ip));
  if (auto started = p->start(); !started) return started.err();
  return std::unique_ptr<node>(new node(std::move(p)));
}

node::node(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
node::~node() = default;

void node::stop() { impl_->stop(); }
const node_name& node::name() const { return impl_->config().name; }
std::uint32_t node::creation() const { return impl_->creation(); }
node_info node::info() const {
  return impl_->call([this] { return impl_->info_now(); });
}
std::vector<peer_node> node::nodes() const {
  return impl_->call([this] { return impl_->nodes_now(); });
}
node_stats node::stats() const {
  return impl_->call([this] { return impl_->stats_now(); });
}
std::vector<member> node::members() const { return impl_->members(); }
std::vector<member_history_entry> node::why(const std::string& name) const { return impl_->why(name); }

namespace {

// Every counter of node_stats by its stable name: one table for both directions.
constexpr std::pair<const char*, std::uint64_t node_stats::*> counter_fields[] = {
    {"frames_in", &node_stats::frames_in},
    {"frames_out", &node_stats::frames_out},
    {"bytes_in", &node_stats::bytes_in},
    {"bytes_out", &node_stats::bytes_out},
    {"handshakes_ok", &node_stats::handshakes_ok},
    {"handshakes_failed", &node_stats::handshakes_failed},
    {"auth_failures", &node_stats::auth_failures},
    {"refused_pending_cap", &node_stats::refused_pending_cap},
    {"refused_backoff", &node_stats::refused_backoff},
    {"refused_admission", &node_stats::refused_admission},
    {"zmtp_handshakes_refused", &node_stats::zmtp_handshakes_refused},
    {"malformed_frames", &node_stats::malformed_frames},
    {"unopened_frames", &node_stats::unopened_frames},
    {"direct_links", &node_stats::direct_links},
    {"direct_upgrades", &node_stats::direct_upgrades},
    {"direct_dials_failed", &node_stats::direct_dials_failed},
    {"direct_handshakes_refused", &node_stats::direct_handshakes_refused},
    {"direct_disconnects", &node_stats::direct_disconnects},
    {"direct_heartbeat_timeouts", &node_stats::direct_heartbeat_timeouts},
    {"worker_io_turns", &node_stats::worker_io_turns},
    {"send_failures", &node_stats::send_failures},
    {"links_lost", &node_stats::links_lost},
    {"dropped_from_closed", &node_stats::dropped_from_closed},
    {"remote_sent", &node_stats::remote_sent},
    {"remote_received", &node_stats::remote_received},
    {"remote_frames", &node_stats::remote_frames},
    {"dropped_unserializable", &node_stats::dropped_unserializable},
    {"dropped_no_connection", &node_stats::dropped_no_connection},
    {"calls", &node_stats::calls},
    {"spawns", &node_stats::spawns},
    {"connections", &node_stats::connections},
    {"processes", &node_stats::processes},
    {"dropped_dead", &node_stats::dropped_dead},
    {"dropped_foreign", &node_stats::dropped_foreign},
    {"dropped_at_exit", &node_stats::dropped_at_exit},
    {"dropped_mailbox_full", &node_stats::dropped_mailbox_full},
    {"crashed", &node_stats::crashed},
    {"membership_datagrams_in", &node_stats::membership_datagrams_in},
    {"membership_datagrams_out", &node_stats::membership_datagrams_out},
    {"membership_bytes_in", &node_stats::membership_bytes_in},
    {"membership_bytes_out", &node_stats::membership_bytes_out},
    {"membership_auth_failures", &node_stats::membership_auth_failures},
    {"membership_malformed", &node_stats::membership_malformed},
    {"membership_misdirected", &node_stats::membership_misdirected},
    {"membership_name_conflicts", &node_stats::membership_name_conflicts},
    {"membership_oversized", &node_stats::membership_oversized},
    {"queued_messages", &node_stats::queued_messages},
    {"dropped_busy", &node_stats::dropped_busy},
    {"suspensions", &node_stats::suspensions},
    {"suspended", &node_stats::suspended},
    {"flow_records", &node_stats::flow_records},
    {"fragments", &node_stats::fragments},
    {"dropped_fragmented", &node_stats::dropped_fragmented},
    {"group_publishes", &node_stats::group_publishes},
    {"group_remote_copies", &node_stats::group_remote_copies},
    {"group_fanned_out", &node_stats::group_fanned_out},
    {"global_name_conflicts", &node_stats::global_name_conflicts},
    {"global_names_released", &node_stats::global_names_released},
    {"membership_send_errors", &node_stats::membership_send_errors},
    {"probes", &node_stats::probes},
    {"probe_failures", &node_stats::probe_failures},
    {"suspicions", &node_stats::suspicions},
    {"refutations", &node_stats::refutations},
    {"declared_dead", &node_stats::declared_dead},
    {"local_health", &node_stats::local_health},
};

}  // namespace

std::vector<std::pair<std::string, std::uint64_t>> node_stats::counters() const {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  for (const auto& [name, field] : counter_fields) out.emplace_back(name, this->*field);
  return out;
}

void node_stats::assign(const std::map<std::string, std::uint64_t>& by_name) {
  for (const auto& [name, field] : counter_fields)
    if (const auto it = by_name.find(name); it != by_name.end()) this->*field = it->second;
}
void node::leave() {
  impl_->call([this] { impl_->leave_only(); });
}
void node::set_tags(std::map<std::string, std::string> tags) { impl_->set_tags(std::move(tags)); }
cluster::runtime& node::processes() { return impl_->processes(); }
void node::monitor_nodes(const pid& watcher) {
  impl_->call([this, watcher] { impl_->monitor_nodes(watcher); });
}
function_registry& node::functions() { return impl_->functions(); }

void node::subscribe(std::function<void(const node_event&)> fn) {
  impl_->call([this, f = std::move(fn)]() mutable { impl_->subscribe(std::move(f)); });
}

}  // namespace cluster

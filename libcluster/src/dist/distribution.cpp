#include "dist/distribution.hpp"

#include "cluster/node_name.hpp"
#include "runtime/envelopes.hpp"

#include <typeinfo>

namespace cluster::internal {
namespace {

using detail::envelope;
using detail::envelope_kind;

wire::process_signal signal_of(wire::signal_kind k, const pid& from, const pid& to, term monitor = {},
                               term reason = {}) {
  return wire::process_signal{static_cast<std::uint8_t>(k), from, to, std::move(monitor), std::move(reason)};
}

constexpr std::size_t max_frame_bytes = 256 * 1024;    // batch up to this much per frame
constexpr std::size_t reused_frame_bytes = 16 * 1024;  // a frame buffer up to this size serves the next frame
constexpr std::size_t kept_outbox_entries = 1024;      // and an outbox (or a frame's bounces) up to this many

/// The order key of a receiver: its process id, or its registered name.
std::uint64_t receiver_key(const pid& p) { return p.id; }
std::uint64_t receiver_key(const std::string& name) { return std::hash<std::string>{}(name) | (1ull << 63); }

}  // namespace

distribution::distribution(runtime_core& rt, link_manager& links, function_registry& functions, hooks h, dist_limits l)
    : rt_(rt), links_(links), functions_(functions), hooks_(std::move(h)), limits_(l) {}

// -- outbound (any thread) ------------------------------------------------------

std::shared_ptr<peer_flow> distribution::flow_of(const node_atom& node) {
  std::lock_guard lock(outbox_mutex_);
  auto& f = flows_[node];
  if (!f) f = std::make_shared<peer_flow>(rt_, limits_.peer_queue_bytes);
  return f;
}

void distribution::close() {
  closed_.store(true);
  std::lock_guard lock(outbox_mutex_);
  for (auto& [node, f] : flows_) f->release();
}

bool distribution::busy(const node_atom& node) const {
  std::lock_guard lock(outbox_mutex_);
  const auto it = flows_.find(node);
  return it != flows_.end() && it->second->busy();
}

distribution::node_flow distribution::flow(const std::string& node) const {
  const node_atom key = node;  // not under the lock: interning may log
  std::lock_guard lock(outbox_mutex_);
  const auto it = flows_.find(key);
  if (it == flows_.end()) return {};
  return {it->second->bytes(), it->second->held(), it->second->busy()};
}

std::size_t distribution::suspended_total() const {
  std::lock_guard lock(outbox_mutex_);
  std::size_t n = 0;
  for (const auto& [node, f] : flows_) n += f->held();
  return n;
}

void distribution::enqueue(const node_atom& node, const wire::message& m, std::uint64_t receiver, bool droppable,
                           bounce_info b) {
  if (closed_.load()) {  // leaving: nothing goes out any more
    stats_.dropped_no_connection.fetch_add(1, std::memory_order_relaxed);
    bounce_noconnection(b);
    return;
  }
  auto flow = flow_of(node);
  // The hard limit, for senders that never yield (or are not processes):
  // memory stays bounded, and the loss is counted.
  if (droppable && flow->bytes() > 4 * limits_.peer_queue_bytes) {
    stats_.dropped_busy.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  outgoing out{node, wire::encode(m), std::move(b), receiver, flow};
  if (flow->add(out.bytes.size())) {
    // Busy: the sending process stops at the end of its handler (or at its
    // coroutine's next receive) and waits at the flow's gate.
    if (process* p = runtime_core::running(); p && &p->core == &rt_ && !p->blocked_by) {
      p->blocked_by = flow;
      stats_.suspensions.fetch_add(1, std::memory_order_relaxed);
    }
  }
  bool was_empty = false;
  {
    std::lock_guard lock(outbox_mutex_);
    was_empty = outbox_.empty();
    outbox_.push_back(std::move(out));
  }
  stats_.sent.fetch_add(1, std::memory_order_relaxed);
  if (was_empty) hooks_.wake();
}

void distribution::route(const pid& to, std::unique_ptr<envelope> e) {
  using wire::signal_kind;
  envelope* raw = e.get();
  switch (raw->kind) {
    case envelope_kind::user:
      if (auto* t = payload_if<term>(raw)) {
        enqueue(to.node, wire::process_send{to, std::move(*t)}, receiver_key(to), true);
      } else if (auto* d = payload_if<down_message>(raw)) {
        enqueue(to.node, signal_of(signal_kind::down, d->process, to, d->monitor, d->reason), receiver_key(to), false);
      } else {
        stats_.dropped_unserializable.fetch_add(1, std::memory_order_relaxed);
      }
      return;
    case envelope_kind::exit_signal: {
      auto& s = payload<exit_signal>(raw);
      if (s.from_link) forget_link(s.from, to);
      enqueue(to.node, signal_of(s.from_link ? signal_kind::link_exit : signal_kind::exit, s.from, to, {}, s.reason),
              receiver_key(to), false);
      return;
    }
    case envelope_kind::link: {
      const pid& from = payload<link_signal>(raw).from;
      remember(to.node, tie{tie::what::link, from, to, {}});
      enqueue(to.node, signal_of(signal_kind::link, from, to), receiver_key(to), false,
              bounce_info{bounce_info::what::link, from, to, {}});
      return;
    }
    case envelope_kind::unlink: {
      const pid& from = payload<link_signal>(raw).from;
      forget_link(from, to);
      enqueue(to.node, signal_of(signal_kind::unlink, from, to), receiver_key(to), false);
      return;
    }
    case envelope_kind::monitor: {
      const auto& m = payload<monitor_signal>(raw);
      remember(to.node, tie{tie::what::monitor_by_local, m.watcher, to, m.monitor});
      enqueue(to.node, signal_of(signal_kind::monitor, m.watcher, to, m.monitor), receiver_key(to), false,
              bounce_info{bounce_info::what::monitor, m.watcher, to, m.monitor});
      return;
    }
    case envelope_kind::demonitor: {
      const ref& r = payload<demonitor_signal>(raw).monitor;
      forget_monitor(r);
      enqueue(to.node, signal_of(signal_kind::demonitor, pid{}, to, r), receiver_key(to), false);
      return;
    }
    case envelope_kind::timeout:
    case envelope_kind::watching:
      return;  // timers and watch records are always local
  }
}

bool distribution::route_named(const std::string& node, const std::string& name, std::unique_ptr<envelope> e) {
  // A node is named by its identity, `name@host`, as in its PIDs. Anything
  // else (a client may send any string) reaches nobody, and would only take
  // a place in the table of node names on its way to being dropped.
  if (!is_node_id(node)) {
    stats_.dropped_no_connection.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (auto* t = payload_if<term>(e.get())) {
    enqueue(node, wire::process_send_named{name, std::move(*t)}, receiver_key(name), true);
    return true;
  }
  stats_.dropped_unserializable.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void distribution::remember(const std::string& node, tie t) {
  std::lock_guard lock(ties_mutex_);
  ties_.emplace(node, std::move(t));
}

void distribution::forget_link(const pid& local, const pid& remote) {
  std::lock_guard lock(ties_mutex_);
  for (auto it = ties_.begin(); it != ties_.end();)
    it = it->second.kind == tie::what::link && it->second.local == local && it->second.remote == remote
             ? ties_.erase(it)
             : std::next(it);
}

void distribution::forget_monitor(const ref& r) {
  std::lock_guard lock(ties_mutex_);
  for (auto it = ties_.begin(); it != ties_.end();)
    it = it->second.kind == tie::what::monitor_by_local && it->second.monitor == r ? ties_.erase(it) : std::next(it);
}

// -- the I/O thread ---------------------------------------------------------------

void distribution::bounce_noconnection(const bounce_info& b) {
  if (b.kind == bounce_info::what::link) {
    forget_link(b.local, b.remote);
    rt_.signal(b.local, envelope_kind::exit_signal, exit_signal{b.remote, reason::noconnection(), true});
  } else if (b.kind == bounce_info::what::monitor) {
    forget_monitor(b.monitor);
    rt_.deliver(b.local, user_envelope(down_message{b.monitor, b.remote, reason::noconnection()}));
  } else if (b.kind == bounce_info::what::request) {
    term none;
    finish_request(b.request_id, errc::no_connection, none, "no connection to that node");
  }
}

void distribution::take_outbox() {
  {
    // The two vectors trade places, each keeping its capacity: no allocation
    // per flush, nor per message once they have grown.
    flushing_.clear();  // left over only if an intake threw
    std::lock_guard lock(outbox_mutex_);
    flushing_.swap(outbox_);
  }
  for (auto& out : flushing_) intake(std::move(out));
  flushing_.clear();
  if (flushing_.capacity() > kept_outbox_entries) flushing_ = {};  // a burst's peak is not kept
}

void distribution::flush() {
  take_outbox();
  backlogged_ = false;
  const time_point now = now_();
  std::vector<std::string> unreachable;
  for (auto& [node, q] : queues_) {
    if (q.empty()) continue;  // kept for the next message; tick() drops it once its link is gone
    if (const auto link = links_.node_link(node)) {
      if (!send_queue(*link, node, q)) backlogged_ = true;
    } else if (!links_.wanted(node) || now - q.since > hold_limit) {
      // Not a live member, or its link will not come up: give up, counted.
      unreachable.push_back(node);
    }
    // else: a live member whose link is still being set up: hold, don't drop
  }
  for (const auto& node : unreachable) drop_queue(node);
}

void distribution::intake(outgoing out) {
  auto& q = queues_[out.node];
  if (q.empty()) q.since = now_();
  // Large messages go in fragments; a later message to the same receiver
  // waits behind them, so its order holds.
  if (out.bytes.size() > fragment_bytes || q.large_receivers.count(out.receiver)) {
    ++q.large_receivers[out.receiver];
    q.large.push_back(std::move(out));
  } else {
    ++q.small_receivers[out.receiver];
    q.small.push_back(std::move(out));
  }
}

void distribution::take_whole(outgoing& out, peer_queue::frame& f) {
  f.bytes.insert(f.bytes.end(), out.bytes.begin(), out.bytes.end());
  f.bounces.push_back(out.bounce);
  // One count per flow and frame, not per message: the I/O thread takes the
  // flow's lock once per frame.
  if (!f.counted.empty() && f.counted.back().first == out.flow)
    f.counted.back().second += out.bytes.size();
  else
    f.counted.emplace_back(std::move(out.flow), out.bytes.size());
  ++f.messages;
}

void distribution::take_large(peer_queue& q, peer_queue::frame& f) {
  outgoing& out = q.large.front();
  const bool whole = q.large_sent == 0 && out.bytes.size() <= fragment_bytes;
  if (whole) {
    take_whole(out, f);
  } else {
    const std::size_t n = std::min(fragment_bytes, out.bytes.size() - q.large_sent);
    const auto first = out.bytes.begin() + static_cast<std::ptrdiff_t>(q.large_sent);
    wire::fragment piece{out.bytes.size(), q.large_sent, wire::bytes(first, first + static_cast<std::ptrdiff_t>(n))};
    wire::encode(piece, f.bytes);
    f.counted.emplace_back(out.flow, n);
    ++f.fragments;
    q.large_sent += n;
    if (q.large_sent < out.bytes.size()) return;
    f.bounces.push_back(out.bounce);
    ++f.messages;
  }
  q.large_sent = 0;
  if (const auto it = q.large_receivers.find(out.receiver); it != q.large_receivers.end() && --it->second == 0)
    q.large_receivers.erase(it);
  q.large.pop_front();
}

bool distribution::send_queue(conn_id link, const std::string& node, peer_queue& q) {
  for (;;) {
    if (q.unsent.bytes.empty()) {
      if (q.small.empty() && q.large.empty()) return true;
      // One frame: small messages up to the frame size, then the next piece of
      // the large lane, so each frame moves both along.
      auto& f = q.unsent;
      while (!q.small.empty() &&
             (f.bytes.empty() || f.bytes.size() + q.small.front().bytes.size() <= max_frame_bytes)) {
        const auto it = q.small_receivers.find(q.small.front().receiver);
        if (it != q.small_receivers.end() && --it->second == 0) q.small_receivers.erase(it);
        take_whole(q.small.front(), f);
        q.small.pop_front();
      }
      // The large lane moves on only once its receiver's earlier small
      // messages have left (they may still fill the next frames).
      if (!q.large.empty() && (q.large_sent > 0 || !q.small_receivers.contains(q.large.front().receiver)))
        take_large(q, f);
    }
    if (!links_.send_frame(link, q.unsent.bytes)) return false;  // full: this frame goes first next time
    auto& f = q.unsent;
    stats_.frames.fetch_add(1, std::memory_order_relaxed);
    stats_.fragments.fetch_add(f.fragments, std::memory_order_relaxed);
    traffic_[node].messages_out += f.messages;
    for (auto& [flow, n] : f.counted) flow->remove(n);
    // The next frame reuses the buffers, unless a burst left them large.
    if (f.bytes.capacity() > reused_frame_bytes || f.bounces.capacity() > kept_outbox_entries)
      f = {};
    else {
      f.bytes.clear();
      f.bounces.clear();
      f.counted.clear();
      f.messages = f.fragments = 0;
    }
  }
}

void distribution::drop_queue(const std::string& node) {
  const auto it = queues_.find(node);
  if (it == queues_.end()) return;
  peer_queue q = std::move(it->second);
  queues_.erase(it);
  auto drop = [this](const bounce_info& b) {
    stats_.dropped_no_connection.fetch_add(1, std::memory_order_relaxed);
    bounce_noconnection(b);
  };
  for (const auto& b : q.unsent.bounces) drop(b);
  for (auto& [flow, n] : q.unsent.counted) flow->remove(n);
  for (auto& out : q.small) {
    drop(out.bounce);
    out.flow->remove(out.bytes.size());
  }
  for (auto& out : q.large) {
    drop(out.bounce);
    out.flow->remove(out.bytes.size() - std::exchange(q.large_sent, 0));  // fragments sent were counted then
  }
}

void distribution::deliver_signal(const wire::process_signal& s, const std::string& from_node) {
  using wire::signal_kind;
  const ref* monitor = s.monitor.get_if<ref>();
  switch (static_cast<signal_kind>(s.kind)) {
    case signal_kind::exit:
      rt_.signal(s.to, envelope_kind::exit_signal, exit_signal{s.from, s.reason, false});
      return;
    case signal_kind::link_exit:
      forget_link(s.to, s.from);
      rt_.signal(s.to, envelope_kind::exit_signal, exit_signal{s.from, s.reason, true});
      return;
    case signal_kind::link:
      remember(from_node, tie{tie::what::link, s.to, s.from, {}});
      rt_.signal(s.to, envelope_kind::link, link_signal{s.from});
      return;
    case signal_kind::unlink:
      forget_link(s.to, s.from);
      rt_.signal(s.to, envelope_kind::unlink, link_signal{s.from});
      return;
    case signal_kind::monitor:
      if (monitor) rt_.signal(s.to, envelope_kind::monitor, monitor_signal{s.from, *monitor});
      return;
    case signal_kind::demonitor:
      if (monitor) rt_.signal(s.to, envelope_kind::demonitor, demonitor_signal{*monitor});
      return;
    case signal_kind::down:
      if (!monitor) return;
      forget_monitor(*monitor);
      rt_.deliver(s.to, user_envelope(down_message{*monitor, s.from, s.reason}));
      return;
  }
}

void distribution::send_on(conn_id conn, const wire::message& m) {
  const link_info* peer = links_.peer(conn);
  if (!peer || peer->kind != wire::peer_kind::node) {
    (void)links_.send(conn, m);
    return;
  }
  auto flow = flow_of(peer->name);
  outgoing out{peer->name, wire::encode(m), {}, 0, flow};
  flow->add(out.bytes.size());
  stats_.sent.fetch_add(1, std::memory_order_relaxed);
  intake(std::move(out));
}

void distribution::send_reply(conn_id conn, bool spawn, std::uint64_t id, errc code, const term& value,
                              const std::string& text) {
  const int c = static_cast<int>(code);
  if (spawn)
    send_on(conn, wire::spawn_reply{id, c, value, text});
  else
    send_on(conn, wire::call_reply{id, c, value, text});
}

void distribution::answer(const answer_to& a, bool spawn, errc code, term value, const std::string& text) {
  if (!a.wanted) return;
  if (a.process) {
    rt_.deliver(*a.process, user_envelope(call_result{a.id, code, std::move(value), text}));
    return;
  }
  // A spawn is answered where the request was handled, on the I/O thread:
  // at once, so the answer leaves before anything the new process sends
  // (its exit, for a tied spawn, must come after the pid it is about).
  if (spawn) {
    send_reply(a.conn, spawn, a.id, code, value, text);
    return;
  }
  // Connections belong to the I/O thread: hand the answer over to it. What
  // the function sent before it returned may still be in the outbox (the
  // I/O thread flushed just before it ran this): queued first, it keeps its
  // place ahead of the answer.
  hooks_.post([this, conn = a.conn, id = a.id, code, spawn, value = std::move(value), text] {
    take_outbox();
    send_reply(conn, spawn, id, code, value, text);
  });
}

std::optional<pid> distribution::run_function(answer_to a, const std::string& function, const term& args, bool spawn,
                                              const spawn_options& child) {
  auto fn = functions_.find(function);
  if (!fn) {
    answer(a, spawn, errc::not_found, nil{}, "undefined function " + function + " on " + rt_.node());
    return std::nullopt;
  }
  const bool reply_with_result = a.wanted && !spawn;
  const pid p = rt_.spawn_frame(
      [&](context& ctx) { return run_registered(ctx, *this, std::move(fn), args, a, reply_with_result); }, function,
      child);
  if (spawn) answer(a, true, errc::ok, p, "");
  return p;
}

task distribution::run_registered(context& ctx, distribution& self, std::shared_ptr<const function_body> fn, term args,
                                  answer_to a, bool reply_with_result) {
  term result;
  errc code = errc::ok;
  std::string text;
  try {
    co_await (*fn)(ctx, args, result);
  } catch (const bad_arguments& e) {
    code = errc::bad_argument;
    text = e.what();
  } catch (const call_error& e) {
    code = e.code;
    text = e.what();
  } catch (const std::exception& e) {
    code = errc::exception;
    text = e.what();
  }
  if (reply_with_result) self.answer(a, false, code, std::move(result), text);
  if (code != errc::ok) ctx.stop(term(text));  // a spawned process dies of it, as in Erlang
}

void distribution::request(const std::string& node, std::optional<pid> reply_to, std::uint64_t id,
                           const std::string& function, const term& args, bool spawn, spawn_ties ties) {
  const bool wanted = reply_to.has_value();
  const bool tied = spawn && wanted && (ties.link || ties.monitor);
  if (node.empty() || node == rt_.node()) {
    // Here, on the requester's own thread: both halves at once, as spawn_link.
    spawn_options child;
    if (process* me = runtime_core::running(); tied && me && rt_.pid_of(*me) == *reply_to) {
      if (ties.link) child.link_to = me;
      if (ties.monitor) {
        child.monitor_by = me;
        child.monitor = *ties.monitor;
      }
    }
    run_function(answer_to{wanted, 0, reply_to, id}, function, args, spawn, child);
    return;
  }
  const node_atom target = node;
  if (wanted) {
    std::lock_guard lock(requests_mutex_);
    const time_point now = now_();
    requests_[id] = pending_request{*reply_to, target, now + forward_lifetime, now, spawn, tied ? ties : spawn_ties{}};
  }
  bounce_info b;
  if (wanted) {
    b.kind = bounce_info::what::request;
    b.local = *reply_to;
    b.request_id = id;
  }
  // Requests go to the node, not to a process: they share order key 0.
  if (!wanted)
    enqueue(target, wire::cast_request{"", function, args}, 0, false);
  else if (tied)
    enqueue(target,
            wire::spawn_tied_request{id, "", function, args, *reply_to, ties.link,
                                     ties.monitor ? term(*ties.monitor) : term()},
            0, false, std::move(b));
  else if (spawn)
    enqueue(target, wire::spawn_request{id, "", function, args}, 0, false, std::move(b));
  else
    enqueue(target, wire::call_request{id, "", function, args}, 0, false, std::move(b));
}

bool distribution::finish_request(std::uint64_t id, errc code, term& value, const std::string& text) {
  pending_request r;
  {
    std::lock_guard lock(requests_mutex_);
    const auto it = requests_.find(id);
    if (it == requests_.end()) return false;
    r = std::move(it->second);
    requests_.erase(it);
    const auto took = std::chrono::duration_cast<std::chrono::microseconds>(now_() - r.started);
    (r.spawn ? stats_.spawn_latency : stats_.call_latency).observe(took);
  }
  // A tied spawn: our process's half, before the answer and so before any
  // exit of the child (which comes after the answer on the same link).
  if (const pid* child = value.get_if<pid>(); child && code == errc::ok && r.spawn) {
    if (r.ties.link) {
      rt_.signal(r.reply_to, envelope_kind::link, link_signal{*child});
      remember(child->node, tie{tie::what::link, r.reply_to, *child, {}});
    }
    if (r.ties.monitor) {
      rt_.signal(r.reply_to, envelope_kind::watching, watching_signal{*r.ties.monitor, *child});
      remember(child->node, tie{tie::what::monitor_by_local, r.reply_to, *child, *r.ties.monitor});
    }
  }
  rt_.deliver(r.reply_to, user_envelope(call_result{id, code, std::move(value), text}));
  return true;
}

template <class Request>
void distribution::forward_request(conn_id from, Request request, bool spawn, time_point now) {
  const std::string target = request.node;
  const auto link = links_.node_link(target);
  if (!link) {
    send_reply(from, spawn, request.request_id, errc::no_connection, nil{},
               rt_.node() + " has no connection to " + target);
    return;
  }
  const std::uint64_t id = next_forward_++;
  forwards_[id] = forward{from, request.request_id, spawn, target, now + forward_lifetime};
  request.request_id = id;
  request.node.clear();
  send_on(*link, request);
}

bool distribution::relay(std::uint64_t id, errc code, const term& value, const std::string& text) {
  const auto it = forwards_.find(id);
  if (it == forwards_.end()) return false;
  send_reply(it->second.reply_conn, it->second.spawn, it->second.request_id, code, value, text);
  forwards_.erase(it);
  return true;
}

bool distribution::handle(const link_info& from, wire::message& m) {
  stats_.received.fetch_add(1, std::memory_order_relaxed);
  if (from.kind == wire::peer_kind::node) ++traffic_[from.name].messages_in;
  if (auto* s = std::get_if<wire::process_send>(&m)) {
    rt_.deliver(s->to, user_envelope(std::move(s->message)), true);
    return true;
  }
  if (auto* s = std::get_if<wire::process_send_named>(&m)) {
    if (!rt_.send_named(s->name, rt_.node(), message::make(std::move(s->message))))
      stats_.dropped_unknown_name.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  if (auto* s = std::get_if<wire::process_send_named_at>(&m)) {
    // Here, or on to the node named (counted there if nobody has the name;
    // one that cannot go there is counted on its way, by route_named).
    const std::string& node = s->node.empty() ? rt_.node() : s->node;
    if (!rt_.send_named(s->name, node, message::make(std::move(s->message))) && node == rt_.node())
      stats_.dropped_unknown_name.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  if (auto* s = std::get_if<wire::process_signal>(&m)) {
    deliver_signal(*s, from.name);
    return true;
  }
  if (auto* f = std::get_if<wire::fragment>(&m)) {
    stats_.received.fetch_sub(1, std::memory_order_relaxed);  // counted once whole
    if (from.kind == wire::peer_kind::node) --traffic_[from.name].messages_in;
    reassemble(from, *f);
    return true;
  }
  if (auto* c = std::get_if<wire::call_request>(&m)) {
    stats_.calls.fetch_add(1, std::memory_order_relaxed);
    if (!c->node.empty() && c->node != rt_.node()) {
      forward_request(from.conn, *c, false, now_());
      return true;
    }
    run_function(answer_to{true, from.conn, std::nullopt, c->request_id}, c->function, c->args, false);
    return true;
  }
  if (auto* c = std::get_if<wire::cast_request>(&m)) {
    if (!c->node.empty() && c->node != rt_.node()) {
      if (const auto link = links_.node_link(c->node)) send_on(*link, wire::cast_request{"", c->function, c->args});
      return true;
    }
    run_function(answer_to{}, c->function, c->args, false);
    return true;
  }
  if (auto* s = std::get_if<wire::spawn_tied_request>(&m)) {
    stats_.spawns.fetch_add(1, std::memory_order_relaxed);
    if (!s->node.empty() && s->node != rt_.node()) {
      forward_request(from.conn, *s, true, now_());
      return true;
    }
    // The child's half of the link or monitor is in place before it runs;
    // a link with a process of another node breaks `noconnection` with it.
    spawn_options child;
    if (s->link) child.linked_with = s->parent;
    if (const ref* r = s->monitor.get_if<ref>()) child.monitored_by = std::make_pair(*r, s->parent);
    const auto p =
        run_function(answer_to{true, from.conn, std::nullopt, s->request_id}, s->function, s->args, true, child);
    if (p && s->link) {
      remember(s->parent.node, tie{tie::what::link, *p, s->parent, {}});
      if (!rt_.alive(*p)) forget_link(*p, s->parent);  // it ended before the tie was there
    }
    return true;
  }
  if (auto* s = std::get_if<wire::spawn_request>(&m)) {
    stats_.spawns.fetch_add(1, std::memory_order_relaxed);
    if (!s->node.empty() && s->node != rt_.node()) {
      forward_request(from.conn, *s, true, now_());
      return true;
    }
    run_function(answer_to{true, from.conn, std::nullopt, s->request_id}, s->function, s->args, true);
    return true;
  }
  // Answers: to a call one of our processes made, or to one we forwarded.
  if (auto* r = std::get_if<wire::call_reply>(&m)) {
    const auto code = static_cast<errc>(r->code);
    if (!finish_request(r->request_id, code, r->result, r->message)) relay(r->request_id, code, r->result, r->message);
    return true;
  }
  if (auto* r = std::get_if<wire::spawn_reply>(&m)) {
    const auto code = static_cast<errc>(r->code);
    if (!finish_request(r->request_id, code, r->pid, r->message)) relay(r->request_id, code, r->pid, r->message);
    return true;
  }
  stats_.received.fetch_sub(1, std::memory_order_relaxed);
  return false;
}

void distribution::reassemble(const link_info& from, wire::fragment& f) {
  auto& r = reassembly_[from.name];
  if (f.offset == 0) {  // a new message; a partial one before it is gone
    if (r.total != 0) stats_.dropped_fragmented.fetch_add(1, std::memory_order_relaxed);
    r = {};
  } else if (r.total == 0 || f.offset != r.received) {  // not the piece that follows: drop the rest of it
    if (r.total != 0 && !r.skipping) stats_.dropped_fragmented.fetch_add(1, std::memory_order_relaxed);
    if (r.total == 0) r.total = f.total;
    r.skipping = true;
    r.bytes = {};
    r.received = f.offset;
  }
  if (r.total == 0) {  // a new message
    r.total = f.total;
    if (r.total > limits_.max_message_bytes) {
      stats_.dropped_fragmented.fetch_add(1, std::memory_order_relaxed);  // the message, not the link
      r.skipping = true;
    } else {
      r.bytes.reserve(r.total);  // one allocation, not a doubling series of copies
    }
  }
  r.received += f.chunk.size();
  const bool complete = r.received >= r.total;
  if (f.total != r.total || r.received > r.total) {  // pieces of different messages: a broken peer
    stats_.dropped_fragmented.fetch_add(1, std::memory_order_relaxed);
    reassembly_.erase(from.name);
    return;
  }
  if (r.skipping) {
    if (complete) reassembly_.erase(from.name);
    return;
  }
  r.bytes.insert(r.bytes.end(), f.chunk.begin(), f.chunk.end());
  if (!complete) return;
  const wire::bytes whole = std::move(r.bytes);
  reassembly_.erase(from.name);
  wire::decode_limits lim;
  lim.max_frame_bytes = limits_.max_message_bytes;
  lim.max_string_bytes = limits_.max_message_bytes;
  lim.max_messages = 1;
  auto decoded = wire::decode_frame(whole, lim);
  if (!decoded || std::holds_alternative<wire::fragment>(decoded.value().front())) {
    stats_.dropped_fragmented.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  (void)handle(from, decoded.value().front());
}

void distribution::on_node_down(const std::string& node) {
  drop_queue(node);
  reassembly_.erase(node);
  std::vector<tie> gone;
  {
    std::lock_guard lock(ties_mutex_);
    auto [first, last] = ties_.equal_range(node);
    for (auto it = first; it != last; ++it) gone.push_back(it->second);
    ties_.erase(first, last);
  }
  for (const tie& t : gone) {
    if (t.kind == tie::what::link)
      rt_.signal(t.local, envelope_kind::exit_signal, exit_signal{t.remote, reason::noconnection(), true});
    else
      rt_.deliver(t.local, user_envelope(down_message{t.monitor, t.remote, reason::noconnection()}));
  }
  // Calls made by our processes to that node will get no answer: say so now.
  std::vector<std::uint64_t> lost;
  {
    std::lock_guard lock(requests_mutex_);
    for (const auto& [id, r] : requests_)
      if (r.node == node) lost.push_back(id);
  }
  for (const auto id : lost) {
    term none;
    finish_request(id, errc::no_connection, none, node + " went down");
  }
  // Calls and spawns forwarded there will get no answer: say so now.
  for (auto it = forwards_.begin(); it != forwards_.end();) {
    if (it->second.target == node)
      send_reply(it->second.reply_conn, it->second.spawn, it->second.request_id, errc::no_connection, nil{},
                 node + " went down");
    it = it->second.target == node ? forwards_.erase(it) : std::next(it);
  }
}

void distribution::tick(time_point now) {
  // A link that does not come up within hold_limit will not: give up, counted.
  std::vector<std::string> stale;
  for (const auto& [node, q] : queues_)
    if (!links_.node_link(node) && now - q.since > hold_limit) stale.push_back(node);
  for (const auto& node : stale) drop_queue(node);
  // Requests live for minutes, and 100,000 may be pending: once a second is
  // soon enough to forget the expired ones (the I/O thread ticks every ms).
  if (now < next_sweep_) return;
  next_sweep_ = now + std::chrono::seconds(1);
  {
    std::lock_guard lock(requests_mutex_);
    std::erase_if(requests_, [now](const auto& kv) { return kv.second.expires <= now; });
  }
  for (auto it = forwards_.begin(); it != forwards_.end();)
    it = it->second.expires <= now ? forwards_.erase(it) : std::next(it);
  // A node messages once went to, not linked now and with nothing of ours on
  // its way: its record goes, or a sender naming node after invented node
  // would grow the table for good. Every message in flight holds its record,
  // and suspended senders are in it (held); new holders copy theirs out of
  // the table under this lock, so a count of one cannot grow meanwhile.
  // After close() the records stay: they are released for good.
  if (closed_.load()) return;
  std::lock_guard lock(outbox_mutex_);
  std::erase_if(flows_, [this](const auto& kv) {
    const auto& [node, flow] = kv;
    return flow.use_count() == 1 && flow->bytes() == 0 && flow->held() == 0 && !links_.node_link(node) &&
           !queues_.contains(node);
  });
}

std::size_t distribution::flow_records() const {
  std::lock_guard lock(outbox_mutex_);
  return flows_.size();
}

}  // namespace cluster::internal

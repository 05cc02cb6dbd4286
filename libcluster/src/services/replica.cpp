#include "services/replica.hpp"

#include <algorithm>
#include <chrono>

#include "cluster/events.hpp"
#include "cluster/log.hpp"

namespace cluster::internal {
namespace {

// How often a replica sends each node a digest of its entries, which catches
// changes lost with a replaced connection.
constexpr auto digest_interval = std::chrono::seconds(2);

}  // namespace

replica::replica(cluster::runtime& rt, std::string process_name, replica_hooks hooks)
    : runtime_(rt), engine_(rt.node()), name_(std::move(process_name)), self_(rt.node()), hooks_(std::move(hooks)) {}

void replica::start() {
  process_ = runtime_.spawn(behavior([this](context& ctx) -> task { return run(ctx); }).labelled(name_));
}

bool replica::add_own(const std::string& key, authority_table::entry e, const std::optional<pid>& reply_to) {
  std::lock_guard lock(mutex_);
  replica_engine::output out;
  if (!engine_.add_own(key, std::move(e), out, reply_to)) return false;
  ++queued_;
  runtime_.send(process_, queued_output{std::move(out)});  // under the lock: in the engine's order
  return true;
}

bool replica::add_own_if_free(const std::string& key, authority_table::entry e, const std::optional<pid>& reply_to,
                              std::vector<std::string>& told) {
  std::lock_guard lock(mutex_);
  replica_engine::output out;
  if (engine_.table().winner(key) || !engine_.add_own(key, std::move(e), out, reply_to)) return false;
  told = engine_.up_nodes();
  ++queued_;
  runtime_.send(process_, queued_output{std::move(out)});
  return true;
}

bool replica::remove_own(const std::string& key, const pid& p) {
  std::lock_guard lock(mutex_);
  replica_engine::output out;
  if (!engine_.remove_own(key, p, out)) return false;
  ++queued_;
  runtime_.send(process_, queued_output{std::move(out)});
  return true;
}

void replica::watch_own(context& ctx, const pid& p) {
  bool has_entries = false;
  {
    std::lock_guard lock(mutex_);
    has_entries = engine_.has_own(p);
  }
  const auto it = watched_.find(p);
  if (has_entries && it == watched_.end()) {
    watched_.emplace(p, ctx.monitor(p));
  } else if (!has_entries && it != watched_.end()) {
    ctx.demonitor(it->second);
    watched_.erase(it);
  }
}

void replica::execute(context& ctx, replica_engine::output& out) {
  for (auto& [node, msg] : out.sends) ctx.send(name_, node, message::make(std::move(msg)));
  for (auto& [to, msg] : out.replies) ctx.send(to, message::make(std::move(msg)));
  for (const auto& c : out.changes) {
    for (const auto& p : c.pids)
      if (p.node == self_) watch_own(ctx, p);
    changed(ctx, c);
  }
}

task replica::run(context& ctx) {
  (void)ctx.register_name(name_);
  hooks_.monitor_nodes(ctx.self());  // before reading who is up: nothing falls between
  for (const auto& n : hooks_.up_nodes()) {
    replica_engine::output out;
    {
      std::lock_guard lock(mutex_);
      engine_.node_up(n, out);
    }
    execute(ctx, out);
  }
  const matcher any = [](const message&) { return true; };
  auto next_digest = std::chrono::steady_clock::now() + digest_interval;
  for (;;) {
    const auto wait = std::max(next_digest - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration{});
    auto got = co_await ctx.receive(any, std::chrono::duration_cast<std::chrono::nanoseconds>(wait));
    replica_engine::output out;
    if (std::chrono::steady_clock::now() >= next_digest) {
      next_digest = std::chrono::steady_clock::now() + digest_interval;
      std::lock_guard lock(mutex_);
      // Not while changes wait in our mailbox: the digest would count them
      // before the others heard of them, and ask for a needless full copy.
      if (queued_ == 0) engine_.send_digests(out);
    }
    if (!got) {
      execute(ctx, out);
      continue;
    }
    message& m = *got;
    if (auto* queued = m.get_if<queued_output>()) {
      {
        std::lock_guard lock(mutex_);
        --queued_;
      }
      for (auto& s : queued->out.sends) out.sends.push_back(std::move(s));
      for (auto& r : queued->out.replies) out.replies.push_back(std::move(r));
      for (auto& c : queued->out.changes) out.changes.push_back(std::move(c));
    } else if (const auto* down = m.get_if<down_message>()) {
      if (watched_.erase(down->process)) {
        std::lock_guard lock(mutex_);
        engine_.own_ended(down->process, out);
      }
    } else if (const auto* e = m.get_if<node_event>()) {
      std::lock_guard lock(mutex_);
      if (e->what == node_event::kind::up)
        engine_.node_up(e->node.name, out);
      else if (e->what == node_event::kind::down || e->what == node_event::kind::left)
        engine_.node_gone(e->node.name, out);
    } else if (const auto* t = m.get_if<term>()) {
      bool known = false;
      {
        std::lock_guard lock(mutex_);
        known = engine_.receive(*t, out);
      }
      if (!known && !(t->is<term_list>() && handle(ctx, t->as<term_list>())))
        log(log_level::debug, name_ + ": unknown message " + to_string(*t));
    }
    execute(ctx, out);
  }
}

}  // namespace cluster::internal

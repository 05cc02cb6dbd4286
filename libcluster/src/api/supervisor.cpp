#include "cluster/supervisor.hpp"

#include <algorithm>
#include <deque>
#include <optional>
#include <set>

#include "cluster/log.hpp"
#include "runtime/runtime_core.hpp"

namespace cluster {
namespace {

struct child {
  child_spec spec;
  std::optional<pid> running;
};

bool restarts(const child_spec& spec, const term& reason) {
  switch (spec.restart) {
    case restart_type::permanent:
      return true;
    case restart_type::temporary:
      return false;
    case restart_type::transient:
      return !reason::is(reason, "normal") && !reason::is(reason, "shutdown");
  }
  return false;
}

matcher exit_from(const pid& p) {
  return [p](const message& m) {
    const auto* e = m.get_if<exit_message>();
    return e && e->from == p;
  };
}

task supervise(context& ctx, supervisor_flags flags, std::vector<child_spec> specs) {
  ctx.trap_exit(true);
  std::vector<child> kids;
  std::set<pid> former;  // ended children whose exit we have not seen yet
  for (auto& s : specs) kids.push_back({std::move(s), std::nullopt});
  for (auto& k : kids) k.running = ctx.spawn_link(k.spec.start);
  std::deque<time_point> recent;  // restart times within the period
  const clock& clk = ctx.core().timers().time();

  for (;;) {
    message m = co_await ctx.receive();
    if (const auto* q = m.get_if<which_children>()) {
      supervisor_children reply;
      for (const auto& k : kids)
        if (k.running) reply.running.emplace_back(k.spec.id, *k.running);
      ctx.send(q->reply_to, std::move(reply));
      continue;
    }
    const auto* ex = m.get_if<exit_message>();
    if (!ex) continue;  // supervisors take no other messages
    const pid from = ex->from;
    const term why = ex->reason;
    if (former.erase(from)) continue;

    const auto ended = std::find_if(kids.begin(), kids.end(), [&](const child& k) { return k.running == from; });
    // Which children to stop (in reverse) and then start (in order).
    std::size_t first = 0, last = kids.size();
    bool shutting_down = false;
    term exit_reason = why;
    if (ended == kids.end()) {
      shutting_down = true;  // our parent, or someone, told us to stop
    } else {
      ended->running.reset();
      const std::size_t index = static_cast<std::size_t>(ended - kids.begin());
      if (!restarts(ended->spec, why)) {
        if (ended->spec.restart == restart_type::temporary) kids.erase(ended);
        continue;
      }
      const time_point now = clk.now();
      recent.push_back(now);
      while (!recent.empty() && now - recent.front() > flags.period) recent.pop_front();
      if (static_cast<int>(recent.size()) > flags.intensity) {
        shutting_down = true;
        exit_reason = reason::shutdown();
        log(log_level::error, "supervisor " + to_string(ctx.self()) + ": reached its restart intensity (" +
                                  std::to_string(flags.intensity) + " in " + std::to_string(flags.period.count()) +
                                  " ms); shutting down");
      } else if (flags.strategy == restart_strategy::one_for_one) {
        first = index;
        last = index + 1;
      } else if (flags.strategy == restart_strategy::rest_for_one) {
        first = index;
      }
    }

    // Stop the affected children, last started first.
    for (std::size_t i = last; i-- > first;) {
      if (!kids[i].running) continue;
      const pid victim = *kids[i].running;
      kids[i].running.reset();
      ctx.exit(victim, reason::shutdown());
      auto gone = co_await ctx.receive(exit_from(victim), kids[i].spec.shutdown);
      if (!gone) {
        ctx.exit(victim, reason::kill());
        // A child that unlinked itself never sends its exit: do not wait forever.
        if (!co_await ctx.receive(exit_from(victim), kids[i].spec.shutdown))
          log(log_level::error, "supervisor " + to_string(ctx.self()) + ": child " + kids[i].spec.id +
                                    " did not report its end after kill");
      }
    }
    if (shutting_down) {
      ctx.stop(exit_reason);
      co_return;
    }
    for (std::size_t i = first; i < last && i < kids.size(); ++i)
      if (!kids[i].running) kids[i].running = ctx.spawn_link(kids[i].spec.start);
  }
}

}  // namespace

behavior supervisor(supervisor_flags flags, std::vector<child_spec> children) {
  return [flags, children](context& ctx) -> task { return supervise(ctx, flags, children); };
}

}  // namespace cluster

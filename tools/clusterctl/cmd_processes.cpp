// processes, registered, top, monitor and `ping NODE`: looking at processes.
#include <csignal>
#include <iomanip>
#include <thread>

#include "command.hpp"
#include "json_term.hpp"

namespace clusterctl {

namespace {

volatile std::sig_atomic_t interrupted = 0;

void on_interrupt() {
  std::signal(SIGINT, [](int) { interrupted = 1; });
  std::signal(SIGTERM, [](int) { interrupted = 1; });
}

nlohmann::json json_of(const cluster::process_info& p) {
  return {{"pid", cluster::to_string(p.pid)},
          {"name", p.name},
          {"mailbox", p.mailbox},
          {"handled", p.handled},
          {"memory", p.memory},
          {"function", p.function}};
}

void print_table(const cluster::client::process_list& list) {
  std::cout << std::left << std::setw(30) << "PID" << std::setw(18) << "NAME" << std::setw(10) << "MAILBOX"
            << std::setw(12) << "HANDLED" << std::setw(10) << "MEMORY"
            << "FUNCTION\n";
  for (const auto& p : list.processes)
    std::cout << std::left << std::setw(30) << cluster::to_string(p.pid) << std::setw(18)
              << (p.name.empty() ? "-" : p.name) << std::setw(10) << p.mailbox << std::setw(12) << p.handled
              << std::setw(10) << p.memory << (p.function.empty() ? "-" : p.function) << "\n";
}

}  // namespace

int run_processes(context& ctx, const process_args& a) {
  auto list = ctx.client.processes(a.sort, a.limit);
  if (!list) return report(ctx.json, "processes", list.err());
  if (ctx.json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& p : list->processes) rows.push_back(json_of(p));
    print({{"total", list->total}, {"processes", rows}});
  } else {
    print_table(*list);
    if (list->processes.size() < list->total)
      std::cout << "(" << list->processes.size() << " of " << list->total << " processes)\n";
  }
  return exit_ok;
}

int run_registered(context& ctx, bool global) {
  auto names = ctx.client.registered();
  if (global) {  // the cluster-wide names, as the node knows them
    auto listed = ctx.client.call("global:registered", cluster::term(cluster::term_list{}), ctx.timeout);
    if (!listed) return report(ctx.json, "registered --global", listed.err());
    std::vector<std::pair<std::string, cluster::pid>> out;
    for (const auto& row : listed->as<cluster::term_list>()) {
      const auto& pair = row.as<cluster::term_list>();
      out.emplace_back(pair[0].as<std::string>(), pair[1].as<cluster::pid>());
    }
    names = std::move(out);
  }
  if (!names) return report(ctx.json, "registered", names.err());
  if (ctx.json) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [name, p] : *names) out[name] = cluster::to_string(p);
    print(out);
  } else {
    for (const auto& [name, p] : *names)
      std::cout << std::left << std::setw(24) << name << cluster::to_string(p) << "\n";
  }
  return exit_ok;
}

// As etop: the busiest processes, redrawn every interval until Ctrl-C (or
// `iterations` screens). Plain ANSI: clear the screen, home the cursor.
int run_top(context& ctx, const process_args& a, std::chrono::milliseconds interval, int iterations) {
  on_interrupt();
  for (int screen = 0; !interrupted && (iterations == 0 || screen < iterations); ++screen) {
    auto list = ctx.client.processes(a.sort, a.limit);
    if (!list) return report(ctx.json, "top", list.err());
    auto info = ctx.client.info();
    if (ctx.json) {
      nlohmann::json rows = nlohmann::json::array();
      for (const auto& p : list->processes) rows.push_back(json_of(p));
      print({{"total", list->total}, {"processes", rows}});
    } else {
      std::cout << "\x1b[2J\x1b[H"
                << "top: " << ctx.client.node() << "  processes " << list->total;
      if (info) std::cout << "  uptime " << info->uptime.count() / 1000 << "s";
      std::cout << "  sorted by " << a.sort << "  (Ctrl-C to quit)\n\n";
      print_table(*list);
    }
    std::cout.flush();
    for (auto waited = std::chrono::milliseconds(0); !interrupted && waited < interval;
         waited += std::chrono::milliseconds(50))
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return exit_ok;
}

int run_monitor(context& ctx, const std::string& pid_text, std::chrono::milliseconds for_at_most) {
  auto target = cluster::parse_pid(pid_text);
  if (!target) return report(ctx.json, "monitor: bad argument", target.err());
  auto reason = ctx.client.monitor(*target, for_at_most);
  if (!reason) return report(ctx.json, "monitor " + pid_text, reason.err());
  if (ctx.json)
    print({{"pid", pid_text}, {"reason", term_to_json(*reason)}});
  else
    std::cout << "DOWN " << pid_text << " " << term_to_json(*reason).dump() << "\n";
  return exit_ok;
}

// Round trip from the connected node to `node` and back (a call of sys:echo).
int run_ping_node(context& ctx, const std::string& node) {
  const auto start = std::chrono::steady_clock::now();
  auto echoed = ctx.client.call("sys:echo", cluster::nil{}, ctx.timeout, node);
  if (!echoed) return report(ctx.json, "ping " + node, echoed.err());
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  if (ctx.json)
    print({{"node", node}, {"via", ctx.client.node()}, {"rtt_us", us}});
  else
    std::cout << "pong from " << node << " (via " << ctx.client.node() << ") in " << us << " us\n";
  return exit_ok;
}

}  // namespace clusterctl

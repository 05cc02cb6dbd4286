// stats, why, leave and stop: operating one node.
#include <iomanip>

#include "command.hpp"

namespace clusterctl {

namespace {

nlohmann::json json_of(const cluster::histogram& h) {
  nlohmann::json buckets = nlohmann::json::array();
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    buckets.push_back({{"le_us", i < h.bounds_us.size() ? nlohmann::json(h.bounds_us[i]) : nlohmann::json("+Inf")},
                       {"count", cumulative}});
  }
  return {{"count", h.count}, {"sum_us", h.sum_us}, {"buckets", buckets}};
}

std::string mean_text(const cluster::histogram& h) {
  return h.count == 0 ? "-" : std::to_string(h.sum_us / h.count) + " us mean over " + std::to_string(h.count);
}

}  // namespace

int run_stats(context& ctx) {
  auto st = ctx.client.stats();
  if (!st) return report(ctx.json, "stats", st.err());
  if (ctx.json) {
    nlohmann::json counters = nlohmann::json::object();
    for (const auto& [name, value] : st->counters()) counters[name] = value;
    nlohmann::json links = nlohmann::json::array();
    for (const auto& l : st->links)
      links.push_back({{"node", l.node},
                       {"creation", l.creation},
                       {"frames_in", l.frames_in},
                       {"frames_out", l.frames_out},
                       {"bytes_in", l.bytes_in},
                       {"bytes_out", l.bytes_out},
                       {"messages_in", l.messages_in},
                       {"messages_out", l.messages_out},
                       {"queued", l.queued},
                       {"queued_bytes", l.queued_bytes},
                       {"busy", l.busy},
                       {"suspended", l.suspended},
                       {"up_ms", l.up_for.count()}});
    print({{"counters", counters},
           {"links", links},
           {"call_latency", json_of(st->call_latency)},
           {"spawn_latency", json_of(st->spawn_latency)}});
    return exit_ok;
  }
  for (const auto& [name, value] : st->counters()) std::cout << std::left << std::setw(28) << name << value << "\n";
  std::cout << std::left << std::setw(28) << "call_latency" << mean_text(st->call_latency) << "\n"
            << std::setw(28) << "spawn_latency" << mean_text(st->spawn_latency) << "\n\n";
  std::cout << std::left << std::setw(24) << "LINK" << std::setw(12) << "MSGS_IN" << std::setw(12) << "MSGS_OUT"
            << std::setw(14) << "BYTES_IN" << std::setw(14) << "BYTES_OUT" << std::setw(10) << "FRAMES" << std::setw(14)
            << "QUEUED"
            << "UP\n";
  for (const auto& l : st->links)
    std::cout << std::left << std::setw(24) << l.node << std::setw(12) << l.messages_in << std::setw(12)
              << l.messages_out << std::setw(14) << l.bytes_in << std::setw(14) << l.bytes_out << std::setw(10)
              << (l.frames_in + l.frames_out) << std::setw(14)
              << (std::to_string(l.queued) + " / " + std::to_string(l.queued_bytes) + " B" + (l.busy ? " busy" : ""))
              << l.up_for.count() / 1000 << "s\n";
  return exit_ok;
}

int run_why(context& ctx, const std::string& node) {
  auto parsed = cluster::parse_node_name(node);
  if (!parsed) return report(ctx.json, "why: bad argument", parsed.err());
  auto history = ctx.client.why(parsed->id());
  if (!history) return report(ctx.json, "why", history.err());
  if (history->empty())
    return report(ctx.json, "why", {cluster::errc::not_found, ctx.client.node() + " does not know " + parsed->id()});
  if (ctx.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& h : *history)
      out.push_back({{"ago_ms", h.ago.count()},
                     {"state", std::string(to_string(h.state))},
                     {"incarnation", h.incarnation},
                     {"reason", h.reason},
                     {"reporter", h.reporter}});
    print(out);
    return exit_ok;
  }
  std::cout << parsed->id() << " as " << ctx.client.node() << " saw it, newest first:\n";
  for (const auto& h : *history)
    std::cout << "  " << std::right << std::setw(9) << (std::to_string(h.ago.count()) + " ms") << " ago  " << std::left
              << std::setw(8) << to_string(h.state) << "incarnation " << h.incarnation << "  " << h.reason
              << " (reported by " << h.reporter << ")\n";
  return exit_ok;
}

int run_admin(context& ctx, const std::string& action) {
  auto done = action == "leave" ? ctx.client.leave() : ctx.client.stop();
  if (!done) return report(ctx.json, action, done.err());
  if (ctx.json)
    print({{action, ctx.client.node()}});
  else
    std::cout << ctx.client.node() << (action == "leave" ? " left the cluster\n" : " is stopping\n");
  return exit_ok;
}

}  // namespace clusterctl

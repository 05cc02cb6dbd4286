#include <csignal>
#include <iomanip>

#include "command.hpp"

namespace clusterctl {

namespace {

nlohmann::json json_of(const cluster::member& m) {
  return {{"name", m.name},
          {"host", m.host},
          {"port", m.port},
          {"state", std::string(to_string(m.state))},
          {"incarnation", m.incarnation},
          {"creation", m.creation},
          {"tags", m.tags},
          {"since_ms", m.since_change.count()},
          {"reason", m.reason},
          {"reporter", m.reporter}};
}

std::string tags_text(const cluster::member& m) {
  std::string out;
  for (const auto& [k, v] : m.tags) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out.empty() ? "-" : out;
}

std::string age_text(std::chrono::milliseconds ms) {
  const auto s = ms.count() / 1000;
  if (s < 60) return std::to_string(ms.count() / 100 / 10.0).substr(0, 4) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  return std::to_string(s / 3600) + "h" + std::to_string(s / 60 % 60) + "m";
}

volatile std::sig_atomic_t interrupted = 0;

}  // namespace

int run_members(context& ctx) {
  auto members = ctx.client.members();
  if (!members) return report(ctx.json, "members", members.err());
  if (ctx.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& m : *members) out.push_back(json_of(m));
    print(out);
    return exit_ok;
  }
  std::size_t width = 4;
  for (const auto& m : *members) width = std::max(width, m.name.size());
  std::cout << std::left << std::setw(static_cast<int>(width) + 2) << "NAME" << std::setw(22) << "ADDRESS"
            << std::setw(9) << "STATE" << std::setw(15) << "INCARNATION" << std::setw(12) << "CREATION"
            << std::setw(9) << "SINCE" << std::setw(16) << "TAGS"
            << "REASON\n";
  for (const auto& m : *members)
    std::cout << std::left << std::setw(static_cast<int>(width) + 2) << m.name << std::setw(22)
              << (m.host + ":" + std::to_string(m.port)) << std::setw(9) << to_string(m.state) << std::setw(15)
              << m.incarnation << std::setw(12) << m.creation << std::setw(9) << age_text(m.since_change)
              << std::setw(16) << tags_text(m) << m.reason << (m.reporter.empty() ? "" : " (" + m.reporter + ")")
              << "\n";
  return exit_ok;
}

int run_watch(context& ctx, std::chrono::milliseconds for_at_most) {
  // Stop cleanly on Ctrl-C: the client asks every 100 ms whether to go on.
  std::signal(SIGINT, [](int) { interrupted = 1; });
  std::signal(SIGTERM, [](int) { interrupted = 1; });
  auto done = ctx.client.watch(
      [&](const cluster::member_change& c) {
        if (ctx.json) {
          auto j = json_of(c.member);
          j["event"] = std::string(to_string(c.what));
          j["event_reporter"] = c.reporter;
          print(j);
        } else {
          std::cout << to_string(c.what) << "  " << c.member.name << "  " << to_string(c.member.state)
                    << "  incarnation " << c.member.incarnation << "  " << c.member.reason << " (reported by "
                    << c.reporter << ")\n";
        }
        std::cout.flush();
        return interrupted == 0;
      },
      for_at_most, [] { return interrupted == 0; });
  if (!done && !interrupted) return report(ctx.json, "watch", done.err());
  return exit_ok;
}

}  // namespace clusterctl

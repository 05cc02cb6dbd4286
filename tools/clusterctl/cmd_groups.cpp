// groups and group: process groups (pg) as the connected node knows them.
#include <iomanip>

#include "command.hpp"
#include "json_term.hpp"

namespace clusterctl {

int run_groups(context& ctx, const std::string& scope) {
  auto listed = ctx.client.call("pg:groups", cluster::term(scope), ctx.timeout);
  if (!listed) return report(ctx.json, "groups", listed.err());
  nlohmann::json out = nlohmann::json::object();
  for (const auto& row : listed->as<cluster::term_list>()) {
    const auto& pair = row.as<cluster::term_list>();
    const auto count = term_to_json(pair[1]);  // an integer, however it was encoded
    if (ctx.json)
      out[pair[0].as<std::string>()] = count;
    else
      std::cout << std::left << std::setw(32) << pair[0].as<std::string>() << count.dump() << "\n";
  }
  if (ctx.json) print(out);
  return exit_ok;
}

int run_group(context& ctx, const std::string& group, const std::string& scope) {
  auto listed = ctx.client.call("pg:members", cluster::term(cluster::term_list{group, scope}), ctx.timeout);
  if (!listed) return report(ctx.json, "group " + group, listed.err());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : listed->as<cluster::term_list>()) {
    if (ctx.json)
      out.push_back(cluster::to_string(p));
    else
      std::cout << cluster::to_string(p) << "\n";
  }
  if (ctx.json) print(out);
  return exit_ok;
}

}  // namespace clusterctl

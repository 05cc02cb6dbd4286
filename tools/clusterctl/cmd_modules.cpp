// modules, load, upgrade (one node or every member, rolling), unload and
// migrate: live code updates, through the node's code:* functions.
#include <algorithm>
#include <iomanip>

#include "command.hpp"
#include "json_term.hpp"

namespace clusterctl {
namespace {

using cluster::term;

const term* field(const term& map, const char* key) {
  for (const auto& [k, v] : map.as<cluster::term_map>())
    if (k.is<cluster::atom>() && k.as<cluster::atom>().name == key) return &v;
  return nullptr;
}

std::string text(const term* t) {
  if (!t || t->is<cluster::nil>()) return "-";
  if (t->is<std::string>()) return t->as<std::string>();
  return cluster::to_string(*t);
}

// One row per loaded version: the current one first, then the old one.
void print_table(const term& modules) {
  std::cout << std::left << std::setw(16) << "MODULE" << std::setw(12) << "VERSION" << std::setw(9) << "STATE"
            << std::setw(11) << "PROCESSES"
            << "PATH\n";
  for (const auto& m : modules.as<cluster::term_list>())
    for (const auto& v : field(m, "versions")->as<cluster::term_list>())
      std::cout << std::left << std::setw(16) << text(field(m, "name")) << std::setw(12) << text(field(v, "version"))
                << std::setw(9) << (field(v, "current")->as<bool>() ? "current" : "old") << std::setw(11)
                << text(field(v, "processes")) << text(field(v, "path")) << "\n";
}

cluster::result<term> code_call(context& ctx, const std::string& node, const std::string& fn, term args) {
  return ctx.client.call("code:" + fn, args, ctx.timeout, node);
}

int show(context& ctx, const term& described) {
  if (ctx.json)
    print(term_to_json(described));
  else
    print_table(term(cluster::term_list{described}));
  return exit_ok;
}

}  // namespace

int run_modules(context& ctx, const std::string& node) {
  auto list = code_call(ctx, node, "modules", term(cluster::term_list{}));
  if (!list) return report(ctx.json, "modules on " + node, list.err());
  if (ctx.json)
    print(term_to_json(*list));
  else
    print_table(*list);
  return exit_ok;
}

int run_load(context& ctx, const module_args& a) {
  auto done = code_call(ctx, a.node, "load", term(cluster::term_list{a.what}));
  if (!done) return report(ctx.json, "load " + a.what + " on " + a.node, done.err());
  return show(ctx, *done);
}

int run_upgrade(context& ctx, const module_args& a) {
  const term args(cluster::term_list{a.what, a.purge});
  if (!a.all) {
    auto done = code_call(ctx, a.node, "upgrade", args);
    if (!done) return report(ctx.json, "upgrade " + a.node + " to " + a.what, done.err());
    return show(ctx, *done);
  }
  // Rolling: one member after the other, in name order; the first failure
  // stops it, so a bad version reaches one node at most.
  auto members = ctx.client.members();
  if (!members) return report(ctx.json, "upgrade --all: members", members.err());
  std::sort(members->begin(), members->end(), [](const auto& x, const auto& y) { return x.name < y.name; });
  nlohmann::json upgraded = nlohmann::json::array(), skipped = nlohmann::json::array();
  for (const auto& m : *members) {
    if (m.state != cluster::member_state::alive) {
      skipped.push_back(m.name);
      if (!ctx.json) std::cout << m.name << ": skipped (" << cluster::to_string(m.state) << ")\n";
      continue;
    }
    auto done = code_call(ctx, m.name, "upgrade", args);
    if (!done) {
      if (ctx.json)
        print({{"upgraded", upgraded},
               {"skipped", skipped},
               {"failed", m.name},
               {"error", std::string(cluster::to_string(done.err().code))},
               {"message", done.err().message}});
      std::cerr << "clusterctl: upgrade " << m.name << " to " << a.what << ": " << done.err().message
                << " (stopped; upgraded before it: " << upgraded.size() << ")\n";
      return exit_failed;
    }
    upgraded.push_back(m.name);
    if (!ctx.json)
      std::cout << m.name << ": " << text(field(*done, "name")) << " " << text(field(*done, "current")) << "\n";
  }
  if (ctx.json) print({{"upgraded", upgraded}, {"skipped", skipped}});
  return exit_ok;
}

int run_unload(context& ctx, const module_args& a) {
  auto done = code_call(ctx, a.node, "unload", term(cluster::term_list{a.what, a.purge}));
  if (!done) return report(ctx.json, "unload " + a.what + " on " + a.node, done.err());
  return show(ctx, *done);
}

int run_migrate(context& ctx, const module_args& a) {
  auto done = code_call(ctx, a.node, "migrate", term(cluster::term_list{a.what}));
  if (!done) return report(ctx.json, "migrate " + a.what + " on " + a.node, done.err());
  if (ctx.json)
    print(term_to_json(*done));
  else
    std::cout << text(field(*done, "migrating")) << " server(s) of " << a.what << " told to move to "
              << text(field(*done, "version")) << "\n";
  return exit_ok;
}

}  // namespace clusterctl

// Live code updates on a running two-node cluster (docs/MODULES.md): real
// noded processes load, upgrade, migrate and unload the example module
// `hello`, driven by clusterctl and the client API. Addresses 127.9.N.x.
#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "cluster/client.hpp"
#include "integration/process.hpp"

using namespace std::chrono_literals;
using itest::eventually;
using itest::noded;
namespace fs = std::filesystem;

namespace {

const std::string cookie = "itest-cookie";

itest::run_result ctl(const std::string& node, std::vector<std::string> args) {
  std::vector<std::string> all = {"--node", node, "--cookie", cookie};
  all.insert(all.end(), args.begin(), args.end());
  return itest::clusterctl(all);
}

nlohmann::json ctl_json(const std::string& node, std::vector<std::string> args) {
  args.insert(args.begin(), "--json");
  const auto r = ctl(node, args);
  const auto parsed = nlohmann::json::parse(r.out, nullptr, false);
  return r.code == 0 && !parsed.is_discarded() ? parsed : nlohmann::json();
}

std::unique_ptr<cluster::client> connect(const std::string& node) {
  cluster::client_options o;
  o.cookie = cookie;
  o.timeout = 5000ms;
  auto c = cluster::client::connect(*cluster::parse_node_name(node), o);
  REQUIRE(c.ok());
  return std::move(c).value();
}

// The allowed module directory, with every module the tests load, and one
// outside it.
struct module_dirs {
  std::string allowed = itest::temp_dir() + "/modules-allowed";
  std::string outside = itest::temp_dir() + "/modules-outside";
  module_dirs() {
    fs::create_directories(allowed);
    fs::create_directories(outside);
    for (const char* file : {HELLO_V1_PATH, HELLO_V2_PATH, HELLO_V3_PATH, MODULE_NO_ENTRY_PATH, MODULE_WRONG_ABI_PATH,
                             MODULE_INIT_THROWS_PATH})
      fs::copy_file(file, allowed + "/" + fs::path(file).filename().string(), fs::copy_options::overwrite_existing);
    fs::copy_file(HELLO_V2_PATH, outside + "/libhello_v2.so", fs::copy_options::overwrite_existing);
  }
};

// Versions of `hello` a node has loaded, with their process counts.
std::map<std::string, int> hello_versions(const std::string& via, const std::string& node) {
  std::map<std::string, int> out;
  for (const auto& m : ctl_json(via, {"modules", node}))
    if (m["name"] == "hello")
      for (const auto& v : m["versions"]) out[v["version"]] = v["processes"];
  return out;
}

// Whether the node's process has this shared object mapped.
bool mapped(pid_t process, const std::string& file) {
  return itest::read_file("/proc/" + std::to_string(process) + "/maps").find(file) != std::string::npos;
}

std::string ask(cluster::client& c, const std::string& node, const cluster::pid& counter) {
  auto r = c.call("hello:ask", cluster::term(counter), 5000ms, node);
  return r ? cluster::to_string(*r) : "error: " + r.err().message;
}

}  // namespace

TEST_CASE("upgrade on a running cluster: no failed call, old processes keep old code, migrate, unload") {
  const module_dirs dirs;
  const std::string n1 = "n1@127.9.1.1", n2 = "n2@127.9.1.2";
  noded a(n1, {"--module", dirs.allowed + "/libhello_v1.so", "--module-dir", dirs.allowed});
  noded b(n2, {"--join", n1, "--module", dirs.allowed + "/libhello_v1.so", "--module-dir", dirs.allowed});
  REQUIRE(eventually([&] { return ctl(n2, {"ping", n1}).code == 0; }));
  auto client = connect(n2);  // everything below reaches n1 through n2

  auto v1 = client->call("hello:version", cluster::term(cluster::term_list{}), 5000ms, n1);
  REQUIRE(v1.ok());
  CHECK(*v1 == cluster::term("v1"));
  auto counter = client->spawn("hello:counter", cluster::term(), n1);
  auto waiter = client->spawn("hello:wait", cluster::term(), n1);
  REQUIRE(counter.ok());
  REQUIRE(waiter.ok());
  CHECK(ask(*client, n1, *counter) == "[\"v1\", 1]");

  // A client calls in a loop while n1 is upgraded: every call answers, v1
  // until the upgrade and v2 after it, never v1 again.
  std::atomic<bool> stop{false};
  std::atomic<int> failed{0}, answers{0}, v2_seen{0}, v1_after_v2{0};
  std::string first_failure;
  std::thread caller([&] {
    auto c = connect(n2);
    while (!stop) {
      auto r = c->call("hello:version", cluster::term(cluster::term_list{}), 5000ms, n1);
      ++answers;
      if (!r) {
        if (failed++ == 0) first_failure = r.err().message;
      } else if (*r == cluster::term("v2")) {
        ++v2_seen;
      } else if (v2_seen > 0) {
        ++v1_after_v2;
      }
    }
  });
  REQUIRE(eventually([&] { return answers > 20; }));
  const auto upgraded = ctl(n2, {"upgrade", n1, "libhello_v2.so"});
  CHECK_MESSAGE(upgraded.code == 0, upgraded.out);
  CHECK(eventually([&] { return v2_seen > 20; }));
  stop = true;
  caller.join();
  CHECK_MESSAGE(failed == 0, first_failure);
  CHECK(v1_after_v2 == 0);
  MESSAGE(answers.load() << " calls during the upgrade, none failed");

  // The counter started from v1 keeps v1's code; the node keeps both versions.
  CHECK(ask(*client, n1, *counter) == "[\"v1\", 2]");
  CHECK(hello_versions(n2, n1) == std::map<std::string, int>{{"v1", 2}, {"v2", 2}});  // v2: supervisor and its counter

  // Migrated, it runs v2's code with its state turned over by code_change.
  const auto migrated = ctl_json(n2, {"migrate", n1, "hello"});
  CHECK(migrated["migrating"] == 1);
  CHECK(ask(*client, n1, *counter) == "[\"v2\", 3]");

  // v1 stays loaded while the waiter runs its code, and goes when it ends.
  CHECK(mapped(a.pid(), "libhello_v1.so"));
  REQUIRE(client->send(*waiter, cluster::term("stop")).ok());
  CHECK(eventually([&] { return !mapped(a.pid(), "libhello_v1.so"); }));
  CHECK(hello_versions(n2, n1).count("v1") == 0);

  // Unload: the functions go at once; running processes finish on the code.
  const auto unloaded = ctl(n2, {"unload", n1, "hello"});
  CHECK_MESSAGE(unloaded.code == 0, unloaded.out);
  auto gone = client->call("hello:version", cluster::term(cluster::term_list{}), 5000ms, n1);
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.err().code == cluster::errc::not_found);
  CHECK(ctl(n2, {"load", n1, "libhello_v1.so"}).code == 0);
  CHECK(*client->call("hello:version", cluster::term(cluster::term_list{}), 5000ms, n1) == cluster::term("v1"));
  CHECK(ask(*client, n1, *counter) == "[\"v2\", 4]");  // asked by v1's code, answered by v2's
}

TEST_CASE("a third version waits for the oldest to be unused, or purges it") {
  const module_dirs dirs;
  const std::string n1 = "n1@127.9.2.1";
  noded a(n1, {"--module", dirs.allowed + "/libhello_v1.so", "--module-dir", dirs.allowed});
  REQUIRE(eventually([&] { return ctl(n1, {"ping"}).code == 0; }));
  auto client = connect(n1);
  auto waiter = client->spawn("hello:wait", cluster::term());
  REQUIRE(waiter.ok());
  CHECK(ctl(n1, {"upgrade", n1, "libhello_v2.so"}).code == 0);

  const auto refused = ctl(n1, {"upgrade", n1, "libhello_v3.so"});
  CHECK(refused.code == 1);
  CHECK_MESSAGE(refused.out.find("hello v1 still runs in 1 process") != std::string::npos, refused.out);
  CHECK(*client->call("hello:version", cluster::term(cluster::term_list{}), 5000ms) == cluster::term("v2"));

  const auto purged = ctl(n1, {"upgrade", "--purge", n1, "libhello_v3.so"});
  CHECK_MESSAGE(purged.code == 0, purged.out);
  CHECK(*client->call("hello:version", cluster::term(cluster::term_list{}), 5000ms) == cluster::term("v3"));
  CHECK(eventually([&] { return !mapped(a.pid(), "libhello_v1.so"); }));
  auto reason = client->monitor(*waiter, 5000ms);  // noproc if it is gone already
  REQUIRE(reason.ok());
  CHECK((cluster::to_string(*reason) == "killed" || cluster::to_string(*reason) == "noproc"));
  // Upgrading to what is current changes nothing, so a rolling upgrade can be rerun.
  CHECK(ctl(n1, {"upgrade", n1, "libhello_v3.so"}).code == 0);
}

TEST_CASE("broken modules and loads from outside --module-dir are refused; the node keeps serving") {
  const module_dirs dirs;
  const std::string n1 = "n1@127.9.3.1", n2 = "n2@127.9.3.2";
  noded a(n1, {"--module", dirs.allowed + "/libhello_v1.so", "--module-dir", dirs.allowed});
  noded b(n2, {"--join", n1});  // no --module-dir: loads on request are refused
  REQUIRE(eventually([&] { return ctl_json(n1, {"members"}).size() == 2; }));

  const struct {
    std::string file, error;
  } refusals[] = {
      {"libmodule_no_entry.so", "is not a libcluster module"},
      {"libmodule_wrong_abi.so", "built for module ABI 999; this node loads ABI 2"},
      {"libmodule_init_throws.so", "init of hello v9 failed: v9 refuses to start"},
      {dirs.outside + "/libhello_v2.so", "is outside the module directories"},
      {"../modules-outside/libhello_v2.so", "is outside the module directories"},
      {"libmissing.so", "no module file libmissing.so"},
  };
  for (const auto& r : refusals) {
    CAPTURE(r.file);
    const auto out = ctl(n1, {"upgrade", n1, r.file});
    CHECK(out.code == 1);
    CHECK_MESSAGE(out.out.find(r.error) != std::string::npos, out.out);
    CHECK(ctl(n1, {"call", n1, "hello:version"}).out == "\"v1\"\n");
  }
  // A module's function that rejects its arguments is a typed error, as any function's.
  const auto bad = ctl(n1, {"call", n1, "hello:greet", "42"});
  CHECK(bad.code == 1);
  CHECK(bad.out.find("hello:greet takes a name") != std::string::npos);

  const auto closed = ctl(n1, {"load", n2, "libhello_v1.so"});
  CHECK(closed.code == 1);
  CHECK(closed.out.find("start it with --module-dir") != std::string::npos);
  CHECK(ctl(n1, {"load", n1, "libhello_v2.so"}).out.find("use upgrade") != std::string::npos);

  // A rolling upgrade stops at the first node that fails (n1, in name order).
  const auto rolling = ctl(n1, {"upgrade", "--all", "libhello_v2.so"});
  CHECK(rolling.code == 1);
  CHECK_MESSAGE(rolling.out.find("upgrade n2@127.9.3.2 to libhello_v2.so") != std::string::npos, rolling.out);
  CHECK(ctl(n1, {"call", n1, "hello:version"}).out == "\"v2\"\n");  // n1 came first

  // noded refuses to start with a module that does not load.
  noded broken("n3@127.9.3.3", {"--module", dirs.allowed + "/libmodule_wrong_abi.so"});
  CHECK(broken.wait() == 1);
  CHECK(broken.log().find("module ABI 999") != std::string::npos);
}

TEST_CASE("upgrade --all upgrades every member, one after the other") {
  const module_dirs dirs;
  const std::string n1 = "n1@127.9.4.1", n2 = "n2@127.9.4.2", n3 = "n3@127.9.4.3";
  const std::vector<std::string> common = {"--module", dirs.allowed + "/libhello_v1.so", "--module-dir", dirs.allowed};
  noded a(n1, common);
  auto joined = common;
  joined.insert(joined.end(), {"--join", n1});
  noded b(n2, joined);
  noded c(n3, joined);
  REQUIRE(eventually([&] { return ctl_json(n1, {"members"}).size() == 3; }));
  const auto rolled = ctl_json(n1, {"upgrade", "--all", "libhello_v2.so"});
  CHECK(rolled["upgraded"] == nlohmann::json::array({n1, n2, n3}));
  for (const auto& n : {n1, n2, n3}) CHECK(ctl(n1, {"call", n, "hello:version"}).out == "\"v2\"\n");
}

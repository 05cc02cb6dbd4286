// Node names, PIDs and references: printable, parseable, and strict.
#include <doctest/doctest.h>

#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "cluster/node_atom.hpp"
#include "cluster/node_name.hpp"
#include "cluster/pid.hpp"
#include "cluster/term.hpp"

using namespace cluster;

TEST_CASE("name@host takes the default port; name@host:port overrides it") {
  auto a = parse_node_name("n1@10.0.0.5");
  REQUIRE(a.ok());
  CHECK(a->name == "n1");
  CHECK(a->host == "10.0.0.5");
  CHECK(a->port == default_port);
  CHECK(a->id() == "n1@10.0.0.5");

  auto b = parse_node_name("n2@db.example:7001");
  REQUIRE(b.ok());
  CHECK(b->host == "db.example");
  CHECK(b->port == 7001);
  CHECK(b->to_string() == "n2@db.example:7001");

  auto c = parse_node_name("n3@[::1]:4400");
  REQUIRE(c.ok());
  CHECK(c->host == "::1");
  CHECK(c->port == 4400);
  CHECK(c->to_string() == "n3@[::1]:4400");
}

TEST_CASE("malformed node names are refused with a message naming the problem") {
  for (const char* bad : {"", "n1", "@host", "n1@", "n1@host:", "n1@host:0", "n1@host:70000", "n1@host:12x", "n 1@host",
                          "n1@ho st", "n1@::1", "n1@[::1", "n1@[::1]x"}) {
    auto r = parse_node_name(bad);
    CHECK_MESSAGE(!r.ok(), bad);
    if (!r.ok()) {
      CHECK(r.err().code == errc::bad_argument);
      CHECK_FALSE(r.err().message.empty());
    }
  }
}

TEST_CASE("a PID prints as <node.creation.id> and parses back, even with dots in the host") {
  const pid p{"n1@10.0.0.5", 3735928559u, 42};
  CHECK(to_string(p) == "<n1@10.0.0.5.3735928559.42>");
  auto back = parse_pid(to_string(p));
  REQUIRE(back.ok());
  CHECK(*back == p);

  const ref r{"n2@h", 1, 2};
  CHECK(to_string(r) == "#ref<n2@h.1.2>");
  CHECK(*parse_ref(to_string(r)) == r);
}

TEST_CASE("malformed PIDs are refused") {
  for (const char* bad : {"", "<>", "<n1@h.1>", "<n1@h..1>", "<n1@h.1.>", "<n1h.1.2>", "n1@h.1.2", "<n1@h.x.2>",
                          "<n1@h.1.2", "<n1@h.99999999999.2>"}) {
    CHECK_MESSAGE(!parse_pid(bad).ok(), bad);
  }
}

TEST_CASE("PIDs of another incarnation differ and hash apart") {
  const pid old_incarnation{"n1@h", 1, 7};
  const pid new_incarnation{"n1@h", 2, 7};
  CHECK(old_incarnation != new_incarnation);
  std::unordered_set<pid> set{old_incarnation, new_incarnation};
  CHECK(set.size() == 2);
}

TEST_CASE("terms render readably for logs and tools") {
  const term t = term_list{atom{"ok"}, 42, "hi", pid{"n1@h", 1, 2}};
  CHECK(to_string(t) == "[ok, 42, \"hi\", <n1@h.1.2>]");
}

TEST_CASE("an IPv6 node's identity keeps its brackets, so it parses back") {
  auto n = parse_node_name("n1@[::1]:4400");
  REQUIRE(n.ok());
  CHECK(n->id() == "n1@[::1]");
  auto again = parse_node_name(n->id());
  REQUIRE(again.ok());
  CHECK(again->host == "::1");
}

TEST_CASE("a node's identity is name@host as its PIDs carry it, without a port") {
  CHECK(is_node_id("n1@10.0.0.5"));
  CHECK(is_node_id("n1@[::1]"));
  CHECK_FALSE(is_node_id("n1@10.0.0.5:4370"));  // a port: where it listens, not who it is
  CHECK_FALSE(is_node_id("n1@::1"));            // IPv6 without brackets
  CHECK_FALSE(is_node_id("not a node"));
  CHECK_FALSE(is_node_id(""));
}

TEST_CASE("a node atom is its name: equal, ordered and hashed as the string is") {
  const std::string long_name = "a_node_name_past_sso@10.20.30.40";
  const node_atom a = long_name, b = std::string_view(long_name), other = "z@h";
  CHECK(a == b);
  CHECK(a == long_name);
  CHECK(long_name == a);
  CHECK(a != other);
  CHECK(a.str() == long_name);
  CHECK(a < other);
  CHECK(std::hash<node_atom>{}(a) == std::hash<node_atom>{}(b));
  const node_atom none;
  CHECK(none.empty());
  CHECK(none == "");
  CHECK(none != a);
  CHECK(none < a);
  node_atom moved = a;
  const node_atom taken = std::move(moved);
  CHECK(taken == a);
  CHECK(moved.empty());  // NOLINT(bugprone-use-after-move): a moved-from atom is empty, as documented
  node_atom assigned = other;
  assigned = std::move(moved = a);
  CHECK(assigned == a);
  CHECK(moved.empty());  // NOLINT(bugprone-use-after-move)
  std::map<node_atom, int> by_name{{other, 1}, {a, 2}};
  CHECK(by_name.begin()->second == 2);
  // What a std::string user reaches for still works.
  CHECK(a < "zzz");
  CHECK(a.view().starts_with("a_node"));
  std::ostringstream printed;
  printed << a;
  CHECK(printed.str() == long_name);
  CHECK(term(a) == term(long_name));
  CHECK("<" + a + ">" == "<" + long_name + ">");
}

TEST_CASE("a name too long to intern is still a name") {
  const std::string huge(300, 'x');
  const node_atom a = huge, b = huge;
  CHECK(a == b);
  CHECK(a.str() == huge);
  CHECK(std::hash<node_atom>{}(a) == std::hash<node_atom>{}(b));
  CHECK((a <=> b) == std::strong_ordering::equal);
}

// Last in this file: it fills the process's intern table.
TEST_CASE("past the intern limit new names still work, counted instead of interned, from any thread") {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t] {
      for (std::size_t i = 0; i < node_atom::intern_limit / 2; ++i) {
        const node_atom n = "filler_" + std::to_string(t) + "_" + std::to_string(i) + "@h";
        const node_atom again = n.str();
        CHECK(n == again);
      }
    });
  for (auto& t : threads) t.join();

  const std::string late = "a_late_node_past_the_limit@10.0.0.1";
  const node_atom first = late, second = late;  // two counted copies of their own
  CHECK(first == second);
  CHECK(first == late);
  CHECK(std::hash<node_atom>{}(first) == std::hash<node_atom>{}(second));
  const pid p{first, 1, 2};
  CHECK(to_string(p) == "<" + late + ".1.2>");
  // Copies shared between threads are released exactly once.
  std::vector<std::thread> copiers;
  for (int t = 0; t < 4; ++t)
    copiers.emplace_back([&first] {
      for (int i = 0; i < 10000; ++i) {
        node_atom copy = first;
        CHECK(copy == first);
      }
    });
  for (auto& t : copiers) t.join();
  CHECK(first.str() == late);
}

// Groups and global names in simulation: replica engines on a seeded
// in-memory network with partitions, FIFO per pair of nodes, messages lost
// when a pair is cut, node up/down events as membership would give them.
// Every message is encoded and decoded as on the wire. No sockets, no sleeps.
#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <random>
#include <set>

#include "services/replica_engine.hpp"
#include "wire/codec.hpp"

using namespace cluster;
using namespace cluster::internal;

namespace {

// N replicas. In a world of global names (`names`), claims are made only
// when the name looks free, and losing claims are withdrawn (as
// global_registry does); in a world of groups, entries are simply added.
class world {
 public:
  world(int n, std::uint64_t seed, bool names = true) : names_(names), rng_(seed) {
    for (int i = 0; i < n; ++i) engines_.emplace_back(name(i));
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j)
        if (i != j) connect(i, j);
  }

  static std::string name(int i) { return "n" + std::to_string(i) + "@sim"; }
  int size() const { return static_cast<int>(engines_.size()); }
  replica_engine& engine(int i) { return engines_[static_cast<std::size_t>(i)]; }

  /// Splits the nodes: `side[i]` says which side node i is on.
  void partition(const std::vector<int>& side) {
    for (int i = 0; i < size(); ++i)
      for (int j = 0; j < size(); ++j)
        if (i != j && side[static_cast<std::size_t>(i)] != side[static_cast<std::size_t>(j)]) cut(i, j);
  }
  void heal() {
    for (int i = 0; i < size(); ++i)
      for (int j = 0; j < size(); ++j)
        if (i != j) connect(i, j);
  }

  /// Node i claims `key` for a new process of its own, if it knows no owner.
  void claim(int i, const std::string& key, std::uint64_t stamp) {
    if (engine(i).table().winner(key)) return;
    replica_engine::output out;
    engine(i).add_own(key, {pid{name(i), 1, ++next_pid_}, stamp}, out);
    run(i, out);
  }
  /// Node i claims `key` and asks every node up to confirm (claim_global);
  /// returns the claiming pid and the nodes asked.
  std::pair<pid, std::vector<std::string>> claim_confirmed(int i, const std::string& key, std::uint64_t stamp) {
    const pid p{name(i), 1, ++next_pid_};
    replica_engine::output out;
    if (engine(i).table().winner(key) || !engine(i).add_own(key, {p, stamp}, out, p)) return {p, {}};
    auto asked = engine(i).up_nodes();
    run(i, out);
    return {p, asked};
  }
  /// Acknowledgements received, by claiming pid: (node, won).
  std::map<pid, std::vector<std::pair<std::string, bool>>> acks;

  /// Node i adds a new process of its own to group `key`.
  void join(int i, const std::string& key) {
    replica_engine::output out;
    engine(i).add_own(key, {pid{name(i), 1, ++next_pid_}, 0}, out);
    run(i, out);
  }
  /// One of node i's processes ends (the first that has an entry).
  void end_one(int i) {
    const auto& own = engine(i).table().of(name(i));
    if (own.empty()) return;
    const pid p = own.begin()->second.front().process;
    replica_engine::output out;
    engine(i).own_ended(p, out);
    run(i, out);
  }

  /// Loses one message in flight, chosen at random, without cutting its link
  /// (as a connection replaced under a live membership may).
  void lose_one() {
    std::vector<std::pair<int, int>> busy;
    for (const auto& [pair, q] : in_flight_)
      if (!q.empty()) busy.push_back(pair);
    if (busy.empty()) return;
    auto& q = in_flight_[busy[std::uniform_int_distribution<std::size_t>(0, busy.size() - 1)(rng_)]];
    q.erase(q.begin() + static_cast<std::ptrdiff_t>(std::uniform_int_distribution<std::size_t>(0, q.size() - 1)(rng_)));
  }
  /// Every node sends its digest (the replica does every 2 s).
  void digests() {
    for (int i = 0; i < size(); ++i) {
      replica_engine::output out;
      engine(i).send_digests(out);
      run(i, out);
    }
  }

  /// Delivers one message in flight, chosen at random; false if none.
  bool step() {
    std::vector<std::pair<int, int>> busy;
    for (const auto& [pair, q] : in_flight_)
      if (!q.empty()) busy.push_back(pair);
    if (busy.empty()) return false;
    const auto [from, to] = busy[std::uniform_int_distribution<std::size_t>(0, busy.size() - 1)(rng_)];
    auto bytes = std::move(in_flight_[{from, to}].front());
    in_flight_[{from, to}].pop_front();
    auto decoded = wire::decode_term(bytes);
    REQUIRE(decoded.ok());
    replica_engine::output out;
    CHECK(engine(to).receive(*decoded, out));
    run(to, out);
    return true;
  }
  void settle() {
    while (step()) {
    }
  }

  std::mt19937_64& rng() { return rng_; }
  std::vector<std::tuple<int, pid, pid>> notified;  ///< (node, loser, winner)

 private:
  void connect(int i, int j) {
    if (!linked_.insert({i, j}).second) return;
    replica_engine::output out;
    engine(i).node_up(name(j), out);
    run(i, out);
  }
  void cut(int i, int j) {
    if (!linked_.erase({i, j})) return;
    in_flight_[{i, j}].clear();  // lost with the connection
    in_flight_[{j, i}].clear();
    replica_engine::output out;
    engine(i).node_gone(name(j), out);
    run(i, out);
  }
  // Sends what an engine said, and withdraws losing claims as the global
  // registry does after every change that added an entry.
  void run(int i, replica_engine::output& out) {
    for (auto& [to, msg] : out.replies) {
      const auto& l = msg.as<term_list>();
      acks[to].emplace_back(l[1].as<std::string>(), l[4].as<bool>());
    }
    for (auto& [node, msg] : out.sends) {
      const int j = std::stoi(node.substr(1));
      if (linked_.contains({i, j})) in_flight_[{i, j}].push_back(wire::encode_term(msg));
    }
    for (const auto& c : out.changes) {
      if (!names_ || !c.added) continue;
      replica_engine::output more;
      for (const auto& [loser, winner] : engine(i).withdraw_losing_claims(c.key, more))
        notified.emplace_back(i, loser, winner);
      run(i, more);
    }
  }

  bool names_;
  std::vector<replica_engine> engines_;
  std::set<std::pair<int, int>> linked_;
  std::map<std::pair<int, int>, std::deque<std::vector<std::uint8_t>>> in_flight_;
  std::mt19937_64 rng_;
  std::uint64_t next_pid_ = 0;
};

const std::vector<std::string> names = {"leader", "scheduler", "cache", "gateway"};

// Every node knows the same owner of every name, and only that owner's node
// still claims it.
void check_converged(world& w) {
  for (const auto& key : names) {
    CAPTURE(key);
    const auto owner = w.engine(0).table().winner(key);
    int claims = 0;
    for (int i = 0; i < w.size(); ++i) {
      const auto here = w.engine(i).table().winner(key);
      CHECK(here.has_value() == owner.has_value());
      if (here && owner) CHECK(here->process == owner->process);
      const auto& own = w.engine(i).table().of(world::name(i));
      if (const auto it = own.find(key); it != own.end()) claims += static_cast<int>(it->second.size());
      CHECK(w.engine(i).table().find(key).size() <= 1);
    }
    CHECK(claims == (owner ? 1 : 0));
  }
}

// Every node sees, in group `key`, exactly the members the nodes own.
void check_union(world& w, const std::string& key) {
  std::size_t owned = 0;
  for (int i = 0; i < w.size(); ++i) {
    const auto& own = w.engine(i).table().of(world::name(i));
    if (const auto it = own.find(key); it != own.end()) owned += it->second.size();
  }
  for (int i = 0; i < w.size(); ++i) CHECK(w.engine(i).table().find(key).size() == owned);
}

}  // namespace

TEST_CASE("a name claimed on both sides of a partition has one owner everywhere after the heal") {
  world w(5, 1);
  w.partition({0, 0, 1, 1, 1});
  w.settle();
  w.claim(3, "leader", 2000);  // the majority side claims first...
  w.claim(0, "leader", 1000);  // ...but the minority's claim is older, so it wins
  w.settle();
  CHECK(w.engine(1).table().winner("leader")->process.node == world::name(0));
  CHECK(w.engine(4).table().winner("leader")->process.node == world::name(3));
  w.heal();
  w.settle();
  check_converged(w);
  CHECK(w.engine(2).table().winner("leader")->process.node == world::name(0));
  // The loser's node told the loser, once, who won.
  REQUIRE(w.notified.size() == 1);
  CHECK(std::get<0>(w.notified[0]) == 3);
  CHECK(std::get<2>(w.notified[0]).node == world::name(0));
}

TEST_CASE("equal claim times: the smaller pid wins, on every node") {
  world w(3, 2);
  w.partition({0, 1, 1});
  w.claim(2, "leader", 500);
  w.claim(0, "leader", 500);
  w.settle();
  w.heal();
  w.settle();
  check_converged(w);
  CHECK(w.engine(1).table().winner("leader")->process.node == world::name(0));  // "n0@sim" < "n2@sim"
}

TEST_CASE("random partitions, claims and exits converge to one owner per name (200 seeds)") {
  std::size_t conflicts = 0;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    CAPTURE(seed);
    world w(5, seed);
    auto& rng = w.rng();
    std::uniform_int_distribution<int> node(0, 4), side(0, 1), action(0, 9);
    std::uniform_int_distribution<std::size_t> key(0, names.size() - 1);
    for (int round = 0; round < 30; ++round) {
      const int a = action(rng);
      if (a == 0)
        w.partition({side(rng), side(rng), side(rng), side(rng), side(rng)});
      else if (a == 1)
        w.heal();
      else if (a <= 6)
        w.claim(node(rng), names[key(rng)], std::uniform_int_distribution<std::uint64_t>(1, 100)(rng));
      else if (a == 7)
        w.end_one(node(rng));
      for (int k = std::uniform_int_distribution<int>(0, 8)(rng); k > 0 && w.step(); --k) {
      }
    }
    w.heal();
    w.settle();
    check_converged(w);
    conflicts += w.notified.size();
  }
  CHECK(conflicts > 100);  // the seeds do make conflicting claims
}

TEST_CASE("groups: every node's view is the union of each node's own members, after partitions and exits") {
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    CAPTURE(seed);
    world w(4, seed, false);
    auto& rng = w.rng();
    std::uniform_int_distribution<int> node(0, 3), side(0, 1), action(0, 5);
    for (int round = 0; round < 30; ++round) {
      const int a = action(rng);
      if (a == 0)
        w.partition({side(rng), side(rng), side(rng), side(rng)});
      else if (a == 1)
        w.heal();
      else if (a <= 4)
        w.join(node(rng), "room");
      else
        w.end_one(node(rng));
      for (int k = std::uniform_int_distribution<int>(0, 6)(rng); k > 0 && w.step(); --k) {
      }
    }
    w.heal();
    w.settle();
    check_union(w, "room");
  }
}

TEST_CASE("messages lost without a partition are repaired by the digests") {
  for (std::uint64_t seed = 1; seed <= 100; ++seed) {
    CAPTURE(seed);
    world w(4, seed, false);
    auto& rng = w.rng();
    std::uniform_int_distribution<int> node(0, 3), action(0, 3);
    for (int round = 0; round < 40; ++round) {
      const int a = action(rng);
      if (a <= 1)
        w.join(node(rng), "room");
      else if (a == 2)
        w.end_one(node(rng));
      else
        w.lose_one();
      for (int k = std::uniform_int_distribution<int>(0, 4)(rng); k > 0 && w.step(); --k) {
      }
    }
    w.settle();
    w.digests();
    w.settle();
    check_union(w, "room");
  }
}

TEST_CASE("confirmed claims made at the same moment: every node agrees to the same one, and only that one") {
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    CAPTURE(seed);
    world w(5, seed);
    std::uniform_int_distribution<std::uint64_t> stamp(1, 3);  // ties too
    std::vector<std::pair<pid, std::vector<std::string>>> claims;
    for (int i = 0; i < 5; ++i)
      if (w.rng()() % 2) claims.push_back(w.claim_confirmed(i, "lock", stamp(w.rng())));
    w.settle();
    int confirmed = 0;
    for (const auto& [p, asked] : claims) {
      if (asked.empty()) continue;  // refused at once: the name was known taken
      const auto& got = w.acks[p];
      const bool all_agree =
          got.size() == asked.size() && std::all_of(got.begin(), got.end(), [](const auto& a) { return a.second; });
      if (all_agree) {
        ++confirmed;
        CHECK(w.engine(0).table().winner("lock")->process == p);
      }
    }
    CHECK(confirmed == (claims.empty() ? 0 : 1));
    check_converged(w);
  }
}

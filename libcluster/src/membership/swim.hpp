// Gossip membership: SWIM (Das, Gupta, Motivala 2002) with the Lifeguard
// extensions (Dadgar et al. 2018), as a pure engine.
//
// Every probe interval a member pings the next member of a shuffled
// round-robin; with no ack within the probe timeout it asks k others to ping
// it (they nack if it stays silent), and with no ack by the end of the
// interval it suspects it. A suspect has a while to refute by raising its
// incarnation; the while starts long and shrinks as other members confirm the
// suspicion on their own (Lifeguard's dynamic suspicion). A member that misses
// nacks or has to refute suspicions of itself is probably the slow one: it
// stretches its own timeouts (Lifeguard's local health). Claims about members
// ride on every datagram and on dedicated gossip datagrams, each sent a
// bounded number of times; a periodic full-state exchange with one random
// member repairs whatever gossip missed, and is also how a node joins.
//
// Pure: datagrams go out through a `datagram_sink`, time comes from a
// `clock`, randomness from a seed; the owner calls `on_datagram`, `tick` at
// `next_deadline()`, and reads nothing else. One thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster/clock.hpp"
#include "cluster/member.hpp"
#include "cluster/membership_config.hpp"
#include "wire/codec.hpp"

namespace cluster::internal::membership {

/// Where a member's UDP socket listens.
struct endpoint {
  std::string host;
  std::uint16_t port = 0;
  friend auto operator<=>(const endpoint&, const endpoint&) = default;
  std::string str() const { return host + ":" + std::to_string(port); }
};

class datagram_sink {
 public:
  virtual ~datagram_sink() = default;
  /// Sends one datagram; loss is normal and needs no report.
  virtual void send_datagram(const endpoint& to, std::span<const std::uint8_t> bytes) = 0;
};

/// What happened to a member, for the owner's events and logs.
enum class change { up, suspect, refuted, down, left, updated };

class swim_listener {
 public:
  virtual ~swim_listener() = default;
  /// `m` as it is now; `reporter` is the member whose claim caused it.
  virtual void on_member_change(const member& m, change what, const std::string& reporter) = 0;
};

/// Counters: nothing is dropped without being counted here.
struct swim_stats {
  std::uint64_t datagrams_in = 0, datagrams_out = 0, bytes_in = 0, bytes_out = 0;
  std::uint64_t malformed = 0;    ///< datagrams that did not decode
  std::uint64_t misdirected = 0;  ///< probes meant for another member or incarnation
  std::uint64_t probes = 0, probe_failures = 0, indirect_probes = 0;
  std::uint64_t suspicions = 0, refutations = 0, declared_dead = 0;
  std::uint64_t syncs = 0, gossip_updates_out = 0, gossip_updates_in = 0;
  std::uint64_t awareness = 0;          ///< current local-health score (0 = healthy)
  std::uint64_t name_conflicts = 0;     ///< another live process claims our name
  std::uint64_t oversized_dropped = 0;  ///< claims too big for any datagram (huge tags)
};

/// The encoded size of one claim (to fit datagrams, and to check tags).
std::size_t encoded_size(const wire::member_update& u);

class swim {
 public:
  struct identity {
    std::string name;  ///< name@host
    endpoint address;
    std::uint32_t creation = 0;
    std::uint64_t incarnation = 0;  ///< the start time in ms, so a restart outranks the old self
    std::map<std::string, std::string> tags;
  };

  swim(membership_config cfg, identity self, datagram_sink& net, const clock& clk, swim_listener& listener,
       std::uint64_t seed);

  /// Addresses to join through; asked again every `join_retry` until a
  /// member answers from each. Replaces the previous set (discovery refreshes it).
  void set_seeds(std::vector<endpoint> seeds);
  /// The data connection to `name` closed: probe it now, and declare it dead
  /// if nobody hears from it within `link_loss_confirm`.
  void link_lost(const std::string& name);
  /// Changes our tags and tells everyone.
  void set_tags(std::map<std::string, std::string> tags);
  /// Tells members we are leaving (they record `left`, not a failure) and
  /// stops probing. Send it to everyone we know directly, then stop.
  void leave();

  /// Introduces us to whoever listens at `to` (a multicast group): our own
  /// row, asking for their tables in return.
  void announce(const endpoint& to);
  /// True if a live member listens at `at` (its beacons need no answer).
  bool live_member_at(const endpoint& at) const;

  void on_datagram(const endpoint& from, std::span<const std::uint8_t> bytes);
  void tick();
  std::optional<time_point> next_deadline() const;

  /// Every member we know, ourselves included, by name.
  std::vector<member> members() const;
  std::optional<member> find(const std::string& name) const;
  std::optional<member_state> state_of(const std::string& name) const;
  /// The last states of `name` in our view, newest first (empty if unknown).
  std::vector<member_history_entry> history(const std::string& name) const;
  /// Members alive or suspect, ourselves included.
  std::size_t live_count() const;
  const swim_stats& stats() const { return stats_; }
  const identity& self() const { return self_; }
  const membership_config& config() const { return cfg_; }

 private:
  struct suspicion {
    time_point start{};
    duration min{}, max{};
    std::size_t expected = 0;  ///< confirmations that would shrink it to `min`
    std::set<std::string> confirmers;
    time_point deadline{};
    std::string reporter;
    bool confirmed_by_us = false;  ///< our own probe failed too, and we said so
  };
  struct past_state {
    time_point at{};
    member_state state = member_state::alive;
    std::uint64_t incarnation = 0;
    std::string reason, reporter;
  };
  struct record {
    member m;  ///< since_change is computed from `changed` when read
    time_point changed{};
    std::optional<suspicion> susp;
    std::deque<past_state> history;  ///< newest last; at most history_length
    time_point revived{};            ///< when it last came back from dead or left
  };
  static constexpr std::size_t history_length = 16;
  /// periodic: the round-robin probe; confirm: a lost link, to be confirmed;
  /// relay: an indirect probe for another member; corroborate: a probe of a
  /// member someone else suspects, whose failure we announce as confirmation.
  enum class probe_kind { periodic, confirm, relay, corroborate };
  struct pending {
    probe_kind kind = probe_kind::periodic;
    std::string target;
    std::uint32_t target_creation = 0;  ///< the incarnation probed: a restart is another member
    time_point deadline{};              ///< periodic, corroborate: the direct ack deadline, then the period end
    time_point period_end{};            ///< periodic and corroborate only
    bool indirect_sent = false;
    bool nacked = false;  ///< relay: the nack went; an ack may still come and is forwarded
    std::size_t nacks_expected = 0, nacks = 0;
    std::vector<std::string> silent_helpers;  ///< asked to relay, no nack yet
    endpoint requester;                       ///< relay: who asked, and under which seq
    std::uint64_t requester_seq = 0;
    std::string requester_name;
  };
  struct broadcast {
    wire::member_update update;
    std::size_t bytes = 0;
    std::size_t transmits = 0;
    std::uint64_t order = 0;
  };
  /// Where a broadcast stands in the send order: least sent, then newest.
  struct send_key {
    std::size_t transmits = 0;
    std::uint64_t order = 0;
    std::string name;
    bool operator<(const send_key& o) const {
      return transmits != o.transmits ? transmits < o.transmits : order > o.order;
    }
  };

  // Claims, from gossip, syncs or ourselves.
  /// `sync_from`: the sender, if the claim came in a full-state exchange.
  void apply(const wire::member_update& u, const std::optional<std::string>& sync_from);
  void apply_alive(const wire::member_update& u, bool spread);
  /// `confirms`: an independent accuser, whose claim shortens a running
  /// suspicion (not so a verdict taken as a suspicion, see apply_dead).
  void apply_suspect(const wire::member_update& u, bool confirms = true);
  void apply_dead(const wire::member_update& u);
  /// Whether a death verdict reached by `reporter` counts in full.
  bool trusted_verdict_from(const std::string& reporter);
  /// The shortest suspicion at the current size (Lifeguard's min).
  duration suspicion_min() const;
  void refute(std::uint64_t claimed_incarnation);
  void suspect(record& r, const std::string& reporter);
  /// Probes a member another suspects, with a chance (see the definition).
  void corroborate(const record& r);
  /// A probe outside the round-robin order, which suspects or confirms on failure.
  void probe_at_once(const record& r);
  void shrink(suspicion& s) const;
  std::size_t confirmable() const;
  void declare_dead(record& r, const std::string& reason);
  void set_state(record& r, member_state s, const std::string& reason, const std::string& reporter, change what);

  // Probing.
  void start_probe();
  void on_probe_deadline(std::uint64_t seq, pending& p);
  void send_indirect(std::uint64_t seq, pending& p, std::size_t k);
  void on_ack(const wire::swim_ack& a);
  void adjust_awareness(int delta);
  duration scaled(duration d) const { return d * static_cast<long>(awareness_ + 1); }

  // Dissemination.
  void queue(const wire::member_update& u);
  std::vector<wire::member_update> take_gossip(std::size_t budget);
  std::size_t retransmit_limit() const;
  /// Bytes of gossip a datagram carrying `names_bytes` of names can take.
  std::size_t budget(std::size_t names_bytes) const;
  void send_gossip();
  void send_sync(const endpoint& to, bool reply);
  void send(const endpoint& to, const wire::message& m);

  void remember(record& r);
  member self_member() const;
  member member_of(const record& r) const;
  wire::member_update update_of(const record& r) const;
  wire::member_update self_update() const;
  record* lookup(const std::string& name);
  std::optional<endpoint> address_of(const std::string& name) const;
  /// Up to `n` random members in state alive or suspect, not us, not `except`.
  std::vector<const record*> random_members(std::size_t n, const std::string& except, bool include_recent_dead = false,
                                            bool alive_only = false);
  /// Sends `u` (about member `about`) at once to a few random alive members.
  void tell_alive(const wire::member_update& u, const std::string& about);
  void reap();

  membership_config cfg_;
  identity self_;
  datagram_sink& net_;
  const clock& clock_;
  swim_listener& listener_;
  std::mt19937_64 rng_;

  std::unordered_map<std::string, record> members_;  ///< everyone but us
  std::size_t live_members_ = 0;                     ///< of members_, alive or suspect
  std::set<std::string> suspects_;                   ///< members_ in state suspect
  std::vector<std::string> probe_order_;
  std::size_t probe_next_ = 0;
  std::map<std::uint64_t, pending> pending_;
  std::uint64_t next_seq_ = 1;
  std::map<std::string, broadcast> broadcasts_;
  std::set<send_key> send_order_;
  std::uint64_t broadcast_order_ = 0;
  std::size_t awareness_ = 0;
  std::vector<endpoint> seeds_;
  bool leaving_ = false;

  time_point next_probe_{}, next_gossip_{}, next_sync_{}, next_join_{}, next_reap_{};
  time_point started_{};
  swim_stats stats_;
};

}  // namespace cluster::internal::membership

#include "membership/swim.hpp"

#include <algorithm>
#include <cmath>

#include "crypto/seal.hpp"

namespace cluster::internal::membership {

namespace {

// A datagram holds one message; these bound what a hostile one may declare.
wire::decode_limits datagram_limits() {
  wire::decode_limits l;
  l.max_frame_bytes = 64u << 10;
  l.max_messages = 1;
  l.max_elements = 4096;
  l.max_string_bytes = 4096;
  l.max_depth = 8;
  return l;
}

std::map<std::string, std::string> tags_of(const wire::member_update& u) { return {u.tags.begin(), u.tags.end()}; }

std::vector<std::pair<std::string, std::string>> tag_list(const std::map<std::string, std::string>& tags) {
  return {tags.begin(), tags.end()};
}

bool live(member_state s) { return s == member_state::alive || s == member_state::suspect; }

// What a datagram's own fields take besides names: type, sequence numbers,
// creation, port, array headers. Sealing adds crypto::seal_overhead on top.
constexpr std::size_t fixed_fields = 48;

}  // namespace

std::size_t encoded_size(const wire::member_update& u) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, u);
  return buf.size();
}

swim::swim(membership_config cfg, identity self, datagram_sink& net, const clock& clk, swim_listener& listener,
           std::uint64_t seed)
    : cfg_(cfg), self_(std::move(self)), net_(net), clock_(clk), listener_(listener), rng_(seed) {
  started_ = clock_.now();
  // Spread first probes so nodes started together do not probe in lockstep.
  std::uniform_int_distribution<long> jitter(0, std::chrono::duration_cast<milliseconds>(cfg_.probe_interval).count());
  next_probe_ = started_ + milliseconds(jitter(rng_));
  next_gossip_ = started_ + cfg_.gossip_interval;
  next_sync_ = started_ + std::chrono::duration_cast<duration>(cfg_.sync_interval *
                                                               std::uniform_real_distribution<double>(0, 1)(rng_));
  next_join_ = started_;
  next_reap_ = started_ + cfg_.forget_after;
}

// ---------------------------------------------------------------- lookups

swim::record* swim::lookup(const std::string& name) {
  auto it = members_.find(name);
  return it == members_.end() ? nullptr : &it->second;
}

std::optional<endpoint> swim::address_of(const std::string& name) const {
  if (auto it = members_.find(name); it != members_.end()) return endpoint{it->second.m.host, it->second.m.port};
  return std::nullopt;
}

member swim::self_member() const {
  member me;
  me.name = self_.name;
  me.host = self_.address.host;
  me.port = self_.address.port;
  me.creation = self_.creation;
  me.incarnation = self_.incarnation;
  me.state = leaving_ ? member_state::left : member_state::alive;
  me.tags = self_.tags;
  me.since_change = std::chrono::duration_cast<milliseconds>(clock_.now() - started_);
  me.reason = leaving_ ? "leaving" : "this node";
  me.reporter = self_.name;
  return me;
}

member swim::member_of(const record& r) const {
  member m = r.m;
  m.since_change = std::chrono::duration_cast<milliseconds>(clock_.now() - r.changed);
  return m;
}

std::vector<member> swim::members() const {
  std::vector<member> out{self_member()};
  for (const auto& [name, r] : members_) out.push_back(member_of(r));
  std::sort(out.begin(), out.end(), [](const member& a, const member& b) { return a.name < b.name; });
  return out;
}

std::optional<member> swim::find(const std::string& name) const {
  if (name == self_.name) return self_member();
  if (auto it = members_.find(name); it != members_.end()) return member_of(it->second);
  return std::nullopt;
}

std::optional<member_state> swim::state_of(const std::string& name) const {
  if (name == self_.name) return leaving_ ? member_state::left : member_state::alive;
  if (auto it = members_.find(name); it != members_.end()) return it->second.m.state;
  return std::nullopt;
}

void swim::remember(record& r) {
  r.history.push_back({r.changed, r.m.state, r.m.incarnation, r.m.reason, r.m.reporter});
  if (r.history.size() > history_length) r.history.pop_front();
}

std::vector<member_history_entry> swim::history(const std::string& name) const {
  std::vector<member_history_entry> out;
  auto it = members_.find(name);
  if (it == members_.end()) return out;
  const auto now = clock_.now();
  for (auto h = it->second.history.rbegin(); h != it->second.history.rend(); ++h)
    out.push_back(
        {std::chrono::duration_cast<milliseconds>(now - h->at), h->state, h->incarnation, h->reason, h->reporter});
  return out;
}

std::size_t swim::live_count() const { return live_members_ + 1; }

std::size_t swim::budget(std::size_t names_bytes) const {
  const std::size_t taken = crypto::seal_overhead + fixed_fields + self_.name.size() + names_bytes;
  return cfg_.max_datagram_bytes > taken ? cfg_.max_datagram_bytes - taken : 0;
}

std::vector<const swim::record*> swim::random_members(std::size_t n, const std::string& except,
                                                      bool include_recent_dead, bool alive_only) {
  const auto now = clock_.now();
  const auto eligible = [&](const record& r) {
    if (alive_only) return r.m.name != except && r.m.state == member_state::alive;
    return r.m.name != except && (live(r.m.state) || (include_recent_dead && now - r.changed < cfg_.gossip_to_dead));
  };
  std::vector<const record*> out;
  // In a large cluster, sample names at random: O(n), not O(N).
  if (probe_order_.size() > 8 * n + 16) {
    std::uniform_int_distribution<std::size_t> pick(0, probe_order_.size() - 1);
    for (std::size_t tries = 0; tries < 8 * n && out.size() < n; ++tries) {
      auto it = members_.find(probe_order_[pick(rng_)]);
      if (it == members_.end() || !eligible(it->second)) continue;
      if (std::find(out.begin(), out.end(), &it->second) == out.end()) out.push_back(&it->second);
    }
    if (out.size() == n) return out;
    out.clear();
  }
  for (const auto& [name, r] : members_)
    if (eligible(r)) out.push_back(&r);
  if (out.size() > n) {
    // Partial Fisher-Yates: the first n are a uniform sample.
    for (std::size_t i = 0; i < n; ++i) {
      std::uniform_int_distribution<std::size_t> pick(i, out.size() - 1);
      std::swap(out[i], out[pick(rng_)]);
    }
    out.resize(n);
  }
  return out;
}

wire::member_update swim::self_update() const {
  return {self_.name,           self_.address.host,
          self_.address.port,   self_.creation,
          self_.incarnation,    static_cast<std::uint8_t>(leaving_ ? member_state::left : member_state::alive),
          tag_list(self_.tags), self_.name};
}

wire::member_update swim::update_of(const record& r) const {
  return {r.m.name,           r.m.host,        r.m.port,
          r.m.creation,       r.m.incarnation, static_cast<std::uint8_t>(r.m.state),
          tag_list(r.m.tags), r.m.reporter};
}

// ---------------------------------------------------------------- API

void swim::set_seeds(std::vector<endpoint> seeds) {
  std::erase(seeds, self_.address);
  seeds_ = std::move(seeds);
  next_join_ = clock_.now();
}

void swim::link_lost(const std::string& name) {
  record* r = lookup(name);
  if (!r || !live(r->m.state) || leaving_) return;
  for (const auto& [seq, p] : pending_)
    if (p.kind == probe_kind::confirm && p.target == name) return;  // already confirming
  const std::uint64_t seq = next_seq_++;
  pending p;
  p.kind = probe_kind::confirm;
  p.target = name;
  p.target_creation = r->m.creation;
  p.deadline = clock_.now() + scaled(cfg_.link_loss_confirm);
  ++stats_.probes;
  send({r->m.host, r->m.port}, wire::swim_ping{seq, name, r->m.creation, self_.name, take_gossip(budget(name.size()))});
  auto& placed = pending_[seq] = std::move(p);
  send_indirect(seq, placed, cfg_.indirect_checks);
}

void swim::set_tags(std::map<std::string, std::string> tags) {
  self_.tags = std::move(tags);
  ++self_.incarnation;
  queue(self_update());
}

void swim::leave() {
  if (leaving_) return;
  leaving_ = true;
  ++self_.incarnation;
  const auto goodbye = self_update();
  // Everyone we know hears it directly: we will not be around to retransmit.
  // The seeds too: right after a join, a seed may know us before we know it.
  std::set<endpoint> told;
  for (const auto& [name, r] : members_)
    if (live(r.m.state) && told.insert({r.m.host, r.m.port}).second)
      send({r.m.host, r.m.port}, wire::swim_gossip{self_.name, {goodbye}});
  for (const auto& seed : seeds_)
    if (told.insert(seed).second) send(seed, wire::swim_gossip{self_.name, {goodbye}});
  pending_.clear();
}

void swim::announce(const endpoint& to) {
  if (!leaving_) send(to, wire::swim_sync{true, self_.name, {self_update()}});
}

bool swim::live_member_at(const endpoint& at) const {
  return std::any_of(members_.begin(), members_.end(), [&](const auto& kv) {
    return live(kv.second.m.state) && kv.second.m.host == at.host && kv.second.m.port == at.port;
  });
}

// ---------------------------------------------------------------- datagrams

void swim::send(const endpoint& to, const wire::message& m) {
  const auto bytes = wire::encode(m);
  ++stats_.datagrams_out;
  stats_.bytes_out += bytes.size();
  net_.send_datagram(to, bytes);
}

void swim::on_datagram(const endpoint& from, std::span<const std::uint8_t> bytes) {
  ++stats_.datagrams_in;
  stats_.bytes_in += bytes.size();
  auto decoded = wire::decode_frame(bytes, datagram_limits());
  if (!decoded || decoded->size() != 1) {
    ++stats_.malformed;
    return;
  }
  if (leaving_) return;  // we said goodbye; answering would look alive
  auto& msg = (*decoded)[0];
  const auto absorb = [&](const std::vector<wire::member_update>& updates) {
    stats_.gossip_updates_in += updates.size();
    for (const auto& u : updates) apply(u, {});
  };
  std::visit(
      [&](auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, wire::swim_ping>) {
          absorb(m.updates);
          if (m.target != self_.name || (m.target_creation != 0 && m.target_creation != self_.creation)) {
            ++stats_.misdirected;  // meant for an earlier incarnation at this address
            return;
          }
          send(from, wire::swim_ack{m.seq, self_.name, take_gossip(budget(0))});
        } else if constexpr (std::is_same_v<T, wire::swim_ping_req>) {
          absorb(m.updates);
          const std::uint64_t seq = next_seq_++;
          pending p;
          p.kind = probe_kind::relay;
          p.target = m.target;
          // The nack must reach the prober before its probe period ends:
          // what is left of it when it asked us is interval - timeout (the
          // same configuration everywhere); nack at 80% of that (Lifeguard).
          const auto window = std::min(cfg_.probe_timeout, cfg_.probe_interval - cfg_.probe_timeout);
          p.deadline = clock_.now() + std::max(window, decltype(window){}) * 4 / 5;
          p.requester = from;
          p.requester_seq = m.seq;
          p.requester_name = m.from;
          pending_[seq] = std::move(p);
          send({m.target_host, m.target_port}, wire::swim_ping{seq, m.target, m.target_creation, self_.name, {}});
        } else if constexpr (std::is_same_v<T, wire::swim_ack>) {
          absorb(m.updates);
          on_ack(m);
        } else if constexpr (std::is_same_v<T, wire::swim_nack>) {
          if (auto it = pending_.find(m.seq); it != pending_.end()) {
            ++it->second.nacks;
            std::erase(it->second.silent_helpers, m.from);
          }
        } else if constexpr (std::is_same_v<T, wire::swim_gossip>) {
          absorb(m.updates);
        } else if constexpr (std::is_same_v<T, wire::swim_sync>) {
          ++stats_.syncs;
          for (const auto& u : m.members) apply(u, m.from);
          if (m.reply) send_sync(from, false);
        } else {
          ++stats_.malformed;  // a link message has no business in a datagram
        }
      },
      msg);
}

// ---------------------------------------------------------------- claims

void swim::apply(const wire::member_update& u, const std::optional<std::string>& sync_from) {
  if (u.name.empty() || u.state > static_cast<std::uint8_t>(member_state::left)) return;
  const bool from_sync = sync_from.has_value();
  switch (static_cast<member_state>(u.state)) {
    case member_state::alive:
      // A table learned whole (a joiner reading its seed's) is news to us
      // alone: gossiping every row of it again would cost O(N) per join. The
      // sender's own row, and changes to members we knew, are spread as usual.
      apply_alive(u, !from_sync || u.name == *sync_from || members_.contains(u.name));
      break;
    case member_state::suspect:
      apply_suspect(u);
      break;
    case member_state::dead:
      // A full-state exchange may carry an old verdict: let the member refute
      // it as a suspicion instead of killing it outright (as memberlist does).
      if (from_sync) {
        auto as_suspect = u;
        as_suspect.state = static_cast<std::uint8_t>(member_state::suspect);
        apply_suspect(as_suspect);
      } else {
        apply_dead(u);
      }
      break;
    case member_state::left:
      apply_dead(u);
      break;
  }
}

void swim::apply_alive(const wire::member_update& u, bool spread) {
  if (u.name == self_.name) {
    if (u.creation != self_.creation) {
      if (u.incarnation >= self_.incarnation) {
        // Another live process under our name, and not an older one of ours:
        // fighting it would flap both forever. Count it; the operator decides.
        ++stats_.name_conflicts;
      } else {
        queue(self_update());  // a row from our previous life: say who we are now
      }
      return;
    }
    if (u.incarnation > self_.incarnation) refute(u.incarnation);  // an incarnation we never used
    return;
  }
  record* r = lookup(u.name);
  std::deque<past_state> earlier_lives;
  if (r && r->m.creation != u.creation) {
    // A restarted node: a new creation. It replaces the old entry once that
    // is gone, or at once if it outranks it.
    if (live(r->m.state) && u.incarnation <= r->m.incarnation) return;
    if (live(r->m.state))
      set_state(*r, member_state::dead, "replaced by a restarted incarnation", u.name, change::down);
    earlier_lives = std::move(r->history);
    members_.erase(u.name);
    r = nullptr;
  }
  if (!r) {
    record fresh;
    fresh.history = std::move(earlier_lives);
    fresh.m.name = u.name;
    fresh.m.host = u.host;
    fresh.m.port = u.port;
    fresh.m.creation = u.creation;
    fresh.m.incarnation = u.incarnation;
    fresh.m.state = member_state::alive;
    fresh.m.tags = tags_of(u);
    fresh.m.reason = "joined";
    fresh.m.reporter = u.from;
    fresh.changed = clock_.now();
    remember(fresh);
    auto& placed = members_[u.name] = std::move(fresh);
    ++live_members_;
    // Probe newcomers at a random place in the round, as SWIM prescribes.
    if (std::find(probe_order_.begin(), probe_order_.end(), u.name) == probe_order_.end()) {
      std::uniform_int_distribution<std::size_t> at(0, probe_order_.size());
      probe_order_.insert(probe_order_.begin() + static_cast<long>(at(rng_)), u.name);
    }
    if (spread) queue(u);
    listener_.on_member_change(placed.m, change::up, u.from);
    return;
  }
  if (u.incarnation <= r->m.incarnation) return;
  const bool moved = r->m.host != u.host || r->m.port != u.port || r->m.tags != tags_of(u);
  const auto before = r->m.state;
  r->m.incarnation = u.incarnation;
  r->m.host = u.host;
  r->m.port = u.port;
  r->m.tags = tags_of(u);
  queue(u);
  if (before == member_state::suspect)
    set_state(*r, member_state::alive, "refuted the suspicion", u.from, change::refuted);
  else if (before == member_state::dead || before == member_state::left) {
    r->revived = clock_.now();
    set_state(*r, member_state::alive, "rejoined", u.from, change::up);
  }
  if (moved && before != member_state::dead && before != member_state::left)
    listener_.on_member_change(r->m, change::updated, u.from);
}

void swim::apply_suspect(const wire::member_update& u, bool confirms) {
  if (u.name == self_.name) {
    if (u.creation == self_.creation && u.incarnation >= self_.incarnation) refute(u.incarnation);
    return;
  }
  record* r = lookup(u.name);
  if (!r || r->m.creation != u.creation || u.incarnation < r->m.incarnation) return;
  if (r->m.state == member_state::suspect && r->susp) {
    r->m.incarnation = u.incarnation;
    // An independent confirmation shortens the suspicion (Lifeguard).
    if (confirms && u.from != self_.name && u.from != r->susp->reporter && r->susp->confirmers.insert(u.from).second) {
      shrink(*r->susp);
      queue(u);
    }
    return;
  }
  if (r->m.state != member_state::alive) return;
  r->m.incarnation = u.incarnation;
  suspect(*r, u.from);
  corroborate(*r);
}

// A suspicion shrinks only with independent confirmations, and a member
// confirms only after its own probe failed; with round-robin probing that may
// take a whole round, and on the small side of a partition there are few to
// confirm at all. So members that hear of a suspicion probe the suspect at
// once, each with a chance that makes about `expected` of them do it,
// whatever the cluster's size (so a suspicion costs O(1) extra probes).
void swim::corroborate(const record& r) {
  const std::size_t others = confirmable();
  if (others == 0 || !r.susp) return;
  const double chance = static_cast<double>(r.susp->expected) / static_cast<double>(others);
  if (chance < 1.0 && std::uniform_real_distribution<double>(0.0, 1.0)(rng_) >= chance) return;
  probe_at_once(r);
}

void swim::probe_at_once(const record& r) {
  for (const auto& [seq, p] : pending_)
    if (p.target == r.m.name && p.kind != probe_kind::relay) return;  // one is running
  const auto now = clock_.now();
  const std::uint64_t seq = next_seq_++;
  pending p;
  p.kind = probe_kind::corroborate;
  p.target = r.m.name;
  p.target_creation = r.m.creation;
  p.deadline = now + scaled(cfg_.probe_timeout);
  p.period_end = now + scaled(cfg_.probe_interval);
  pending_[seq] = std::move(p);
  ++stats_.probes;
  // The accusation rides along (the buddy system): the suspect can refute.
  auto updates = take_gossip(budget(r.m.name.size()));
  updates.insert(updates.begin(), update_of(r));
  send({r.m.host, r.m.port}, wire::swim_ping{seq, r.m.name, r.m.creation, self_.name, std::move(updates)});
}

void swim::apply_dead(const wire::member_update& u) {
  const bool left = u.state == static_cast<std::uint8_t>(member_state::left);
  if (u.name == self_.name) {
    if (!leaving_ && u.creation == self_.creation && u.incarnation >= self_.incarnation) refute(u.incarnation);
    return;
  }
  record* r = lookup(u.name);
  if (!r || r->m.creation != u.creation || u.incarnation < r->m.incarnation) return;
  if (!live(r->m.state)) return;
  // A verdict we cannot vouch for counts as a suspicion, which the accused
  // refutes if it is alive (as a verdict from a full-state exchange does).
  if (!left && !trusted_verdict_from(u.from)) {
    auto as_suspect = u;
    as_suspect.state = static_cast<std::uint8_t>(member_state::suspect);
    apply_suspect(as_suspect, false);
    return;
  }
  r->m.incarnation = u.incarnation;
  queue(u);
  if (left)
    set_state(*r, member_state::left, "left the cluster", u.from, change::left);
  else
    set_state(*r, member_state::dead, "declared dead by " + u.from, u.from, change::down);
}

// A verdict counts in full from ourselves, or from a member we hold alive
// and did not just see come back. Any other was reached where we could not
// see, across a partition most likely: its heal brings the far side's
// verdicts to members that never lost sight of the accused, before the
// accused's refutation, and even after the reporter's own (its gossip puts
// the fresh refutation before the older verdict). Applied in full they would
// drop links to live members and fire noconnection at their monitors.
bool swim::trusted_verdict_from(const std::string& reporter) {
  if (reporter == self_.name) return true;
  const record* r = lookup(reporter);
  if (!r || r->m.state != member_state::alive) return false;
  const auto window = std::chrono::duration_cast<duration>(suspicion_min() * cfg_.suspicion_max_mult);
  return r->revived == time_point{} || clock_.now() - r->revived >= window;
}

duration swim::suspicion_min() const {
  const double n = static_cast<double>(live_count());
  return std::chrono::duration_cast<duration>(cfg_.probe_interval * cfg_.suspicion_mult * std::max(1.0, std::log10(n)));
}

// Lifeguard: the timeout falls from max towards min as the logarithm of
// the independent confirmations, reaching min at the expected number. Only
// members we are not suspecting ourselves can confirm: on the small side of a
// partition the far side is all suspect, so the few members left are all the
// confirmations there can be (without this a side of two waited near max).
void swim::shrink(suspicion& s) const {
  s.expected = std::min(cfg_.indirect_checks, confirmable());
  if (s.expected == 0) {
    s.deadline = s.start + s.min;
    return;
  }
  const double c = static_cast<double>(s.confirmers.size());
  const double frac = std::min(1.0, std::log(c + 1) / std::log(static_cast<double>(s.expected) + 1));
  s.deadline = s.start + s.max - std::chrono::duration_cast<duration>((s.max - s.min) * frac);
}

// Members besides the suspect and the accuser that could confirm a
// suspicion: the alive ones (we count too, unless we accused).
std::size_t swim::confirmable() const { return live_members_ - suspects_.size(); }

void swim::refute(std::uint64_t claimed_incarnation) {
  self_.incarnation = std::max(self_.incarnation, claimed_incarnation) + 1;
  ++stats_.refutations;
  // Being suspected is a hint that we are the slow one (Lifeguard).
  adjust_awareness(+1);
  queue(self_update());
  send_gossip();  // now, not at the next gossip tick: the suspicion is running
}

void swim::suspect(record& r, const std::string& reporter) {
  ++stats_.suspicions;
  const auto min = suspicion_min();
  suspicion s;
  s.start = clock_.now();
  s.min = min;
  s.max = std::chrono::duration_cast<duration>(min * cfg_.suspicion_max_mult);
  s.reporter = reporter;
  // The accuser is not a confirmation of itself (Lifeguard, memberlist).
  shrink(s);
  r.susp = std::move(s);
  queue({r.m.name, r.m.host, r.m.port, r.m.creation, r.m.incarnation, static_cast<std::uint8_t>(member_state::suspect),
         tag_list(r.m.tags), reporter});
  set_state(r, member_state::suspect, reporter == self_.name ? "missed probes" : "suspected by " + reporter, reporter,
            change::suspect);
  if (reporter == self_.name) tell_alive(update_of(r), r.m.name);
}

// Gossip goes to random members, suspects included; when many are suspect (a
// partition), news that only live members can act on may miss them all for a
// while. A suspicion or a confirmation we raise goes straight to a few alive
// members too, so that the members who can confirm hear of it at once.
void swim::tell_alive(const wire::member_update& u, const std::string& about) {
  for (const record* r : random_members(cfg_.indirect_checks, about, false, true))
    send({r->m.host, r->m.port}, wire::swim_gossip{self_.name, {u}});
}

void swim::declare_dead(record& r, const std::string& reason) {
  ++stats_.declared_dead;
  queue({r.m.name, r.m.host, r.m.port, r.m.creation, r.m.incarnation, static_cast<std::uint8_t>(member_state::dead),
         tag_list(r.m.tags), self_.name});
  set_state(r, member_state::dead, reason, self_.name, change::down);
}

void swim::set_state(record& r, member_state s, const std::string& reason, const std::string& reporter, change what) {
  if (live(r.m.state) != live(s)) live(s) ? ++live_members_ : --live_members_;
  if (s == member_state::suspect)
    suspects_.insert(r.m.name);
  else
    suspects_.erase(r.m.name);
  r.m.state = s;
  r.m.reason = reason;
  r.m.reporter = reporter;
  r.changed = clock_.now();
  remember(r);
  if (s != member_state::suspect) r.susp.reset();
  // Fewer members left to confirm: the running suspicions need fewer.
  for (const auto& name : suspects_)
    if (auto& other = members_.at(name); other.susp) shrink(*other.susp);
  listener_.on_member_change(r.m, what, reporter);
}

// ---------------------------------------------------------------- probing

void swim::start_probe() {
  // The next live member of a shuffled round-robin; reshuffle each round.
  for (std::size_t tries = 0; tries <= probe_order_.size(); ++tries) {
    if (probe_next_ >= probe_order_.size()) {
      std::erase_if(probe_order_, [&](const std::string& n) { return !members_.contains(n); });
      std::shuffle(probe_order_.begin(), probe_order_.end(), rng_);
      probe_next_ = 0;
      if (probe_order_.empty()) return;
    }
    const std::string& name = probe_order_[probe_next_++];
    record* r = lookup(name);
    if (!r || !live(r->m.state)) continue;
    const auto now = clock_.now();
    const std::uint64_t seq = next_seq_++;
    pending p;
    p.kind = probe_kind::periodic;
    p.target = name;
    p.target_creation = r->m.creation;
    p.deadline = now + scaled(cfg_.probe_timeout);
    p.period_end = now + scaled(cfg_.probe_interval);
    pending_[seq] = std::move(p);
    ++stats_.probes;
    // Lifeguard's buddy system: a suspect hears of its suspicion from whoever
    // probes it, and its ack carries the refutation straight back.
    const bool buddy = r->m.state == member_state::suspect;
    const auto accusation = update_of(*r);
    const std::size_t reserved = buddy ? encoded_size(accusation) : 0;
    const std::size_t room = budget(name.size());
    auto updates = take_gossip(room > reserved ? room - reserved : 0);
    if (buddy) updates.insert(updates.begin(), accusation);
    send({r->m.host, r->m.port}, wire::swim_ping{seq, name, r->m.creation, self_.name, std::move(updates)});
    return;
  }
}

void swim::send_indirect(std::uint64_t seq, pending& p, std::size_t k) {
  const record* target = lookup(p.target);
  if (!target) return;
  // Helpers are alive members (as memberlist picks them): a suspect one is
  // probably gone, and its missing nack would count against our own health.
  for (const record* helper : random_members(k, p.target, false, true)) {
    ++stats_.indirect_probes;
    ++p.nacks_expected;
    p.silent_helpers.push_back(helper->m.name);
    send({helper->m.host, helper->m.port},
         wire::swim_ping_req{seq, p.target, target->m.creation, target->m.host, target->m.port, self_.name,
                             take_gossip(budget(p.target.size() + target->m.host.size()))});
  }
  p.indirect_sent = true;
}

void swim::on_ack(const wire::swim_ack& a) {
  auto it = pending_.find(a.seq);
  if (it == pending_.end()) return;  // late: the probe already ended
  pending& p = it->second;
  if (p.kind == probe_kind::relay) {
    send(p.requester, wire::swim_ack{p.requester_seq, a.from, {}});
  } else if (p.kind == probe_kind::periodic) {
    adjust_awareness(-1);
  }
  pending_.erase(it);
}

void swim::on_probe_deadline(std::uint64_t seq, pending& p) {
  switch (p.kind) {
    case probe_kind::relay:
      // Nack at 80% of the probe timeout, while the prober still counts
      // nacks; keep listening for a late ack until the whole timeout.
      if (!p.nacked) {
        send(p.requester, wire::swim_nack{p.requester_seq, self_.name});
        p.nacked = true;
        p.deadline += cfg_.probe_timeout / 5;
        return;
      }
      pending_.erase(seq);
      return;
    case probe_kind::periodic:
    case probe_kind::corroborate:
      if (!p.indirect_sent) {
        send_indirect(seq, p, cfg_.indirect_checks);
        p.deadline = p.period_end;
        return;
      }
      break;
    case probe_kind::confirm:
      break;
  }
  // No ack: was it them or us? Nacks we did not get point at us (Lifeguard).
  ++stats_.probe_failures;
  if (p.kind == probe_kind::periodic)
    adjust_awareness(p.nacks_expected > 0 ? static_cast<int>(p.nacks_expected - std::min(p.nacks, p.nacks_expected))
                                          : 1);
  const std::string target = p.target;
  const std::uint32_t creation = p.target_creation;
  const bool confirm = p.kind == probe_kind::confirm;
  const std::size_t helpers = p.nacks_expected;
  const auto silent = p.kind == probe_kind::periodic ? std::move(p.silent_helpers) : std::vector<std::string>{};
  pending_.erase(seq);
  // A helper that did not even nack may be cut off from us too (a partition
  // takes several members at once): probe it now, not in its turn, so the
  // far side of a cut is suspected in one round instead of N.
  for (const auto& name : silent)
    if (const record* h = lookup(name); h && h->m.state == member_state::alive) probe_at_once(*h);
  record* r = lookup(target);
  // A restart replaced the member meanwhile: the silence was the old one's.
  if (!r || !live(r->m.state) || r->m.creation != creation) return;
  if (confirm && awareness_ == 0) {
    // Two independent signals: the kernel closed its connection, and it
    // answered no probe, direct or relayed. A healthy prober trusts that.
    const auto window = std::chrono::duration_cast<milliseconds>(cfg_.link_loss_confirm).count();
    declare_dead(*r, "connection closed and no answer to probes (direct and through " + std::to_string(helpers) +
                         " members) within " + std::to_string(window) + " ms");
  } else if (r->m.state == member_state::alive) {
    suspect(*r, self_.name);
  } else if (r->susp && !r->susp->confirmed_by_us) {
    // Suspected by another, and now our own probe failed too: say so, once.
    // Others count it as an independent confirmation (Lifeguard), and so do
    // we (as memberlist does): it is evidence the reporter did not give us.
    r->susp->confirmed_by_us = true;
    if (r->susp->reporter != self_.name && r->susp->confirmers.insert(self_.name).second) shrink(*r->susp);
    const wire::member_update confirmation{r->m.name,           r->m.host,
                                           r->m.port,           r->m.creation,
                                           r->m.incarnation,    static_cast<std::uint8_t>(member_state::suspect),
                                           tag_list(r->m.tags), self_.name};
    queue(confirmation);
    tell_alive(confirmation, r->m.name);
  }
}

void swim::adjust_awareness(int delta) {
  const long next =
      std::clamp<long>(static_cast<long>(awareness_) + delta, 0, static_cast<long>(cfg_.awareness_max) - 1);
  awareness_ = static_cast<std::size_t>(next);
  stats_.awareness = awareness_;
}

// ---------------------------------------------------------------- dissemination

std::size_t swim::retransmit_limit() const {
  const double n = static_cast<double>(live_count());
  // One round more than memberlist's mult * ceil(log10(N + 1)): in small
  // clusters that formula leaves a few percent of members unreached by a
  // refutation under 10% loss, which is a false death; the extra round makes
  // it rare for the price of a few datagrams.
  return cfg_.retransmit_mult * (static_cast<std::size_t>(std::ceil(std::log10(n + 1))) + 1);
}

void swim::queue(const wire::member_update& u) {
  // A newer claim about a member replaces the older one still in flight.
  if (auto it = broadcasts_.find(u.name); it != broadcasts_.end()) {
    send_order_.erase({it->second.transmits, it->second.order, u.name});
    broadcasts_.erase(it);
  }
  const broadcast b{u, encoded_size(u), 0, ++broadcast_order_};
  send_order_.insert({0, b.order, u.name});
  broadcasts_.emplace(u.name, b);
}

std::vector<wire::member_update> swim::take_gossip(std::size_t budget) {
  // Least sent first, then newest: fresh news travels before old news.
  std::vector<wire::member_update> out;
  std::vector<std::string> taken;
  std::size_t used = 0;
  std::vector<std::string> oversized;
  for (const auto& key : send_order_) {
    const broadcast& b = broadcasts_.at(key.name);
    if (b.bytes > budget) {
      oversized.push_back(key.name);  // would never fit: drop it, counted
      continue;
    }
    if (used + b.bytes > budget) {
      if (budget - used < 48) break;  // nothing more will fit
      continue;
    }
    used += b.bytes;
    out.push_back(b.update);
    taken.push_back(key.name);
  }
  // Only an empty datagram's budget is a fair test of "never fits".
  if (used == 0)
    for (const auto& name : oversized) {
      const auto it = broadcasts_.find(name);
      send_order_.erase({it->second.transmits, it->second.order, name});
      broadcasts_.erase(it);
      ++stats_.oversized_dropped;
    }
  const std::size_t limit = retransmit_limit();
  for (const auto& name : taken) {
    auto it = broadcasts_.find(name);
    broadcast& b = it->second;
    send_order_.erase({b.transmits, b.order, name});
    if (++b.transmits >= limit) {
      broadcasts_.erase(it);
    } else {
      send_order_.insert({b.transmits, b.order, name});
    }
  }
  stats_.gossip_updates_out += out.size();
  return out;
}

void swim::send_gossip() {
  if (broadcasts_.empty()) return;
  for (const record* r : random_members(cfg_.gossip_nodes, "", true)) {
    auto updates = take_gossip(budget(0));
    if (updates.empty()) return;
    send({r->m.host, r->m.port}, wire::swim_gossip{self_.name, std::move(updates)});
  }
}

void swim::send_sync(const endpoint& to, bool reply) {
  // Our whole table, cut into datagrams. A lost piece is repaired by the
  // next exchange or by gossip; each piece stands alone.
  std::vector<wire::member_update> all{self_update()};
  for (const auto& [name, r] : members_) all.push_back(update_of(r));
  std::vector<wire::member_update> chunk;
  std::size_t used = 0;
  bool first = true;
  for (auto& u : all) {
    const std::size_t size = encoded_size(u);
    if (!chunk.empty() && used + size > budget(0)) {
      send(to, wire::swim_sync{reply && first, self_.name, std::move(chunk)});
      chunk.clear();
      used = 0;
      first = false;
    }
    used += size;
    chunk.push_back(std::move(u));
  }
  if (!chunk.empty()) send(to, wire::swim_sync{reply && first, self_.name, std::move(chunk)});
}

// ---------------------------------------------------------------- time

void swim::tick() {
  const auto now = clock_.now();
  if (leaving_) return;

  for (auto it = pending_.begin(); it != pending_.end();) {
    const auto seq = it->first;
    ++it;  // on_probe_deadline may erase this entry, never another
    auto found = pending_.find(seq);
    if (found != pending_.end() && found->second.deadline <= now) on_probe_deadline(seq, found->second);
  }

  for (const auto& name : std::vector<std::string>(suspects_.begin(), suspects_.end())) {
    record& r = members_.at(name);
    if (r.susp && r.susp->deadline <= now) {
      const auto& s = *r.susp;
      const auto waited = std::chrono::duration_cast<milliseconds>(now - s.start).count();
      declare_dead(r, "suspected by " + s.reporter + ", not refuted in " + std::to_string(waited) + " ms (" +
                          std::to_string(s.confirmers.size()) + " confirmations)");
    }
  }

  if (now >= next_probe_) {
    start_probe();
    next_probe_ = now + scaled(cfg_.probe_interval);
  }
  if (now >= next_gossip_) {
    send_gossip();
    next_gossip_ = now + cfg_.gossip_interval;
  }
  if (now >= next_sync_) {
    if (auto peer = random_members(1, ""); !peer.empty()) send_sync({peer[0]->m.host, peer[0]->m.port}, true);
    // A full table grows with N: stretch the interval beyond 32 members so
    // the bytes each member sends per second stay flat; jitter it so nodes
    // started together do not exchange in lockstep.
    const auto scale = static_cast<double>(std::max<std::size_t>(1, live_count() / 32));
    std::uniform_real_distribution<double> jitter(0.75, 1.25);
    next_sync_ = now + std::chrono::duration_cast<duration>(cfg_.sync_interval * scale * jitter(rng_));
  }
  if (now >= next_join_) {
    // Our own row is enough: the seed answers with its whole table.
    for (const auto& seed : seeds_)
      if (!live_member_at(seed)) announce(seed);
    next_join_ = now + cfg_.join_retry;
  }
  if (now >= next_reap_) {
    reap();
    next_reap_ = now + cfg_.forget_after / 4;
  }
}

void swim::reap() {
  const auto now = clock_.now();
  std::erase_if(members_, [&](const auto& kv) {
    return !live(kv.second.m.state) && now - kv.second.changed >= cfg_.forget_after;
  });
}

std::optional<time_point> swim::next_deadline() const {
  if (leaving_) return std::nullopt;
  time_point t = std::min({next_probe_, next_gossip_, next_sync_, next_join_, next_reap_});
  for (const auto& [seq, p] : pending_) t = std::min(t, p.deadline);
  for (const auto& name : suspects_)
    if (const auto& r = members_.at(name); r.susp) t = std::min(t, r.susp->deadline);
  return t;
}

}  // namespace cluster::internal::membership

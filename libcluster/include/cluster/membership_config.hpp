// Every timing and size parameter of the membership protocol (SWIM with the
// Lifeguard extensions), with units, and the presets `noded --preset
// lan|wan|local` selects. docs/MEMBERSHIP.md explains each number.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cluster/clock.hpp"

namespace cluster {

struct membership_config {
  // -- probing (SWIM) --
  duration probe_interval = milliseconds(200);  ///< one member probed per interval
  duration probe_timeout = milliseconds(100);   ///< direct ack wait before asking others
  std::size_t indirect_checks = 3;              ///< members asked to probe on our behalf (k)
  // -- suspicion (Lifeguard) --
  /// The shortest suspicion lasts suspicion_mult * max(1, log10 N) probe
  /// intervals; it starts suspicion_max_mult times longer and shrinks as
  /// independent members confirm the suspicion.
  double suspicion_mult = 3;
  double suspicion_max_mult = 4;
  /// Local health: timeouts stretch up to this factor while we miss nacks or
  /// have to refute suspicions of ourselves (our own trouble, not theirs).
  std::size_t awareness_max = 8;
  // -- dissemination --
  duration gossip_interval = milliseconds(100);  ///< gossip-only datagrams this often...
  std::size_t gossip_nodes = 3;                  ///< ...to this many random members
  /// Each update is sent retransmit_mult * (ceil(log10(N + 1)) + 1) times.
  std::size_t retransmit_mult = 4;
  duration gossip_to_dead = std::chrono::seconds(10);  ///< keep telling the dead, so they can refute
  std::size_t max_datagram_bytes = 1400;               ///< below a typical MTU
  // -- anti-entropy and joining --
  /// Full-state exchange with one random member this often; stretched by
  /// N/32 beyond 32 members so its bytes per member stay flat.
  duration sync_interval = std::chrono::seconds(5);
  duration join_retry = milliseconds(1000);         ///< seeds not yet members are asked again this often
  duration forget_after = std::chrono::minutes(5);  ///< dead and left members are listed this long
  // -- confirming a lost data connection --
  /// When a data link closes we probe at once (directly and through k others)
  /// and declare the member dead if nobody hears from it within this.
  duration link_loss_confirm = milliseconds(50);
  // -- partitions --
  /// The partition policy acts on a minority view only once it has lasted
  /// this long: at a heal, stale claims that our members died can show a
  /// majority node a minority until their refutations arrive.
  duration quorum_settle = milliseconds(1000);

  static membership_config lan();
  static membership_config wan();
  static membership_config local();
  /// The preset called `name`, or false.
  static bool preset(std::string_view name, membership_config& out);
};

inline membership_config membership_config::lan() { return {}; }

inline membership_config membership_config::wan() {
  membership_config c;
  c.probe_interval = milliseconds(1000);
  c.probe_timeout = milliseconds(500);
  c.suspicion_mult = 4;
  c.suspicion_max_mult = 6;
  c.gossip_interval = milliseconds(300);
  c.gossip_nodes = 4;
  c.retransmit_mult = 5;
  c.gossip_to_dead = std::chrono::seconds(30);
  c.sync_interval = std::chrono::seconds(30);
  c.join_retry = milliseconds(2000);
  c.link_loss_confirm = milliseconds(1000);
  c.quorum_settle = milliseconds(5000);
  return c;
}

inline membership_config membership_config::local() {
  membership_config c;
  c.probe_interval = milliseconds(100);
  c.probe_timeout = milliseconds(50);
  c.indirect_checks = 2;
  c.suspicion_mult = 2;
  c.suspicion_max_mult = 3;
  c.gossip_interval = milliseconds(50);
  c.retransmit_mult = 3;
  c.sync_interval = std::chrono::seconds(2);
  c.join_retry = milliseconds(500);
  c.link_loss_confirm = milliseconds(20);
  c.quorum_settle = milliseconds(500);
  return c;
}

inline bool membership_config::preset(std::string_view name, membership_config& out) {
  if (name == "lan")
    out = lan();
  else if (name == "wan")
    out = wan();
  else if (name == "local")
    out = local();
  else
    return false;
  return true;
}

}  // namespace cluster

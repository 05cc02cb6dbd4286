// The membership layer in production: the SWIM engine on its own thread with
// its own UDP socket (standalone Asio), so no amount of data traffic on the
// node's ZeroMQ links can delay a probe or an ack.
//
// Every datagram is sealed with the cookie's gossip key (crypto/seal.hpp);
// one that does not open (another cookie, the other encryption setting,
// tampering, junk) is dropped, counted and logged. Discovery never gives up: every `discovery_interval` the static
// seeds and DNS names are resolved again (asynchronously) and handed to the
// engine, which keeps asking any seed that is not yet a live member; with
// multicast on, a sealed beacon to the LAN group introduces us to whoever
// listens, and we answer the beacons of nodes we do not know yet.
//
// Thread-safety: public member functions may be called from any thread; they
// post to the membership thread. `on_change` runs on the membership thread
// and must not block.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster/error.hpp"
#include "cluster/node_name.hpp"
#include "crypto/keys.hpp"
#include "membership/swim.hpp"

namespace cluster::internal::membership {

struct service_options {
  membership_config protocol;
  swim::identity self;                     ///< address: what others dial (an IP)
  std::string bind_ip;                     ///< where the socket listens (may be 0.0.0.0)
  crypto::key key{};                       ///< the cookie's gossip subkey: seals what we send
  std::vector<crypto::key> also_accepted;  ///< other cookies' subkeys: open what others send (rotation)
  /// The key nodes with the other encryption setting seal with: never
  /// accepted, only tried on refused datagrams to say why they were refused.
  crypto::key other_setting_key{};
  std::vector<node_name> join;   ///< static seeds; their hosts are resolved again and again
  std::vector<std::string> dns;  ///< names whose A/AAAA records are seeds (`NAME` or `NAME:PORT`)
  bool multicast = false;        ///< announce ourselves to the LAN group
  std::string multicast_group = "239.255.43.70";
  std::uint16_t multicast_port = 43700;
  duration discovery_interval = std::chrono::seconds(5);
  std::uint64_t seed = 0;  ///< for the engine's randomness; 0 = from the CSPRNG
};

struct service_stats {
  swim_stats protocol;
  std::uint64_t auth_failures = 0;  ///< datagrams that did not open with our key
  std::uint64_t send_errors = 0;    ///< datagrams the kernel refused
  std::uint64_t beacons_in = 0, beacons_out = 0;
};

class membership_service {
 public:
  using on_change = std::function<void(const member&, change, const std::string& reporter)>;

  /// Binds the UDP socket and starts the thread. Errors: `io_error` (port in
  /// use, bad address).
  static result<std::unique_ptr<membership_service>> start(service_options options, on_change callback);
  ~membership_service();
  membership_service(const membership_service&) = delete;
  membership_service& operator=(const membership_service&) = delete;

  /// Tells every member we are leaving, then stops taking part. Blocks until
  /// the goodbyes are sent.
  void leave();
  void link_lost(const std::string& name);
  void set_tags(std::map<std::string, std::string> tags);
  std::vector<member> members();
  std::vector<member_history_entry> history(const std::string& name);
  service_stats stats();

 private:
  class impl;
  explicit membership_service(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace cluster::internal::membership

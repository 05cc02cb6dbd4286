// The protocol of replicas (services/replica.hpp) as a pure state machine:
// inputs are nodes coming up or going, messages from other replicas and
// changes of our own entries; outputs are messages to send and changes of
// the table to report. No threads, no clock, no I/O, so that simulations
// (tests/sim/replica_test.cpp) drive many of them through partitions.
//
// Messages (terms; docs/PROTOCOL.md, "Groups and global names"):
//   [discover, Node]                      send me your entries
//   [sync, Node, [[Key, [[Pid, Stamp]...]]...]]   all of Node's entries
//   [add, Node, Key, Pid, Stamp]          one more entry of Node's
//   [add, Node, Key, Pid, Stamp, ReplyTo] the same, and answer ReplyTo with
//                                         [claim_ack, Me, Key, Pid, Won]
//   [remove, Node, Key, Pid]              one entry less
//   [digest, Node, Hash]                  a hash of all of Node's entries
// Messages from a node we do not consider up are ignored: its next sync,
// once it is up, says everything. Messages lost with a connection that was
// replaced while membership saw no failure are caught by the digests, sent
// every few seconds: a receiver whose copy of Node's entries hashes
// differently asks for a full copy.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cluster/term.hpp"
#include "services/authority_table.hpp"

namespace cluster::internal {

class replica_engine {
 public:
  /// A change of the table, for monitors and conflict checks.
  struct change {
    std::string key;
    bool added;
    std::vector<pid> pids;
  };
  struct output {
    std::vector<std::pair<std::string, term>> sends;  ///< (node, message) to its replica
    std::vector<std::pair<pid, term>> replies;        ///< (process, message): claim acknowledgements
    std::vector<change> changes;
  };

  explicit replica_engine(std::string self) : self_(std::move(self)) {}

  const std::string& self() const { return self_; }
  const authority_table& table() const { return table_; }
  bool is_up(const std::string& node) const { return up_.contains(node); }
  /// Whether our process `p` has any entry.
  bool has_own(const pid& p) const { return own_keys_.contains(p); }

  /// A node came up: it gets our entries and a request for its own.
  void node_up(const std::string& node, output& out);
  /// A node went down or left: its entries go.
  void node_gone(const std::string& node, output& out);
  /// A message from another replica; false if it is not one of ours (kind
  /// unknown or malformed), for the caller to try.
  bool receive(const term& msg, output& out);

  /// Our own entries: changed here at once, and told to every node up. With
  /// `reply_to`, each node answers it whether the entry wins there (a
  /// confirmed claim on a global name).
  bool add_own(const std::string& key, authority_table::entry e, output& out,
               const std::optional<pid>& reply_to = std::nullopt);
  /// The nodes up now, without us.
  std::vector<std::string> up_nodes() const { return {up_.begin(), up_.end()}; }
  bool remove_own(const std::string& key, const pid& p, output& out);
  /// One of our processes ended: all its entries go.
  void own_ended(const pid& p, output& out);

  /// A digest of our entries for every node up (sent periodically).
  void send_digests(output& out) const;

  /// Withdraws our claims on `key` that lose to the winner; returns the
  /// losers, each with the winner (global names).
  std::vector<std::pair<pid, pid>> withdraw_losing_claims(const std::string& key, output& out);

 private:
  void broadcast(const term& msg, output& out) const;
  term sync_message() const;
  void apply_sync(const std::string& node, const term& entries, output& out);

  std::string self_;
  authority_table table_;
  std::set<std::string> up_;
  std::map<pid, std::set<std::string>> own_keys_;  // our processes with entries: their keys
};

}  // namespace cluster::internal

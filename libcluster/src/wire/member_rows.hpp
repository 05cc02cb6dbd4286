// Members as they travel to clients (`members_reply`, `member_event`) and
// back: one conversion each way, shared by the node and the client.
#pragma once

#include <chrono>

#include "cluster/member.hpp"
#include "wire/messages.hpp"

namespace cluster::internal::wire {

inline member_row row_of(const member& m) {
  return {{m.name, m.host, m.port, m.creation, m.incarnation, static_cast<std::uint8_t>(m.state),
           std::vector<std::pair<std::string, std::string>>(m.tags.begin(), m.tags.end()), m.reporter},
          static_cast<std::uint64_t>(m.since_change.count()),
          m.reason};
}

inline member member_of(const member_row& r) {
  member m;
  m.name = r.member.name;
  m.host = r.member.host;
  m.port = r.member.port;
  m.creation = r.member.creation;
  m.incarnation = r.member.incarnation;
  m.state = r.member.state <= 3 ? static_cast<member_state>(r.member.state) : member_state::dead;
  m.tags = {r.member.tags.begin(), r.member.tags.end()};
  m.since_change = std::chrono::milliseconds(r.since_ms);
  m.reason = r.reason;
  m.reporter = r.member.from;
  return m;
}

}  // namespace cluster::internal::wire

// Terms on the command line are JSON. Plain JSON maps onto terms directly
// (null, booleans, integers, floats, strings, arrays; objects become maps with
// string keys); the rest is written as a one-key object:
//   {"atom": "ok"}                      an atom
//   {"pid": "<n1@10.0.0.5.1234.42>"}    a PID
//   {"ref": "#ref<n1@10.0.0.5.1234.7>"} a reference
//   {"binary": "aGVsbG8="}              bytes, base64
//   {"map": [[key, value], ...]}        a map with keys that are not strings
// Results are printed in the same notation, so output can be fed back in.
#pragma once

#include <nlohmann/json.hpp>

#include "cluster/error.hpp"
#include "cluster/term.hpp"

namespace clusterctl {

cluster::result<cluster::term> term_from_json(const nlohmann::json& j);
/// Parses JSON text into a term; `bad_argument` with the parser's words.
cluster::result<cluster::term> parse_term(const std::string& text);
nlohmann::json term_to_json(const cluster::term& t);

}  // namespace clusterctl

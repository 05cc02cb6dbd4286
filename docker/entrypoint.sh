#!/bin/sh
# Starts noded from its environment: the command line of every node in
# docker-compose.yml, and of every host in the namespace test harness
# (tests/netns/nscluster), so the tests run exactly what containers run.
#
#   NODE_NAME    the name part of name@host (default: node)
#   NODE_HOST    the host part (default: this machine's host name, which
#                must resolve to the address peers reach it on)
#   COOKIE_FILE  the file holding the cookie (default: /run/secrets/cookie,
#                where compose mounts the `cookie` secret)
#   DISCOVER     where peers are found (default: dns:cluster, every address
#                of the name "cluster", re-resolved every 5 s)
#   PRESET       membership timings: lan (default), wan or local
#
# Arguments go on to noded. `libcluster-node --health` instead checks that
# the node answers an authenticated ping (the container's healthcheck).
set -eu
name="${NODE_NAME:-node}@${NODE_HOST:-$(hostname)}"
cookie_file="${COOKIE_FILE:-/run/secrets/cookie}"
if [ "${1:-}" = "--health" ]; then
  exec clusterctl --node "$name" --cookie-file "$cookie_file" ping
fi
exec noded --name "$name" --cookie-file "$cookie_file" --discover "${DISCOVER:-dns:cluster}" \
  --preset "${PRESET:-lan}" "$@"

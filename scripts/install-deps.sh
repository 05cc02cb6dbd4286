#!/usr/bin/env bash
# Installs libcluster's build and test dependencies from Debian packages.
# Idempotent and quick when everything is already there. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake pkg-config   # toolchain
  libzmq3-dev cppzmq-dev             # ZeroMQ data plane
  libmsgpack-cxx-dev                 # MessagePack wire format (used without Boost)
  libasio-dev                        # standalone Asio
  libcli11-dev                       # command lines of noded and clusterctl
  nlohmann-json3-dev                 # clusterctl: terms as JSON on the command line
  doctest-dev                        # tests
  libsodium-dev                      # cookie-derived keys, HMAC
  iproute2 procps                    # ip netns for network tests; ps/kill for scripts
  nftables                           # cuts and partitions in the network-namespace tests
  docker-compose                     # CI validates docker-compose.yml (Docker itself does not run there)
  python3 python3-zmq python3-msgpack python3-cryptography # clients/python and its test (ChaCha20-Poly1305)
  tmux                                 # clusterctl top and watch are tested in a terminal
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

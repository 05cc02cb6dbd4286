"""A Python client for libcluster nodes, written from docs/PROTOCOL.md alone.

It speaks the light client protocol: one ZeroMQ DEALER to one node, the
cookie handshake (HMAC-SHA256 over fresh nonces, key derived from the
cookie), then requests matched to replies by request id, every frame sealed
with ChaCha20-Poly1305 under keys the handshake derived (section 5.4). Through that one
node it reaches the whole cluster: calls, casts and spawns name any node,
and sends reach any PID.

    from libcluster_client import Client, Atom

    with Client.connect("n1@127.0.0.1", cookie="secret", timeout=5.0) as c:
        print(c.ping())                                   # round trip, seconds
        print([n.name for n in c.nodes()])                # the nodes n1 is linked to
        print(c.call("sys:echo", [1, "two", b"3", Atom("four")]))
        print(c.call("sys:info", None, node="n3@127.0.0.3"))   # run on n3, asked of n1
        pid = c.spawn("sys:sleep", 1000, node="n2@127.0.0.2")  # Pid(node='n2@...', ...)
        c.send(pid, {"hello": "there"})

Terms map to Python as: nil None, bool, int (int64/uint64), float, str,
bytes (binary), list (a tuple is sent as a list too), dict (a key that
decodes as a list comes back as a tuple), Atom, Pid, Ref.

Every failure raises ClusterError(code, message), `code` being the errc name
of the protocol (auth_failed, not_found, timeout, no_connection, ...). Every
wait is bounded by a timeout. A Client is not meant to be shared between
threads without a lock of your own; use one per thread.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import struct
import time
from collections import deque
from dataclasses import dataclass, field

import msgpack
import zmq
from zmq.utils.monitor import recv_monitor_message

try:  # Debian: python3-cryptography; only needed for encrypted links (the default)
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
except ImportError:  # pragma: no cover
    ChaCha20Poly1305 = None

__all__ = ["Client", "ClusterError", "Atom", "Pid", "Ref", "NodeEntry", "Member",
           "ERRC", "DEFAULT_PORT", "handshake_key"]

DEFAULT_PORT = 4370
PROTOCOL_VERSION = 2
FLAG_INSECURE_PLAINTEXT = 1     # hello/challenge flags bit (section 5.3)

# errc values (PROTOCOL.md section 7), number -> name.
ERRC = {
    0: "ok", 1: "bad_argument", 2: "malformed", 3: "too_large",
    4: "unsupported_version", 5: "auth_failed", 6: "rejected", 7: "timeout",
    8: "no_connection", 9: "unknown_node", 10: "io_error", 11: "not_found",
    12: "shutting_down", 13: "busy", 14: "internal", 15: "already_connected",
    16: "exception",
}
_ERRC_NUM = {name: num for num, name in ERRC.items()}

# Message types (section 4) used by a client.
HELLO, CHALLENGE, CHALLENGE_REPLY, CHALLENGE_ACK, REJECT = 1, 2, 3, 4, 5
PING, PONG, GOODBYE = 16, 17, 19
NODES_REQUEST, NODES_REPLY, INFO_REQUEST, INFO_REPLY, ERROR_REPLY = 32, 33, 34, 35, 36
CALL_REQUEST, CALL_REPLY, CAST_REQUEST, SPAWN_REQUEST, SPAWN_REPLY = 48, 49, 50, 51, 52
PROCESS_SEND, PROCESS_SEND_NAMED = 64, 65
MEMBERS_REQUEST, MEMBERS_REPLY = 96, 97

# Term extension types (section 3).
EXT_PID, EXT_REF, EXT_ATOM = 1, 2, 3

MEMBER_STATES = {0: "alive", 1: "suspect", 2: "dead", 3: "left"}


class ClusterError(Exception):
    """A failure; `code` is the errc name (e.g. "timeout"), `message` says more."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message

    @property
    def errc(self) -> int | None:
        """The errc number of `code`, if it is a known one."""
        return _ERRC_NUM.get(self.code)


def _errc_name(code: int) -> str:
    return ERRC.get(code, f"errc_{code}")


# ---------------------------------------------------------------- terms

@dataclass(frozen=True)
class Atom:
    """An atom (ext type 3), e.g. Atom("ok")."""
    name: str


@dataclass(frozen=True)
class Pid:
    """A process id (ext type 1): the node's identity name@host, its creation, an id."""
    node: str
    creation: int
    id: int


@dataclass(frozen=True)
class Ref:
    """A reference (ext type 2), laid out like a Pid."""
    node: str
    creation: int
    id: int


def _default(obj):
    """msgpack `default` hook: our types to ext types, other binaries to bin."""
    if isinstance(obj, Atom):
        return msgpack.ExtType(EXT_ATOM, obj.name.encode())
    if isinstance(obj, (Pid, Ref)):
        payload = msgpack.packb([obj.node, obj.creation, obj.id], use_bin_type=True)
        return msgpack.ExtType(EXT_PID if isinstance(obj, Pid) else EXT_REF, payload)
    if isinstance(obj, (bytearray, memoryview)):
        return bytes(obj)
    raise TypeError(f"cannot encode {type(obj).__name__} as a term")


def _ext_hook(code: int, data: bytes):
    """msgpack `ext_hook`: ext types 1-3 to Pid, Ref, Atom; others stay ExtType."""
    if code == EXT_ATOM:
        return Atom(data.decode("utf-8", "surrogateescape"))
    if code in (EXT_PID, EXT_REF):
        node, creation, ident = msgpack.unpackb(data, raw=False)[:3]
        if isinstance(node, bytes):
            node = node.decode("utf-8", "surrogateescape")
        return (Pid if code == EXT_PID else Ref)(node, creation, ident)
    return msgpack.ExtType(code, data)


def _hashable(key):
    """Map keys may be any term; Python needs hashable ones (lists become tuples)."""
    if isinstance(key, list):
        return tuple(_hashable(k) for k in key)
    if isinstance(key, dict):
        return tuple((_hashable(k), _hashable(v)) for k, v in key.items())
    return key


def _pairs_hook(pairs):
    return {_hashable(k): v for k, v in pairs}


def pack(msg_type: int, fields: list) -> bytes:
    """One message in the envelope [type, [fields...]] (section 2)."""
    try:
        return msgpack.packb([msg_type, fields], use_bin_type=True, default=_default)
    except (TypeError, ValueError, OverflowError) as e:
        raise ClusterError("bad_argument", f"cannot encode: {e}") from None


def unpack_frame(frame: bytes) -> list[tuple[int, list]]:
    """Every message of one frame (one or more msgpack values back to back).

    A truncated last message is not detected (msgpack's Unpacker waits for more
    bytes); nodes never send one, and a reply lost that way ends in a timeout.
    """
    if not frame:
        raise ClusterError("malformed", "empty frame")
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, ext_hook=_ext_hook,
                                object_pairs_hook=_pairs_hook,
                                unicode_errors="surrogateescape",
                                max_buffer_size=max(len(frame), 1024))
    unpacker.feed(frame)
    messages = []
    try:
        for value in unpacker:
            if (not isinstance(value, list) or len(value) != 2 or not isinstance(value[0], int)
                    or isinstance(value[0], bool) or not isinstance(value[1], list)):
                raise ClusterError("malformed", f"not a message envelope: {value!r:.80}")
            messages.append((value[0], value[1]))
    except (msgpack.UnpackException, ValueError, TypeError) as e:
        raise ClusterError("malformed", f"undecodable frame: {e}") from None
    return messages


# ---------------------------------------------------------------- handshake

def derive_key(cookie: bytes, subkey_id: int) -> bytes:
    """crypto_kdf_derive_from_key(32, subkey_id, "lcluster", BLAKE2b-256(cookie)) (section 5.1)."""
    master = hashlib.blake2b(cookie, digest_size=32).digest()
    return hashlib.blake2b(b"", key=master, digest_size=32,
                           salt=struct.pack("<Q", subkey_id) + bytes(8),
                           person=b"lcluster" + bytes(8)).digest()


def handshake_key(cookie: bytes) -> bytes:
    """The handshake key, subkey 1 (section 5.1)."""
    return derive_key(cookie, 1)


def admission_password(cookie: bytes, username: bytes, node: str) -> bytes:
    """hex(BLAKE2b-256(username || 0x00 || node, key=subkey 5)) (section 5.6)."""
    return hashlib.blake2b(username + b"\0" + node.encode(), key=derive_key(cookie, 5),
                           digest_size=32).hexdigest().encode()


def admission_token(cookie: bytes, node: str, now: float | None = None) -> tuple[bytes, bytes]:
    """A fresh ZMTP PLAIN user name and password for one connection to `node`
    ("name@host", no port) (section 5.6)."""
    issued_ms = int((time.time() if now is None else now) * 1000)
    username = b"lc1.%016x.%s" % (issued_ms, secrets.token_hex(16).encode())
    return username, admission_password(cookie, username, node)


def _lp(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


def _side(kind: int, name: bytes, creation: int, port: int, flags: int) -> bytes:
    return (bytes([kind]) + _lp(name)
            + struct.pack(">IIII", creation, port, flags >> 32, flags & 0xFFFFFFFF))


def transcript(label: bytes, version: int, nonce_i: bytes, nonce_a: bytes,
               initiator: tuple, acceptor: tuple) -> bytes:
    """The bytes both digests cover (section 5.2); a side is (kind, name, creation, port, flags)."""
    return (_lp(b"libcluster-handshake-v1") + _lp(label) + struct.pack(">I", version)
            + nonce_i + nonce_a + _side(*initiator) + _side(*acceptor))


class LinkCipher:
    """Seals and opens the frames of one link (section 5.4): ChaCha20-Poly1305
    (IETF), frame = counter (8 bytes, big-endian) + ciphertext + tag, nonce =
    4 zero bytes + counter. Each direction counts 0, 1, 2...: a receiver takes
    only the next counter, so a deleted, replayed or reordered frame fails."""

    def __init__(self, send_key: bytes, receive_key: bytes):
        self._send = ChaCha20Poly1305(send_key)
        self._receive = ChaCha20Poly1305(receive_key)
        self._next_send = 0
        self._next_receive = 0

    def seal(self, frame: bytes) -> bytes:
        counter = struct.pack(">Q", self._next_send)
        self._next_send += 1
        return counter + self._send.encrypt(bytes(4) + counter, frame, None)

    def unsend(self) -> None:
        """The last sealed frame was never sent: the next one takes its counter."""
        self._next_send -= 1

    def open(self, frame: bytes) -> bytes | None:
        if len(frame) < 24:
            return None
        (counter,) = struct.unpack(">Q", frame[:8])
        if counter != self._next_receive:
            return None
        try:
            plain = self._receive.decrypt(bytes(4) + frame[:8], frame[8:], None)
        except Exception:        # cryptography's InvalidTag
            return None
        self._next_receive = counter + 1
        return plain


def parse_node(node: str) -> tuple[str, str, int]:
    """"n1@host[:port]" or "n1@[v6]:port" -> (identity "n1@host", host, port)."""
    m = re.fullmatch(r"([A-Za-z0-9_.-]+)@(\[[^\]]+\]|[^:\[\]]+)(?::(\d+))?", node)
    if not m:
        raise ClusterError("bad_argument", f"bad node name {node!r} (want name@host[:port])")
    port = int(m.group(3)) if m.group(3) else DEFAULT_PORT
    if not 0 < port < 65536:
        raise ClusterError("bad_argument", f"bad port in {node!r}")
    return f"{m.group(1)}@{m.group(2)}", m.group(2), port


def default_cookie() -> bytes:
    """As noded: $CLUSTER_COOKIE, else ~/.libcluster.cookie (spaces, tabs, CR, LF trimmed)."""
    if os.environ.get("CLUSTER_COOKIE"):
        return os.environ["CLUSTER_COOKIE"].encode()
    path = os.path.expanduser("~/.libcluster.cookie")
    try:
        with open(path, "rb") as f:
            return f.read().strip(b" \t\r\n")
    except OSError as e:
        raise ClusterError("bad_argument", f"no cookie given and cannot read {path}: {e}") from None


# ---------------------------------------------------------------- replies

@dataclass(frozen=True)
class NodeEntry:
    """One row of nodes(): a node the answering node is linked to."""
    name: str
    host: str
    port: int
    creation: int


@dataclass(frozen=True)
class Member:
    """One row of members(): a member table entry (section 9)."""
    name: str
    host: str
    port: int
    creation: int
    incarnation: int
    state: str                      # alive, suspect, dead, left
    tags: dict = field(default_factory=dict)
    reporter: str = ""              # the member that made the claim (`from`)
    since_ms: int = 0               # age of the state
    reason: str = ""                # why it last changed


# ---------------------------------------------------------------- client

class Client:
    """A connection to one node. Build it with Client.connect(...)."""

    def __init__(self, sock: zmq.Socket, monitor: zmq.Socket, node: str, timeout: float):
        self._sock = sock
        self._monitor = monitor
        self.node = node                 # identity of the node we talk to, "name@host"
        self.timeout = timeout           # default for every wait, seconds
        self._poller = zmq.Poller()
        self._poller.register(sock, zmq.POLLIN)
        self._poller.register(monitor, zmq.POLLIN)
        self._pending: deque = deque()   # decoded messages not yet looked at
        self._next_id = 1                # one counter for request ids and ping seqs
        self._broken: ClusterError | None = None
        self._cipher: LinkCipher | None = None   # once authenticated, unless plaintext
        self._handshaking = True                 # frames hold one message until the ack
        self._admitted = False                   # ZeroMQ's handshake (admission) succeeded

    # -- connecting

    @classmethod
    def connect(cls, node: str, cookie: str | bytes | None = None, timeout: float = 5.0,
                label: str = "python", insecure_plaintext: bool = False) -> "Client":
        """Connects to `node` ("name@host[:port]") and proves the cookie.

        The link is encrypted unless `insecure_plaintext` is set, which must
        match the node's --insecure-plaintext. Raises ClusterError:
        auth_failed (wrong cookie), timeout (nobody answered within `timeout`
        seconds, e.g. nothing listening), rejected (the node there has another
        name, or another encryption setting), ...
        """
        if not insecure_plaintext and ChaCha20Poly1305 is None:
            raise ClusterError("bad_argument", "encrypted links need the cryptography module "
                               "(apt-get install python3-cryptography)")
        identity, host, port = parse_node(node)
        if cookie is None:
            cookie = default_cookie()
        if isinstance(cookie, str):
            cookie = cookie.encode()
        if not 0 < len(label.encode()) <= 1024:
            raise ClusterError("bad_argument", "label must be 1 to 1024 bytes")

        sock = zmq.Context.instance().socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 200)
        sock.setsockopt(zmq.RECONNECT_IVL, -1)   # a silent reconnect would be rejected anyway
        sock.setsockopt(zmq.IPV6, 1)
        # Admission: nodes let only holders of the cookie into ZeroMQ's
        # handshake; the token is single-use, hence no reconnects above.
        sock.plain_username, sock.plain_password = admission_token(cookie, identity)
        # A break of the established connection, or a refusal at admission;
        # a connect that never succeeds is reported as a timeout.
        monitor = sock.get_monitor_socket(zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED
                                          | zmq.EVENT_HANDSHAKE_FAILED_AUTH
                                          | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                                          | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)
        client = cls(sock, monitor, identity, timeout)
        try:
            sock.connect(f"tcp://{host}:{port}")
            client._handshake(identity, handshake_key(cookie), label, insecure_plaintext,
                              time.monotonic() + timeout)
        except BaseException:
            client._close_sockets()
            raise
        return client

    def _handshake(self, identity: str, key: bytes, label: str, plaintext: bool,
                   deadline: float) -> None:
        """Section 5.3, initiator side, under one overall deadline."""
        creation = secrets.randbits(32) or 1        # a client's creation: any random u32
        nonce_i = secrets.token_bytes(32)
        flags = FLAG_INSECURE_PLAINTEXT if plaintext else 0
        # hello: version_min, version_max, kind 1 (client), name, port 0, creation, flags, nonce
        self._send(HELLO, [PROTOCOL_VERSION, PROTOCOL_VERSION, 1, label, 0,
                           creation, flags, nonce_i], deadline)
        t, f = self._wait(lambda t, f: (t, f) if t in (CHALLENGE, REJECT) else None,
                          deadline, "challenge")
        self._check_reject(t, f)
        if len(f) < 6:
            self._reject(2, "challenge has too few fields", "malformed")
        version, a_name, a_port, a_creation, a_flags, nonce_a = f[:6]
        a_name = _text(a_name)          # string fields may come as str or bin,
        nonce_a = _raw(nonce_a)         # byte fields as bin or str
        if version != PROTOCOL_VERSION:
            self._reject(4, f"version {version} not in [{PROTOCOL_VERSION}, {PROTOCOL_VERSION}]",
                         "unsupported_version")
        if len(nonce_a) != 32:
            self._reject(2, "nonce must be 32 bytes", "malformed")
        if a_name != identity:
            self._reject(6, f"expected {identity}, got {a_name}", "rejected")
        if not isinstance(a_flags, int):
            self._reject(2, "challenge flags must be an integer", "malformed")
        if bool(a_flags & FLAG_INSECURE_PLAINTEXT) != plaintext:
            def setting(p):
                return " runs with --insecure-plaintext" if p else " encrypts its links"
            self._reject(6, f"encryption mismatch: {a_name}{setting(not plaintext)} but {label}"
                         f"{setting(plaintext)}; every node and client of a cluster must use "
                         "the same setting", "rejected")

        me = (1, label.encode(), creation, 0, flags)
        peer = (0, a_name.encode(), a_creation, a_port, a_flags)
        def digest(label):
            return hmac.new(key, transcript(label, version, nonce_i, nonce_a, me, peer),
                            hashlib.sha256).digest()
        self._send(CHALLENGE_REPLY, [digest(b"initiator")], deadline)
        t, f = self._wait(lambda t, f: (t, f) if t in (CHALLENGE_ACK, REJECT) else None,
                          deadline, "challenge_ack")
        self._check_reject(t, f)
        ack = _raw(f[0]) if f else b""
        if len(ack) != 32 or not hmac.compare_digest(ack, digest(b"acceptor")):
            self._reject(5, "the node did not prove the cookie", "auth_failed")
        if self._pending:
            # Whatever shared the ack's frame was not sealed: nothing may
            # enter an encrypted link that way.
            self._reject(2, "messages after challenge_ack in its frame", "malformed")
        self._handshaking = False
        if not plaintext:
            def link_key(label):
                return hashlib.blake2b(transcript(label, version, nonce_i, nonce_a, me, peer),
                                       key=key, digest_size=32).digest()
            self._cipher = LinkCipher(link_key(b"initiator-to-acceptor"),
                                      link_key(b"acceptor-to-initiator"))

    def _check_reject(self, t: int, f: list) -> None:
        """A reject ends the handshake; codes 1-15 are kept, others read as 6 (rejected)."""
        if t == REJECT:
            code = f[0] if f and isinstance(f[0], int) and 1 <= f[0] <= 15 else 6
            self._broken = ClusterError(ERRC[code], _text(f[1]) if len(f) > 1 else "")
            raise self._broken

    def _reject(self, code: int, reason: str, name: str) -> None:
        """Gives up the handshake: tells the node why (best effort), then fails."""
        try:
            self._sock.send(pack(REJECT, [code, reason]), zmq.NOBLOCK)
        except zmq.ZMQError:
            pass
        self._broken = ClusterError(name, reason)
        raise self._broken

    # -- requests

    def ping(self, timeout: float | None = None) -> float:
        """Round trip to the node, in seconds."""
        seq = self._new_id()
        start = time.monotonic()
        deadline = self._deadline(timeout)
        self._send(PING, [seq], deadline)
        self._wait(lambda t, f: True if t == PONG and f[0] == seq else None, deadline, "pong")
        return time.monotonic() - start

    def nodes(self, timeout: float | None = None) -> list[NodeEntry]:
        """The nodes the node is linked to (itself and clients excluded), by name."""
        return self._request(NODES_REQUEST, [], NODES_REPLY, timeout,
                             lambda f: [NodeEntry(*e[:4]) for e in f[1]])

    def info(self, timeout: float | None = None) -> dict:
        """name, host, port, creation, uptime_ms, version, process_count, node_count,
        dist_port (where node links arrive; 0: through ZeroMQ only; absent from older nodes)."""
        keys = ("name", "host", "port", "creation", "uptime_ms", "version",
                "process_count", "node_count", "dist_port")
        return self._request(INFO_REQUEST, [], INFO_REPLY, timeout,
                             lambda f: dict(zip(keys, f[1:10])))

    def members(self, timeout: float | None = None) -> list[Member]:
        """The node's member table, itself included, sorted by name."""
        def parse(f):
            rows = []
            for update, since_ms, reason, *_ in f[1]:       # member_row
                name, host, port, creation, incarnation, state, tags, reporter = update[:8]
                rows.append(Member(name, host, port, creation, incarnation,
                                   MEMBER_STATES.get(state, str(state)),
                                   {k: v for k, v, *_ in tags}, reporter, since_ms, reason))
            return rows
        return self._request(MEMBERS_REQUEST, [], MEMBERS_REPLY, timeout, parse)

    def call(self, function: str, args=None, node: str = "", timeout: float | None = None):
        """Runs the registered `function` ("mod:fun") with `args` on `node` ("" = this node).

        Returns its result; raises ClusterError not_found (no such function),
        exception (it threw; message = its text), no_connection (no link to
        `node`), timeout, ...
        """
        return self._request(CALL_REQUEST, [_node_id(node), function, args], CALL_REPLY,
                             timeout, _result)

    def cast(self, function: str, args=None, node: str = "") -> None:
        """As call, without waiting for (or getting) an answer."""
        self._send(CAST_REQUEST, [_node_id(node), function, args], self._deadline(None))

    def spawn(self, function: str, args=None, node: str = "",
              timeout: float | None = None) -> Pid:
        """Starts a process running `function` on `node`; returns its Pid."""
        return self._request(SPAWN_REQUEST, [_node_id(node), function, args], SPAWN_REPLY,
                             timeout, _result)

    def send(self, to: Pid | str | Atom, msg) -> None:
        """Sends `msg` to a Pid (on any node) or to a name registered on this node.

        Nothing comes back: a message to a dead PID or an unknown name is dropped.
        """
        if isinstance(to, Pid):
            self._send(PROCESS_SEND, [to, msg], self._deadline(None))
        elif isinstance(to, (str, Atom)):
            name = to.name if isinstance(to, Atom) else to
            self._send(PROCESS_SEND_NAMED, [name, msg], self._deadline(None))
        else:
            raise ClusterError("bad_argument", f"send to a Pid or a name, not {to!r}")

    # -- closing

    def close(self) -> None:
        """Says goodbye to the node and closes the socket. Idempotent."""
        if self._sock.closed:
            return
        if self._broken is None:
            try:
                self._sock.send(self._seal(pack(GOODBYE, ["client closing"])), zmq.NOBLOCK)
            except zmq.ZMQError:
                pass
        self._broken = ClusterError("no_connection", "the client is closed")
        self._close_sockets()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self._close_sockets()
        except Exception:
            pass

    # -- internals

    def _close_sockets(self) -> None:
        if not self._sock.closed:
            self._sock.disable_monitor()
            self._monitor.close(linger=0)
            self._sock.close()          # LINGER 200 ms lets a goodbye leave

    def _seal(self, frame: bytes) -> bytes:
        return self._cipher.seal(frame) if self._cipher else frame

    def _open(self, frame: bytes) -> bytes:
        if not self._cipher:
            return frame
        plain = self._cipher.open(frame)
        if plain is None:
            self._broken = ClusterError(
                "malformed", f"a frame from {self.node} did not open (forged, altered or replayed)")
            raise self._broken
        return plain

    def _new_id(self) -> int:
        ident = self._next_id
        self._next_id += 1
        return ident

    def _deadline(self, timeout: float | None) -> float:
        return time.monotonic() + (self.timeout if timeout is None else timeout)

    def _request(self, req_type: int, fields: list, reply_type: int,
                 timeout: float | None, parse):
        """Sends a request with a fresh request id; returns parse(fields of its reply)."""
        rid = self._new_id()
        deadline = self._deadline(timeout)
        self._send(req_type, [rid, *fields], deadline)

        def match(t, f):
            if f and f[0] == rid:
                if t == reply_type:
                    return f
                if t == ERROR_REPLY:
                    raise ClusterError(_errc_name(f[1]), _text(f[2]) if len(f) > 2 else "")
            return None                  # a late reply, an event: skipped
        f = self._wait(match, deadline, f"reply to request {rid}")
        try:
            return parse(f)
        except (IndexError, TypeError, ValueError) as e:
            raise ClusterError("malformed", f"bad reply to request {rid}: {e}") from None

    def _send(self, msg_type: int, fields: list, deadline: float) -> None:
        if self._broken is not None:
            raise ClusterError(self._broken.code, self._broken.message)
        frame = self._seal(pack(msg_type, fields))
        while True:
            try:
                self._sock.send(frame, zmq.NOBLOCK)
                return
            except zmq.Again:            # no peer to queue to (yet, or any more), or HWM
                remaining = deadline - time.monotonic()
                ready = {}
                if remaining > 0:
                    # The monitor too: a refusal at admission means there will never be a peer.
                    poller = zmq.Poller()
                    poller.register(self._sock, zmq.POLLOUT)
                    poller.register(self._monitor, zmq.POLLIN)
                    ready = dict(poller.poll(remaining * 1000))
                if self._monitor in ready:
                    self._on_monitor_event()
                    if self._broken is not None:
                        raise ClusterError(self._broken.code, self._broken.message) from None
                    continue
                if self._sock not in ready:
                    if self._cipher:
                        self._cipher.unsend()    # never sent: the next frame takes its counter
                    raise ClusterError("timeout", "could not send to the node") from None

    def _wait(self, match, deadline: float, what: str):
        """Receives until match(type, fields) returns non-None, or the deadline passes."""
        while True:
            while self._pending:
                t, f = self._pending.popleft()
                if t == GOODBYE:
                    reason = f[0] if f else ""
                    self._broken = ClusterError("shutting_down", f"{self.node} said goodbye: {reason}")
                    raise self._broken
                try:
                    result = match(t, f)
                except (IndexError, TypeError, ValueError) as e:
                    raise ClusterError("malformed", f"bad message {t}: {e}") from None
                if result is not None:
                    return result
            if self._broken is not None:
                raise ClusterError(self._broken.code, self._broken.message)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ClusterError("timeout", f"no {what} from {self.node} in time")
            ready = dict(self._poller.poll(remaining * 1000))
            if self._sock in ready:
                messages = unpack_frame(self._open(self._sock.recv(zmq.NOBLOCK)))
                if self._handshaking and len(messages) != 1:
                    self._reject(2, "a handshake frame holds one message", "malformed")
                self._pending.extend(messages)
            elif self._monitor in ready:
                self._on_monitor_event()

    def _on_monitor_event(self) -> None:
        """Takes one event from the socket's monitor: admitted, refused or disconnected."""
        event = recv_monitor_message(self._monitor)
        if event["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            self._admitted = True
        elif (event["event"] in (zmq.EVENT_DISCONNECTED, zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)
              and not self._admitted):
            # Closed in ZeroMQ's handshake: the node's close can overtake its refusal.
            self._broken = ClusterError("auth_failed", f"{self.node} closed the connection in ZeroMQ's "
                                        "handshake: cookie mismatch, clocks more than 15 minutes "
                                        "apart, or the node there has another name")
        elif event["event"] == zmq.EVENT_DISCONNECTED:
            self._broken = ClusterError("no_connection", f"lost the connection to {self.node}")
        elif event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH and event["value"] == 500:
            self._broken = ClusterError("busy", f"{self.node} refuses new connections for now: it is "
                                        "stopping, or our address is backed off after too many "
                                        "failed authentications")
        elif event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            self._broken = ClusterError("auth_failed", f"{self.node} refused us at admission: "
                                        "cookie mismatch, clocks more than 15 minutes apart, "
                                        "or the node there has another name")
        elif event["event"] == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
            self._broken = ClusterError("auth_failed", f"{self.node} failed ZeroMQ's handshake "
                                        "(not a libcluster node of this version?)")


def _result(f: list):
    """call_reply / spawn_reply [id, code, result, message]: the result, or raise."""
    code, result, message = f[1], f[2], f[3]
    if code != 0:
        raise ClusterError(_errc_name(code), _text(message))
    return result


def _text(v) -> str:
    """A string field, sent as str or bin."""
    return v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else str(v)


def _raw(v) -> bytes:
    """A byte field, sent as bin or str."""
    return v.encode("utf-8", "surrogateescape") if isinstance(v, str) else bytes(v)


def _node_id(node: str) -> str:
    """The `node` field of a request: the identity name@host, without a port."""
    return parse_node(node)[0] if node else ""

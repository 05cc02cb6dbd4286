"""Tests of libcluster_client against a real 3-node cluster that they start.

    NODED_PATH=build/noded/noded python3 clients/python/test_client.py -v

NODED_PATH is the noded binary (default: build/noded/noded of this checkout);
CLUSTERCTL_PATH, when set, is used for one cross-check. The nodes listen on
127.6.1.1-3 at the default port 4370; their logs go to a temporary directory
(kept, and named on stderr, when KEEP_LOGS is set or a node misbehaved).
"""

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

try:
    import msgpack, zmq  # noqa: F401  (Debian's python3-msgpack, python3-zmq)
except ImportError:
    # A python3 earlier on PATH (pyenv, a venv) may not see Debian's modules.
    if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") \
            and os.access("/usr/bin/python3", os.X_OK):
        os.execv("/usr/bin/python3", ["/usr/bin/python3", *sys.argv])
    raise

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from libcluster_client import (PING, Atom, Client, ClusterError, LinkCipher, Member, NodeEntry,  # noqa: E402
                               Pid, Ref, admission_password, derive_key, pack)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NODED = os.environ.get("NODED_PATH") or os.path.join(REPO, "build", "noded", "noded")
CLUSTERCTL = os.environ.get("CLUSTERCTL_PATH")

N1, N2, N3 = "n1@127.6.1.1", "n2@127.6.1.2", "n3@127.6.1.3"
NOBODY = "n9@127.6.2.1"          # a loopback address where nothing listens
START_TIMEOUT = 30.0             # generous: sanitizer builds start slowly


def wait_for(what, probe, timeout=START_TIMEOUT, interval=0.1):
    """Calls probe() until it returns a true value; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = probe()
            if result:
                return result
        except ClusterError as e:
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last error: {last})")


class ClusterTest(unittest.TestCase):
    """One cluster for every test: n1, and n2, n3 joining it."""

    @classmethod
    def setUpClass(cls):
        if not os.access(NODED, os.X_OK):
            raise unittest.SkipTest(f"no noded at {NODED} (set NODED_PATH)")
        cls.cookie = secrets.token_hex(16)
        cls.logdir = tempfile.mkdtemp(prefix="libcluster-pyclient-")
        cls.procs = {}
        cls.addClassCleanup(cls.stop_nodes)
        for name, extra in ((N1, []), (N2, ["--join", N1]), (N3, ["--join", N1, "--tag", "role=py"])):
            log = open(os.path.join(cls.logdir, name.split("@")[0] + ".log"), "wb")
            cls.procs[name] = subprocess.Popen(
                [NODED, "--name", name, "--cookie", cls.cookie, *extra],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            log.close()

        # Each node answers; then each sees 3 alive members and links to the other 2.
        def converged(name):
            def probe():
                if cls.procs[name].poll() is not None:
                    raise AssertionError(f"{name} exited with {cls.procs[name].returncode}")
                with Client.connect(name, cookie=cls.cookie, timeout=1.0) as c:
                    members = c.members()
                    return (len(members) == 3 and all(m.state == "alive" for m in members)
                            and len(c.nodes()) == 2)
            return probe
        for name in cls.procs:
            wait_for(f"{name} to answer and see the cluster", converged(name))
        cls.c = Client.connect(N1, cookie=cls.cookie, timeout=5.0)

    @classmethod
    def stop_nodes(cls):
        """SIGTERM, then SIGKILL what is still running; a crash or sanitizer report fails."""
        if getattr(cls, "c", None):
            cls.c.close()
        for p in cls.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        problems = []
        deadline = time.monotonic() + 10
        for name, p in cls.procs.items():
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
                if p.returncode != 0:
                    problems.append(f"{name} exited with {p.returncode}")
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                problems.append(f"{name} ignored SIGTERM")
        for log in os.listdir(cls.logdir):
            with open(os.path.join(cls.logdir, log), errors="replace") as f:
                text = f.read()
            if "Sanitizer" in text or "runtime error:" in text:
                problems.append(f"sanitizer report in {log}")
        if problems or os.environ.get("KEEP_LOGS"):
            print(f"\nnode logs kept in {cls.logdir}", file=sys.stderr)
        else:
            shutil.rmtree(cls.logdir, ignore_errors=True)
        if problems:
            raise AssertionError("; ".join(problems))

    def creation_of(self, name):
        return {n.name: n.creation for n in self.c.nodes()}[name]

    # ---------------------------------------------------------------- link

    def test_ping(self):
        rtt = self.c.ping()
        self.assertIsInstance(rtt, float)
        self.assertGreater(rtt, 0)
        self.assertLess(rtt, 5)

    def test_info(self):
        info = self.c.info()
        self.assertEqual(info["name"], N1)
        self.assertEqual(info["host"], "127.6.1.1")
        self.assertEqual(info["port"], 4370)
        self.assertGreater(info["creation"], 0)
        self.assertGreaterEqual(info["uptime_ms"], 0)
        self.assertRegex(info["version"], r"^\d+\.\d+\.\d+")
        self.assertGreaterEqual(info["process_count"], 0)
        self.assertEqual(info["node_count"], 2)
        self.assertGreater(info["dist_port"], 0)                      # chose a free one

    def test_nodes(self):
        nodes = self.c.nodes()
        self.assertEqual([n.name for n in nodes], [N2, N3])          # sorted, without n1
        for n in nodes:
            self.assertIsInstance(n, NodeEntry)
            self.assertEqual(n.host, n.name.split("@")[1])
            self.assertEqual(n.port, 4370)
            self.assertGreater(n.creation, 0)
        with Client.connect(N2, cookie=self.cookie) as c2:           # the creation n1 knows
            self.assertEqual(c2.info()["creation"], self.creation_of(N2))

    def test_members(self):
        members = self.c.members()
        self.assertEqual([m.name for m in members], [N1, N2, N3])
        for m in members:
            self.assertIsInstance(m, Member)
            self.assertEqual(m.state, "alive")
            self.assertEqual(m.host, m.name.split("@")[1])
            self.assertEqual(m.port, 4370)
            self.assertGreater(m.incarnation, 0)
            self.assertGreater(m.creation, 0)
            self.assertIsInstance(m.tags, dict)
            self.assertGreaterEqual(m.since_ms, 0)
            self.assertIsInstance(m.reason, str)
        self.assertEqual(members[2].tags, {"role": "py"})
        self.assertEqual(members[0].tags, {})
        self.assertEqual(members[0].creation, self.c.info()["creation"])
        self.assertEqual(members[1].creation, self.creation_of(N2))

    def test_info_matches_clusterctl(self):
        if not CLUSTERCTL:
            self.skipTest("CLUSTERCTL_PATH not set")
        out = subprocess.run([CLUSTERCTL, "--node", N1, "--cookie", self.cookie, "--json", "info"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["creation"], self.c.info()["creation"])

    # ---------------------------------------------------------------- calls

    def test_echo_every_kind_of_term(self):
        pid = Pid(N2, 3735928559, 42)
        terms = [
            None, True, False,
            0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1,
            -1, -32, -33, -128, -129, -32768, -2**31, -2**63,
            1.5, -2.25, 1e-300, 1.0, 0.0, 1e18, float("inf"),
            "", "hello", "héllo ✓", "x" * 70000,
            b"", b"\x00\xff\x10", bytes(range(256)) * 300,
            [], [1, "two", [3.0, [b"4"]]], list(range(1000)),
            {}, {"a": 1, "b": [1, 2]}, {1: "one", -2: "minus two"}, {(1, 2): "list key"},
            {Atom("k"): {"nested": {b"bin": None}}},
            Atom("ok"), Atom(""), Atom("héllo"),
            pid, Ref(N1, 7, 2**64 - 1),
            [Atom("error"), {"pids": [pid, pid]}],
        ]
        for term in terms:
            with self.subTest(term=repr(term)[:60]):
                self.assertEqual(self.c.call("sys:echo", term), term)
                self.assertEqual(type(self.c.call("sys:echo", term)), type(term))
        self.assertEqual(self.c.call("sys:echo", (1, "tuple")), [1, "tuple"])   # tuples go as lists
        self.assertEqual(self.c.call("sys:echo", bytearray(b"ba")), b"ba")
        self.assertEqual(self.c.call("sys:echo", terms), terms)                 # all at once

    def test_echo_pid_from_spawn_round_trips(self):
        pid = self.c.spawn("sys:sleep", 100, node=N3)
        self.assertEqual(self.c.call("sys:echo", pid), pid)
        self.assertEqual(self.c.call("sys:echo", [pid], node=N2), [pid])

    def test_sys_info(self):
        info = self.c.call("sys:info", None)
        self.assertEqual(info[Atom("name")], N1)
        self.assertEqual(info[Atom("creation")], self.c.info()["creation"])
        self.assertGreaterEqual(info[Atom("uptime_ms")], 0)
        self.assertGreaterEqual(info[Atom("process_count")], 1)     # the call's own process

    def test_call_forwarded_to_another_node(self):
        info = self.c.call("sys:info", None, node=N3)
        self.assertEqual(info[Atom("name")], N3)
        self.assertEqual(info[Atom("creation")], self.creation_of(N3))
        self.assertEqual(self.c.call("sys:echo", {"x": [Atom("y")]}, node=N2), {"x": [Atom("y")]})
        self.assertEqual(self.c.call("sys:info", None, node=N1)[Atom("name")], N1)  # itself
        self.assertEqual(self.c.call("sys:info", None, node=N3 + ":4370")[Atom("name")], N3)

    def test_call_unknown_function_is_not_found(self):
        for node in ("", N2):
            with self.subTest(node=node), self.assertRaises(ClusterError) as cm:
                self.c.call("nosuch:function", [], node=node)
            self.assertEqual(cm.exception.code, "not_found")
            self.assertEqual(cm.exception.errc, 11)

    def test_call_to_unknown_node_is_no_connection(self):
        with self.assertRaises(ClusterError) as cm:
            self.c.call("sys:echo", 1, node=NOBODY)
        self.assertEqual(cm.exception.code, "no_connection")

    def test_call_bad_argument(self):
        with self.assertRaises(ClusterError) as cm:
            self.c.call("sys:sleep", "not a number")
        self.assertEqual(cm.exception.code, "bad_argument")

    def test_sys_fail_raises_with_its_text(self):
        for node in ("", N3):
            with self.subTest(node=node), self.assertRaises(ClusterError) as cm:
                self.c.call("sys:fail", "it broke", node=node)
            self.assertEqual(cm.exception.code, "exception")
            self.assertIn("it broke", cm.exception.message)

    def test_call_timeout_leaves_client_usable(self):
        start = time.monotonic()
        with self.assertRaises(ClusterError) as cm:
            self.c.call("sys:sleep", 2000, timeout=0.3)
        elapsed = time.monotonic() - start
        self.assertEqual(cm.exception.code, "timeout")
        self.assertGreaterEqual(elapsed, 0.29)
        self.assertLess(elapsed, 0.8)
        self.c.ping()
        self.assertEqual(self.c.call("sys:echo", "still here"), "still here")

    def test_late_reply_is_skipped(self):
        with self.assertRaises(ClusterError):
            self.c.call("sys:sleep", 300, node=N2, timeout=0.05)
        time.sleep(0.6)                                   # the late call_reply is now queued
        self.assertEqual(self.c.call("sys:echo", 7), 7)
        self.assertEqual(self.c.call("sys:sleep", 1), Atom("ok"))

    def test_cast_runs_the_function(self):
        def count():
            return self.c.call("sys:info", None, node=N3)[Atom("process_count")]
        before = count()
        self.assertIsNone(self.c.cast("sys:sleep", 1500, node=N3))
        wait_for("the cast's process on n3", lambda: count() > before, timeout=1.4, interval=0.05)
        self.c.cast("sys:echo", [1, 2, 3])
        self.c.ping()

    def test_spawn_and_send(self):
        pid = self.c.spawn("sys:sleep", 2000, node=N2)
        self.assertIsInstance(pid, Pid)
        self.assertEqual(pid.node, N2)
        self.assertEqual(pid.creation, self.creation_of(N2))
        self.assertEqual(self.c.call("sys:info", None, node=N2)[Atom("name")], N2)
        self.c.send(pid, {"hello": [Atom("from"), "python"]})         # forwarded by n1 to n2
        self.c.send("nobody_registered", "dropped")                   # a name on n1
        self.c.send(Pid(N3, self.creation_of(N3), 999999), "to a dead pid")
        self.c.ping()                                                 # still connected
        with self.assertRaises(ClusterError) as cm:
            self.c.spawn("nosuch:function", None, node=N2)
        self.assertEqual(cm.exception.code, "not_found")

    # ---------------------------------------------------------------- connecting

    def test_wrong_cookie_is_auth_failed(self):
        with self.assertRaises(ClusterError) as cm:
            Client.connect(N2, cookie="not-" + self.cookie, timeout=5.0)
        self.assertEqual(cm.exception.code, "auth_failed")

    def test_wrong_node_name_is_refused(self):
        # The admission token is made for the node meant: refused at admission.
        with self.assertRaises(ClusterError) as cm:
            Client.connect("other@127.6.1.1", cookie=self.cookie, timeout=5.0)
        self.assertEqual(cm.exception.code, "auth_failed")
        self.assertIn("another name", cm.exception.message)

    def test_admission_token_matches_the_documented_vector(self):
        # PROTOCOL.md 5.6.
        username = b"lc1.0000019c3b5a4c00.000102030405060708090a0b0c0d0e0f"
        self.assertEqual(derive_key(b"secret", 5).hex(),
                         "8b1b227f7cb671165b05e4fb5aceedbdfb099c3a3ec75dbb4a74772d706c08f6")
        self.assertEqual(admission_password(b"secret", username, "n1@127.0.0.1"),
                         b"ea9dc41216cbc4c10d1cb52f62bc2c1f1d5828b51ce493589faf25bf644edbbf")

    def test_plaintext_client_and_encrypted_node_refuse_each_other(self):
        with self.assertRaises(ClusterError) as cm:
            Client.connect(N2, cookie=self.cookie, timeout=5.0, insecure_plaintext=True)
        self.assertEqual(cm.exception.code, "rejected")
        self.assertIn("encryption mismatch", cm.exception.message)

    def test_link_cipher_matches_the_documented_vector(self):
        # PROTOCOL.md 5.4: the client's first sealed frame, a ping with seq 1.
        send = bytes.fromhex("3057bfb5b4c07655f2c1efa93c59f16f989f5509e32578cbcd4627c36e163ce0")
        receive = bytes.fromhex("2dead578d68b22fc6d85c8b04c7fa40e1a89f4d2012c256fd381d8c9e006d063")
        client, node = LinkCipher(send, receive), LinkCipher(receive, send)
        sealed = client.seal(pack(PING, [1]))
        self.assertEqual(sealed.hex(), "0000000000000000fc2fde1d76c03d904b5a25c8f2bb7e4ffda87e71")
        self.assertEqual(node.open(sealed), pack(PING, [1]))
        self.assertIsNone(node.open(sealed))                          # a replay
        self.assertIsNone(node.open(client.seal(b"x")[:-1] + b"?"))   # altered
        client.unsend()                                               # (never sent)
        first, second = client.seal(b"1"), client.seal(b"2")
        self.assertIsNone(node.open(second))                          # the first was deleted
        self.assertEqual(node.open(first), b"1")
        self.assertEqual(node.open(second), b"2")

    def test_nothing_listening_times_out(self):
        start = time.monotonic()
        with self.assertRaises(ClusterError) as cm:
            Client.connect(NOBODY, cookie=self.cookie, timeout=1.0)
        elapsed = time.monotonic() - start
        self.assertEqual(cm.exception.code, "timeout")
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 2.0)

    def test_context_manager_and_close(self):
        with Client.connect(N3 + ":4370", cookie=self.cookie, label="ctx") as c:
            self.assertEqual(c.info()["name"], N3)
        with self.assertRaises(ClusterError) as cm:
            c.ping()
        self.assertEqual(cm.exception.code, "no_connection")
        c.close()                                                     # idempotent

    def test_bad_node_name(self):
        with self.assertRaises(ClusterError) as cm:
            Client.connect("no-at-sign", cookie=self.cookie)
        self.assertEqual(cm.exception.code, "bad_argument")


if __name__ == "__main__":
    unittest.main()

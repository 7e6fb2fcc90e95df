"""The data directory (issue 19, --data-dir): 100,000 instances back at once after kill -9 with
the leases they had; Consul registrations (no heartbeat) back too; damaged files skipped and reported; a
disk that refuses writes (a file size limit) leaves the node serving from memory and saying so;
and one of three nodes restarted after kill -9, serving from disk and then taking its peers'
word for what was cancelled while it was down."""
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from muster_node import Node, eventually, free_ports

# Under the sanitizers (make test sets their options) the node is several times slower: the
# 100,000 of the restart test are a release-build figure, 20,000 there.
SANITIZED = "ASAN_OPTIONS" in os.environ or "TSAN_OPTIONS" in os.environ


def register_many(port, n, appid="bulk", threads=4):
    """Registers n instances (hostnames h0..h{n-1}) through pipelined keep-alive connections;
    returns how many were answered code 0."""
    ok = [0] * threads

    def worker(t):
        s = socket.create_connection(("127.0.0.1", port))
        s.settimeout(120)
        mine = range(t, n, threads)
        batch = 500
        for start in range(0, len(mine), batch):
            chunk = mine[start:start + batch]
            out = []
            for i in chunk:
                body = ("zone=sh001&env=dev&appid=%s&hostname=h%d&status=1"
                        "&addrs=http://10.0.%d.%d:80" % (appid, i, i // 256 % 256, i % 256))
                out.append("POST /discovery/register HTTP/1.1\r\nHost: x\r\n"
                           "Content-Type: application/x-www-form-urlencoded\r\n"
                           "Content-Length: %d\r\n\r\n%s" % (len(body), body))
            s.sendall("".join(out).encode())
            need, data = len(chunk), b""
            while data.count(b'"code":0') + data.count(b'"code":-') < need:
                more = s.recv(1 << 16)
                if not more:
                    break
                data += more
            ok[t] += data.count(b'"code":0')
        s.close()

    ts = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    return sum(ok)


def count(node, appid="bulk"):
    r = node.fetch(appid)
    if r["code"] != 0:
        return 0
    return sum(len(z) for z in r["data"]["instances"].values())


class DataDirTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="muster-data-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def start(self, *args, **kw):
        node = Node("--data-dir", self.dir, *args, **kw)
        self.addCleanup(lambda: node.alive() and node.stop(signal.SIGKILL))
        return node

    def test_100k_instances_are_back_at_once_after_kill_9_with_the_leases_they_had(self):
        # The first eviction run comes before a lease renewed at the start lapses, and after the
        # restored leases, which lapsed during the 7 s down, are past --evict-after.
        args = ("--evict-after", "6s", "--evict-interval", "4s", "--self-protection", "false")
        n = 20_000 if SANITIZED else 100_000
        node = self.start(*args)
        self.assertEqual(register_many(node.port, n), n)
        node.stop(signal.SIGKILL)
        time.sleep(7)  # longer than --evict-after: every lease lapsed while the node was down
        node = self.start(*args)
        # A restore carries each lease as it was, never a fresh one (issue 26, decisions §5.7):
        # what is renewed now, before the first eviction run, stays; the rest lapsed while the
        # node was down and goes at that run. The renews find them: the restore runs before the
        # port opens.
        for i in range(10):
            answer = node.call("POST", "renew", {"zone": "sh001", "env": "dev", "appid": "bulk",
                                                 "hostname": "h%d" % i})[0]
            self.assertEqual(answer["code"], 0, answer)
        line = node.wait_for_log("restored %d" % n)
        self.assertIn("restored %d instances" % n, line)
        eventually(lambda: count(node) == 10, timeout=20, interval=0.02,
                   what="the lapsed instances evicted, the renewed ones kept")
        # Nothing renews those ten again: they go once --evict-after has passed.
        eventually(lambda: count(node) == 0, timeout=20, what="the unrenewed instances evicted")

    def test_the_guard_counts_restored_instances_and_starts_protecting(self):
        node = self.start("--protect-min-instances", "20")
        self.assertEqual(register_many(node.port, 50, appid="app"), 50)
        node.stop(signal.SIGKILL)
        node = self.start("--protect-min-instances", "20")
        self.assertEqual(count(node, "app"), 50)
        # Nothing renews yet: the guard expects the restored instances' renews, and protects.
        self.assertEqual(node.metric("muster_protect_mode"), 1)
        self.assertEqual(node.metric("muster_expected_renews"), 100)

    def test_consul_registrations_and_cancels_survive_a_restart(self):
        node = self.start()
        status, headers, _ = node.request("PUT", "/v1/agent/service/register",
                                          json.dumps({"Name": "web", "ID": "web-1",
                                                      "Address": "10.0.0.5", "Port": 80}))
        self.assertEqual(status, 200)
        self.assertNotIn("x-muster-stored", headers, "a healthy disk: nothing to say")
        node.register("h1", appid="app")
        node.register("h2", appid="app")
        node.call("POST", "cancel", [("zone", "sh001"), ("env", "dev"), ("appid", "app"),
                                     ("hostname", "h1")])
        node.stop(signal.SIGKILL)
        node = self.start()
        self.assertEqual(set(node.instances("app")), {"h2"})
        _, _, body = node.request("GET", "/v1/agent/services")
        self.assertIn("web-1", json.loads(body))
        # SIGTERM leaves a final snapshot, read alone at the next start, and the generation
        # before it (a snapshot and its journal), kept in case the final one is damaged later.
        self.assertEqual(node.stop(), 0)
        names = sorted(f for f in os.listdir(self.dir) if f != "LOCK")
        self.assertEqual(names[-1][:9], "snapshot-", names)
        self.assertLessEqual(len([n for n in names if n.startswith("snapshot-")]), 2, names)
        node = self.start()
        self.assertEqual(set(node.instances("app")), {"h2"})

    def test_damaged_files_are_skipped_and_reported(self):
        node = self.start()
        for i in range(20):
            node.register("h%d" % i, appid="app")
        node.stop(signal.SIGKILL)
        journals = sorted(f for f in os.listdir(self.dir) if f.startswith("journal-"))
        path = os.path.join(self.dir, journals[-1])
        with open(path, "r+b") as f:  # a flipped stretch in the middle, and a cut-off end
            size = os.path.getsize(path)
            f.seek(size // 2)
            f.write(b"\x00garbage\x00")
            f.truncate(size - 7)
        node = self.start()
        line = node.wait_for_log("damaged data skipped")
        self.assertIn(journals[-1], line)
        self.assertIn("ends inside a record", line)
        n = len(node.instances("app"))
        self.assertTrue(16 <= n < 20, n)
        self.assertEqual(node.register("h99", appid="app")["code"], 0, "and it serves on")

    def test_a_disk_that_refuses_writes_leaves_the_node_serving(self):
        # A file size limit of 64 KiB stands for a full disk: writes past it fail (EFBIG).
        def limit():
            resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.RLIM_INFINITY))

        node = Node("--data-dir", self.dir, preexec=limit)
        self.addCleanup(lambda: node.alive() and node.stop(signal.SIGKILL))
        self.fill_and_serve_from_memory(node, "File too large")
        self.assertTrue(node.alive())

    def fill_and_serve_from_memory(self, node, reason):
        """Registers 2,000 instances on a node whose disk refuses them: it says why (`reason`),
        reports the directory unhealthy, and serves them all from memory."""
        self.assertEqual(register_many(node.port, 2000, threads=1), 2000)
        line = node.wait_for_log("serving from memory")
        self.assertIn(reason, line)
        self.assertEqual(node.metric("muster_data_dir_healthy"), 0)
        self.assertEqual(count(node), 2000, "everything is served from memory")
        # Each write's answer says it reached memory only (issue 27.8), the code still 0.
        params = [("zone", "sh001"), ("env", "dev"), ("appid", "bulk"), ("hostname", "late"),
                  ("status", "1"), ("addrs", "http://10.9.9.9:80")]
        answer, _, headers = node.call("POST", "register", params)
        self.assertEqual(answer["code"], 0)
        self.assertEqual(headers.get("x-muster-stored"), "memory-only")
        status, headers, _ = node.request(
            "PUT", "/v1/agent/service/register",
            json.dumps({"Name": "late-consul", "ID": "late-1", "Port": 80}))
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("x-muster-stored"), "memory-only")
        answer, _, headers = node.call("GET", "fetch", [("appid", "bulk"), ("env", "dev"),
                                                         ("status", "3")])
        self.assertNotIn("x-muster-stored", headers, "reads say nothing of the disk")

    def test_a_full_disk_leaves_the_node_serving(self):
        # A real full filesystem: a 64 KiB tmpfs mounted for the node alone, in a mount
        # namespace of its own (where the machine allows it).
        probe = subprocess.run(["unshare", "-m", "--", "sh", "-c",
                                'mount -t tmpfs -o size=64k tmpfs "$0"', self.dir],
                               capture_output=True, text=True, timeout=10)
        if probe.returncode != 0:
            self.skipTest("no mount namespace here (%s); the file size limit test stands in"
                          % probe.stderr.strip())
        mount = ["unshare", "-m", "--", "sh", "-c",
                 'mount -t tmpfs -o size=64k tmpfs "$0" && exec "$@"', self.dir]
        node = Node("--data-dir", self.dir, wrap=mount)
        self.addCleanup(lambda: node.alive() and node.stop(signal.SIGKILL))
        self.fill_and_serve_from_memory(node, "No space left on device")
        self.assertEqual(node.stop(), 0, "and it stops cleanly, its last snapshot refused")


class DataDirClusterTest(unittest.TestCase):
    def test_a_restarted_node_serves_from_disk_then_takes_its_peers_word(self):
        dirs = [tempfile.mkdtemp(prefix="muster-data-") for _ in range(3)]
        for d in dirs:
            self.addCleanup(shutil.rmtree, d, True)
        ports = free_ports(3)
        nodes_arg = ",".join("127.0.0.1:%d" % p for p in ports)

        def start(i):
            n = Node("--listen", "127.0.0.1:%d" % ports[i], "--zone", "sh001", "--nodes",
                     nodes_arg, "--peer-timeout", "1s", "--anti-entropy", "1s", "--data-dir",
                     dirs[i], self_register=True)
            self.addCleanup(lambda: n.alive() and n.stop(signal.SIGKILL))
            return n

        a, b, c = [start(i) for i in range(3)]
        for h in ("x", "y"):
            a.register(h, appid="app")
        for n in (b, c):
            eventually(lambda: {"x", "y"} <= set(n.instances("app")), what="replicated")

        def on_disk(d, hostname):
            needle = ('"hostname":"%s"' % hostname).encode()
            return any(needle in open(os.path.join(d, f), "rb").read() for f in os.listdir(d)
                       if f.startswith(("journal", "snapshot")))

        # A copy that came by syncup or anti-entropy rather than a replicated request reaches
        # the journal at the store's next pass (docs/architecture.md, data dir): wait for it.
        eventually(lambda: on_disk(dirs[2], "x") and on_disk(dirs[2], "y"), what="c's journal")
        c.stop(signal.SIGKILL)
        a.call("POST", "cancel", [("zone", "sh001"), ("env", "dev"), ("appid", "app"),
                                  ("hostname", "x")])
        a.register("z", appid="app")
        c = start(2)
        self.assertIn("y", c.instances("app"), "served from its disk at once")
        eventually(lambda: set(c.instances("app")) == {"y", "z"}, what="c reconciled")
        c.wait_for_log("no peer holds any more")
        time.sleep(3)  # anti-entropy rounds: x must not come back anywhere
        for n in (a, b, c):
            self.assertEqual(set(n.instances("app")), {"y", "z"})


if __name__ == "__main__":
    unittest.main()

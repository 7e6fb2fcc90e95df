"""kill -9 of one node of three under continuous register/renew load (issue 3): the survivors keep
every instance, the dead node restarts empty and syncs everything back, and a reconciliation at
the end prints what each node holds against what the generator registered."""
import http.client
import json
import signal
import threading
import time
import unittest
import urllib.parse

from muster_node import Node
from test_cluster import Cluster, addr, eventually

APP = "load"
ZONE = "sh001"


class Generator(threading.Thread):
    """A client fleet: registers instances spread over the nodes, then renews them in rounds like
    kratos clients do (on a dead node: switch to the next; on -404: register again). Records what
    it registered and when each instance was last acknowledged."""

    def __init__(self, ports):
        super().__init__(daemon=True)
        self.ports = ports
        self.lock = threading.Lock()
        self.acked = {}  # hostname -> monotonic time of its last acknowledged register or renew
        self.home = {}  # hostname -> index of the node it talks to
        self.conns = {}
        self.stopping = threading.Event()
        self.rounds = 0
        self.reregistered = 0
        self.errors = []

    def post(self, i, route, params):
        key = (threading.get_ident(), i)  # one connection per thread and node
        for attempt in range(2):
            conn = self.conns.get(key)
            if conn is None:
                conn = self.conns[key] = http.client.HTTPConnection("127.0.0.1", self.ports[i],
                                                                    timeout=3)
            try:
                conn.request("POST", "/discovery/" + route, urllib.parse.urlencode(params),
                             {"Content-Type": "application/x-www-form-urlencoded"})
                r = conn.getresponse()
                return json.loads(r.read())["code"]
            except (OSError, http.client.HTTPException):
                conn.close()
                self.conns.pop(key, None)
        return None  # the node is unreachable

    def register(self, host, i):
        return self.post(i, "register", [("zone", ZONE), ("env", "dev"), ("appid", APP),
                                         ("hostname", host), ("addrs", "http://10.0.0.1:80"),
                                         ("status", "1")])

    def write(self, host, renew):
        """Renews (or registers) `host` at its home node, moving to the next node while its home
        is unreachable. Returns True once a node acknowledged it."""
        for _ in range(len(self.ports)):
            i = self.home[host]
            code = self.post(i, "renew", [("zone", ZONE), ("env", "dev"), ("appid", APP),
                                          ("hostname", host)]) if renew else self.register(host, i)
            if code == -404:
                self.reregistered += 1
                code = self.register(host, i)
            if code == 0:
                with self.lock:
                    self.acked[host] = time.monotonic()
                return True
            if code is None:
                self.home[host] = (i + 1) % len(self.ports)
                continue
            self.errors.append((host, code))
            return False
        return False

    def add(self, host, i):
        self.home[host] = i
        return self.write(host, renew=False)

    def run(self):
        deadline = time.monotonic() + 120
        while not self.stopping.is_set() and time.monotonic() < deadline:
            for host in list(self.home):
                if self.stopping.is_set():
                    break
                self.write(host, renew=True)
            self.rounds += 1

    def close(self):
        for conn in list(self.conns.values()):
            conn.close()
        self.conns.clear()

    def snapshot(self):
        with self.lock:
            return dict(self.acked)


def held(node):
    r = node.fetch(APP)
    if r["code"] != 0:
        return set()
    return {i["hostname"] for zone in r["data"]["instances"].values() for i in zone}


class FailoverTest(unittest.TestCase):
    def test_kill_9_one_of_three_under_load(self):
        cluster = Cluster(3, "--evict-interval", "60s")
        a, b, c = cluster.nodes
        gen = Generator(cluster.ports)
        try:
            for k in range(600):
                self.assertTrue(gen.add("h%d" % k, k % 3))
            everyone = set(gen.home)
            for n in (a, b, c):
                eventually(lambda: held(n) >= everyone, what="600 instances on every node")
            gen.start()
            eventually(lambda: gen.rounds >= 1, timeout=30, what="a renew round")
            # More registrations on c right before it dies: some may not have left its queues.
            for k in range(600, 660):
                self.assertTrue(gen.add("h%d" % k, 2))
            killed_at = time.monotonic()
            c.stop(sig=signal.SIGKILL)  # no cancel, no flush
            survivors = (a, b)
            # At every look, no survivor lacks an instance acknowledged well before the kill.
            settled = {h for h, t in gen.snapshot().items() if t < killed_at - 0.5}
            for _ in range(5):
                for n in survivors:
                    missing = settled - held(n)
                    self.assertFalse(missing, "a survivor lost instances: %s" % sorted(missing)[:10])
                time.sleep(0.2)
            # After a renew round since the kill, every instance is on both survivors: those that
            # were only on c came back through -404 -> register.
            start_round = gen.rounds
            eventually(lambda: gen.rounds >= start_round + 2, timeout=60, what="two renew rounds")
            total = set(gen.home)
            self.assertEqual(len(total), 660)
            for n in survivors:
                eventually(lambda: held(n) >= total, what="every instance on a survivor")
            # c comes back empty on the same address and syncs everything back.
            c = cluster.nodes[2] = cluster.start(2)
            eventually(lambda: held(c) >= total, timeout=30, what="c synced back")
            gen.stopping.set()
            gen.join(30)
            self.assertFalse(gen.errors, gen.errors[:5])
            final = set(gen.home)
            print("\nreconciliation: generator registered %d (re-registered after -404: %d)"
                  % (len(final), gen.reregistered))
            for name, n in zip("abc", cluster.nodes):
                have = held(n)
                print("  node %s %s: holds %d, missing %d, unknown %d"
                      % (name, addr(n.port), len(have), len(final - have), len(have - final)))
                self.assertEqual(have, final)
        finally:
            gen.stopping.set()
            gen.join(30)
            gen.close()
            cluster.stop()


if __name__ == "__main__":
    unittest.main()

"""What dies stays dead in a cluster (issue 26, docs/decisions.md §5.7): three real nodes with short
timers; an instance registered once and never renewed is gone from every node within its bound
and stays gone while anti-entropy runs every 2 s, and one renewed at a single node stays on all
three. Before leases travelled, anti-entropy sent the evicted instance back with a fresh lease,
on every node, forever."""
import time
import unittest

from muster_node import Node, eventually, free_ports

EVICT_AFTER = 6
EVICT_INTERVAL = 1
ANTI_ENTROPY = 2


def addr(port):
    return "127.0.0.1:%d" % port


class LeasesTravelTest(unittest.TestCase):
    def setUp(self):
        self.ports = free_ports(3)
        nodes_arg = ",".join(addr(p) for p in self.ports)
        self.nodes = []
        for port in self.ports:
            self.nodes.append(Node(
                "--listen", addr(port), "--zone", "sh001", "--nodes", nodes_arg,
                "--peer-timeout", "1s", "--evict-after", "%ds" % EVICT_AFTER,
                "--evict-interval", "%ds" % EVICT_INTERVAL, "--anti-entropy", "%ds" % ANTI_ENTROPY,
                self_register=True))
            time.sleep(1)  # started apart, as operators do: their eviction runs out of step

    def tearDown(self):
        for n in self.nodes:
            if n.alive():
                n.stop()

    def present(self, hostname):
        return [hostname in n.instances("leases") for n in self.nodes]

    def test_an_instance_that_stops_renewing_is_gone_everywhere_and_stays_gone(self):
        a, b, c = self.nodes
        a.register("once", appid="leases")
        a.register("alive", appid="leases")
        eventually(lambda: all(self.present("once")) and all(self.present("alive")),
                   what="both instances on every node")
        registered = time.monotonic()

        def renew_alive():
            # Renewed at one node only: replication keeps it on the others.
            answer = b.call("POST", "renew", {"zone": "sh001", "env": "dev", "appid": "leases",
                                              "hostname": "alive"})[0]
            self.assertEqual(answer["code"], 0, answer)

        # The bound: evict-after + evict-interval + one anti-entropy round, plus slack for a
        # loaded machine.
        bound = EVICT_AFTER + EVICT_INTERVAL + ANTI_ENTROPY + 8
        deadline = registered + bound
        while time.monotonic() < deadline and any(self.present("once")):
            renew_alive()
            time.sleep(0.5)
        self.assertEqual(self.present("once"), [False] * 3,
                         "a lapsed instance is still held %.1f s after its register"
                         % (time.monotonic() - registered))
        # It stays gone for a minute while anti-entropy runs every 2 s, and the renewed one stays everywhere.
        stay_until = time.monotonic() + 60
        while time.monotonic() < stay_until:
            renew_alive()
            self.assertEqual(self.present("once"), [False] * 3, "the lapsed instance came back")
            self.assertEqual(self.present("alive"), [True] * 3, "a renewed instance was lost")
            time.sleep(0.5)
        for n in self.nodes:
            self.assertGreater(n.metric("muster_anti_entropy_rounds_total"), 5)


if __name__ == "__main__":
    unittest.main()

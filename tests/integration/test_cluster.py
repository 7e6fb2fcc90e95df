"""A cluster of real nodes on loopback (docs/decisions.md §6): replication of every write, polls on a peer
waking, the conflict rule (-404 -> register, -409 -> adopt), start-up syncup, the original
per-request replication form, two zones without ping-pong, and peer status in /discovery/nodes."""
import os
import signal
import subprocess
import time
import unittest
import urllib.parse

from muster_node import Node, eventually, free_ports, write_yaml
from test_polls import Poller


def addr(port):
    return "127.0.0.1:%d" % port


def peer_metric(node, name, peer):
    _, _, body = node.request("GET", "/metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + '{peer="' + peer + '"}'):
            return float(line.rsplit(" ", 1)[1])
    return None


class Cluster:
    """Nodes of one zone that list each other in --nodes."""

    def __init__(self, n, *args, zone="sh001", extra=None):
        self.ports = free_ports(n)
        self.nodes_arg = ",".join(addr(p) for p in self.ports)
        self.zone = zone
        self.args = args
        self.extra = extra or []
        self.nodes = [self.start(i) for i in range(n)]

    def start(self, i, *more):
        return Node("--listen", addr(self.ports[i]), "--zone", self.zone, "--nodes", self.nodes_arg,
                    "--peer-timeout", "1s", *self.args, *self.extra, *more, self_register=True)

    def stop(self):
        for n in self.nodes:
            if n.alive():
                n.stop()


class ThreeNodesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(3, "--poll-hold", "10s", "--poll-jitter", "0s")
        cls.a, cls.b, cls.c = cls.cluster.nodes

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()

    def setUp(self):
        self.app = self.id().rsplit(".", 1)[1]

    def test_register_set_cancel_reach_every_peer(self):
        self.a.register("h1", appid=self.app, version="v1", metadata='{"weight":"10"}')
        for n in (self.b, self.c):
            inst = eventually(lambda: n.instances(self.app).get("h1"), what="h1 on a peer")
            self.assertEqual(inst["version"], "v1")
            self.assertEqual(inst["addrs"], ["http://172.1.1.1:8000"])
            self.assertEqual(inst["metadata"], {"weight": "10"})
        dirty = self.a.instances(self.app)["h1"]["dirty_timestamp"]
        self.assertEqual(self.b.instances(self.app)["h1"]["dirty_timestamp"], dirty,
                         "the peer keeps the sender's dirty_timestamp")

        r = self.a.call("POST", "set", [("zone", "sh001"), ("env", "dev"), ("appid", self.app),
                                        ("hostname", "h1"), ("status", "2")])[0]
        self.assertEqual(r["code"], 0)
        for n in (self.b, self.c):
            eventually(lambda: n.instances(self.app).get("h1", {}).get("status") == 2,
                       what="status 2 on a peer")

        r = self.a.call("POST", "cancel", [("zone", "sh001"), ("env", "dev"), ("appid", self.app),
                                           ("hostname", "h1")])[0]
        self.assertEqual(r["code"], 0)
        for n in (self.b, self.c):
            eventually(lambda: "h1" not in n.instances(self.app), what="h1 gone from a peer")

    def test_multiple_addrs_travel_as_repeated_keys(self):
        self.a.register("h1", appid=self.app, addrs=("http://10.0.0.1:80", "grpc://10.0.0.1:90"))
        inst = eventually(lambda: self.b.instances(self.app).get("h1"), what="h1 on b")
        self.assertEqual(inst["addrs"], ["http://10.0.0.1:80", "grpc://10.0.0.1:90"])

    def test_poll_parked_on_a_peer_wakes(self):
        self.a.register("h1", appid=self.app)
        lts = eventually(lambda: self.b.fetch(self.app).get("data", {}).get("latest_timestamp"),
                         what="app on b")
        poller = Poller(self.b, "polls", [("env", "dev"), ("hostname", "c"), ("appid", self.app),
                                          ("latest_timestamp", str(lts))])
        before = self.b.metric("muster_parked_polls")
        poller.start()
        eventually(lambda: self.b.metric("muster_parked_polls") > before, what="parked poll")
        self.a.register("h2", appid=self.app)
        answer = poller.answer(timeout=5)
        self.assertEqual(answer["code"], 0)
        hosts = {i["hostname"] for i in answer["data"][self.app]["instances"]["sh001"]}
        self.assertEqual(hosts, {"h1", "h2"})

    def test_renew_reaches_peers(self):
        self.a.register("h1", appid=self.app)
        eventually(lambda: self.b.instances(self.app).get("h1"), what="h1 on b")
        before = self.b.instances(self.app)["h1"]["renew_timestamp"]
        time.sleep(0.01)
        r = self.a.call("POST", "renew", [("zone", "sh001"), ("env", "dev"), ("appid", self.app),
                                          ("hostname", "h1")])[0]
        self.assertEqual(r["code"], 0)
        eventually(lambda: self.b.instances(self.app)["h1"]["renew_timestamp"] > before,
                   what="renew on b")

    def test_replicated_write_is_not_fanned_out_again(self):
        # The original per-request form, as a Bilibili node sends it: b applies it, c never sees it.
        form = [("region", "sh"), ("zone", "sh001"), ("env", "dev"), ("appid", self.app),
                ("hostname", "orig"), ("addrs", "http://1.1.1.1:1"), ("addrs", "http://1.1.1.1:2"),
                ("status", "1"), ("version", "x"), ("reg_timestamp", "1"),
                ("dirty_timestamp", "1700000000000000000"), ("latest_timestamp", "1"),
                ("replication", "true"), ("from_zone", "true")]
        r = self.b.call("POST", "register", form)[0]
        self.assertEqual(r["code"], 0)
        inst = self.b.instances(self.app)["orig"]
        self.assertEqual(inst["addrs"], ["http://1.1.1.1:1", "http://1.1.1.1:2"])
        self.assertEqual(inst["dirty_timestamp"], 1700000000000000000)
        # A later client write on b is replicated; once it is on c, the earlier one would be too.
        self.b.register("marker", appid=self.app)
        eventually(lambda: "marker" in self.c.instances(self.app), what="marker on c")
        self.assertNotIn("orig", self.c.instances(self.app))

    def test_nodes_lists_the_zone_with_status(self):
        r = self.a.call("GET", "nodes")[0]
        self.assertEqual([n["addr"] for n in r["data"]], sorted(addr(p) for p in self.cluster.ports))
        self.assertTrue(all(n["zone"] == "sh001" for n in r["data"]))
        self.a.register("h1", appid=self.app)
        eventually(lambda: all(n["status"] == 0 for n in self.a.call("GET", "nodes")[0]["data"]),
                   what="every node up")


class SelfRegistrationTest(unittest.TestCase):
    def test_nodes_find_each_other_through_infra_discovery(self):
        cluster = Cluster(3)
        a, b, c = cluster.nodes
        pd = free_ports(1)[0]
        # d is told only of a; the others are told nothing of d.
        d = Node("--listen", addr(pd), "--zone", "sh001", "--nodes", addr(cluster.ports[0]),
                 "--peer-timeout", "1s", self_register=True)
        try:
            every = sorted(addr(p) for p in cluster.ports + [pd])
            for n in (a, b, c, d):
                eventually(lambda: sorted(n.instances("infra.discovery")) == every,
                           what="every node registered as infra.discovery")
                inst = n.instances("infra.discovery")[addr(pd)]
                self.assertEqual(inst["addrs"], ["http://" + addr(pd)])
                eventually(lambda: [x["addr"] for x in n.call("GET", "nodes")[0]["data"]] == every,
                           what="/discovery/nodes lists all four")
            # b learned of d from its registration: b's client writes now reach d.
            b.register("h1", appid="late")
            eventually(lambda: "h1" in d.instances("late"), what="b's write on d")
            # d's exit cancels its registration everywhere.
            self.assertEqual(d.stop(), 0)
            for n in (a, b, c):
                eventually(lambda: addr(pd) not in n.instances("infra.discovery"),
                           what="d's registration cancelled")
        finally:
            if d.alive():
                d.stop()
            cluster.stop()


class YamlClusterTest(unittest.TestCase):
    def write(self, text):
        return write_yaml(self, text)

    def test_nodes_as_a_list_and_zones_as_a_map(self):
        pa, pb, pc = free_ports(3)
        nodes = []
        try:
            for port, zone in ((pa, "z1"), (pb, "z1"), (pc, "z2")):
                if zone == "z1":
                    own, other = [addr(pa), addr(pb)], ("z2", addr(pc))
                else:
                    own, other = [addr(pc)], ("z1", addr(pa) + ", " + addr(pb))
                text = "zone: %s\nnodes:\n%szones:\n  %s: [%s]\n" % (
                    zone, "".join("  - %s\n" % a for a in own), *other)
                # The helper's own --listen is on the command line, which wins over the file.
                nodes.append(Node("--listen", addr(port), config=self.write(text)))
            nodes[0].register("h1", zone="z1")
            for n in nodes:
                eventually(lambda: n.instances().get("h1"), what="h1 on every node")
        finally:
            for n in nodes:
                n.stop()

    def test_a_zones_list_is_refused_with_its_line(self):
        path = self.write("zone: z1\nzones:\n  - a:1\n")
        out = subprocess.run([os.environ.get("MUSTER_BIN", "../../build/muster"), "serve",
                              "--config", path], capture_output=True, text=True, timeout=10)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn(path + ':2: "zones" must be a single value or a map of zone to nodes',
                      out.stdout + out.stderr)


class ConflictTest(unittest.TestCase):
    """a lists b as a peer; b lists nobody, so it neither syncs from a nor replicates back (no
    self-registration either, through which b would learn of a)."""

    def setUp(self):
        self.pa, self.pb = free_ports(2)
        self.a = Node("--listen", addr(self.pa), "--zone", "sh001", "--peer-timeout", "1s",
                      "--nodes", addr(self.pa) + "," + addr(self.pb))
        self.b = None

    def tearDown(self):
        for n in (self.a, self.b):
            if n is not None and n.alive():
                n.stop()

    def renew_on_a(self):
        return self.a.call("POST", "renew", [("zone", "sh001"), ("env", "dev"),
                                             ("appid", "provider"), ("hostname", "h1")])[0]

    def test_minus_404_sends_a_register(self):
        self.b = Node("--listen", addr(self.pb), "--zone", "sh001")
        # As a peer's write, h1 stays on a: b lacks it without depending on when a's link to b
        # reconnects (a down peer's queue is replayed when it comes back).
        self.a.register("h1", version="v1", replication="true",
                        dirty_timestamp=str(time.time_ns()))
        self.assertNotIn("h1", self.b.instances())
        self.assertEqual(self.renew_on_a()["code"], 0)
        inst = eventually(lambda: self.b.instances().get("h1"), what="h1 registered on b")
        self.assertEqual(inst["version"], "v1")

    def test_minus_409_adopts_the_newer_copy(self):
        self.b = Node("--listen", addr(self.pb), "--zone", "sh001")
        self.a.register("h1", version="v1")
        eventually(lambda: self.b.instances().get("h1"), what="h1 on b")
        self.b.register("h1", version="v2")  # b's own client write: newer, not sent to a
        self.assertEqual(self.a.instances()["h1"]["version"], "v1")
        self.assertEqual(self.renew_on_a()["code"], 0)
        eventually(lambda: self.a.instances()["h1"]["version"] == "v2", what="a adopts v2")
        self.assertEqual(self.a.instances()["h1"]["dirty_timestamp"],
                         self.b.instances()["h1"]["dirty_timestamp"])

    def test_lost_peer_shows_in_nodes_and_metrics(self):
        self.b = Node("--listen", addr(self.pb), "--zone", "sh001")
        self.a.register("h1")
        eventually(lambda: self.b.instances().get("h1"), what="h1 on b")
        self.b.stop()
        self.renew_on_a()
        status = lambda: {n["addr"]: n["status"] for n in self.a.call("GET", "nodes")[0]["data"]}
        eventually(lambda: status()[addr(self.pb)] == 1, what="b lost")
        self.assertEqual(status()[addr(self.pa)], 0)
        self.assertEqual(peer_metric(self.a, "muster_replication_peer_up", addr(self.pb)), 0)
        self.assertGreaterEqual(peer_metric(self.a, "muster_replication_items_total", addr(self.pb)), 1)


    def status(self):
        return {n["addr"]: n["status"] for n in self.a.call("GET", "nodes")[0]["data"]}

    def test_a_stopped_peer_shows_lost_with_no_write_to_carry_the_news(self):
        # Issue 14.7: the idle link probes its peer; no write is needed to notice.
        self.b = Node("--listen", addr(self.pb), "--zone", "sh001")
        eventually(lambda: self.status()[addr(self.pb)] == 0, what="b up")
        self.b.stop()
        eventually(lambda: self.status()[addr(self.pb)] == 1, what="b lost")
        self.b = Node("--listen", addr(self.pb), "--zone", "sh001")
        # The link reconnects after its back-off (up to 5 s) and a probe.
        eventually(lambda: self.status()[addr(self.pb)] == 0, timeout=20, what="b up again")

    def test_a_frozen_peer_shows_lost_and_stays_lost(self):
        # A SIGSTOPped peer's kernel still accepts connections: that alone is not "up".
        self.b = Node("--listen", addr(self.pb), "--zone", "sh001")
        eventually(lambda: self.status()[addr(self.pb)] == 0, what="b up")
        self.b.proc.send_signal(signal.SIGSTOP)
        try:
            eventually(lambda: self.status()[addr(self.pb)] == 1, timeout=20, what="b lost")
            statuses, ups = set(), set()
            deadline = time.monotonic() + 4  # longer than a probe interval plus a timeout
            while time.monotonic() < deadline:
                statuses.add(self.status()[addr(self.pb)])
                ups.add(peer_metric(self.a, "muster_replication_peer_up", addr(self.pb)))
                time.sleep(0.1)
            self.assertEqual(statuses, {1}, "never shown up while frozen")
            self.assertEqual(ups, {0})
        finally:
            self.b.proc.send_signal(signal.SIGCONT)
        eventually(lambda: self.status()[addr(self.pb)] == 0, timeout=20, what="b up after SIGCONT")


class ResyncTest(unittest.TestCase):
    def test_a_peer_that_missed_writes_gets_them_when_it_answers_again(self):
        pa, pb = free_ports(2)
        # A queue of one write: while b is down, all writes but the first are dropped. Periodic
        # anti-entropy is off, and b knows nothing of a: only resyncs can bring b the writes. The
        # resync's own pushes go through the same queue of one, so most of them are dropped too:
        # b gets everything only if each drained queue starts another round.
        a = Node("--listen", addr(pa), "--zone", "sh001", "--nodes", addr(pa) + "," + addr(pb),
                 "--replication-queue", "1", "--anti-entropy", "1h", "--peer-timeout", "500ms")
        b = None
        hosts = {"h%d" % i for i in range(6)}
        try:
            for h in sorted(hosts):
                a.register(h)
            eventually(lambda: peer_metric(a, "muster_replication_dropped_total", addr(pb)) == 5,
                       what="all writes but the first dropped")
            b = Node("--listen", addr(pb), "--zone", "sh001")
            eventually(lambda: set(b.instances()) == hosts, what="every write on b")
            self.assertGreaterEqual(a.metric("muster_anti_entropy_instances_pushed_total"), 1)
        finally:
            for n in (a, b):
                if n is not None and n.alive():
                    n.stop()


class SyncupTest(unittest.TestCase):
    def test_new_node_syncs_everything_then_opens_reads(self):
        pa, pd = free_ports(2)
        nodes = addr(pa) + "," + addr(pd)
        a = Node("--listen", addr(pa), "--zone", "sh001", "--nodes", nodes, self_register=True)
        d = None
        try:
            for i in range(50):
                a.register("h%d" % i, appid="app%d" % (i % 5))
            d = Node("--listen", addr(pd), "--zone", "sh001", "--nodes", nodes,
                     "--init-protect", "true", "--init-protect-timeout", "60s", self_register=True)
            eventually(lambda: d.fetch("app0")["code"] == 0, what="reads open after syncup")
            for app in range(5):
                self.assertEqual(set(d.instances("app%d" % app)), set(a.instances("app%d" % app)))
            self.assertEqual(sum(len(d.instances("app%d" % app)) for app in range(5)), 50)
            # a's self-registration came with the syncup; d's own followed it.
            self.assertEqual(set(d.instances("infra.discovery")), {addr(pa), addr(pd)})
        finally:
            for n in (a, d):
                if n is not None and n.alive():
                    n.stop()


class TwoZonesTest(unittest.TestCase):
    def test_one_node_per_zone_and_no_ping_pong(self):
        p1, p2, q1, q2 = free_ports(4)
        z1 = addr(p1) + "," + addr(p2)
        z2 = addr(q1) + "," + addr(q2)
        nodes = []
        try:
            for port in (p1, p2):
                nodes.append(Node("--listen", addr(port), "--zone", "z1", "--nodes", z1,
                                  "--zones", "z2=" + z2.replace(",", ";"), "--anti-entropy", "0s",
                                  self_register=True))
            for port in (q1, q2):
                nodes.append(Node("--listen", addr(port), "--zone", "z2", "--nodes", z2,
                                  "--zones", "z1=" + z1.replace(",", ";"), "--anti-entropy", "0s",
                                  self_register=True))
            a1, a2, b1, b2 = nodes
            # The nodes' own registrations travel first: wait until each knows all four.
            for n in nodes:
                eventually(lambda: len(n.instances("infra.discovery")) == 4, what="4 nodes")
            time.sleep(0.3)

            def sent(node, peers):
                return sum(peer_metric(node, "muster_replication_items_total", p) or 0
                           for p in peers.split(","))

            # The rule: a write reaches one node of the other zone, which passes it on within
            # its zone only, and nothing comes back. Counted per window of one write; a node's
            # own self-registration renew (every 30 s) may fall into a window, so a window with
            # other traffic is measured again, at most three times (anti-entropy is off).
            for attempt in range(3):
                before = {id(n): (sent(n, z1), sent(n, z2)) for n in nodes}
                host = "h%d" % attempt
                a1.register(host, zone="z1")
                for n in nodes:
                    eventually(lambda: n.instances().get(host), what=host + " in every node")
                time.sleep(0.5)  # any echo would have arrived by now
                echoes = [sent(n, z1) - before[id(n)][0] for n in (b1, b2)]
                to_z2 = sent(a1, z2) - before[id(a1)][1]
                from_a2 = sent(a2, z2) - before[id(a2)][1]
                if echoes == [0, 0] and to_z2 == 1 and from_a2 == 0:
                    break
            self.assertEqual(echoes, [0, 0], "a z2 node sent the write back")
            # a1's write went to a2 (same zone) and to exactly one z2 node, which alone passed it
            # on to its zone.
            self.assertEqual(to_z2, 1)
            self.assertEqual(from_a2, 0, "a2 got it with replication=true")
        finally:
            for n in nodes:
                if n.alive():
                    n.stop()


if __name__ == "__main__":
    unittest.main()

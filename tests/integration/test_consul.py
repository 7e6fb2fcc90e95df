"""The Consul read API of a node (issue 17): /v1/agent/self, /v1/status/*, /v1/catalog/services,
/v1/catalog/service/<name> and /v1/health/service/<name> with blocking queries and
X-Consul-Index, over instances registered through the native API; read by real clients: Debian's
python3-consul, a Prometheus 2.42 with consul_sd_configs, and muster sd's consul provider."""
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from muster_node import Node, eventually, free_ports
from test_sd import PROMETHEUS, Prometheus, Sd, free_port

from python_consul import consul


class ConsulNode(Node):
    def __init__(self, *extra, **options):
        super().__init__("--zone", "sh001", "--env", "dev", "--region", "sh", *extra, **options)

    def put(self, path, body):
        status, headers, raw = self.request("PUT", path, body=body)
        return status, headers, raw.decode()

    def get(self, path):
        status, headers, body = self.request("GET", path)
        return status, headers, body.decode()

    def read(self, path):
        status, headers, body = self.get(path)
        assert status == 200, (path, status, body)
        return json.loads(body), int(headers["x-consul-index"])

    def cancel(self, hostname, appid):
        self.call("POST", "cancel", [("zone", "sh001"), ("env", "dev"), ("appid", appid),
                                     ("hostname", hostname)])

    def set_status(self, hostname, appid, status):
        self.call("POST", "set", [("zone", "sh001"), ("env", "dev"), ("appid", appid),
                                  ("hostname", hostname), ("status", str(status))])


class ConsulRoutesTest(unittest.TestCase):
    def setUp(self):
        self.node = ConsulNode()
        self.addCleanup(self.node.stop)

    def test_agent_and_status(self):
        status, headers, body = self.node.get("/v1/agent/self")
        self.assertEqual(status, 200)
        me = json.loads(body)
        self.assertEqual(me["Config"]["Datacenter"], "sh001")
        self.assertEqual(me["Config"]["NodeName"], "127.0.0.1:%d" % self.node.port)
        self.assertEqual(me["Member"]["Port"], self.node.port)
        for key, value in me.items():  # Go decodes map[string]map[string]interface{}
            self.assertTrue(value is None or isinstance(value, dict), key)
        status, _, body = self.node.get("/v1/status/leader")
        self.assertEqual(json.loads(body), "127.0.0.1:%d" % self.node.port)
        self.assertEqual(json.loads(self.node.get("/v1/status/peers")[2]),
                         ["127.0.0.1:%d" % self.node.port])

    def test_catalog_and_health_show_native_instances(self):
        self.node.register("h1", appid="web", addrs=["grpc://10.0.0.1:9000", "http://10.0.0.1:8080"],
                           metadata=json.dumps({"weight": "10"}))
        self.node.register("h2", appid="web", addrs=["grpc://10.0.0.2:9000"])
        self.node.register("z2", appid="web", zone="sh002", addrs=["http://10.0.0.9:80"])
        self.node.register("o1", appid="other", zone="sh002", addrs=["http://10.0.0.8:80"])
        self.node.register("n1", appid="noaddr", addrs=["nothing"])
        services, catalog_index = self.node.read("/v1/catalog/services")
        self.assertEqual(services, {"web": [], "noaddr": []})  # this node's zone, sh001
        self.assertGreater(catalog_index, 0)
        self.assertEqual(self.node.read("/v1/catalog/services?dc=sh002")[0],
                         {"web": [], "other": []})
        entries, index = self.node.read("/v1/health/service/web")
        self.assertGreater(index, 0)
        by_id = {e["Service"]["ID"]: e for e in entries}
        self.assertEqual(set(by_id), {"h1", "h2"})
        h1 = by_id["h1"]
        self.assertEqual(h1["Service"]["Service"], "web")
        self.assertEqual((h1["Service"]["Address"], h1["Service"]["Port"]), ("10.0.0.1", 8080))
        self.assertEqual(h1["Service"]["Tags"], [])
        self.assertEqual(h1["Service"]["Meta"], {"weight": "10"})
        self.assertEqual(h1["Node"]["Node"], "h1")
        self.assertEqual(h1["Node"]["Datacenter"], "sh001")
        self.assertEqual(h1["Node"]["Meta"], {"region": "sh", "zone": "sh001"})
        self.assertEqual([(c["CheckID"], c["Status"]) for c in h1["Checks"]],
                         [("muster:status", "passing")])
        self.assertEqual(h1["Checks"][0]["Definition"], {})
        self.assertEqual((by_id["h2"]["Service"]["Address"], by_id["h2"]["Service"]["Port"]),
                         ("10.0.0.2", 9000))  # no http address: the first with a host and port
        self.assertEqual(self.node.read("/v1/health/service/noaddr")[0], [])
        flat = self.node.read("/v1/catalog/service/web")[0]
        self.assertEqual(sorted((e["ServiceID"], e["ServicePort"]) for e in flat),
                         [("h1", 8080), ("h2", 9000)])
        # A down instance: critical maintenance check, left out by ?passing.
        self.node.set_status("h2", "web", 2)
        entries = self.node.read("/v1/health/service/web")[0]
        checks = {e["Service"]["ID"]: e["Checks"][0] for e in entries}
        self.assertEqual((checks["h2"]["CheckID"], checks["h2"]["Status"]),
                         ("_service_maintenance:h2", "critical"))
        for passing in ("?passing", "?passing=1", "?passing=true"):
            self.assertEqual([e["Service"]["ID"] for e in
                              self.node.read("/v1/health/service/web" + passing)[0]], ["h1"])
        self.assertEqual(len(self.node.read("/v1/health/service/web?passing=false")[0]), 2)
        # Filters: a tag matches nothing (native instances have none), node-meta, dc, ns.
        self.assertEqual(self.node.read("/v1/health/service/web?tag=x")[0], [])
        self.assertEqual(len(self.node.read("/v1/health/service/web?node-meta=zone:sh001")[0]), 2)
        self.assertEqual(self.node.read("/v1/health/service/web?node-meta=zone:sh002")[0], [])
        self.assertEqual([e["Service"]["ID"] for e in
                          self.node.read("/v1/health/service/web?dc=sh002")[0]], ["z2"])
        self.assertEqual(self.node.read("/v1/health/service/web?ns=prod")[0], [])
        # An unknown service: [] with an index, never a 404.
        self.assertEqual(self.node.read("/v1/health/service/nothing")[0], [])
        # The checks alone, and every instance of the zone as a node (one per hostname).
        checks = self.node.read("/v1/health/checks/web")[0]
        self.assertEqual(sorted((c["ServiceID"], c["Status"]) for c in checks),
                         [("h1", "passing"), ("h2", "critical")])
        self.assertEqual([c["ServiceID"] for c in self.node.read(
            "/v1/health/checks/web?passing")[0]], ["h1"])
        nodes = self.node.read("/v1/catalog/nodes")[0]
        self.assertEqual([(n["Node"], n["Address"]) for n in nodes],
                         [("h1", "10.0.0.1"), ("h2", "10.0.0.2")])
        self.assertEqual(nodes[0]["Meta"], {"region": "sh", "zone": "sh001"})
        self.assertEqual([n["Node"] for n in self.node.read("/v1/catalog/nodes?dc=sh002")[0]],
                         ["o1", "z2"])

    def test_blocking_query_wakes_on_a_change_and_times_out_otherwise(self):
        self.node.register("h1", appid="web", addrs=["http://10.0.0.1:8080"])
        _, index = self.node.read("/v1/health/service/web")
        # No change within the wait: the same data and index after about the wait.
        started = time.monotonic()
        _, same = self.node.read("/v1/health/service/web?index=%d&wait=1s" % index)
        self.assertEqual(same, index)
        self.assertGreaterEqual(time.monotonic() - started, 0.9)
        # A change wakes it long before its 60 s wait.
        got = {}

        def block():
            got["answer"] = self.node.read("/v1/health/service/web?index=%d&wait=60s" % index)

        t = threading.Thread(target=block)
        started = time.monotonic()
        t.start()
        time.sleep(0.3)
        self.node.register("h2", appid="web", addrs=["http://10.0.0.2:8080"])
        t.join(timeout=20)
        self.assertFalse(t.is_alive())
        self.assertLess(time.monotonic() - started, 20)
        entries, new_index = got["answer"]
        self.assertGreater(new_index, index)
        self.assertEqual(sorted(e["Service"]["ID"] for e in entries), ["h1", "h2"])
        # The catalog wakes too, and the index never goes backwards.
        _, catalog = self.node.read("/v1/catalog/services")
        threading.Timer(0.3, lambda: self.node.register("x1", appid="new",
                                                          addrs=["http://10.0.0.3:1"])).start()
        services, later = self.node.read("/v1/catalog/services?index=%d&wait=60s" % catalog)
        self.assertIn("new", services)
        self.assertGreater(later, catalog)
        # A cancel of the last instance wakes a blocked query with [].
        _, index = self.node.read("/v1/health/service/new")
        threading.Timer(0.3, lambda: self.node.cancel("x1", "new")).start()
        entries, gone = self.node.read("/v1/health/service/new?index=%d&wait=60s" % index)
        self.assertEqual(entries, [])
        self.assertGreater(gone, index)

    def test_an_index_not_reached_waits_and_indexes_fit_a_double(self):
        # Issue 26: an index read from another node (above this one's) was answered at once, so
        # a client alternating between nodes looped without pause; and nanosecond indexes were
        # past 2^53, which JavaScript and jq cannot hold.
        self.node.register("h1", appid="web", addrs=["http://10.0.0.1:8080"])
        entries, index = self.node.read("/v1/health/service/web")
        self.assertLess(index, 2 ** 53)
        self.assertLess(max(e["Service"]["ModifyIndex"] for e in entries), 2 ** 53)
        started = time.monotonic()
        _, same = self.node.read("/v1/health/service/web?index=%d&wait=1s" % (index + 10 ** 9))
        self.assertGreaterEqual(time.monotonic() - started, 0.9, "an index not reached waits")
        self.assertEqual(same, index)
        started = time.monotonic()
        self.node.read("/v1/health/service/web?index=%d&wait=5s" % (index - 1))
        self.assertLess(time.monotonic() - started, 2, "a lower index answers at once")

    def test_bad_input_is_a_400_with_consuls_text(self):
        for path, text in [("/v1/health/service/web?index=abc", "Invalid index"),
                           ("/v1/health/service/web?index=-1", "Invalid index"),
                           ("/v1/health/service/web?wait=5", "Invalid wait time"),
                           ("/v1/health/service/web?passing=maybe", "Invalid value for ?passing"),
                           ("/v1/catalog/services?stale&consistent",
                            "Cannot specify ?stale with ?consistent, conflicting semantics."),
                           ("/v1/health/service/", "Missing service name"),
                           ("/v1/health/service/web?node-meta=nocolon",
                            'Invalid node-meta "nocolon": want key:value'),
                           ("/v1/health/service/%zz", "Invalid service name: a bad percent escape"),
                           ("/v1/health/service/web?ns=" + "e" * 65, "Invalid ns: 1 to 64 bytes"),
                           ("/v1/catalog/services?dc=", "Invalid dc: 1 to 64 bytes")]:
            status, headers, body = self.node.get(path)
            self.assertEqual((status, body), (400, text), path)
        status, _, _ = self.node.request("PUT", "/v1/catalog/services")
        self.assertEqual(status, 405)
        self.assertTrue(self.node.alive())


class ConsulWriteTest(unittest.TestCase):
    """Services registered through the Consul agent API: instances without heartbeat."""

    def registration(self, **fields):
        body = {"Name": "pay", "ID": "pay-1", "Tags": ["v1", "Primary"], "Address": "10.0.0.5",
                "Port": 9000, "Meta": {"team": "pay"}, "Check": None, "Checks": None}
        body.update(fields)
        return json.dumps(body)

    def test_register_read_everywhere_and_deregister(self):
        node = ConsulNode()
        self.addCleanup(node.stop)
        status, headers, body = node.put("/v1/agent/service/register", self.registration())
        self.assertEqual((status, body), (200, ""))
        self.assertNotIn("content-type", headers)
        services = json.loads(node.get("/v1/agent/services")[2])
        self.assertEqual(services["pay-1"]["Tags"], ["v1", "Primary"])
        self.assertEqual(services["pay-1"]["Meta"], {"team": "pay"})
        self.assertEqual((services["pay-1"]["Address"], services["pay-1"]["Port"]),
                         ("10.0.0.5", 9000))
        self.assertEqual(node.read("/v1/catalog/services")[0], {"pay": ["v1", "Primary"]})
        # Tags match all given, without regard to case; an empty tag= matches nothing.
        self.assertEqual(len(node.read("/v1/health/service/pay?tag=primary&tag=V1")[0]), 1)
        self.assertEqual(node.read("/v1/health/service/pay?tag=v2")[0], [])
        self.assertEqual(node.read("/v1/health/service/pay?tag=")[0], [])
        # Service names match without regard to case, as Consul's.
        self.assertEqual(len(node.read("/v1/health/service/PAY")[0]), 1)
        self.assertEqual(len(node.read("/v1/catalog/service/Pay")[0]), 1)
        # The native API sees the same instance, marked as one without heartbeat.
        native = node.instances("pay")["pay-1"]
        self.assertEqual(native["addrs"], ["http://10.0.0.5:9000"])
        self.assertIs(native["lease"], False)
        self.assertEqual(native["metadata"]["team"], "pay")
        # Registering the same ID again replaces it; lowercase keys are Consul's too.
        status, _, _ = node.put("/v1/agent/service/register",
                                json.dumps({"name": "pay", "id": "pay-1", "port": 9001}))
        self.assertEqual(status, 200)
        self.assertEqual(node.read("/v1/health/service/pay")[0][0]["Service"]["Port"], 9001)
        # Deregister with GET (python-consul 0.7.1) or PUT; an unknown ID is Consul's 404.
        status, _, body = node.get("/v1/agent/service/deregister/pay-1")
        self.assertEqual((status, body), (200, ""))
        status, _, body = node.put("/v1/agent/service/deregister/pay-1", "")
        self.assertEqual((status, body), (404, 'Unknown service ID "pay-1". Ensure that the '
                                               'service ID is passed, not the service name.'))
        self.assertEqual(node.read("/v1/health/service/pay")[0], [])

    def test_bad_registrations_change_nothing(self):
        node = ConsulNode()
        self.addCleanup(node.stop)
        for body, text in [("", "Request decode failed: EOF"),
                           ("{", None),
                           ("[]", "Request decode failed: the body must be an object"),
                           (json.dumps({"ID": "x"}), "Missing service name"),
                           (self.registration(Address="0.0.0.0"), "Invalid service address"),
                           (self.registration(Port=70000), None),
                           (self.registration(Meta={"consul-x": "1"}),
                            "Invalid Service Meta: Key prefix 'consul-' is reserved for internal "
                            "use"),
                           (self.registration(Meta={"bad key": "1"}), None),
                           (self.registration(Tags="v1"), "Request decode failed: Tags must be a list"),
                           (self.registration(Check={"TTL": "1s", "Status": "up"}),
                            "Status for checks must 'passing', 'warning', 'critical'")]:
            status, _, answer = node.put("/v1/agent/service/register", body)
            self.assertEqual(status, 400, body)
            if text:
                self.assertEqual(answer, text)
        status, _, answer = node.put("/v1/agent/service/register?ns=" + "e" * 65,
                                     self.registration())
        self.assertEqual((status, answer), (400, "Invalid ns: 1 to 64 bytes"))
        self.assertEqual(node.read("/v1/catalog/services")[0], {})
        self.assertEqual(node.request("POST", "/v1/agent/service/register", body="{}")[0], 405)

    def test_no_heartbeat_no_eviction_and_replicated(self):
        ports = free_ports(2)
        nodes_arg = ",".join("127.0.0.1:%d" % p for p in ports)
        a, b = [ConsulNode("--listen", "127.0.0.1:%d" % p, "--nodes", nodes_arg,
                           "--evict-after", "2s", "--evict-interval", "1s",
                           "--self-protection", "false") for p in ports]
        self.addCleanup(a.stop)
        self.addCleanup(b.stop)
        a.register("native-1", appid="pay", addrs=["http://10.0.0.1:80"])
        self.assertEqual(a.put("/v1/agent/service/register", self.registration())[0], 200)
        eventually(lambda: set(b.instances("pay")) == {"native-1", "pay-1"},
                   what="both instances on the peer")
        self.assertIs(b.instances("pay")["pay-1"]["lease"], False)
        # Nobody renews: the native instance is evicted on both nodes, the Consul one stays.
        eventually(lambda: "native-1" not in a.instances("pay") and
                   "native-1" not in b.instances("pay"), what="the native instance evicted")
        time.sleep(2.5)
        self.assertIn("pay-1", a.instances("pay"))
        self.assertIn("pay-1", b.instances("pay"))
        # A deregistration at either node replicates like any cancel.
        self.assertEqual(b.get("/v1/agent/service/deregister/pay-1")[0], 200)
        eventually(lambda: a.instances("pay") == {}, what="the deregistration on the other node")


@unittest.skipIf(consul is None, "python3-consul is not installed (scripts/setup.sh installs it)")
class PythonConsulTest(unittest.TestCase):
    def test_python_consul_reads_health_and_blocks(self):
        node = ConsulNode()
        self.addCleanup(node.stop)
        node.register("h1", appid="web", addrs=["http://10.0.0.1:8080"])
        c = consul.Consul(host="127.0.0.1", port=node.port)
        self.assertEqual(c.agent.self()["Config"]["Datacenter"], "sh001")
        index, services = c.catalog.services()
        self.assertEqual(services, {"web": []})
        index, entries = c.health.service("web", passing=True)
        self.assertEqual([e["Service"]["Port"] for e in entries], [8080])
        threading.Timer(0.3, lambda: node.set_status("h1", "web", 2)).start()
        later, entries = c.health.service("web", index=index, wait="30s", passing=True)
        self.assertNotEqual(later, index)
        self.assertEqual(entries, [])
        self.assertEqual(c.status.leader(), "127.0.0.1:%d" % node.port)

    def test_a_client_alternating_two_nodes_blocks(self):
        # Issue 26: each node numbered its own indexes, so a client behind a round-robin balancer
        # saw the index jump back on every other answer and never blocked. The nodes now give
        # the same index for the same state: with wait=10s, 30 s of alternating take 3 answers,
        # each at its wait, with the index unchanged.
        ports = free_ports(2)
        nodes_arg = ",".join("127.0.0.1:%d" % p for p in ports)
        a, b = [ConsulNode("--listen", "127.0.0.1:%d" % p, "--nodes", nodes_arg,
                           "--anti-entropy", "1s") for p in ports]
        self.addCleanup(a.stop)
        self.addCleanup(b.stop)
        a.register("h1", appid="web", addrs=["http://10.0.0.1:8080"])
        a.register("h2", appid="web", addrs=["http://10.0.0.2:8080"])
        clients = [consul.Consul(host="127.0.0.1", port=n.port) for n in (a, b)]
        eventually(lambda: len(clients[1].health.service("web")[1]) == 2, what="both on b")
        eventually(lambda: clients[0].health.service("web")[0] ==
                   clients[1].health.service("web")[0], what="one index on both nodes")
        index, entries = clients[0].health.service("web")
        self.assertLess(int(index), 2 ** 53)
        answers = 0
        started = time.monotonic()
        while time.monotonic() - started < 30:
            asked = time.monotonic()
            later, again = clients[answers % 2].health.service("web", index=index, wait="10s")
            took = time.monotonic() - asked
            answers += 1
            self.assertEqual(later, index, "answer %d: nothing changed" % answers)
            self.assertEqual(again, entries)
            self.assertGreaterEqual(took, 9.5, "answer %d came early, without a change" % answers)
            self.assertLessEqual(answers, 4)
        # A change at b wakes a client parked at a, with a higher index that b gives too.
        threading.Timer(0.5, lambda: b.set_status("h2", "web", 2)).start()
        later, entries = clients[0].health.service("web", index=index, wait="30s", passing=True)
        self.assertGreater(int(later), int(index))
        self.assertEqual(len(entries), 1)
        eventually(lambda: clients[1].health.service("web")[0] == later,
                   what="b gives the index a gave")

    def test_python_consul_registers_and_deregisters(self):
        node = ConsulNode()
        self.addCleanup(node.stop)
        c = consul.Consul(host="127.0.0.1", port=node.port)
        self.assertTrue(c.agent.service.register("api", service_id="api-1", address="10.0.0.7",
                                                 port=7000, tags=["blue"]))
        self.assertEqual(c.agent.services()["api-1"]["Tags"], ["blue"])
        index, entries = c.health.service("api", tag="blue", passing=True)
        self.assertEqual([(e["Service"]["Address"], e["Service"]["Port"]) for e in entries],
                         [("10.0.0.7", 7000)])
        self.assertTrue(c.agent.service.deregister("api-1"))  # a GET, in 0.7.1
        self.assertEqual(c.agent.services(), {})
        self.assertEqual(c.health.service("api")[1], [])


class ConsulSdTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="muster-consul-test-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.node = ConsulNode()
        self.addCleanup(self.node.stop)
        self.node.register("h1", appid="web", addrs=["http://127.0.0.1:30001"])

    def test_muster_sd_consul_provider_reads_a_node(self):
        sd_port = free_port()
        path = os.path.join(self.dir, "sd.yml")
        with open(path, "w") as f:
            f.write("throttle: 100ms\noutput:\n  listen: 127.0.0.1:%d\nscrape_configs:\n"
                    "  - job_name: web\n    consul_sd_configs:\n"
                    "      - server: '127.0.0.1:%d'\n        services: [web]\n"
                    "        refresh_interval: 100ms\n"
                    % (sd_port, self.node.port))
        sd = Sd(path)
        self.addCleanup(sd.stop)

        def targets():
            status, _, body = sd.get("/sd/web")
            if status != 200:
                return None
            return sorted(t for g in json.loads(body) for t in g["targets"])

        eventually(lambda: targets() == ["127.0.0.1:30001"], timeout=30, what="web via consul_sd")
        self.node.register("h2", appid="web", addrs=["http://127.0.0.1:30002"])
        eventually(lambda: targets() == ["127.0.0.1:30001", "127.0.0.1:30002"], timeout=30,
                   what="the new instance via a blocking query")

        # A Consul registration with a TTL check: its health follows the check.
        def health(target):
            status, _, body = sd.get("/sd/web")
            for g in json.loads(body) if status == 200 else []:
                if target in g["targets"]:
                    return g["labels"].get("__meta_consul_health")
            return None

        body = {"Name": "web", "ID": "c1", "Address": "127.0.0.1", "Port": 30003,
                "Check": {"TTL": "30s"}}
        self.assertEqual(self.node.put("/v1/agent/service/register", json.dumps(body))[0], 200)
        eventually(lambda: health("127.0.0.1:30003") == "critical", timeout=30,
                   what="a critical TTL check via consul_sd")
        self.assertEqual(self.node.put("/v1/agent/check/pass/service:c1", "")[0], 200)
        eventually(lambda: health("127.0.0.1:30003") == "passing", timeout=30,
                   what="the passed check via consul_sd")
        self.assertEqual(self.node.put("/v1/agent/service/deregister/c1", "")[0], 200)
        eventually(lambda: "127.0.0.1:30003" not in targets(), timeout=30,
                   what="the deregistration via consul_sd")

    @unittest.skipIf(PROMETHEUS is None, "prometheus is not installed")
    def test_prometheus_consul_sd_follows_the_node(self):
        jobs = ("  - job_name: web\n    consul_sd_configs:\n"
                "      - server: '127.0.0.1:%d'\n        refresh_interval: 1s\n") % self.node.port
        # Debian's Prometheus 2.42 is built without consul_sd (its Go dependencies are not
        # packaged): it refuses the configuration. Say so rather than pass.
        check = os.path.join(self.dir, "check.yml")
        with open(check, "w") as f:
            f.write("scrape_configs:\n" + jobs)
        checked = subprocess.run(["promtool", "check", "config", check], capture_output=True,
                                 text=True)
        if "field consul_sd_configs not found" in checked.stdout + checked.stderr:
            self.skipTest("this Prometheus is built without consul_sd_configs (Debian's 2.42)")
        prom = Prometheus(self.dir, jobs)
        self.addCleanup(prom.stop)
        got = eventually(lambda: prom.targets("web"), timeout=40, what="web in prometheus")
        self.assertEqual(set(got), {"127.0.0.1:30001"})
        labels = got["127.0.0.1:30001"]["discoveredLabels"]
        self.assertEqual(labels["__meta_consul_service"], "web")
        self.assertEqual(labels["__meta_consul_dc"], "sh001")
        self.assertEqual(labels["__meta_consul_health"], "passing")
        self.assertEqual(labels["__meta_consul_node"], "h1")
        self.node.register("h2", appid="web", addrs=["http://127.0.0.1:30002"])
        eventually(lambda: set(prom.targets("web")) == {"127.0.0.1:30001", "127.0.0.1:30002"},
                   timeout=40, what="the new instance in prometheus")
        self.node.set_status("h2", "web", 2)
        eventually(lambda: prom.targets("web")["127.0.0.1:30002"]["discoveredLabels"]
                   ["__meta_consul_health"] == "maintenance", timeout=40,
                   what="the down instance in maintenance")


if __name__ == "__main__":
    unittest.main()

"""Prometheus HTTP SD served by a node (issue 17): GET /prometheus/sd answers what Prometheus's
http_sd_configs requires, one target group per instance with __meta_muster_* labels, filtered by
appid, env, zone, status and address scheme; bad input is a 400 with a reason. A real Prometheus
2.42 follows it."""
import json
import shutil
import tempfile
import unittest

from muster_node import Node, eventually
from test_sd import PROMETHEUS, Prometheus


class PrometheusSdRouteTest(unittest.TestCase):
    def setUp(self):
        self.node = Node()
        self.addCleanup(self.node.stop)

    def sd(self, query=""):
        status, headers, body = self.node.request("GET", "/prometheus/sd" + query)
        return status, headers, body.decode()

    def groups(self, query=""):
        status, headers, body = self.sd(query)
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["content-type"], "application/json; charset=utf-8")
        return json.loads(body)

    def test_one_group_per_instance_with_its_labels(self):
        self.node.register("h1", appid="pay.api", addrs=["grpc://10.0.0.1:9000",
                                                          "http://10.0.0.1:8000/metrics"],
                           metadata=json.dumps({"weight": "10", "team-name": "pay"}))
        self.node.register("h2", appid="pay.api", zone="sh002", status=2,
                           addrs=["http://10.0.0.2:8000"])
        self.node.register("h3", appid="pay.api", addrs=["grpc://10.0.0.3:9000"])  # no http
        self.node.register("o1", appid="other", addrs=["http://10.0.0.9:8000"])
        got = self.groups("?appid=pay.api&env=dev")
        self.assertEqual([g["targets"] for g in got], [["10.0.0.1:8000"], ["10.0.0.2:8000"]])
        self.assertEqual(got[0]["labels"], {
            "__meta_muster_appid": "pay.api", "__meta_muster_env": "dev",
            "__meta_muster_zone": "sh001", "__meta_muster_region": "sh",
            "__meta_muster_hostname": "h1", "__meta_muster_version": "111",
            "__meta_muster_status": "1", "__meta_muster_scheme": "http",
            "__meta_muster_metadata_weight": "10", "__meta_muster_metadata_team_name": "pay"})
        self.assertEqual(got[1]["labels"]["__meta_muster_status"], "2")
        # Filters: status, zone, scheme; no appid means every app of the env.
        self.assertEqual([g["targets"] for g in self.groups("?appid=pay.api&status=1")],
                         [["10.0.0.1:8000"]])
        self.assertEqual([g["targets"] for g in self.groups("?appid=pay.api&zone=sh002")],
                         [["10.0.0.2:8000"]])
        self.assertEqual([g["targets"] for g in self.groups("?appid=pay.api&scheme=grpc")],
                         [["10.0.0.1:9000"], ["10.0.0.3:9000"]])
        self.assertEqual(len(self.groups("?env=dev")), 3)
        # Apps in appid order, each instance once however often its appid is given.
        self.assertEqual([g["targets"] for g in self.groups(
            "?appid=pay.api&appid=other&appid=pay.api&status=1")],
            [["10.0.0.9:8000"], ["10.0.0.1:8000"]])
        self.assertEqual(self.groups("?appid=nothing"), [])
        self.assertEqual(self.groups("?env=prod"), [])

    def test_bad_input_is_a_400_with_a_reason(self):
        for query, reason in [("?status=4", "status must be 1 (up), 2 (down) or 3 (both)"),
                              ("?scheme=HTTP", 'scheme "HTTP" is not a URL scheme'),
                              ("?appid=%ff", "parameters must be valid UTF-8"),
                              ("?appid=%zz", None),
                              ("?env=" + "e" * 65, "env must be 1 to 64 bytes"),
                              ("?appid=" + "a" * 257, "an appid is longer than 256 bytes")]:
            status, headers, body = self.sd(query)
            self.assertEqual(status, 400, query)
            self.assertTrue(headers["content-type"].startswith("text/plain"), query)
            if reason:
                self.assertEqual(body, reason)
        self.assertTrue(self.node.alive())


@unittest.skipIf(PROMETHEUS is None, "prometheus is not installed (scripts/setup.sh installs it)")
class PrometheusFollowsTheNodeTest(unittest.TestCase):
    def test_prometheus_http_sd_follows_registrations(self):
        directory = tempfile.mkdtemp(prefix="muster-prom-sd-")
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        node = Node()
        self.addCleanup(node.stop)
        node.register("h1", appid="pay.api", addrs=["http://127.0.0.1:30001"])
        prom = Prometheus(directory, (
            "  - job_name: pay\n    http_sd_configs:\n"
            "      - url: 'http://127.0.0.1:%d/prometheus/sd?appid=pay.api&env=dev'\n"
            "        refresh_interval: 1s\n") % node.port)
        self.addCleanup(prom.stop)
        got = eventually(lambda: prom.targets("pay"), timeout=40, what="pay in prometheus")
        self.assertEqual(set(got), {"127.0.0.1:30001"})
        discovered = got["127.0.0.1:30001"]["discoveredLabels"]
        self.assertEqual(discovered["__meta_muster_hostname"], "h1")
        self.assertEqual(discovered["__meta_muster_zone"], "sh001")
        node.register("h2", appid="pay.api", addrs=["http://127.0.0.1:30002"])
        eventually(lambda: set(prom.targets("pay")) == {"127.0.0.1:30001", "127.0.0.1:30002"},
                   timeout=40, what="the new instance in prometheus")
        node.call("POST", "cancel", [("zone", "sh001"), ("env", "dev"), ("appid", "pay.api"),
                                     ("hostname", "h1")])
        eventually(lambda: set(prom.targets("pay")) == {"127.0.0.1:30002"}, timeout=40,
                   what="the cancelled instance gone from prometheus")


if __name__ == "__main__":
    unittest.main()

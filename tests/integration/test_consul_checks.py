"""Consul health checks run by muster nodes (issue 17): TTL, HTTP and TCP checks against real
endpoints on loopback made to pass and fail, TTL checks that lapse, DeregisterCriticalServiceAfter,
the native status that follows the checks, and a 3-node cluster where the node running a check is
killed and the check goes on elsewhere. Driven by the real python3-consul where it can be."""
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import unittest

from muster_node import BIN, eventually
from test_cluster import Cluster
from test_consul import ConsulNode

from python_consul import consul


class Endpoint:
    """An HTTP server on loopback whose /health answers the status the test sets, and keeps each
    request's line, headers and body."""

    def __init__(self, test):
        self.code = 200
        self.requests = []
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                length = int(self.headers.get("Content-Length") or 0)
                endpoint.requests.append((self.requestline, dict(self.headers),
                                          self.rfile.read(length)))
                body = ("state %d" % endpoint.code).encode()
                self.send_response(endpoint.code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_PUT = do_GET

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/health" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        test.addCleanup(self.server.server_close)
        test.addCleanup(self.server.shutdown)


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def checks_of(node):
    status, _, body = node.get("/v1/agent/checks")
    assert status == 200, body
    return json.loads(body)


def check_status(node, check_id):
    return checks_of(node).get(check_id, {}).get("Status")


class ConsulChecksTest(unittest.TestCase):
    def test_registration_checks_ttl_updates_and_errors(self):
        node = ConsulNode("--consul-reap-floor", "0s")
        self.addCleanup(node.stop)
        body = {"Name": "pay", "ID": "pay-1", "Port": 9000, "Address": "127.0.0.1",
                "Checks": [{"TTL": "30s", "Status": "passing"}, {"TTL": "30s"}]}
        self.assertEqual(node.put("/v1/agent/service/register", json.dumps(body))[0], 200)
        checks = checks_of(node)
        self.assertEqual({k: v["Status"] for k, v in checks.items()},
                         {"service:pay-1:1": "passing", "service:pay-1:2": "critical"})
        self.assertEqual(checks["service:pay-1:2"]["Type"], "ttl")
        self.assertEqual(checks["service:pay-1:2"]["Name"], "Service 'pay' check")
        # Critical: down for native clients, out of ?passing.
        self.assertEqual(node.instances("pay")["pay-1"]["status"], 2)
        self.assertEqual(node.read("/v1/health/service/pay?passing")[0], [])
        _, index = node.read("/v1/health/service/pay")
        # PUT and GET; the note is the output.
        status, _, text = node.put("/v1/agent/check/warn/service:pay-1:2?note=slow", "")
        self.assertEqual((status, text), (200, ""))
        entries, later = node.read("/v1/health/service/pay")
        self.assertGreater(later, index)
        self.assertEqual([(c["CheckID"], c["Status"], c["Output"]) for c in entries[0]["Checks"]],
                         [("service:pay-1:1", "passing", ""), ("service:pay-1:2", "warning", "slow")])
        self.assertEqual(node.instances("pay")["pay-1"]["status"], 1, "warning is up")
        self.assertEqual(node.read("/v1/health/service/pay?passing")[0], [], "warning is not passing")
        # The same update again changes nothing it shows: with one TTL check, no index bump (it
        # is a renew; with several, as here, it is written: docs/api.md).
        one = {"Name": "one", "ID": "one-1", "Port": 1, "Check": {"TTL": "30s"}}
        self.assertEqual(node.put("/v1/agent/service/register", json.dumps(one))[0], 200)
        self.assertEqual(node.get("/v1/agent/check/pass/service:one-1?note=x")[0], 200)
        _, one_index = node.read("/v1/health/service/one")
        self.assertEqual(node.get("/v1/agent/check/pass/service:one-1?note=x")[0], 200)
        self.assertEqual(node.read("/v1/health/service/one")[1], one_index)
        status, _, _ = node.put("/v1/agent/check/update/service:pay-1:2",
                                json.dumps({"Status": "passing", "Output": "fine"}))
        self.assertEqual(status, 200)
        self.assertEqual(len(node.read("/v1/health/service/pay?passing=1")[0]), 1)
        # Re-registering keeps the state of checks with the same ID.
        self.assertEqual(node.put("/v1/agent/service/register", json.dumps(body))[0], 200)
        self.assertEqual(check_status(node, "service:pay-1:2"), "passing")
        # Errors: Consul's codes and words, nothing changed.
        for path, body_, want in [
                ("/v1/agent/check/update/service:pay-1:2", '{"Status":"up"}',
                 (400, "Invalid check status: 'up'")),
                ("/v1/agent/check/update/service:pay-1:2", "", (400, "Request decode failed: EOF")),
                ("/v1/agent/check/pass/nope", "",
                 (404, 'Unknown check ID "nope". Ensure that the check ID is passed, not the '
                       'check name.')),
                ("/v1/agent/check/register", '{"Name":"x","TTL":"1s","ServiceID":"ghost"}',
                 (404, 'ServiceID "ghost" does not exist')),
                ("/v1/agent/check/register", '{"TTL":"1s","ServiceID":"pay-1"}',
                 (400, "Missing check name")),
                ("/v1/agent/service/register",
                 json.dumps({"Name": "pay", "Check": {"TTL": "1s", "Interval": "1s"}}),
                 (400, "Invalid check: Interval and TTL cannot both be specified"))]:
            status, _, text = node.put(path, body_)
            self.assertEqual((status, text), want, path)
        self.assertEqual(check_status(node, "service:pay-1:2"), "passing")
        self.assertEqual(node.request("POST", "/v1/agent/check/pass/service:pay-1:2")[0], 405)
        # A TCP check is not a TTL check.
        tcp = {"Name": "db", "ID": "db-1", "Port": 1,
               "Check": {"TCP": "127.0.0.1:%d" % closed_port(), "Interval": "1s"}}
        self.assertEqual(node.put("/v1/agent/service/register", json.dumps(tcp))[0], 200)
        status, _, text = node.put("/v1/agent/check/pass/service:db-1", "")
        self.assertEqual((status, text),
                         (500, 'CheckID "service:db-1" does not have associated TTL'))
        self.assertTrue(node.alive())

    def test_ttl_lapses_and_critical_services_are_deregistered(self):
        node = ConsulNode("--consul-reap-floor", "0s")
        self.addCleanup(node.stop)
        body = {"Name": "job", "ID": "job-1", "Port": 1,
                "Check": {"TTL": "1s", "Status": "passing"}}
        self.assertEqual(node.put("/v1/agent/service/register", json.dumps(body))[0], 200)
        self.assertEqual(node.get("/v1/agent/check/pass/service:job-1?note=alive")[0], 200)
        eventually(lambda: check_status(node, "service:job-1") == "critical", timeout=10,
                   what="the TTL check lapsed")
        self.assertEqual(checks_of(node)["service:job-1"]["Output"],
                         "TTL expired (last output before timeout follows): alive")
        self.assertEqual(node.instances("job")["job-1"]["status"], 2)
        self.assertEqual(node.get("/v1/agent/check/pass/service:job-1")[0], 200)
        self.assertEqual(node.instances("job")["job-1"]["status"], 1, "back up")
        # A check critical for longer than DeregisterCriticalServiceAfter removes its service.
        gone = {"Name": "gone", "ID": "gone-1", "Port": 1,
                "Check": {"TCP": "127.0.0.1:%d" % closed_port(), "Interval": "1s",
                          "DeregisterCriticalServiceAfter": "2s"}}
        self.assertEqual(node.put("/v1/agent/service/register", json.dumps(gone))[0], 200)
        eventually(lambda: node.instances("gone") == {}, timeout=15, what="the reaped service")
        self.assertIn("job-1", node.instances("job"))

    def test_http_and_tcp_checks_follow_real_endpoints(self):
        node = ConsulNode()
        self.addCleanup(node.stop)
        web = Endpoint(self)
        body = {"Name": "web", "ID": "web-1", "Address": "127.0.0.1",
                "Port": web.server.server_address[1],
                "Checks": [{"HTTP": web.url, "Interval": "1s", "Timeout": "2s"},
                           {"TCP": "127.0.0.1:%d" % web.server.server_address[1],
                            "Interval": "1s"}]}
        self.assertEqual(node.put("/v1/agent/service/register", json.dumps(body))[0], 200)
        eventually(lambda: len(node.read("/v1/health/service/web?passing")[0]) == 1, timeout=10,
                   what="both checks passing")
        checks = checks_of(node)
        self.assertEqual(checks["service:web-1:1"]["Output"],
                         "HTTP GET %s: 200 OK Output: state 200" % web.url)
        self.assertEqual(checks["service:web-1:2"]["Output"],
                         "TCP connect 127.0.0.1:%d: Success" % web.server.server_address[1])
        web.code = 429
        eventually(lambda: check_status(node, "service:web-1:1") == "warning", timeout=10,
                   what="429 is warning")
        web.code = 500
        eventually(lambda: check_status(node, "service:web-1:1") == "critical", timeout=10,
                   what="500 is critical")
        self.assertEqual(node.instances("web")["web-1"]["status"], 2)
        web.code = 200
        eventually(lambda: node.instances("web")["web-1"]["status"] == 1, timeout=10,
                   what="back up")
        self.assertGreaterEqual(node.metric("muster_consul_check_probes_total"), 4)
        self.assertEqual(node.metric("muster_consul_checks_owned"), 2)


@unittest.skipIf(consul is None, "python3-consul is not installed (scripts/setup.sh installs it)")
class PythonConsulChecksTest(unittest.TestCase):
    def test_python_consul_ttl_and_http_checks(self):
        node = ConsulNode()
        self.addCleanup(node.stop)
        web = Endpoint(self)
        c = consul.Consul(host="127.0.0.1", port=node.port)
        self.assertTrue(c.agent.service.register("api", service_id="api-1", address="127.0.0.1",
                                                 port=web.server.server_address[1],
                                                 check=consul.Check.ttl("30s")))
        self.assertTrue(c.agent.check.register("api-http", consul.Check.http(web.url, "1s"),
                                               service_id="api-1"))
        self.assertEqual(set(c.agent.checks()), {"service:api-1", "api-http"})
        self.assertEqual(c.health.service("api", passing=True)[1], [], "the TTL check is critical")
        self.assertTrue(c.agent.check.ttl_pass("service:api-1", notes="ready"))  # a GET, in 0.7.1
        eventually(lambda: len(c.health.service("api", passing=True)[1]) == 1, timeout=10,
                   what="both checks passing")
        # A blocking query wakes when the HTTP check fails.
        index, _ = c.health.service("api", passing=True)
        threading.Timer(0.3, lambda: setattr(web, "code", 503)).start()
        entries = None
        for _ in range(20):  # each answer is a change; the failing check is one of them
            index, entries = c.health.service("api", index=index, wait="20s", passing=True)
            if entries == []:
                break
        self.assertEqual(entries, [])
        checks = c.health.checks("api")[1]
        self.assertEqual({ch["CheckID"]: ch["Status"] for ch in checks},
                         {"service:api-1": "passing", "api-http": "critical"})
        self.assertTrue(c.agent.check.ttl_fail("service:api-1", notes="draining"))
        self.assertEqual(c.agent.checks()["service:api-1"]["Output"], "draining")
        self.assertTrue(c.agent.check.deregister("api-http"))  # a GET, in 0.7.1
        self.assertEqual(set(c.agent.checks()), {"service:api-1"})
        self.assertTrue(c.agent.service.deregister("api-1"))
        self.assertEqual(c.agent.checks(), {})


NPM_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "npm_consul")


class NpmConsulChecksTest(unittest.TestCase):
    """npm's consul 2.0.1 (installed by scripts/setup.sh) runs checks_scenario.js against a node."""

    def test_npm_consul_ttl_and_http_checks(self):
        self.assertTrue(os.path.isdir(os.path.join(NPM_DIR, "node_modules", "consul")),
                        "npm's consul is not installed: run scripts/setup.sh")
        node = ConsulNode()
        self.addCleanup(node.stop)
        run = subprocess.run(["node", os.path.join(NPM_DIR, "checks_scenario.js"), str(node.port)],
                             capture_output=True, text=True, timeout=90, cwd=NPM_DIR)
        self.assertEqual(run.returncode, 0, run.stderr)
        seen = json.loads(run.stdout)
        self.assertEqual(seen["checks"], ["service:npm-1:1", "service:npm-1:2"])
        self.assertEqual(seen["passingBefore"], 0, "a TTL check starts critical")
        self.assertEqual(seen["passingAfter"], 1)
        self.assertTrue(seen["watchLeft"])
        self.assertEqual(seen["statuses"], {"service:npm-1:1": "critical",
                                            "service:npm-1:2": "critical"})
        self.assertEqual(seen["ttlOutput"], "draining")
        self.assertEqual((seen["checksAfter"], seen["servicesAfter"]), ({}, {}))


class CheckBoundsTest(unittest.TestCase):
    """Issue 27.6 and 27.7: what a check may send, who sees its secrets, what its probes cost."""

    def test_a_check_cannot_smuggle_a_request_and_its_secrets_stay_with_peers(self):
        node = ConsulNode()
        self.addCleanup(node.stop)
        target = Endpoint(self)
        refusals = [
            ({"Header": {"X-A": ["a\r\nGET /admin HTTP/1.1"]}},
             "Invalid check: Header X-A has a control character (CR, LF, NUL...)"),
            ({"Method": "GET /admin HTTP/1.1\r\nX:"},
             "Invalid check: Method must be one of GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH"),
            ({"Method": "CONNECT"},
             "Invalid check: Method must be one of GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH"),
            ({"Header": {"Bad Name": ["v"]}},
             "Invalid check: a Header name is not an HTTP token (letters, digits and "
             "!#$%&'*+-.^_`|~, at most 256)"),
            ({"HTTP": target.url + " HTTP/1.1\r\nX: y"},
             "Invalid check: HTTP must be an http:// URL with a host"),
        ]
        for extra, want in refusals:
            check = {"HTTP": target.url, "Interval": "1s", **extra}
            body = {"Name": "pay", "ID": "pay-1", "Port": 80, "Check": check}
            status, _, text = node.put("/v1/agent/service/register", json.dumps(body))
            self.assertEqual((status, text), (400, want), extra)
        self.assertEqual(json.loads(node.get("/v1/agent/services")[2]), {}, "nothing registered")
        # A check with credentials: they go to its target, and to no reader but a peer.
        check = {"HTTP": target.url, "Interval": "1s", "Method": "POST",
                 "Header": {"Authorization": ["Bearer s3cret-header"]}, "Body": "s3cret-body"}
        body = {"Name": "pay", "ID": "pay-1", "Port": 80, "Check": check}
        self.assertEqual(node.put("/v1/agent/service/register", json.dumps(body))[0], 200)
        eventually(lambda: check_status(node, "service:pay-1") == "passing", timeout=10,
                   what="the check passing")
        line, headers, sent = target.requests[-1]
        self.assertEqual((line, headers.get("Authorization"), sent),
                         ("POST /health HTTP/1.1", "Bearer s3cret-header", b"s3cret-body"))
        self.assertTrue(all(r[0] == "POST /health HTTP/1.1" for r in target.requests))
        readers = {
            "fetch": node.request("GET", "/discovery/fetch?env=dev&appid=pay&status=3")[2],
            "fetchs": node.request("GET", "/discovery/fetchs?env=dev&appid=pay&status=3")[2],
            "prometheus sd": node.request("GET", "/prometheus/sd?env=dev&appid=pay")[2],
            "cli": subprocess.run([BIN, "fetch", "--json", "--node", "127.0.0.1:%d" % node.port,
                                   "--env", "dev", "pay"], capture_output=True,
                                  timeout=30).stdout,
        }
        for reader, answer in readers.items():
            self.assertIn(b"pay-1", answer, reader)
            self.assertNotIn(b"s3cret", answer, reader)
        self.assertIn(b"HTTP POST", readers["fetch"], "the output stays visible, as in Consul")
        self.assertNotIn(b"consul_checks", readers["prometheus sd"], "not a label")
        # Peers read it whole (X-Muster-Peer with no token configured; the peer token otherwise).
        whole = node.request("GET", "/discovery/fetch?env=dev&appid=pay&status=3",
                             headers={"X-Muster-Peer": "1"})[2]
        self.assertIn(b"s3cret-header", whole)
        self.assertIn(b"s3cret-body", node.request("GET", "/discovery/fetch/all")[2])

    def test_a_node_can_be_told_to_send_only_gets_or_nothing(self):
        # Issue 27.7: --consul-check-requests get refuses checks that could change something at
        # their target (a method other than GET and HEAD, or a body); none refuses every check
        # that sends (HTTP, TCP). A check that arrives by another way (here: the data directory
        # of a run that allowed it) is not sent but written critical.
        target = Endpoint(self)
        data = tempfile.mkdtemp(prefix="muster-checks-")
        self.addCleanup(shutil.rmtree, data, True)
        node = ConsulNode("--consul-check-requests", "get", "--data-dir", data)
        self.addCleanup(lambda: node.alive() and node.stop())
        get_only = ("Invalid check: this node sends only GET and HEAD checks without a Body "
                    "(--consul-check-requests=get)")
        for extra in ({"Method": "POST"}, {"Method": "DELETE"}, {"Body": "x"}):
            check = {"HTTP": target.url, "Interval": "1s", **extra}
            body = {"Name": "pay", "ID": "pay-1", "Port": 80, "Check": check}
            status, _, text = node.put("/v1/agent/service/register", json.dumps(body))
            self.assertEqual((status, text), (400, get_only), extra)
        check = {"HTTP": target.url, "Interval": "1s", "Method": "GET",
                 "Header": {"Authorization": ["Bearer t"]}}
        body = {"Name": "pay", "ID": "pay-1", "Port": 80, "Check": check}
        self.assertEqual(node.put("/v1/agent/service/register", json.dumps(body))[0], 200)
        extra_check = {"ID": "post", "Name": "post", "ServiceID": "pay-1", "HTTP": target.url,
                       "Interval": "1s", "Method": "PUT"}
        status, _, text = node.put("/v1/agent/check/register", json.dumps(extra_check))
        self.assertEqual((status, text), (400, get_only))
        eventually(lambda: check_status(node, "service:pay-1") == "passing", timeout=10,
                   what="the GET check passing")
        self.assertTrue(target.requests)
        self.assertEqual(node.stop(), 0)

        node = ConsulNode("--consul-check-requests", "none", "--data-dir", data)
        none = "Invalid check: this node runs TTL checks only (--consul-check-requests=none)"
        seen = len(target.requests)
        eventually(lambda: (checks_of(node).get("service:pay-1", {}).get("Output", "")
                            == "not run: " + none), timeout=10,
                   what="the restored HTTP check written critical, not sent")
        self.assertEqual(check_status(node, "service:pay-1"), "critical")
        self.assertEqual(len(target.requests), seen, "nothing sent")
        for check in ({"HTTP": target.url, "Interval": "1s"},
                      {"TCP": "127.0.0.1:%d" % closed_port(), "Interval": "1s"}):
            body = {"Name": "web", "ID": "web-1", "Port": 80, "Check": check}
            status, _, text = node.put("/v1/agent/service/register", json.dumps(body))
            self.assertEqual((status, text), (400, none), check)
        body = {"Name": "web", "ID": "web-1", "Port": 80, "Check": {"TTL": "30s"}}
        self.assertEqual(node.put("/v1/agent/service/register", json.dumps(body))[0], 200)

    def test_probes_never_take_the_descriptors_clients_need(self):
        # 480 HTTP checks at a port that accepts connections and never answers, a Timeout of ten
        # minutes each, on a node allowed 256 descriptors: before issue 27 the probes took them
        # all and accept() failed; now at most the budget (32 here) is out at once.
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(1024)
        self.addCleanup(silent.close)
        url = "http://127.0.0.1:%d/" % silent.getsockname()[1]
        node = ConsulNode(wrap=["prlimit", "--nofile=256:256"])
        self.addCleanup(node.stop)
        for s in range(60):
            checks = [{"HTTP": url, "Interval": "2s", "Timeout": "10m"} for _ in range(8)]
            body = {"Name": "web", "ID": "web-%d" % s, "Port": 80, "Checks": checks}
            self.assertEqual(node.put("/v1/agent/service/register", json.dumps(body))[0], 200)
        eventually(lambda: (node.metric("muster_consul_check_probes_deferred_total") or 0) > 0,
                   timeout=20, what="probes waiting for the budget")
        most = 0
        for _ in range(20):
            most = max(most, node.metric("muster_consul_check_probes_in_flight"))
            # New clients are served meanwhile, each on a connection of its own.
            conns = [node.connect() for _ in range(50)]
            try:
                for c in conns:
                    c.request("GET", "/discovery/nodes")
                for c in conns:
                    self.assertEqual(c.getresponse().status, 200)
            finally:
                for c in conns:
                    c.close()
        self.assertGreater(most, 0)
        self.assertLessEqual(most, 32)
        self.assertTrue(node.alive())
        self.assertFalse([l for l in node.log if "Too many open files" in l])


class ClusterChecksTest(unittest.TestCase):
    def test_a_check_moves_when_the_node_running_it_dies(self):
        cluster = Cluster(3)
        self.addCleanup(cluster.stop)
        nodes = cluster.nodes
        for n in nodes:
            n.put = ConsulNode.put.__get__(n)
            n.get = ConsulNode.get.__get__(n)
        web = Endpoint(self)
        body = {"Name": "web", "ID": "web-1", "Address": "127.0.0.1",
                "Port": web.server.server_address[1],
                "Check": {"HTTP": web.url, "Interval": "1s"}}
        self.assertEqual(nodes[0].put("/v1/agent/service/register", json.dumps(body))[0], 200)
        for n in nodes:
            eventually(lambda: check_status(n, "service:web-1") == "passing", timeout=15,
                       what="the passing check replicated")

        def owners(among):
            return [n for n in among if n.metric("muster_consul_checks_owned") == 1]
        owner = eventually(lambda: owners(nodes) if len(owners(nodes)) == 1 else None,
                           timeout=15, what="exactly one node running the check")[0]
        owner.stop(signal.SIGKILL)
        rest = [n for n in nodes if n is not owner]
        eventually(lambda: len(owners(rest)) == 1, timeout=20,
                   what="another node running the check")
        web.code = 500
        for n in rest:
            eventually(lambda: check_status(n, "service:web-1") == "critical", timeout=15,
                       what="the failing check seen by every live node")
            self.assertEqual(n.instances("web")["web-1"]["status"], 2)


if __name__ == "__main__":
    unittest.main()

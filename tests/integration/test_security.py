"""Tokens (issue 18, docs/security.md): what each kind of token may do on the native, Consul and
Prometheus SD routes, refusals that change nothing and are counted, the reload on SIGHUP, the CLI
and python3-consul sending theirs, and replication that only peers may make: a forged
`replication=true` or `from_zone=true` from a non-peer is refused while a 3-node cluster with a
peer token keeps replicating."""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import unittest
import urllib.parse

from muster_node import BIN, Node, eventually, write_yaml
from test_cluster import Cluster
from test_sd import Sd, free_port

from python_consul import consul

TOKENS = """
admin: [adm-old, adm-new]
write:
  - token: w-pay
    appids: ["pay."]
  - token: w-all
    appids: [""]
read: [rd-1]
peer: [peer-1]
"""


def bearer(token):
    return {"Authorization": "Bearer " + token} if token else {}


def native(node, method, route, params, token=None):
    """(code, message) of a /discovery route called with `token`."""
    env, _, _ = node.call(method, route, params, headers=bearer(token))
    return env["code"], env.get("message")


def instance(appid, hostname="h1", **extra):
    p = [("zone", "sh001"), ("env", "dev"), ("appid", appid), ("hostname", hostname),
         ("addrs", "http://10.0.0.1:80"), ("status", "1")]
    return p + list(extra.items())


class TokensTest(unittest.TestCase):
    def setUp(self):
        self.path = write_yaml(self, TOKENS)
        self.node = Node("--zone", "sh001", "--tokens", self.path)
        self.addCleanup(self.node.stop)

    def read(self, token):
        return native(self.node, "GET", "fetch",
                      [("env", "dev"), ("appid", "pay.api"), ("status", "3")], token)[0]

    def test_native_routes_take_the_token_they_need(self):
        n = self.node
        reg = instance("pay.api")
        self.assertEqual(native(n, "POST", "register", reg),
                         (-401, "a token is required (Authorization: Bearer <token>)"))
        self.assertEqual(native(n, "POST", "register", reg, "nope"),
                         (-401, "the token is not known"))
        self.assertEqual(native(n, "POST", "register", instance("web"), "w-pay"),
                         (-403, "the token does not allow this"), "another prefix")
        self.assertEqual(native(n, "POST", "register", reg, "rd-1")[0], -403, "a read token")
        self.assertEqual(self.read("rd-1"), -404, "nothing was registered")
        self.assertEqual(native(n, "POST", "register", reg, "w-pay")[0], 0)
        self.assertEqual(native(n, "POST", "register", instance("web"), "w-all")[0], 0)
        self.assertEqual(native(n, "POST", "renew", instance("pay.api"), "w-pay")[0], 0)
        # set is the admin's; either admin token of the rollout works.
        setp = [("zone", "sh001"), ("env", "dev"), ("appid", "pay.api"), ("hostname", "h1"),
                ("status", "2")]
        self.assertEqual(native(n, "POST", "set", setp, "w-pay")[0], -403)
        self.assertEqual(native(n, "POST", "set", setp, "adm-old")[0], 0)
        self.assertEqual(native(n, "POST", "set", setp, "adm-new")[0], 0)
        # Reads need a token once read tokens exist; any token of the file reads.
        self.assertEqual(self.read(None), -401)
        for token in ("rd-1", "w-pay", "adm-new", "peer-1"):
            self.assertEqual(self.read(token), 0, token)
        # The whole registry is for peers (syncup) and admins only.
        self.assertEqual(native(n, "GET", "fetch/all", [], "rd-1")[0], -403)
        self.assertEqual(native(n, "GET", "fetch/all", [], "peer-1")[0], 0)
        self.assertEqual(native(n, "GET", "digests", [], "w-all")[0], -403)
        # A write token may not replicate: only a peer's may.
        forged = instance("pay.api", "h9", replication="true")
        self.assertEqual(native(n, "POST", "register", forged, "w-pay")[0], -403)
        forged = instance("pay.api", "h9", from_zone="true")
        self.assertEqual(native(n, "POST", "register", forged, "adm-new")[0], -403)
        self.assertEqual(native(n, "POST", "cancel", instance("pay.api"), None)[0], -401)
        env, _, _ = n.call("GET", "fetch", [("env", "dev"), ("appid", "pay.api"), ("status", "3")],
                           headers=bearer("rd-1"))
        hosts = [i["hostname"] for z in env["data"]["instances"].values() for i in z]
        self.assertEqual(hosts, ["h1"], "no refused write changed anything")
        # Refusals are counted by reason and need.
        _, _, body = n.request("GET", "/metrics")
        text = body.decode()
        self.assertIn('muster_access_denied_total{reason="missing",need="write"} 2', text)
        self.assertIn('muster_access_denied_total{reason="forbidden",need="peer"} 2', text)
        self.assertNotIn("w-pay", text)

    def test_consul_and_prometheus_routes(self):
        n = self.node
        reg = json.dumps({"Name": "pay.web", "ID": "pw-1", "Port": 80, "Check": {"TTL": "30s"}})
        status, _, body = n.request("PUT", "/v1/agent/service/register", body=reg)
        self.assertEqual((status, body.decode()),
                         (403, "Permission denied: a token is required (Authorization: Bearer "
                               "<token>)"))
        status, _, body = n.request("PUT", "/v1/agent/service/register", body=reg,
                                    headers={"X-Consul-Token": "bad"})
        self.assertEqual((status, body.decode()), (403, "ACL not found"))
        status, _, _ = n.request("PUT", "/v1/agent/service/register?token=w-pay", body=reg)
        self.assertEqual(status, 200)
        status, _, _ = n.request("PUT", "/v1/agent/check/pass/service:pw-1",
                                 headers={"X-Consul-Token": "rd-1"})
        self.assertEqual(status, 403)
        status, _, _ = n.request("PUT", "/v1/agent/check/pass/service:pw-1",
                                 headers=bearer("w-pay"))
        self.assertEqual(status, 200)
        self.assertEqual(n.request("GET", "/v1/health/service/pay.web")[0], 403)
        status, _, body = n.request("GET", "/v1/health/service/pay.web?token=rd-1")
        self.assertEqual((status, json.loads(body)[0]["Checks"][0]["Status"]), (200, "passing"))
        self.assertEqual(n.request("GET", "/prometheus/sd?appid=pay.web")[0], 401)
        status, _, body = n.request("GET", "/prometheus/sd?appid=pay.web", headers=bearer("rd-1"))
        self.assertEqual((status, len(json.loads(body))), (200, 1))
        self.assertEqual(n.request("GET", "/metrics")[0], 200, "/metrics stays open")

    def test_a_consul_service_id_cannot_be_shadowed_by_another_team(self):
        # Issue 27.5: zeta's svc-1, then a pay. token registers pay.evil with the same ID.
        n = self.node
        zeta = json.dumps({"Name": "zeta.api", "ID": "svc-1", "Port": 80,
                           "Check": {"TTL": "30s", "Status": "passing"}})
        self.assertEqual(n.request("PUT", "/v1/agent/service/register", body=zeta,
                                   headers=bearer("w-all"))[0], 200)
        evil = json.dumps({"Name": "pay.evil", "ID": "svc-1", "Port": 81})
        status, _, body = n.request("PUT", "/v1/agent/service/register", body=evil,
                                    headers=bearer("w-pay"))
        self.assertEqual((status, body.decode()),
                         (403, 'Permission denied: service ID "svc-1" is zeta.api\'s, which this '
                               'token may not write'))
        services = json.loads(n.request("GET", "/v1/agent/services?token=rd-1")[2])
        self.assertEqual({k: v["Service"] for k, v in services.items()}, {"svc-1": "zeta.api"})
        # The owner's operations still work.
        self.assertEqual(n.request("PUT", "/v1/agent/check/pass/service:svc-1",
                                   headers=bearer("w-all"))[0], 200)
        # With rights on both, the ID moves to the new name, as in Consul: one service, not two.
        moved = json.dumps({"Name": "pay.new", "ID": "svc-1", "Port": 82})
        self.assertEqual(n.request("PUT", "/v1/agent/service/register", body=moved,
                                   headers=bearer("w-all"))[0], 200)
        services = json.loads(n.request("GET", "/v1/agent/services?token=rd-1")[2])
        self.assertEqual({k: (v["Service"], v["Port"]) for k, v in services.items()},
                         {"svc-1": ("pay.new", 82)})
        self.assertEqual(n.request("PUT", "/v1/agent/service/deregister/svc-1",
                                   headers=bearer("w-pay"))[0], 200)
        self.assertEqual(json.loads(n.request("GET", "/v1/agent/services?token=rd-1")[2]), {})

    @unittest.skipIf(consul is None, "python3-consul is not installed")
    def test_python_consul_sends_its_token(self):
        anonymous = consul.Consul(host="127.0.0.1", port=self.node.port)
        with self.assertRaises(consul.base.ACLPermissionDenied):
            anonymous.agent.service.register("pay.py", service_id="py-1", port=1)
        c = consul.Consul(host="127.0.0.1", port=self.node.port, token="w-pay")
        self.assertTrue(c.agent.service.register("pay.py", service_id="py-1", port=1))
        self.assertEqual(c.health.service("pay.py")[1][0]["Service"]["ID"], "py-1")

    def test_cli_sends_its_token(self):
        cmd = [BIN, "register", "--node", "127.0.0.1:%d" % self.node.port, "--appid", "pay.cli",
               "--hostname", "c1", "--zone", "sh001", "--env", "dev", "--addr",
               "http://10.0.0.2:80"]
        refused = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("-401", refused.stdout + refused.stderr)
        done = subprocess.run(cmd + ["--token", "w-pay"], capture_output=True, text=True,
                              timeout=30)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        listed = subprocess.run([BIN, "fetch", "--node", "127.0.0.1:%d" % self.node.port,
                                 "--env", "dev", "--json", "pay.cli"],
                                capture_output=True, text=True, timeout=30,
                                env=dict(os.environ, MUSTER_TOKEN="rd-1"))
        self.assertEqual(listed.returncode, 0, listed.stdout + listed.stderr)
        self.assertIn("c1", listed.stdout)

    def test_muster_sd_reads_with_its_token(self):
        self.assertEqual(native(self.node, "POST", "register", instance("pay.sd"), "w-pay")[0], 0)
        d = tempfile.mkdtemp(prefix="muster-sec-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        path = os.path.join(d, "sd.yml")
        with open(path, "w") as f:
            f.write("throttle: 100ms\noutput:\n  listen: 127.0.0.1:%d\nscrape_configs:\n"
                    "  - job_name: pay\n    muster_sd_configs:\n"
                    "      - nodes: ['127.0.0.1:%d']\n        env: dev\n        appids: [pay.sd]\n"
                    "        token: rd-1\n" % (free_port(), self.node.port))
        sd = Sd(path)
        self.addCleanup(sd.stop)

        def targets():
            status, _, body = sd.get("/sd/pay")
            return [t for g in json.loads(body) for t in g["targets"]] if status == 200 else None
        eventually(lambda: targets() == ["10.0.0.1:80"], timeout=20, what="pay.sd via muster sd")

    def test_sighup_reloads_and_a_bad_file_keeps_the_old_tokens(self):
        self.assertEqual(self.read("rd-1"), -404)
        with open(self.path, "w") as f:
            f.write(TOKENS.replace("read: [rd-1]", "read: [rd-2]"))
        self.node.proc.send_signal(signal.SIGHUP)
        self.node.wait_for_log("SIGHUP: tokens reloaded")
        self.assertEqual(self.read("rd-1"), -401)
        self.assertEqual(self.read("rd-2"), -404)
        with open(self.path, "w") as f:
            f.write("read: [rd-3]\nbogus: 1\n")
        self.node.proc.send_signal(signal.SIGHUP)
        line = self.node.wait_for_log("tokens not reloaded")
        self.assertIn('unknown key "bogus"', line)
        self.assertEqual(self.read("rd-2"), -404, "the old tokens stay")

    def test_a_tokens_file_without_a_token_fails_closed(self):
        # Issue 27.4: an emptied file (a tool that truncates before it writes, racing a SIGHUP)
        # switched authentication off. Now it keeps the tokens in force, and stops a start.
        for text in ("", "# nothing yet\n", "~\n", "admin: []\nwrite: []\n"):
            with open(self.path, "w") as f:
                f.write(text)
            self.node.proc.send_signal(signal.SIGHUP)
            line = self.node.wait_for_log("tokens not reloaded")
            self.assertIn("holds no token", line)
            self.node.log.clear()
            self.assertEqual(native(self.node, "POST", "register", instance("pay.api"))[0], -401,
                             "still secured after %r" % text)
            path = write_yaml(self, text)
            run = subprocess.run([BIN, "serve", "--listen", "127.0.0.1:0", "--tokens", path],
                                 capture_output=True, text=True, timeout=30)
            self.assertEqual(run.returncode, 2, text)
            self.assertIn("holds no token", run.stdout + run.stderr)

    def test_a_bad_tokens_file_stops_the_start(self):
        path = write_yaml(self, "write:\n  - token: 'has space'\n    appids: ['']\n")
        run = subprocess.run([BIN, "serve", "--listen", "127.0.0.1:0", "--tokens", path],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(run.returncode, 2)
        self.assertIn("write token must be visible ASCII without spaces", run.stdout + run.stderr)
        self.assertNotIn("has space", run.stdout + run.stderr, "a token is never printed")


def connect_from(node, source):
    """A keep-alive HTTP connection to `node` from the loopback address `source`."""
    c = http.client.HTTPConnection("127.0.0.1", node.port, timeout=10, source_address=(source, 0))
    c.connect()
    return c


def post_from(conn, route, params):
    conn.request("POST", "/discovery/" + route, urllib.parse.urlencode(params),
                 {"Content-Type": "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    return json.loads(r.read())["code"]


class PerSourceLimitsTest(unittest.TestCase):
    """One source over its limit is refused while another is served (127.0.0.2 against
    127.0.0.1, both loopback)."""

    def test_connections_per_source(self):
        node = Node("--zone", "sh001", "--max-connections-per-source", "3",
                    "--limit-loopback-sources")
        self.addCleanup(node.stop)
        held = [connect_from(node, "127.0.0.2") for _ in range(3)]
        for c in held:
            self.addCleanup(c.close)
            self.assertEqual(post_from(c, "register", instance("app", "h1")), 0)
        extra = connect_from(node, "127.0.0.2")
        self.addCleanup(extra.close)
        extra.request("GET", "/discovery/nodes")
        r = extra.getresponse()
        self.assertEqual((r.status, r.read().decode()),
                         (429, "too many connections from 127.0.0.2 (limit 3 per source "
                               "address)\n"))
        other = connect_from(node, "127.0.0.1")
        self.addCleanup(other.close)
        self.assertEqual(post_from(other, "register", instance("app", "h2")), 0)
        self.assertEqual(node.metric("muster_http_rejected_source_connections_total"), 1)
        held[0].close()  # a closed connection frees its place
        eventually(lambda: self._served(node), what="a new connection from 127.0.0.2")

    def test_the_default_is_512_per_source_and_loopback_is_not_limited(self):
        # Issue 27.9: one client took 18,000 connections and everyone else got 503. By default
        # a source gets 512 (loopback, a local proxy's, excepted: --limit-loopback-sources
        # stands in here for a remote address).
        for limit_loopback, allowed in ((True, 512), (False, 600)):
            node = Node("--zone", "sh001", *(["--limit-loopback-sources"] if limit_loopback
                                            else []))
            self.addCleanup(node.stop)
            held = []
            for _ in range(600):
                s = socket.create_connection(("127.0.0.1", node.port),
                                             source_address=("127.0.0.2", 0))
                held.append(s)
                self.addCleanup(s.close)
            served = 0
            for s in held:
                s.settimeout(10)
                try:  # a refused connection may be closed already
                    s.sendall(b"GET /discovery/nodes HTTP/1.1\r\nHost: x\r\n\r\n")
                except OSError:
                    pass
            for s in held:
                try:
                    served += s.recv(64).startswith(b"HTTP/1.1 200")
                except OSError:
                    pass
            self.assertEqual(served, allowed, "limit_loopback=%s" % limit_loopback)
            self.assertEqual(node.metric("muster_http_rejected_source_connections_total"),
                             600 - allowed)
            for s in held:
                s.close()
            node.stop()

    def _served(self, node):
        c = connect_from(node, "127.0.0.2")
        try:
            c.request("GET", "/discovery/nodes")
            return c.getresponse().status == 200
        finally:
            c.close()

    def test_writes_per_source(self):
        node = Node("--zone", "sh001", "--max-writes-per-source", "5")
        self.addCleanup(node.stop)
        noisy = connect_from(node, "127.0.0.2")
        quiet = connect_from(node, "127.0.0.1")
        self.addCleanup(noisy.close)
        self.addCleanup(quiet.close)
        codes = [post_from(noisy, "renew", instance("app", "h%d" % i)) for i in range(40)]
        # The first five (one second's worth) pass to the registry (-404: never registered);
        # within the same second most of the rest are refused.
        self.assertGreaterEqual(codes.count(-509), 20, codes)
        self.assertEqual(post_from(quiet, "register", instance("app", "q1")), 0)
        noisy.request("PUT", "/v1/agent/service/register", json.dumps({"Name": "x", "Port": 1}))
        r = noisy.getresponse()
        self.assertEqual((r.status, r.read().decode()),
                         (429, "too many writes from 127.0.0.2 (limit 5 per second per source "
                               "address)"))
        self.assertNotIn("x", json.loads(node.request("GET", "/v1/catalog/services")[2]))
        self.assertGreaterEqual(node.metric("muster_writes_limited_total"), 21)


class PeerReplicationTest(unittest.TestCase):
    def test_peers_replicate_and_a_forged_replication_is_refused(self):
        path = write_yaml(self, "write:\n  - token: w-all\n    appids: ['']\npeer: [peer-1]\n")
        cluster = Cluster(3, "--tokens", path)
        self.addCleanup(cluster.stop)
        a, b, c = cluster.nodes
        self.assertEqual(native(a, "POST", "register", instance("svc"), "w-all")[0], 0)
        for n in (b, c):
            eventually(lambda: "h1" in n.instances("svc"), what="h1 replicated with the token")
        # Syncup and anti-entropy read with the peer token: a node started later gets h1.
        forged = instance("svc", "evil", replication="true")
        self.assertEqual(native(b, "POST", "register", forged, "w-all")[0], -403)
        self.assertEqual(native(b, "POST", "cancel",
                                [("zone", "sh001"), ("env", "dev"), ("appid", "svc"),
                                 ("hostname", "h1"), ("replication", "true")], None)[0], -401)
        self.assertEqual(native(b, "GET", "fetch/all", [], "w-all")[0], -403)
        self.assertNotIn("evil", b.instances("svc"))
        self.assertEqual(native(c, "POST", "cancel", instance("svc"), "w-all")[0], 0)
        for n in (a, b):
            eventually(lambda: "h1" not in n.instances("svc"), what="the cancel replicated")
        # A node that starts again syncs everything from its peers (fetch/all with the peer
        # token): h2, registered while it was down.
        c.stop()
        self.assertEqual(native(a, "POST", "register", instance("svc", "h2"), "w-all")[0], 0)
        cluster.nodes[2] = c = cluster.start(2)
        eventually(lambda: "h2" in c.instances("svc"), timeout=20, what="h2 synced at start")
        _, _, body = b.request("GET", "/metrics")
        self.assertIn('muster_access_denied_total{reason="forbidden",need="peer"} 1',
                      body.decode())

if __name__ == "__main__":
    unittest.main()

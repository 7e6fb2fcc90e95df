"""TLS and mTLS (issue 18, docs/security.md), with certificates the tests make with `openssl`:
a node serving HTTPS to Python's ssl, to the CLI and to libmuster (through the CLI's commands,
watch's resolver included); plain HTTP to the TLS port told what is wrong; long polls parked over
TLS; client certificates required, and a missing, wrong-CA or expired one refused and counted;
certificates reloaded on SIGHUP without dropping open connections (and a bad file keeping the old
ones); three nodes that replicate and sync over mTLS, where only the peer CA's certificates may
replicate."""
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import unittest

import muster_node
from muster_node import BIN, Node, eventually, free_ports
from test_sd import Sd
from tls_pki import Pki


def nodes_answer(node, ctx):
    """The parsed /discovery/nodes answer over a fresh TLS connection with `ctx`."""
    c = http.client.HTTPSConnection("127.0.0.1", node.port, timeout=5, context=ctx)
    try:
        c.request("GET", "/discovery/nodes")
        return json.loads(c.getresponse().read())
    finally:
        c.close()


def refused(node, ctx):
    """Whether a TLS request with `ctx` is refused (the handshake, or the first read under TLS
    1.3, fails)."""
    try:
        nodes_answer(node, ctx)
        return False
    except (ssl.SSLError, ConnectionError, OSError):
        return True


def run_cli(*args, env=None, timeout=20):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        cls.ca = cls.pki.ca("ca")
        cls.other_ca = cls.pki.ca("other")
        cls.cert, cls.key = cls.pki.issue("ca", "node")
        cls.ctx = cls.pki.client_context(cls.ca)

    @classmethod
    def tearDownClass(cls):
        cls.pki.cleanup()

    def setUp(self):
        self.node = Node("--tls-cert", self.cert, "--tls-key", self.key, "--poll-hold", "5s",
                         "--poll-jitter", "0s", tls=self.ctx)
        self.addCleanup(self.node.stop)

    def test_serves_https_and_tells_plain_http_what_is_wrong(self):
        self.assertEqual(nodes_answer(self.node, self.ctx)["code"], 0)
        self.assertEqual(self.node.register("h1")["code"], 0)
        self.assertIn("h1", self.node.instances())
        c = http.client.HTTPConnection("127.0.0.1", self.node.port, timeout=5)
        c.request("GET", "/discovery/nodes")
        r = c.getresponse()
        self.assertEqual(r.status, 400)
        self.assertIn(b"plain HTTP request was sent to a TLS port", r.read())
        c.close()
        # A client that does not trust the node's CA refuses it.
        self.assertTrue(refused(self.node, self.pki.client_context(self.other_ca)))
        self.assertGreaterEqual(self.node.metric("muster_http_tls_handshake_failures_total"), 2)
        self.assertEqual(self.node.register("h2")["code"], 0, "the node serves on")

    def test_tls_1_2_is_the_lowest_version(self):
        def s_client(*flags):
            return subprocess.run(
                ["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.node.port,
                 "-CAfile", self.ca, *flags], input="", capture_output=True, text=True,
                timeout=20).stdout

        # The client offers TLS 1.1 (its own floor lowered); the node answers with an alert.
        r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.node.port,
                            "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"], input="",
                           capture_output=True, text=True, timeout=20)
        self.assertIn("alert protocol version", r.stdout + r.stderr)
        for version in ("1_2", "1_3"):
            out = s_client("-tls" + version)
            # (The session block with "Protocol" comes only once a TLS 1.3 ticket was read.)
            self.assertIn("New, TLSv%s, Cipher is" % version.replace("_", "."), out)
            self.assertIn("Verify return code: 0 (ok)", out)

    def test_a_parked_poll_over_tls_wakes_and_sees_its_client_leave(self):
        self.node.register("h1")
        latest = self.node.fetch()["data"]["latest_timestamp"]
        answer = {}

        def poll():
            answer["env"] = self.node.call(
                "GET", "polls", [("env", "dev"), ("appid", "provider"), ("hostname", "me"),
                                 ("latest_timestamp", str(latest))])[0]

        t = threading.Thread(target=poll)
        t.start()
        eventually(lambda: self.node.metric("muster_parked_polls") == 1, what="a parked poll")
        self.node.register("h2")
        t.join(10)
        self.assertEqual(answer["env"]["code"], 0)
        self.assertIn("h2", {i["hostname"] for i in answer["env"]["data"]["provider"]["instances"]
                             ["sh001"]})
        # A client that leaves while parked frees its poll at once, TLS or not.
        latest = self.node.fetch()["data"]["latest_timestamp"]
        c = self.node.connect()
        c.request("GET", "/discovery/polls?env=dev&appid=provider&hostname=me&latest_timestamp=%d"
                  % latest)
        eventually(lambda: self.node.metric("muster_parked_polls") == 1, what="parked again")
        c.sock.close()
        eventually(lambda: self.node.metric("muster_parked_polls") == 0, what="the poll freed")

    def test_a_large_answer_to_a_slow_reader(self):
        # Answers over a record (16 KiB) go out as head and body; one larger than the socket's
        # buffers makes OpenSSL wait for the client to read (SSL_ERROR_WANT_WRITE).
        c = self.node.connect()
        meta = json.dumps({"k": "v" * 2000})
        for i in range(600):
            c.request("POST", "/discovery/register",
                      body="zone=sh001&env=dev&appid=big&hostname=h%d&status=1"
                           "&addrs=http://10.0.0.1:80&metadata=%s" % (i, meta),
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
            self.assertEqual(json.loads(c.getresponse().read())["code"], 0)
        c.close()
        raw = socket.create_connection(("127.0.0.1", self.node.port))
        tls = self.ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        tls.sendall(b"GET /discovery/fetch?appid=big&env=dev&status=3 HTTP/1.1\r\n"
                    b"Host: x\r\nConnection: close\r\n\r\n")
        time.sleep(1)  # the node's send buffer fills; it waits for us
        data = b""
        while True:
            chunk = tls.recv(65536)
            if not chunk:
                break
            data += chunk
        tls.close()
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertIn(b"200 OK", head)
        self.assertGreater(len(body), 1_000_000)
        answer = json.loads(body)
        self.assertEqual(len(answer["data"]["instances"]["sh001"]), 600)

    def test_cli_and_libmuster_over_https(self):
        node = "https://127.0.0.1:%d" % self.node.port
        r = run_cli("register", "--node", node, "--ca", self.ca, "--appid", "pay.api",
                    "--hostname", "h1", "--zone", "sh001", "--env", "dev",
                    "--addr", "http://10.0.0.1:80")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run_cli("fetch", "--node", node, "--env", "dev", "pay.api", "--json",
                    env={"MUSTER_CA": self.ca})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('"hostname":"h1"', r.stdout.replace(" ", ""))
        # The node's name may be used as well as its address: the certificate holds both.
        r = run_cli("nodes", "--node", "https://localhost:%d" % self.node.port, "--ca", self.ca)
        self.assertEqual(r.returncode, 0, r.stderr)
        # watch runs libmuster's Resolver (its long polls) over TLS.
        code, out, err = muster_node.watch(
            ["--node", node, "--ca", self.ca, "--env", "dev", "--count", "2", "pay.api"],
            change=lambda: self.node.register("h2", appid="pay.api", zone="sh001"))
        self.assertEqual(code, 0, err)
        self.assertIn("h2", out)
        # Wrong trust and wrong files are said as such.
        r = run_cli("nodes", "--node", node, "--ca", self.other_ca)
        self.assertEqual(r.returncode, 1)
        self.assertIn("certificate verify failed", r.stderr)
        r = run_cli("nodes", "--node", node, "--ca", self.pki.path("missing.pem"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("TLS: CA " + self.pki.path("missing.pem"), r.stderr)
        r = run_cli("nodes", "--node", "ftp://127.0.0.1:1")
        self.assertIn("only http:// and https:// are supported", r.stderr)

    def test_sighup_reloads_the_certificate_and_keeps_open_connections(self):
        kept = self.node.connect()
        kept.request("GET", "/discovery/nodes")
        self.assertEqual(kept.getresponse().read()[:9], b'{"code":0')
        # Same paths, a certificate from another CA: new connections get it after SIGHUP.
        cert2, key2 = self.pki.issue("other", "node2")
        live_cert, live_key = self.pki.path("live.pem"), self.pki.path("live.key")
        shutil.copy(self.cert, live_cert)
        shutil.copy(self.key, live_key)
        node = Node("--tls-cert", live_cert, "--tls-key", live_key, tls=self.ctx)
        self.addCleanup(node.stop)
        conn = node.connect()
        conn.request("GET", "/discovery/nodes")
        conn.getresponse().read()
        shutil.copy(cert2, live_cert)
        shutil.copy(key2, live_key)
        node.proc.send_signal(signal.SIGHUP)
        node.wait_for_log("SIGHUP: TLS certificates reloaded")
        other = self.pki.client_context(self.other_ca)
        self.assertEqual(nodes_answer(node, other)["code"], 0, "the new certificate")
        self.assertTrue(refused(node, self.ctx), "the old CA no longer fits new connections")
        conn.request("GET", "/discovery/nodes")
        self.assertEqual(conn.getresponse().status, 200, "the open connection goes on")
        conn.close()
        # A key that does not match the certificate: the reload fails, the old files stay.
        shutil.copy(self.key, live_key)
        node.proc.send_signal(signal.SIGHUP)
        line = node.wait_for_log("SIGHUP: TLS not reloaded")
        self.assertIn("key " + live_key, line)
        self.assertEqual(nodes_answer(node, other)["code"], 0)
        kept.close()

    def test_bad_tls_files_stop_the_start_with_a_reason(self):
        r = subprocess.run([BIN, "serve", "--listen", "127.0.0.1:0", "--tls-cert", self.cert,
                            "--tls-key", self.pki.path("missing.key")],
                           capture_output=True, text=True, timeout=20)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("TLS: key " + self.pki.path("missing.key"), r.stdout + r.stderr)
        r = subprocess.run([BIN, "serve", "--listen", "127.0.0.1:0", "--tls-cert", self.cert],
                           capture_output=True, text=True, timeout=20)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("TLS needs both --tls-cert and --tls-key", r.stdout + r.stderr)


class MutualTlsTest(unittest.TestCase):
    """--tls-client-ca: every client needs a certificate from that CA."""

    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        cls.ca = cls.pki.ca("ca")
        cls.pki.ca("other")
        cls.cert, cls.key = cls.pki.issue("ca", "node")
        cls.client = cls.pki.issue("ca", "client", server=False)
        cls.wrong_ca = cls.pki.issue("other", "stranger", server=False)
        cls.expired = cls.pki.issue("ca", "expired", server=False, days=-1)

    @classmethod
    def tearDownClass(cls):
        cls.pki.cleanup()

    def test_only_clients_with_a_valid_certificate_of_the_ca_are_served(self):
        good = self.pki.client_context(self.ca, self.client)
        node = Node("--tls-cert", self.cert, "--tls-key", self.key, "--tls-client-ca", self.ca,
                    tls=good)
        self.addCleanup(node.stop)
        self.assertEqual(nodes_answer(node, good)["code"], 0)
        self.assertTrue(refused(node, self.pki.client_context(self.ca)), "no certificate")
        self.assertTrue(refused(node, self.pki.client_context(self.ca, self.wrong_ca)),
                        "another CA's certificate")
        self.assertTrue(refused(node, self.pki.client_context(self.ca, self.expired)),
                        "an expired certificate")
        self.assertEqual(node.metric("muster_http_tls_handshake_failures_total"), 3)
        # The CLI presents its certificate with --cert and --key.
        addr = "https://127.0.0.1:%d" % node.port
        r = run_cli("nodes", "--node", addr, "--ca", self.ca, "--cert", self.client[0], "--key",
                    self.client[1])
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run_cli("nodes", "--node", addr, "--ca", self.ca)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(node.register("h1")["code"], 0, "the node serves on")


class TlsClusterTest(unittest.TestCase):
    """Three nodes over mTLS: node certificates from the peer CA, clients' from the client CA.
    Writes replicate, a restarted node syncs up, and a client (with a valid certificate, but not
    a peer's) cannot forge replication."""

    @classmethod
    def setUpClass(cls):
        cls.pki = Pki()
        cls.peer_ca = cls.pki.ca("peers")
        cls.client_ca = cls.pki.ca("clients")
        cls.node_certs = [cls.pki.issue("peers", "node%d" % i) for i in range(3)]
        cls.client = cls.pki.issue("clients", "client", server=False)
        cls.ctx = cls.pki.client_context(cls.peer_ca, cls.client)
        cls.ports = free_ports(3)
        cls.nodes_arg = ",".join("127.0.0.1:%d" % p for p in cls.ports)
        cls.nodes = [cls.start(i) for i in range(3)]

    @classmethod
    def start(cls, i):
        cert, key = cls.node_certs[i]
        return Node("--listen", "127.0.0.1:%d" % cls.ports[i], "--zone", "sh001", "--nodes",
                    cls.nodes_arg, "--peer-timeout", "1s", "--anti-entropy", "1s",
                    "--tls-cert", cert, "--tls-key", key, "--tls-client-ca", cls.client_ca,
                    "--tls-peer-ca", cls.peer_ca, self_register=True, tls=cls.ctx)

    @classmethod
    def tearDownClass(cls):
        for n in cls.nodes:
            if n.alive():
                n.stop()
        cls.pki.cleanup()

    def test_replicates_syncs_and_refuses_forged_replication(self):
        a, b, c = self.nodes
        for n in self.nodes:
            eventually(lambda: all(p["status"] == 0 for p in n.call("GET", "nodes")[0]["data"])
                       and len(n.call("GET", "nodes")[0]["data"]) == 3, what="peers up over TLS")
        self.assertEqual(a.register("h1", appid="tls.app")["code"], 0)
        for n in (b, c):
            eventually(lambda: "h1" in n.instances("tls.app"), what="h1 replicated over TLS")
        nodes = a.fetch("infra.discovery")["data"]["instances"]["sh001"]
        self.assertTrue(all(i["addrs"][0].startswith("https://") for i in nodes), nodes)

        # A client's forged replication: refused, and nothing changes.
        forged = [("zone", "sh001"), ("env", "dev"), ("appid", "tls.app"), ("hostname", "h9"),
                  ("addrs", "http://10.0.0.9:80"), ("status", "1"), ("replication", "true")]
        env = b.call("POST", "register", forged)[0]
        self.assertEqual(env["code"], -401, env)
        self.assertNotIn("h9", b.instances("tls.app"))
        _, _, raw = b.request("GET", "/discovery/fetch/all")
        self.assertEqual(json.loads(raw)["code"], -401, "a whole-registry read is a peer's")
        _, _, metrics = b.request("GET", "/metrics")
        self.assertIn('muster_access_denied_total{reason="missing",need="peer"} 1',
                      metrics.decode())

        # c restarts and gets what it missed from its peers over TLS.
        c.stop()
        self.assertEqual(a.register("h2", appid="tls.app")["code"], 0)
        self.nodes[2] = c = self.start(2)
        eventually(lambda: {"h1", "h2"} <= set(c.instances("tls.app")), what="c synced")
        self.assertEqual(c.register("h3", appid="tls.app")["code"], 0)
        eventually(lambda: "h3" in a.instances("tls.app"), what="c's write reaches a")


class SdOverTlsTest(unittest.TestCase):
    """muster sd's providers that speak HTTP reach a node that requires client certificates:
    muster_sd_configs (https:// nodes, through libmuster), http_sd_configs (an https:// url) and
    consul_sd_configs (scheme https), each with tls_config; a wrong CA is a counted failure."""

    def setUp(self):
        self.pki = Pki()
        self.addCleanup(self.pki.cleanup)
        ca = self.pki.ca("ca")
        self.pki.ca("other")
        cert, key = self.pki.issue("ca", "node")
        client = self.pki.issue("ca", "sd", server=False)
        self.node = Node("--tls-cert", cert, "--tls-key", key, "--tls-client-ca", ca,
                         tls=self.pki.client_context(ca, client))
        self.addCleanup(self.node.stop)
        self.node.register("h1", appid="pay.api", addrs=["http://127.0.0.1:30001"])
        tls = "        tls_config:\n          ca_file: %s\n          cert_file: %s\n" \
              "          key_file: %s\n" % (ca, client[0], client[1])
        wrong = "        tls_config:\n          ca_file: %s\n" % self.pki.path("other.pem")
        port = self.node.port
        jobs = (
            "  - job_name: native\n    muster_sd_configs:\n"
            "      - nodes: ['https://127.0.0.1:%d']\n        env: dev\n        appids: [pay.api]\n"
            % port + tls +
            "  - job_name: httpsd\n    http_sd_configs:\n"
            "      - url: https://127.0.0.1:%d/prometheus/sd?appid=pay.api&env=dev\n"
            "        refresh_interval: 1s\n" % port + tls +
            "  - job_name: consul\n    consul_sd_configs:\n"
            "      - server: 127.0.0.1:%d\n        scheme: https\n        datacenter: sh001\n"
            "        refresh_interval: 1s\n" % port + tls +
            "  - job_name: untrusted\n    http_sd_configs:\n"
            "      - url: https://127.0.0.1:%d/prometheus/sd?appid=pay.api&env=dev\n"
            "        refresh_interval: 1s\n" % port + wrong)
        path = self.pki.path("sd.yml")
        with open(path, "w") as f:
            f.write("throttle: 100ms\noutput:\n  listen: 127.0.0.1:0\nscrape_configs:\n" + jobs)
        self.sd = Sd(path)
        self.addCleanup(self.sd.stop)

    def targets(self, job):
        status, _, body = self.sd.get("/sd/" + job)
        if status != 200:
            return set()
        return {t for g in json.loads(body) for t in g["targets"]}

    def test_every_http_provider_speaks_tls(self):
        for job in ("native", "httpsd"):
            eventually(lambda: self.targets(job) == {"127.0.0.1:30001"}, timeout=15,
                       what="the %s job's target over TLS" % job)
        # The Consul API: consul_sd lists services by name (the node's self-registration is off).
        eventually(lambda: "127.0.0.1:30001" in self.targets("consul"), timeout=15,
                   what="the consul job's target over TLS")
        self.assertEqual(self.targets("untrusted"), set())
        # The fourth provider of the file (http/3), whose CA is not the node's.
        eventually(lambda: [l for l in self.sd.lines if "sd http/3: refresh failed" in l
                            and "certificate verify failed" in l], timeout=15,
                   what="the wrong CA in the log")


if __name__ == "__main__":
    unittest.main()

"""IPv6 end to end (issue 28): nodes on [::1], peers replicating over IPv6, the CLI and libmuster
(muster watch) to [::1], Consul HTTP and TCP checks of an IPv6 endpoint, and muster sd's targets
read from a node on [::1]. Everything on the IPv6 loopback."""
import http.server
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import unittest

import muster_node
from muster_node import BIN, eventually
from test_consul import ConsulNode
from test_sd import Sd, write_atomically


def free_ports_v6(n):
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def cli(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=30)


class V6HttpServer(http.server.HTTPServer):
    address_family = socket.AF_INET6


class Ipv6Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        a, b = free_ports_v6(2)
        peers = "[::1]:%d,[::1]:%d" % (a, b)
        cls.a = ConsulNode("--nodes", peers, listen="[::1]:%d" % a, host="::1",
                           self_register=True)
        cls.b = ConsulNode("--nodes", peers, listen="[::1]:%d" % b, host="::1",
                           self_register=True)
        cls.url_a = "http://[::1]:%d" % a
        cls.url_b = "http://[::1]:%d" % b

    @classmethod
    def tearDownClass(cls):
        for n in (cls.a, cls.b):
            n.stop()

    def test_peers_replicate_over_ipv6_and_the_cli_reaches_them(self):
        self.a.register("h1", appid="v6.api", addrs=("http://[::1]:8080",))
        eventually(lambda: "h1" in self.b.instances("v6.api"), what="h1 replicated to b")
        r = cli("fetch", "--node", self.url_b, "--env", "dev", "v6.api", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('"http://[::1]:8080"', r.stdout.replace(" ", ""))
        r = cli("nodes", "--node", self.url_a)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("[::1]:%d" % self.b.port, r.stdout)
        self.assertIn("UP", r.stdout)

    def test_libmuster_watches_a_node_on_ipv6(self):
        self.a.register("w1", appid="v6.watch")
        # w2 goes to b, reaches a as its peer, and a's poll answers the watch.
        code, out, err = muster_node.watch(
            ["--node", self.url_a, "--env", "dev", "--count", "2", "v6.watch"],
            change=lambda: self.b.register("w2", appid="v6.watch"))
        self.assertEqual(code, 0, err)
        self.assertIn("w2", out)

    def test_consul_checks_of_an_ipv6_endpoint(self):
        web = V6HttpServer(("::1", 0), http.server.SimpleHTTPRequestHandler)
        web.RequestHandlerClass.log_message = lambda *args: None
        threading.Thread(target=web.serve_forever, daemon=True).start()
        self.addCleanup(web.server_close)
        self.addCleanup(web.shutdown)
        port = web.server_address[1]
        body = {"Name": "v6web", "ID": "v6web-1", "Address": "::1", "Port": port,
                "Checks": [{"HTTP": "http://[::1]:%d/" % port, "Interval": "1s"},
                           {"TCP": "[::1]:%d" % port, "Interval": "1s"}]}
        self.assertEqual(self.a.put("/v1/agent/service/register", json.dumps(body))[0], 200)
        eventually(lambda: len(self.a.read("/v1/health/service/v6web?passing")[0]) == 1,
                   timeout=15, what="both checks of [::1] passing")
        checks = {c["CheckID"]: c for c in self.a.read("/v1/health/checks/v6web")[0]}
        self.assertEqual(checks["service:v6web-1:2"]["Output"],
                         "TCP connect [::1]:%d: Success" % port)

    def test_muster_sd_reads_targets_from_a_node_on_ipv6(self):
        self.a.register("s1", appid="v6.scraped", addrs=("http://[::1]:9100",))
        d = tempfile.mkdtemp(prefix="muster-sd-v6-")
        self.addCleanup(shutil.rmtree, d, True)
        config = os.path.join(d, "sd.yml")
        write_atomically(config, "throttle: 0s\noutput:\n  listen: 127.0.0.1:0\n"
                         "scrape_configs:\n  - job_name: v6\n    muster_sd_configs:\n"
                         "      - nodes: ['%s']\n        env: dev\n        appids: [v6.scraped]\n"
                         % ("[::1]:%d" % self.a.port))
        sd = Sd(config)
        self.addCleanup(sd.stop)

        def targets():
            status, _, body = sd.get("/sd/v6")
            return [t for g in json.loads(body) for t in g["targets"]] if status == 200 else None

        eventually(lambda: targets() == ["[::1]:9100"], timeout=20, what="the IPv6 target")


if __name__ == "__main__":
    unittest.main()

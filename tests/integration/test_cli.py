"""The client subcommands of `muster` against a real node (issue 4): register, renew, cancel,
set, fetch, fetchs, polls, watch, nodes; tables by default, --json, DISCOVERY_NODES, and errors
that say what went wrong with a non-zero exit."""
import http.server
import json
import os
import signal
import subprocess
import threading
import time
import unittest

import muster_node
from muster_node import BIN, Node, eventually

IDENT = ["--appid", "demo", "--zone", "sh001", "--env", "dev"]


class CliTest(unittest.TestCase):
    def setUp(self):
        self.node = Node()
        self.addr = f"127.0.0.1:{self.node.port}"

    def tearDown(self):
        self.node.stop()

    def cli(self, *args, env=None, timeout=20):
        e = {k: v for k, v in os.environ.items()
             if k not in ("DISCOVERY_NODES", "ZONE", "DEPLOY_ENV", "HOSTNAME", "REGION")}
        e.update(env or {})
        if "DISCOVERY_NODES" not in e and "--node" not in args:
            args = (*args, "--node", self.addr)
        return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout, env=e)

    def register(self, hostname, *extra):
        r = self.cli("register", *IDENT, "--hostname", hostname, "--addr",
                     "http://127.0.0.1:8000", *extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def test_register_fetch_set_renew_cancel(self):
        r = self.register("h1", "--addr", "grpc://127.0.0.1:9000", "--version", "v7",
                          "--metadata", "weight=20", "--metadata", "color=red")
        self.assertIn("registered demo h1", r.stdout)
        inst = self.node.instances("demo")["h1"]
        self.assertEqual(inst["addrs"], ["http://127.0.0.1:8000", "grpc://127.0.0.1:9000"])
        self.assertEqual(inst["metadata"], {"weight": "20", "color": "red"})
        self.assertEqual(inst["version"], "v7")

        table = self.cli("fetch", "demo", "--env", "dev")
        self.assertEqual(table.returncode, 0, table.stderr)
        lines = table.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["APPID", "ZONE", "HOSTNAME", "STATUS", "VERSION",
                                            "ADDRS", "METADATA"])
        self.assertEqual(lines[1].split(), ["demo", "sh001", "h1", "UP", "v7",
                                            "http://127.0.0.1:8000,grpc://127.0.0.1:9000",
                                            "color=red,weight=20"])
        data = json.loads(self.cli("fetch", "demo", "--env", "dev", "--json").stdout)
        self.assertEqual(data["instances"]["sh001"][0]["hostname"], "h1")

        r = self.cli("set", *IDENT, "--hostname", "h1", "--status", "2", "--metadata", "color=blue")
        self.assertEqual(r.returncode, 0, r.stderr)
        inst = self.node.instances("demo")["h1"]
        self.assertEqual((inst["status"], inst["metadata"]["color"]), (2, "blue"))
        self.assertIn(" DOWN ", self.cli("fetch", "demo", "--env", "dev").stdout)

        before = inst["renew_timestamp"]
        r = self.cli("renew", *IDENT, "--hostname", "h1", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["code"], 0)
        self.assertGreater(self.node.instances("demo")["h1"]["renew_timestamp"], before)

        r = self.cli("cancel", *IDENT, "--hostname", "h1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("cancelled demo h1", r.stdout)
        self.assertEqual(self.node.instances("demo"), {})

    def test_status_filter_and_options_before_the_appid(self):
        self.register("h1")
        self.register("h2", "--metadata", "a=1", "--addr", "grpc://127.0.0.1:9000")
        self.assertEqual(self.cli("set", *IDENT, "--hostname", "h1", "--status", "2").returncode, 0)
        # Repeatable options take one value each: the appid after --node is still the appid.
        for command in ("fetch", "fetchs"):
            hosts = {}
            for status in ("1", "2", "3"):
                r = self.cli(command, "--status", status, "--node", self.addr, "demo",
                             "--env", "dev")
                self.assertEqual(r.returncode, 0, r.stderr)
                hosts[status] = [l.split()[2] for l in r.stdout.splitlines()[1:]]
            self.assertEqual(hosts, {"1": ["h2"], "2": ["h1"], "3": ["h1", "h2"]}, command)
        inst = self.node.instances("demo")["h2"]
        self.assertEqual(inst["addrs"], ["http://127.0.0.1:8000", "grpc://127.0.0.1:9000"])
        self.assertEqual(inst["metadata"], {"a": "1"})

    def test_fetchs_polls_and_nodes(self):
        self.register("h1")
        self.cli("register", "--appid", "other", "--zone", "sh002", "--env", "dev",
                 "--hostname", "o1", "--addr", "http://127.0.0.1:8001")
        r = self.cli("fetchs", "demo", "other", "--env", "dev")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = [l.split()[:3] for l in r.stdout.splitlines()[1:]]
        self.assertEqual(rows, [["demo", "sh001", "h1"], ["other", "sh002", "o1"]])
        self.assertEqual(set(json.loads(self.cli("fetchs", "demo", "other", "--env", "dev",
                                                 "--json").stdout)), {"demo", "other"})

        r = self.cli("polls", "demo", "ghost", "--env", "dev")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("not found: ghost", r.stdout)
        latest = int(r.stdout.split("latest_timestamp demo ")[1].split()[0])
        # Up to date: the node waits for the hold, then nothing changed.
        started = time.monotonic()
        r = self.cli("polls", "demo", "--env", "dev", "--latest-timestamp", str(latest),
                     "--hold", "1s")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("nothing changed within 1s", r.stdout)
        self.assertGreater(time.monotonic() - started, 0.9)
        # A change while it waits answers at once.
        waiting = subprocess.Popen([BIN, "polls", "demo", "--env", "dev", "--latest-timestamp",
                                    str(latest), "--json", "--node", self.addr],
                                   stdout=subprocess.PIPE, text=True)
        time.sleep(0.3)
        self.register("h2")
        out, _ = waiting.communicate(timeout=10)
        self.assertEqual(sorted(i["hostname"] for i in
                                json.loads(out)["data"]["demo"]["instances"]["sh001"]),
                         ["h1", "h2"])

        r = self.cli("nodes")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines()[1].split(), [self.addr, "local", "UP"])
        self.assertEqual(json.loads(self.cli("nodes", "--json").stdout)[0]["addr"], self.addr)

    def test_watch_prints_each_change_until_interrupted(self):
        self.register("h1")
        w = subprocess.Popen([BIN, "watch", "demo", "--env", "dev", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "DISCOVERY_NODES": self.addr})
        try:
            first = json.loads(w.stdout.readline())
            self.assertEqual([i["hostname"] for i in first["instances"]], ["h1"])
            self.register("h2")
            second = json.loads(w.stdout.readline())
            self.assertEqual([i["hostname"] for i in second["instances"]], ["h1", "h2"])
            self.cli("cancel", *IDENT, "--hostname", "h1")
            third = json.loads(w.stdout.readline())
            self.assertEqual([i["hostname"] for i in third["instances"]], ["h2"])
            w.send_signal(signal.SIGINT)
            self.assertEqual(w.wait(10), 0)
        finally:
            if w.poll() is None:
                w.kill()
                w.wait()
            w.stdout.close()
            w.stderr.close()
        # The table form, bounded by --count.
        r = self.cli("watch", "demo", "--env", "dev", "--count", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        # A local time, not epoch milliseconds (issue 14.9): "# 2026-11-29 23:40:01.123 demo: ..."
        self.assertRegex(r.stdout.splitlines()[0],
                         r"^# \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} demo: 1 instance\(s\)$")
        self.assertEqual(r.stdout.splitlines()[2].split()[:3], ["demo", "sh001", "h2"])

    def test_environment_defaults_like_kratos(self):
        env = {"DISCOVERY_NODES": f"127.0.0.1:1, {self.addr}", "ZONE": "sh001",
               "DEPLOY_ENV": "dev", "HOSTNAME": "envhost", "REGION": "sh"}
        for _ in range(3):  # whichever node it starts at, the dead one is skipped
            r = self.cli("register", "--appid", "demo", "--addr", "http://127.0.0.1:8000",
                         env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
        inst = self.node.instances("demo")["envhost"]
        self.assertEqual((inst["zone"], inst["env"], inst["region"]), ("sh001", "dev", "sh"))
        self.assertEqual(self.cli("fetch", "demo", env=env).returncode, 0)

    def test_errors_say_what_is_wrong_and_exit_non_zero(self):
        cases = [
            (["renew", *IDENT, "--hostname", "nobody"], "answered -404"),
            (["fetch", "ghost", "--env", "dev"], "ghost not found"),
            (["nodes", "--node", "127.0.0.1:1"], "no node answered (tried 127.0.0.1:1)"),
            (["register", *IDENT, "--addr", "http://x:1"], "no hostname"),
            (["register", *IDENT, "--hostname", "h", "--addr", "http://x:1", "--metadata", "bad"],
             '--metadata "bad" is not key=value'),
            (["set", *IDENT, "--hostname", "h"], "nothing to set"),
            (["fetch", "demo"], "no env"),
            (["polls", "a", "b", "--env", "dev", "--latest-timestamp", "1"],
             "one --latest-timestamp per appid"),
            (["fetch", "demo", "--env", "dev", "--timeout", "soon"], "--timeout"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                r = self.cli(*args)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn(message, r.stderr)
        r = self.cli("nodes", "--node", "")
        self.assertNotEqual(r.returncode, 0)
        r = subprocess.run([BIN, "nodes"], capture_output=True, text=True, timeout=10,
                           env={k: v for k, v in os.environ.items() if k != "DISCOVERY_NODES"})
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no registry node", r.stderr)
        r = self.cli("register", "--appid", "x")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--addr is required", r.stderr)

    def test_usage_errors_name_the_problem_and_exit_2(self):
        # Issue 14.9: a typo names the unknown option; usage errors exit 2, failures 1.
        r = self.cli("fetch", "--evn", "dev", "provider")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("unknown option --evn", r.stderr)
        self.assertEqual(self.cli("fetch", "--env", "dev").returncode, 2)  # no appid
        self.assertEqual(self.cli("register", *IDENT, "--hostname", "h", "--addr", "http://x:1",
                                  "--status", "7").returncode, 2)
        self.assertEqual(self.cli("fetch", "ghost", "--env", "dev").returncode, 1)
        # Option values that start with '-' are values, not options.
        r = self.cli("polls", "demo", "--env", "dev", "--latest-timestamp", "-1", "--hold", "1ms")
        self.assertNotIn("unknown option", r.stderr)
        for args in (["--version"], ["version"]):
            r = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout, r"^muster \d+\.\d+\.\d+\n$")

    def test_node_may_be_given_as_an_http_url(self):
        self.register("h1")
        r = self.cli("fetch", "demo", "--env", "dev", "--node", "http://%s/" % self.addr)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("h1", r.stdout)
        # https:// to a plain HTTP node: the handshake fails, and says so.
        r = self.cli("fetch", "demo", "--env", "dev", "--node", "https://%s" % self.addr)
        self.assertEqual(r.returncode, 1)
        self.assertIn("TLS handshake with 127.0.0.1", r.stderr)
        r = self.cli("fetch", "demo", "--env", "dev", "--node", "grpc://%s" % self.addr)
        self.assertEqual(r.returncode, 1)
        self.assertIn("only http:// and https:// are supported", r.stderr)

    def test_register_keep_renews_and_cancels_on_sigterm(self):
        k = subprocess.Popen([BIN, "register", *IDENT, "--hostname", "kept", "--addr",
                              "http://127.0.0.1:8000", "--keep", "--interval", "200ms",
                              "--node", self.addr],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.assertIn("registered demo kept", k.stdout.readline())
            first = self.node.instances("demo")["kept"]["renew_timestamp"]
            eventually(lambda: self.node.instances("demo")["kept"]["renew_timestamp"] > first,
                       what="a renew")
            k.send_signal(signal.SIGTERM)
            self.assertEqual(k.wait(10), 0, k.stderr.read())
            self.assertIn("cancelled demo kept", k.stdout.read())
            self.assertNotIn("kept", self.node.instances("demo"))
        finally:
            if k.poll() is None:
                k.kill()
                k.wait()
            k.stdout.close()
            k.stderr.close()

    def test_watch_says_when_its_node_is_down_and_back(self):
        self.register("h1")
        port = self.node.port
        w = subprocess.Popen([BIN, "watch", "demo", "--env", "dev", "--node", self.addr],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.assertTrue(w.stdout.readline().startswith("# "))
            self.node.stop()
            line = w.stderr.readline()
            self.assertIn("muster watch: node %s" % self.addr, line)
            self.assertIn("no answer", line)
            self.node = Node("--listen", "127.0.0.1:%d" % port)
            self.assertIn("muster watch: connected to node %s" % self.addr, w.stderr.readline())
        finally:
            w.kill()
            w.wait()
            w.stdout.close()
            w.stderr.close()


class OlderNode(http.server.BaseHTTPRequestHandler):
    """Stands in for a node that stored text that is not UTF-8 (an older muster or a node of
    another make; muster itself refuses such text now, so it cannot serve it)."""

    def instance(self, appid, hostname):
        return (b'{"appid":"%s","zone":"sh001","env":"dev","hostname":"%s","status":1,'
                b'"addrs":["http://127.0.0.1:1"],"metadata":{}}' % (appid, hostname))

    def info(self, appid, hostnames):
        return (b'{"instances":{"sh001":[' + b",".join(self.instance(appid, h) for h in hostnames) +
                b']},"latest_timestamp":%d}' % self.server.version)

    def do_GET(self):
        if self.path.startswith("/discovery/fetch?"):
            data = self.info(b"demo", [b"good", b"bad\xff"])
        elif self.path.startswith("/discovery/polls?"):
            if "latest_timestamp=%d" % self.server.version in self.path:
                time.sleep(0.5)  # nothing new: a short hold, then -304
                body = b'{"code":-304,"message":"-304","ttl":1}'
                self.send(body)
                return
            data = (b'{"demo":' + self.info(b"demo", [b"good", b"bad\xff"]) + b',"other":' +
                    self.info(b"other", [b"o1"]) + b"}")
        else:
            self.send_error(404)
            return
        self.send(b'{"code":0,"message":"0","ttl":1,"data":' + data + b"}")

    def send(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class UnreadableAnswersTest(unittest.TestCase):
    """Issue 15.1: one instance the CLI cannot read costs only itself."""

    def setUp(self):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), OlderNode)
        self.server.version = 7
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.addr = "127.0.0.1:%d" % self.server.server_address[1]

    def test_fetch_prints_what_it_can_read_and_says_what_it_skipped(self):
        for extra in ([], ["--json"]):
            r = subprocess.run([BIN, "fetch", "demo", "--env", "dev", "--node", self.addr, *extra],
                               capture_output=True, timeout=20)
            self.assertEqual(r.returncode, 0, r.stderr)
            out = r.stdout.decode("utf-8")  # what the CLI prints is always UTF-8
            self.assertIn("good", out)
            self.assertNotIn("bad", out)
            self.assertIn(b"skipped 1 unreadable instance", r.stderr)

    def test_watch_goes_on_with_both_apps(self):
        code, text, err = muster_node.watch(
            ["demo", "other", "--env", "dev", "--node", self.addr, "--count", "2"])
        self.assertEqual(code, 0, err)
        self.assertRegex(text, r"demo: 1 instance")
        self.assertRegex(text, r"other: 1 instance")
        self.assertIn("skipped 1 unreadable instance", err)


if __name__ == "__main__":
    unittest.main()

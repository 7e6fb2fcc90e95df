"""Start-up options, the YAML config file, init-protect, /metrics and shutdown."""
import signal
import subprocess
import threading
import time
import unittest

from muster_node import BIN, Node, eventually, free_ports, write_yaml


class ShutdownTest(unittest.TestCase):
    def test_sigterm_answers_parked_polls_with_304_and_exits_0(self):
        node = Node("--poll-hold", "30s")
        node.register()
        lts = node.fetch()["data"]["latest_timestamp"]
        results = []

        def poll():
            results.append(node.call("GET", "polls", [("env", "dev"), ("hostname", "c"), ("appid", "provider"),
                                                      ("latest_timestamp", str(lts))], timeout=20)[0])

        threads = [threading.Thread(target=poll) for _ in range(5)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 5
        while node.metric("muster_parked_polls") < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        start = time.monotonic()
        self.assertEqual(node.stop(signal.SIGTERM), 0)
        self.assertLess(time.monotonic() - start, 5)
        for t in threads:
            t.join(5)
        self.assertEqual([r["code"] for r in results], [-304] * 5)

    def test_sigint_exits_0(self):
        node = Node()
        self.assertEqual(node.stop(signal.SIGINT), 0)


class InitProtectTest(unittest.TestCase):
    def test_reads_refused_until_timeout_writes_accepted(self):
        node = Node("--init-protect", "true", "--init-protect-timeout", "1s")
        try:
            self.assertEqual(node.register()["code"], 0)
            for route, params in [("fetch", [("env", "dev"), ("appid", "provider"), ("status", "1")]),
                                  ("fetchs", [("env", "dev"), ("appid", "provider"), ("status", "1")]),
                                  ("fetch/all", []), ("nodes", []),
                                  ("polls", [("env", "dev"), ("hostname", "c"), ("appid", "provider"),
                                             ("latest_timestamp", "0")]),
                                  ("poll", [("env", "dev"), ("hostname", "c"), ("appid", "provider")])]:
                r = node.call("GET", route, params)[0]
                self.assertEqual(r, {"code": -500, "message": "init protect: reads refused until syncup", "ttl": 1},
                                 route)
            self.assertEqual(node.metric("muster_init_protect"), 1)
            time.sleep(1.1)
            self.assertEqual(node.fetch()["code"], 0)
            self.assertEqual(node.metric("muster_init_protect"), 0)
        finally:
            self.assertEqual(node.stop(), 0)


class ConfigTest(unittest.TestCase):
    def write(self, text):
        return write_yaml(self, text)

    def test_yaml_file_sets_options_and_the_command_line_wins(self):
        path = self.write("zone: sh001\nenv: prod\npoll_hold: 1s\npoll-jitter: 0s\nhostname: from-file\n")
        node = Node("--hostname", "from-cli", config=path)
        try:
            self.assertEqual(node.call("GET", "nodes")[0]["data"][0]["zone"], "sh001")
            self.assertTrue(any("hostname from-cli" in line for line in node.log), node.log)
            node.register(env="dev")
            lts = node.fetch()["data"]["latest_timestamp"]
            start = time.monotonic()
            r = node.call("GET", "polls", [("env", "dev"), ("hostname", "c"), ("appid", "provider"),
                                           ("latest_timestamp", str(lts))])[0]
            self.assertEqual(r["code"], -304)
            self.assertLess(time.monotonic() - start, 2.5, "poll_hold from the file applies")
        finally:
            self.assertEqual(node.stop(), 0)

    def run_bad(self, *args):
        p = subprocess.run([BIN, "serve", "--listen", "127.0.0.1:0", *args], capture_output=True, text=True, timeout=20)
        self.assertNotEqual(p.returncode, 0)
        return p.stdout + p.stderr

    def test_unknown_key_names_key_and_line(self):
        path = self.write("zone: a\n\npoll_hodl: 3s\n")
        out = self.run_bad("--config", path)
        self.assertIn('unknown key "poll_hodl"', out)
        self.assertIn(":3:", out)

    def test_bad_values_are_explained(self):
        self.assertIn('invalid duration "soon"', self.run_bad("--poll-hold", "soon"))
        self.assertIn("is not host:port", self.run_bad("--listen", "nowhere"))
        self.assertIn("--self-protection", self.run_bad("--self-protection", "maybe"))

    def test_port_in_use_is_a_clear_error(self):
        node = Node()
        try:
            p = subprocess.run([BIN, "serve", "--listen", f"127.0.0.1:{node.port}"], capture_output=True,
                               text=True, timeout=20)
            self.assertEqual(p.returncode, 1)
            self.assertIn(f"cannot listen on 127.0.0.1:{node.port}", p.stdout + p.stderr)
        finally:
            self.assertEqual(node.stop(), 0)

    def test_host_names_resolve_and_never_abort(self):
        # Issue 14.5: localhost is resolved; a name that does not resolve is a message and exit 1.
        node = Node("--listen", "localhost:0")
        try:
            self.assertEqual(node.fetch("nobody")["code"], -404)
        finally:
            self.assertEqual(node.stop(), 0)
        p = subprocess.run([BIN, "serve", "--listen", "no-such-host.invalid:7171"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn('cannot resolve host "no-such-host.invalid"', p.stdout + p.stderr)

    def test_help_explains_options(self):
        p = subprocess.run([BIN, "serve", "--help"], capture_output=True, text=True, timeout=20)
        self.assertEqual(p.returncode, 0)
        for option in ["--listen", "--zone", "--env", "--region", "--hostname", "--poll-hold", "--evict-after",
                       "--evict-interval", "--self-protection", "--config"]:
            self.assertIn(option, p.stdout)
        p = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=20)
        self.assertEqual(p.returncode, 0)
        self.assertIn("serve", p.stdout)


class AddressTest(unittest.TestCase):
    """Issue 14.11: a node knows itself by address, and advertises an address others can use."""

    def test_a_node_listed_under_another_name_does_not_peer_with_itself(self):
        port = free_ports(1)[0]
        node = Node("--listen", "127.0.0.1:%d" % port, "--nodes", "localhost:%d" % port,
                    self_register=True)
        try:
            nodes = node.call("GET", "nodes")[0]["data"]
            self.assertEqual([n["addr"] for n in nodes], ["127.0.0.1:%d" % port])
            self.assertIn("localhost:%d is this node" % port, "".join(node.log))
        finally:
            self.assertEqual(node.stop(), 0)

    def test_a_node_bound_to_every_address_advertises_a_usable_one(self):
        node = Node("--listen", "0.0.0.0:0", self_register=True)
        try:
            addr = node.call("GET", "nodes")[0]["data"][0]["addr"]
            self.assertFalse(addr.startswith("0.0.0.0"), addr)
            self.assertTrue(addr.endswith(":%d" % node.port), addr)
            # The node registers itself once its start-up syncup pass is done.
            infra = eventually(lambda: node.instances("infra.discovery"), what="infra.discovery")
            self.assertEqual([i["addrs"] for i in infra.values()], [["http://" + addr]])
        finally:
            self.assertEqual(node.stop(), 0)


class GuardTest(unittest.TestCase):
    def test_a_small_registry_is_not_frozen(self):
        # Issue 14.6: one instance registered once and never renewed is evicted on a default
        # node, whose own infra.discovery entry no longer makes the guard protect.
        node = Node("--evict-after", "1s", "--evict-interval", "500ms", self_register=True)
        try:
            node.register("once")
            eventually(lambda: "once" not in node.instances(), timeout=15, what="once evicted")
            self.assertEqual(node.metric("muster_protect_mode"), 0)
            self.assertIn(node.call("GET", "nodes")[0]["data"][0]["addr"],
                          [i["addrs"][0][7:] for i in node.instances("infra.discovery").values()])
        finally:
            self.assertEqual(node.stop(), 0)


class LogTest(unittest.TestCase):
    """Issue 14.10: log lines say who and why, and only when something happened."""

    def test_eviction_is_logged_only_when_something_happened(self):
        node = Node("--evict-after", "300ms", "--evict-interval", "100ms")
        try:
            for host in ("e1", "e2"):
                node.register(host)
                eventually(lambda: host not in node.instances(), what=host + " evicted")
            # Many ticks ran (at least three per eviction); two had news.
            node.wait_for_log("eviction: 1 expired, 1 evicted")
        finally:
            self.assertEqual(node.stop(), 0)
        lines = [l for l in node.log if "eviction:" in l]
        self.assertEqual(len(lines), 2, lines)

    def test_syncup_failure_says_why_and_backs_off(self):
        dead = free_ports(1)[0]
        node = Node("--nodes", "127.0.0.1:%d" % dead, "--peer-timeout", "500ms")
        try:
            line = node.wait_for_log("syncup from 127.0.0.1:%d failed" % dead)
            self.assertIn("failed: no answer", line)
            self.assertIn("next try in 5s", line)
        finally:
            self.assertEqual(node.stop(), 0)


class MetricsTest(unittest.TestCase):
    def test_metrics_families(self):
        node = Node()
        try:
            node.register()
            node.register(status=7)
            node.fetch()
            status, headers, body = node.request("GET", "/metrics")
            self.assertEqual(status, 200)
            self.assertTrue(headers["content-type"].startswith("text/plain; version=0.0.4"))
            text = body.decode()
            for name in ["muster_instances 1", "muster_apps 1", "muster_parked_polls 0", "muster_protect_mode",
                         "muster_renews_last_interval", "muster_evictions_total 0",
                         'muster_requests_total{route="/discovery/register",code="0"} 1',
                         'muster_requests_total{route="/discovery/register",code="-400"} 1',
                         'muster_request_duration_seconds_bucket{route="/discovery/fetch",le="+Inf"} 1']:
                self.assertIn(name, text)
        finally:
            self.assertEqual(node.stop(), 0)


if __name__ == "__main__":
    unittest.main()

"""Long polls over HTTP (docs/decisions.md §4): park, wake on register/set/cancel/evict, -304 at the
end of the hold, the bm timeout header, disconnects."""
import json
import socket
import threading
import time
import unittest

from muster_node import Node


class Poller(threading.Thread):
    """Runs one poll in the background and keeps its answer and how long it took."""

    def __init__(self, node, route, params, headers=None):
        super().__init__(daemon=True)
        self.node, self.route, self.params, self.headers = node, route, params, headers
        self.result = None
        self.elapsed = None

    def run(self):
        start = time.monotonic()
        self.result = self.node.call("GET", self.route, self.params, timeout=30, headers=self.headers)[0]
        self.elapsed = time.monotonic() - start

    def answer(self, timeout=10):
        self.join(timeout)
        assert not self.is_alive(), "poll did not return"
        return self.result


class PollsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node("--poll-hold", "2s", "--poll-jitter", "0s")

    @classmethod
    def tearDownClass(cls):
        assert cls.node.stop() == 0

    def setUp(self):
        self.app = self.id().rsplit(".", 1)[1]

    def latest(self, app=None):
        return self.node.fetch(app or self.app)["data"]["latest_timestamp"]

    def polls(self, apps_and_lts, **extra):
        params = [("env", "dev"), ("hostname", "c1")]
        params += [("appid", a) for a, _ in apps_and_lts]
        params += [("latest_timestamp", str(t)) for _, t in apps_and_lts]
        params += list(extra.items())
        return params

    def parked(self, poller, count=1):
        """Starts a poller and waits until the node says it is parked."""
        before = self.node.metric("muster_parked_polls")
        poller.start()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.node.metric("muster_parked_polls") >= before + count:
                return poller
            time.sleep(0.01)
        self.fail("poll did not park")

    def test_zero_timestamp_answers_at_once_with_missing_listed(self):
        self.node.register(appid=self.app)
        start = time.monotonic()
        r = self.node.call("GET", "polls", self.polls([(self.app, 0), ("ghost", 0)]))[0]
        self.assertLess(time.monotonic() - start, 1.0)
        self.assertEqual(r["code"], 0)
        self.assertEqual(list(r["data"].keys()), [self.app])
        self.assertEqual(r["error"], {"-404": ["ghost"]})
        self.assertEqual(list(r.keys()), ["code", "message", "ttl", "data", "error"])

    def test_current_timestamp_times_out_with_304(self):
        self.node.register(appid=self.app)
        p = Poller(self.node, "polls", self.polls([(self.app, self.latest())]))
        p.start()
        r = p.answer()
        self.assertEqual(r, {"code": -304, "message": "not modified", "ttl": 1})
        self.assertGreaterEqual(p.elapsed, 1.9)

    def test_register_wakes_a_parked_poll(self):
        self.node.register(appid=self.app)
        lts = self.latest()
        p = self.parked(Poller(self.node, "polls", self.polls([(self.app, lts)])))
        self.node.register("h2", appid=self.app)
        r = p.answer()
        self.assertEqual(r["code"], 0)
        self.assertGreater(r["data"][self.app]["latest_timestamp"], lts)
        self.assertEqual(sorted(i["hostname"] for i in r["data"][self.app]["instances"]["sh001"]), ["h1", "h2"])
        self.assertLess(p.elapsed, 1.5)

    def test_set_wakes_and_raises_latest(self):
        self.node.register(appid=self.app)
        self.node.register("h2", appid=self.app)
        lts = self.latest()
        p = self.parked(Poller(self.node, "polls", self.polls([(self.app, lts)])))
        self.node.call("POST", "set", [("zone", "sh001"), ("env", "dev"), ("appid", self.app),
                                       ("hostname", "h2"), ("status", "2")])
        r = p.answer()
        self.assertEqual(r["code"], 0)
        self.assertGreater(r["data"][self.app]["latest_timestamp"], lts)
        hosts = [i["hostname"] for i in r["data"][self.app]["instances"]["sh001"]]
        self.assertEqual(hosts, ["h1"], "poll answers carry UP instances only")

    def test_cancel_of_last_instance_wakes_with_404_list(self):
        self.node.register(appid=self.app)
        p = self.parked(Poller(self.node, "polls", self.polls([(self.app, self.latest())])))
        self.node.call("POST", "cancel", [("zone", "sh001"), ("env", "dev"), ("appid", self.app), ("hostname", "h1")])
        r = p.answer()
        self.assertEqual((r["code"], r["data"], r["error"]), (0, {}, {"-404": [self.app]}))
        self.assertLess(p.elapsed, 1.5)

    def test_an_app_gone_before_the_poll_arrives_is_told_to_who_asks(self):
        # The last instance leaves between one answer and the next poll: libmuster asks with
        # report_missing and hears it at once; kratos's poll (no flag) waits as before.
        self.node.register(appid=self.app)
        lts = self.latest()
        self.node.call("POST", "cancel", [("zone", "sh001"), ("env", "dev"), ("appid", self.app), ("hostname", "h1")])
        start = time.monotonic()
        r = self.node.call("GET", "polls", self.polls([(self.app, lts)], report_missing="true"))[0]
        self.assertLess(time.monotonic() - start, 1.5)
        self.assertEqual((r["code"], r["data"], r["error"]), (0, {}, {"-404": [self.app]}))
        p = Poller(self.node, "polls", self.polls([(self.app, lts)]))
        p.start()
        self.assertEqual(p.answer()["code"], -304)

    def test_missing_app_parks_until_it_is_registered(self):
        p = self.parked(Poller(self.node, "polls", self.polls([(self.app, 0)])))
        self.node.register(appid=self.app)
        r = p.answer()
        self.assertEqual(r["code"], 0)
        self.assertIn(self.app, r["data"])
        self.assertEqual(r["error"], {"-404": []})

    def test_all_down_app_does_not_answer_at_once(self):
        self.node.register(appid=self.app, status=2)
        p = Poller(self.node, "polls", self.polls([(self.app, 0)]))
        p.start()
        r = p.answer()
        self.assertEqual(r["code"], -304)

    def test_count_mismatch_and_missing_hostname(self):
        r = self.node.call("GET", "polls", [("env", "dev"), ("hostname", "c"), ("appid", "a"), ("appid", "b"),
                                            ("latest_timestamp", "0")])[0]
        self.assertEqual(r["code"], -400)
        r = self.node.call("GET", "polls", [("env", "dev"), ("appid", "a"), ("latest_timestamp", "0")])[0]
        self.assertEqual((r["code"], r["message"]), (-400, "hostname is required"))

    def test_single_poll(self):
        r = self.node.call("GET", "poll", [("env", "dev"), ("hostname", "c"), ("appid", self.app)])[0]
        self.assertEqual(r, {"code": -404, "message": f"{self.app} not found", "ttl": 1})
        self.node.register(appid=self.app)
        r = self.node.call("GET", "poll", [("env", "dev"), ("hostname", "c"), ("appid", self.app)])[0]
        self.assertEqual(r["code"], 0)
        self.assertIn("instances", r["data"])
        p = self.parked(Poller(self.node, "poll", [("env", "dev"), ("hostname", "c"), ("appid", self.app),
                                                   ("latest_timestamp", str(self.latest()))]))
        self.node.call("POST", "cancel", [("zone", "sh001"), ("env", "dev"), ("appid", self.app), ("hostname", "h1")])
        self.assertEqual(p.answer()["code"], -404)

    def test_zone_filter(self):
        self.node.register("a", appid=self.app, zone="z1")
        self.node.register("b", appid=self.app, zone="z2")
        r = self.node.call("GET", "polls", self.polls([(self.app, 0)], zone="z2"))[0]
        self.assertEqual(list(r["data"][self.app]["instances"].keys()), ["z2"])
        r = self.node.call("GET", "polls", self.polls([(self.app, 0)], zone="z3"))
        # The zone is missing: the poll parks and times out listing nothing newer.
        self.assertEqual(r[0]["code"], -304)

    def test_bm_timeout_header_caps_the_hold(self):
        self.node.register(appid=self.app)
        p = Poller(self.node, "polls", self.polls([(self.app, self.latest())]), headers={"x1-bmspy-timeout": "520"})
        p.start()
        self.assertEqual(p.answer()["code"], -304)
        self.assertLess(p.elapsed, 1.5)

    def test_client_disconnect_frees_the_waiter(self):
        self.node.register(appid=self.app)
        base = self.node.metric("muster_parked_polls")
        s = socket.create_connection(("127.0.0.1", self.node.port))
        q = "&".join(f"{k}={v}" for k, v in self.polls([(self.app, self.latest())]))
        s.sendall(f"GET /discovery/polls?{q} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        deadline = time.monotonic() + 5
        while self.node.metric("muster_parked_polls") < base + 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(self.node.metric("muster_parked_polls"), base + 1)
        s.close()
        deadline = time.monotonic() + 1
        while self.node.metric("muster_parked_polls") > base and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(self.node.metric("muster_parked_polls"), base)

    def test_many_pollers_woken_by_one_change(self):
        self.node.register(appid=self.app)
        lts = self.latest()
        pollers = [Poller(self.node, "polls", self.polls([(self.app, lts)])) for _ in range(50)]
        for p in pollers:
            p.start()
        deadline = time.monotonic() + 5
        while self.node.metric("muster_parked_polls") < 50 and time.monotonic() < deadline:
            time.sleep(0.01)
        self.node.register("h2", appid=self.app)
        bodies = [json.dumps(p.answer()["data"], sort_keys=True) for p in pollers]
        self.assertEqual(len(set(bodies)), 1, "every poller got the same answer")


class EvictionOverHttpTest(unittest.TestCase):
    def test_unrenewed_instance_is_evicted_and_pollers_woken(self):
        node = Node("--evict-after", "1s", "--evict-interval", "300ms", "--self-protection", "false",
                    "--poll-hold", "10s")
        try:
            node.register("dead")
            lts = node.fetch()["data"]["latest_timestamp"]
            p = Poller(node, "polls", [("env", "dev"), ("hostname", "c"), ("appid", "provider"),
                                       ("latest_timestamp", str(lts))])
            p.start()
            r = p.answer(timeout=8)
            self.assertEqual(r["error"], {"-404": ["provider"]})
            self.assertEqual(node.fetch()["code"], -404)
            self.assertEqual(node.metric("muster_evictions_total"), 1)
        finally:
            self.assertEqual(node.stop(), 0)

    def test_renewed_instance_stays(self):
        node = Node("--evict-after", "1s", "--evict-interval", "200ms", "--self-protection", "false")
        try:
            node.register("alive")
            for _ in range(12):
                time.sleep(0.2)
                r = node.call("POST", "renew", [("zone", "sh001"), ("env", "dev"), ("appid", "provider"),
                                                ("hostname", "alive")])[0]
                self.assertEqual(r["code"], 0)
            self.assertIn("alive", node.instances())
        finally:
            self.assertEqual(node.stop(), 0)


if __name__ == "__main__":
    unittest.main()

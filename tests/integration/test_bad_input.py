"""Bad input and limits: every violation gets a clear answer naming what is wrong, changes no
state, and leaves every other client unaffected; garbage and half-sent requests cost only their
own connection."""
import json
import socket
import threading
import time
import unittest

from muster_node import Node, raw_exchange


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node("--max-body", "4096", "--max-header", "2048", "--request-timeout", "1s",
                        "--idle-timeout", "2s", "--max-poll-appids", "3", "--max-parked-polls", "2",
                        "--poll-hold", "3s", "--poll-jitter", "0s")

    @classmethod
    def tearDownClass(cls):
        assert cls.node.stop() == 0

    def assert_still_serving(self):
        self.assertEqual(self.node.register("ok", appid="canary")["code"], 0)

    def test_body_over_the_limit_is_400_naming_the_limit(self):
        body = "zone=z&env=dev&appid=big&hostname=h&status=1&addrs=x&version=" + "v" * 5000
        status, _, raw = self.node.request("POST", "/discovery/register", body,
                                           {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200)
        r = json.loads(raw)
        self.assertEqual(r["code"], -400)
        self.assertIn("4096 bytes", r["message"])
        self.assertEqual(self.node.fetch("big")["code"], -404)
        self.assert_still_serving()

    def test_header_over_the_limit_is_431(self):
        status, _, raw = self.node.request("GET", "/discovery/nodes", headers={"X-Big": "y" * 3000})
        self.assertEqual(status, 431)
        self.assertIn(b"2048 bytes", raw)
        self.assert_still_serving()

    def test_garbage_bytes_get_400_and_a_closed_connection(self):
        out = raw_exchange(self.node.port, b"\x00\x01\x02 not http at all\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 400"), out[:80])
        out = raw_exchange(self.node.port, b"GET / HTTP/9.9\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 400"), out[:80])
        self.assert_still_serving()
        self.assertGreaterEqual(self.node.metric("muster_http_bad_requests_total"), 2)

    def test_half_sent_request_is_closed_after_the_request_timeout(self):
        start = time.monotonic()
        out = raw_exchange(self.node.port, b"POST /discovery/register HTTP/1.1\r\nContent-Length: 100\r\n\r\nzone=",
                           timeout=5)
        elapsed = time.monotonic() - start
        self.assertEqual(out, b"")
        self.assertLess(elapsed, 4)
        self.assert_still_serving()

    def test_slowloris_does_not_block_others(self):
        socks = []
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", self.node.port))
            s.sendall(b"GET /discovery/nodes HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        try:
            start = time.monotonic()
            self.assert_still_serving()
            self.assertLess(time.monotonic() - start, 1)
        finally:
            for s in socks:
                s.close()

    def test_idle_keep_alive_connection_is_closed(self):
        s = socket.create_connection(("127.0.0.1", self.node.port), timeout=5)
        try:
            s.sendall(b"GET /discovery/nodes HTTP/1.1\r\nHost: x\r\n\r\n")
            first = s.recv(65536)
            self.assertIn(b'"code":0', first)
            start = time.monotonic()
            self.assertEqual(s.recv(65536), b"", "closed by the server")
            self.assertLess(time.monotonic() - start, 4.5)
        finally:
            s.close()

    def test_too_many_appids_in_polls(self):
        params = [("env", "dev"), ("hostname", "c")] + [("appid", f"a{i}") for i in range(4)] + \
                 [("latest_timestamp", "0")] * 4
        r = self.node.call("GET", "polls", params)[0]
        self.assertEqual(r["code"], -400)
        self.assertIn("limit 3", r["message"])

    def test_too_many_parked_polls(self):
        results = []

        def poll():
            results.append(self.node.call("GET", "polls", [("env", "dev"), ("hostname", "c"), ("appid", "nobody"),
                                                           ("latest_timestamp", "0")], timeout=10)[0]["code"])

        threads = [threading.Thread(target=poll) for _ in range(2)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 5
        while self.node.metric("muster_parked_polls") < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        r = self.node.call("GET", "polls", [("env", "dev"), ("hostname", "c"), ("appid", "nobody"),
                                            ("latest_timestamp", "0")])[0]
        self.assertEqual(r["code"], -400)
        self.assertIn("too many parked polls (limit 2)", r["message"])
        for t in threads:
            t.join(10)
        self.assertEqual(results, [-304, -304])

    def test_pipelined_requests_are_answered_in_order(self):
        req = b"GET /discovery/nodes HTTP/1.1\r\nHost: x\r\n\r\n"
        out = raw_exchange(self.node.port, req * 3 + b"GET /discovery/nodes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(out.count(b"HTTP/1.1 200 OK"), 4)


class ConnectionLimitTest(unittest.TestCase):
    def test_connections_over_the_limit_get_503(self):
        node = Node("--max-connections", "3")
        socks = []
        try:
            for _ in range(3):
                s = socket.create_connection(("127.0.0.1", node.port))
                s.sendall(b"GET /discovery/nodes HTTP/1.1\r\nHost: x\r\n\r\n")
                s.recv(65536)
                socks.append(s)
            out = raw_exchange(node.port, b"GET /discovery/nodes HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertTrue(out.startswith(b"HTTP/1.1 503"), out[:60])
            self.assertIn(b"too many connections (limit 3)", out)
            for s in socks:
                s.close()
            socks = []
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                out = raw_exchange(node.port, b"GET /discovery/nodes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if out.startswith(b"HTTP/1.1 200"):
                    break
                time.sleep(0.05)
            self.assertTrue(out.startswith(b"HTTP/1.1 200"))
        finally:
            for s in socks:
                s.close()
            self.assertEqual(node.stop(), 0)


if __name__ == "__main__":
    unittest.main()

"""Options whose effect is only visible over HTTP or in the log: the brpc fetchs format and the
access log."""
import unittest

from muster_node import Node


class BrpcFetchsTest(unittest.TestCase):
    def test_flat_instances_array_and_zone_map(self):
        node = Node("--compat-brpc-fetchs", "true")
        try:
            node.register("b", zone="z2")
            node.register("a", zone="z1")
            body = node.call("GET", "fetchs", [("env", "dev"), ("appid", "provider"), ("status", "3")])[0]
            info = body["data"]["provider"]
            self.assertEqual([(i["zone"], i["hostname"]) for i in info["instances"]], [("z1", "a"), ("z2", "b")])
            self.assertEqual(sorted(info["zone_instances"].keys()), ["z1", "z2"])
            self.assertGreater(info["latest_timestamp"], 0)
            # fetch keeps the zone map: the flag changes fetchs only.
            self.assertIsInstance(node.fetch()["data"]["instances"], dict)
        finally:
            self.assertEqual(node.stop(), 0)

    def test_default_is_the_zone_map(self):
        node = Node()
        try:
            node.register()
            body = node.call("GET", "fetchs", [("env", "dev"), ("appid", "provider"), ("status", "3")])[0]
            self.assertIsInstance(body["data"]["provider"]["instances"], dict)
            self.assertNotIn("zone_instances", body["data"]["provider"])
        finally:
            self.assertEqual(node.stop(), 0)


class AccessLogTest(unittest.TestCase):
    def test_every_request_is_logged_with_status_and_code(self):
        node = Node("--access-log", "true")
        try:
            node.register()
            node.register(status=9)
            node.request("GET", "/nowhere")
        finally:
            self.assertEqual(node.stop(), 0)
        log = "".join(node.log)
        # The client's address (issue 14.10), and a code only where the answer has one.
        client = r"access 127\.0\.0\.1:\d+ "
        self.assertRegex(log, client + "POST /discovery/register 200 code=0 ")
        self.assertRegex(log, client + "POST /discovery/register 200 code=-400 ")
        self.assertRegex(log, client + r"GET /nowhere 404 \d+us")

    def test_off_by_default(self):
        node = Node()
        try:
            node.register()
        finally:
            self.assertEqual(node.stop(), 0)
        self.assertNotIn("access POST", "".join(node.log))


if __name__ == "__main__":
    unittest.main()

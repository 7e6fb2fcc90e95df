"""A client that starts the way Bilibili's Go `naming` client (kratos) does, against a default
node (issue 14.4): it polls infra.discovery without a zone to learn the nodes, registers its
instance with a form body, renews it, then long-polls its apps together with infra.discovery.
Every answer must be JSON that client can decode."""
import json
import threading
import unittest
import urllib.parse

from muster_node import Node, eventually


class KratosClientStart(unittest.TestCase):
    def setUp(self):
        # A default node: it registers itself as infra.discovery, as `make run` does.
        self.node = Node(self_register=True)
        self.addCleanup(self.node.stop)

    def get(self, route, params, timeout=10):
        path = "/discovery/" + route + "?" + urllib.parse.urlencode(params)
        status, _, raw = self.node.request("GET", path, timeout=timeout)
        self.assertEqual(status, 200)
        return json.loads(raw)  # the client decodes every answer; invalid JSON fails here

    def test_naming_client_start_sequence(self):
        # 1. The client's first request: infra.discovery, no zone, latest_timestamp 0.
        first = self.get("polls", [("appid", "infra.discovery"), ("env", "dev"),
                                   ("hostname", "bili-prov-1"), ("latest_timestamp", "0")])
        self.assertEqual(first["code"], 0, first)
        info = first["data"]["infra.discovery"]
        nodes = [i for zone in info["instances"].values() for i in zone]
        self.assertEqual([n["addrs"] for n in nodes], [["http://127.0.0.1:%d" % self.node.port]])
        infra_ts = info["latest_timestamp"]

        # 2. Register and renew the client's own instance (form bodies, metadata as JSON text).
        form = [("zone", "sh001"), ("env", "dev"), ("appid", "demo.service"),
                ("hostname", "bili-prov-1"), ("status", "1"), ("region", "sh"),
                ("version", "v1"), ("addrs", "grpc://127.0.0.1:9000"),
                ("metadata", json.dumps({"weight": "10", "color": ""}))]
        reg = self.node.call("POST", "register", form)[0]
        self.assertEqual(reg["code"], 0, reg)
        renew = self.node.call("POST", "renew", form[:4])[0]
        self.assertEqual(renew["code"], 0, renew)
        self.assertEqual(renew["data"]["hostname"], "bili-prov-1")

        # 3. The resolver's poll: the app and infra.discovery together, zone given this time too.
        for zone in ([], [("zone", "sh001")]):
            both = self.get("polls", [("appid", "infra.discovery"), ("appid", "demo.service"),
                                      ("env", "dev"), ("hostname", "bili-cons-1"),
                                      ("latest_timestamp", "0"), ("latest_timestamp", "0")] + zone)
            self.assertEqual(both["code"], 0, both)
            if not zone:
                self.assertIn("infra.discovery", both["data"])
            demo = both["data"]["demo.service"]["instances"]["sh001"]
            self.assertEqual(demo[0]["metadata"], {"weight": "10", "color": ""})
        demo_ts = both["data"]["demo.service"]["latest_timestamp"]

        # 4. Up to date: the poll parks until the app changes, then carries the change.
        answer = {}

        def park():
            answer.update(self.get("polls", [("appid", "infra.discovery"),
                                             ("appid", "demo.service"), ("env", "dev"),
                                             ("hostname", "bili-cons-1"),
                                             ("latest_timestamp", str(infra_ts)),
                                             ("latest_timestamp", str(demo_ts))], timeout=40))

        # The node's own infra.discovery watcher is parked too: wait for one more.
        before = self.node.metric("muster_parked_polls")
        poller = threading.Thread(target=park, daemon=True)
        poller.start()
        eventually(lambda: self.node.metric("muster_parked_polls") == before + 1,
                   what="the poll parked")
        form2 = [(k, "bili-prov-2" if k == "hostname" else v) for k, v in form]
        self.assertEqual(self.node.call("POST", "register", form2)[0]["code"], 0)
        poller.join(10)
        self.assertFalse(poller.is_alive())
        self.assertEqual(answer["code"], 0, answer)
        hosts = {i["hostname"] for i in answer["data"]["demo.service"]["instances"]["sh001"]}
        self.assertEqual(hosts, {"bili-prov-1", "bili-prov-2"})

        # 5. Shutdown: cancel.
        self.assertEqual(self.node.call("POST", "cancel", form[:4])[0]["code"], 0)


if __name__ == "__main__":
    unittest.main()

"""Every native route over HTTP against the real binary: envelope, codes and muster decisions
(docs/api.md and docs/decisions.md §1-§3)."""
import json
import unittest

from muster_node import Node


class RoutesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node("--poll-hold", "1s", "--poll-jitter", "0s")

    @classmethod
    def tearDownClass(cls):
        assert cls.node.stop() == 0

    def setUp(self):
        # Each test works on its own appid so that tests do not see each other's instances.
        self.app = self.id().rsplit(".", 1)[1]

    def test_envelope_key_order_header_and_content_type(self):
        body, raw, headers = self.node.call("POST", "register", [("env", "dev")])
        self.assertEqual(raw, b'{"code":-400,"message":"zone is required","ttl":1}')
        self.assertEqual(headers["kratos-status-code"], "-400")
        self.assertEqual(headers["content-type"], "application/json; charset=utf-8")
        r = self.node.register(appid=self.app)
        self.assertEqual(r, {"code": 0, "message": "0", "ttl": 1})
        _, raw, headers = self.node.call("GET", "fetch", [("env", "dev"), ("appid", self.app), ("status", "1")])
        self.assertTrue(raw.startswith(b'{"code":0,"message":"0","ttl":1,"data":{"instances":'))
        self.assertEqual(headers["kratos-status-code"], "0")

    def test_unknown_path_and_wrong_method(self):
        status, h, body = self.node.request("GET", "/discovery/nothing")
        self.assertEqual((status, body), (404, b"404 page not found"))
        self.assertTrue(h["content-type"].startswith("text/plain"))
        status, h, body = self.node.request("GET", "/discovery/register")
        self.assertEqual((status, body), (405, b"Method Not Allowed"))
        status, _, _ = self.node.request("GET", "/discovery/fetch/")
        self.assertEqual(status, 404, "a trailing slash is another path")

    def test_register_fetch_by_status(self):
        self.node.register("up1", appid=self.app, metadata='{"weight":10,"ratio":1.50,"on":true}')
        self.node.register("down1", appid=self.app, status=2)
        up = self.node.fetch(self.app, status=1)["data"]["instances"]["sh001"]
        down = self.node.fetch(self.app, status=2)["data"]["instances"]["sh001"]
        both = self.node.fetch(self.app, status=3)["data"]["instances"]["sh001"]
        self.assertEqual([i["hostname"] for i in up], ["up1"])
        self.assertEqual([i["hostname"] for i in down], ["down1"])
        self.assertEqual([i["hostname"] for i in both], ["down1", "up1"], "sorted by hostname")
        self.assertEqual(up[0]["metadata"], {"weight": "10", "ratio": "1.50", "on": "true"})
        self.assertEqual(list(up[0].keys()), [
            "region", "zone", "env", "appid", "hostname", "addrs", "version", "metadata", "status",
            "reg_timestamp", "up_timestamp", "renew_timestamp", "dirty_timestamp", "latest_timestamp"])
        nothing = self.node.fetch(self.app, status=4)
        self.assertEqual(nothing["code"], 0)
        self.assertEqual(nothing["data"]["instances"], {"sh001": []})
        self.assertEqual(self.node.fetch(self.app, status=0)["code"], -400)

    def test_register_rejects_bad_status_and_metadata_and_stores_nothing(self):
        r = self.node.register(appid=self.app, status=3)
        self.assertEqual(r["code"], -400)
        self.assertIn("status must be 1 (up) or 2 (down)", r["message"])
        for bad in ["{bad", "[1]", '{"a":{"b":1}}', '"text"']:
            r = self.node.register(appid=self.app, metadata=bad)
            self.assertEqual(r["code"], -400, bad)
            self.assertIn("metadata", r["message"])
        self.assertEqual(self.node.fetch(self.app)["code"], -404)

    def test_addrs_are_repeated_keys_and_commas_are_text(self):
        self.node.register(appid=self.app, addrs=["a,b", "grpc://c:1"])
        inst = self.node.instances(self.app)["h1"]
        self.assertEqual(inst["addrs"], ["a,b", "grpc://c:1"])
        r = self.node.register("h2", appid=self.app, addrs=[""])
        self.assertEqual((r["code"], r["message"]), (-400, "addrs is required"))

    def test_reregister_keeps_up_timestamp_and_raises_latest(self):
        self.node.register(appid=self.app)
        first = self.node.fetch(self.app)["data"]
        self.node.register(appid=self.app, addrs=["http://new:1"])
        second = self.node.fetch(self.app)["data"]
        a, b = first["instances"]["sh001"][0], second["instances"]["sh001"][0]
        self.assertEqual(a["up_timestamp"], b["up_timestamp"])
        self.assertGreater(second["latest_timestamp"], first["latest_timestamp"])
        self.assertEqual(b["addrs"], ["http://new:1"])

    def test_replicated_register_with_older_dirty_is_ignored(self):
        self.node.register(appid=self.app)
        inst = self.node.instances(self.app)["h1"]
        r = self.node.register(appid=self.app, addrs=["http://old:1"], replication="true",
                               from_zone="true", dirty_timestamp=str(inst["dirty_timestamp"] - 1))
        self.assertEqual(r["code"], 0)
        self.assertEqual(self.node.instances(self.app)["h1"]["addrs"], inst["addrs"])

    def renew(self, hostname="h1", **extra):
        params = [("zone", "sh001"), ("env", "dev"), ("appid", self.app), ("hostname", hostname)]
        return self.node.call("POST", "renew", params + list(extra.items()))[0]

    def test_renew(self):
        self.assertEqual(self.renew(), {"code": -404, "message": "instance not found", "ttl": 1})
        self.node.register(appid=self.app)
        r = self.renew()
        self.assertEqual(r["code"], 0)
        self.assertEqual(r["data"]["hostname"], "h1")
        dirty = r["data"]["dirty_timestamp"]
        older = self.renew(replication="true", dirty_timestamp=str(dirty - 1))
        self.assertEqual(older["code"], -409)
        self.assertEqual(older["data"]["dirty_timestamp"], dirty)
        newer = self.renew(replication="true", dirty_timestamp=str(dirty + 1))
        self.assertEqual(newer["code"], -404)
        self.assertEqual(newer["data"]["dirty_timestamp"], dirty)  # our copy, as Bilibili sends
        self.assertEqual(self.renew(replication="true", dirty_timestamp=str(dirty))["code"], 0)

    def test_cancel_twice(self):
        self.node.register(appid=self.app)
        params = [("zone", "sh001"), ("env", "dev"), ("appid", self.app), ("hostname", "h1")]
        self.assertEqual(self.node.call("POST", "cancel", params)[0]["code"], 0)
        self.assertEqual(self.node.call("POST", "cancel", params)[0]["code"], -404)
        self.assertEqual(self.node.fetch(self.app)["code"], -404)

    def test_fetch_unknown_zone_and_fetchs(self):
        self.node.register(appid=self.app)
        r = self.node.fetch(self.app, zone="nowhere")
        self.assertEqual(r["code"], -404)
        self.assertEqual(r["data"]["instances"], {})
        self.assertGreater(r["data"]["latest_timestamp"], 0)
        body = self.node.call("GET", "fetchs", [("env", "dev"), ("appid", self.app), ("appid", "ghost"),
                                                ("appid", self.app), ("status", "3")])[0]
        self.assertEqual(body["code"], 0)
        self.assertEqual(list(body["data"].keys()), [self.app])
        none = self.node.call("GET", "fetchs", [("env", "dev"), ("appid", "ghost"), ("status", "3")])[0]
        self.assertEqual(none["data"], {})

    def test_fetch_all_merges_envs_and_zones(self):
        self.node.register("b", appid=self.app, zone="z2", env="prod")
        self.node.register("a", appid=self.app, zone="z1", env="prod")
        self.node.register("c", appid=self.app, zone="z9", env="dev")
        data = self.node.call("GET", "fetch/all")[0]["data"]
        order = [(i["env"], i["zone"], i["hostname"]) for i in data[self.app]]
        self.assertEqual(order, [("dev", "z9", "c"), ("prod", "z1", "a"), ("prod", "z2", "b")])
        self.assertEqual(list(data.keys()), sorted(data.keys()))

    def set(self, params):
        base = [("zone", "sh001"), ("env", "dev"), ("appid", self.app)]
        return self.node.call("POST", "set", base + params)[0]

    def test_set_rules(self):
        self.node.register("h1", appid=self.app, metadata='{"keep":"1","weight":"10"}')
        self.node.register("h2", appid=self.app)
        before = self.node.fetch(self.app)["data"]
        self.assertEqual(self.set([("hostname", "h1"), ("hostname", "h2"), ("status", "2")])["code"], -400)
        r = self.set([("hostname", "h1"), ("hostname", "ghost"), ("status", "2"), ("status", "2")])
        self.assertEqual(r["code"], -400)
        self.assertIn("ghost", r["message"])
        self.assertEqual(self.set([("hostname", "h1"), ("status", "3")])["code"], -400)
        self.assertEqual(self.node.fetch(self.app)["data"], before, "a rejected set changes nothing")
        self.assertEqual(self.set([("hostname", "h1"), ("metadata", '{"weight":"20","new":"x"}')])["code"], 0)
        after = self.node.instances(self.app)["h1"]
        self.assertEqual(after["metadata"], {"keep": "1", "weight": "20", "new": "x"})
        self.assertGreater(self.node.fetch(self.app)["data"]["latest_timestamp"], before["latest_timestamp"])
        self.assertEqual(self.set([("hostname", "h1"), ("status", "1")])["code"], 0)
        up = self.node.instances(self.app)["h1"]
        self.assertGreater(up["up_timestamp"], after["up_timestamp"])
        self.assertEqual(up["up_timestamp"], up["dirty_timestamp"])

    def test_json_bodies(self):
        body = {"zone": "sh001", "env": "dev", "appid": self.app, "hostname": "j1", "status": 1,
                "addrs": ["http://a:1", "grpc://a:2"], "metadata": {"weight": 10}, "version": None}
        self.assertEqual(self.node.call("POST", "register", json_body=body)[0]["code"], 0)
        inst = self.node.instances(self.app)["j1"]
        self.assertEqual(inst["addrs"], ["http://a:1", "grpc://a:2"])
        self.assertEqual(inst["metadata"], {"weight": "10"})
        r = self.node.call("POST", "set", json_body={"zone": "sh001", "env": "dev", "appid": self.app,
                                                     "hostname": ["j1"], "metadata": [{"color": "red"}]})[0]
        self.assertEqual(r["code"], 0)
        self.assertEqual(self.node.instances(self.app)["j1"]["metadata"], {"weight": "10", "color": "red"})
        status, _, raw = self.node.request("POST", "/discovery/register", "[1,2]",
                                           {"Content-Type": "application/json"})
        self.assertEqual(json.loads(raw)["code"], -400)
        status, _, raw = self.node.request("POST", "/discovery/register", '{"zone":',
                                           {"Content-Type": "application/json; charset=utf-8"})
        self.assertIn("invalid JSON", json.loads(raw)["message"])

    def test_query_pairs_merge_after_the_form_body(self):
        status, _, raw = self.node.request(
            "POST", "/discovery/register?hostname=q1&addrs=http://q:2",
            f"zone=sh001&env=dev&appid={self.app}&status=1&addrs=http://q:1",
            {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(json.loads(raw)["code"], 0)
        self.assertEqual(self.node.instances(self.app)["q1"]["addrs"], ["http://q:1", "http://q:2"])

    def test_unencoded_brpc_style_body(self):
        body = (f"appid={self.app}&hostname=b1&addrs=grpc://1.2.3.4:80&env=dev&zone=sh001&status=1"
                f"&version=1&metadata={{\"weight\":\"3\",\"u\":\"http://x/y\"}}")
        _, _, raw = self.node.request("POST", "/discovery/register", body, {})
        self.assertEqual(json.loads(raw)["code"], 0)
        self.assertEqual(self.node.instances(self.app)["b1"]["metadata"], {"weight": "3", "u": "http://x/y"})

    def test_bad_booleans_integers_and_escapes(self):
        r = self.node.register(appid=self.app, replication="maybe")
        self.assertIn("replication must be a boolean", r["message"])
        r = self.node.register(appid=self.app, dirty_timestamp="soon")
        self.assertIn("dirty_timestamp must be an integer", r["message"])
        _, _, raw = self.node.request("GET", "/discovery/fetch?env=dev&appid=%zz&status=1")
        self.assertIn("malformed percent escape", json.loads(raw)["message"])
        self.assertEqual(self.node.fetch(self.app)["code"], -404)

    def test_nodes(self):
        body = self.node.call("GET", "nodes")[0]
        self.assertEqual(body["data"], [{"addr": f"127.0.0.1:{self.node.port}", "status": 0, "zone": "local"}])


if __name__ == "__main__":
    unittest.main()

"""Every route at once from many threads (under ThreadSanitizer in make test): the node must neither crash nor corrupt
its answers. Run under the sanitizer build too, where a data race or a bad access aborts."""
import json
import random
import threading
import time
import unittest
import urllib.parse

from muster_node import Node

ROUNDS = 150
THREADS = 8


class StressTest(unittest.TestCase):
    def test_all_routes_concurrently(self):
        node = Node("--poll-hold", "200ms", "--poll-jitter", "0s", "--evict-after", "300ms",
                    "--evict-interval", "100ms", "--self-protection", "false")
        errors = []

        def worker(seed):
            rnd = random.Random(seed)
            conn = node.connect()
            try:
                for i in range(ROUNDS):
                    app = f"app{rnd.randrange(4)}"
                    host = f"h{rnd.randrange(10)}"
                    base = [("zone", f"z{rnd.randrange(2)}"), ("env", "dev"), ("appid", app), ("hostname", host)]
                    op = rnd.randrange(9)
                    if op == 0:
                        path, method = "register", "POST"
                        params = base + [("status", str(rnd.choice([1, 2]))), ("addrs", "http://x:1"),
                                         ("metadata", '{"w":"1"}')]
                    elif op == 1:
                        path, method, params = "renew", "POST", base
                    elif op == 2:
                        path, method, params = "cancel", "POST", base
                    elif op == 3:
                        path, method = "set", "POST"
                        params = base + [("status", str(rnd.choice([1, 2]))), ("metadata", '{"k":"v"}')]
                    elif op == 4:
                        path, method, params = "fetch", "GET", [("env", "dev"), ("appid", app), ("status", "3")]
                    elif op == 5:
                        path, method, params = "fetchs", "GET", [("env", "dev"), ("appid", app), ("appid", "app1"),
                                                                 ("status", "1")]
                    elif op == 6:
                        path, method, params = "fetch/all", "GET", []
                    elif op == 7:
                        path, method = "polls", "GET"
                        params = [("env", "dev"), ("hostname", "c"), ("appid", app), ("appid", "app2"),
                                  ("latest_timestamp", str(rnd.choice([0, 1, 2**62]))), ("latest_timestamp", "0")]
                    else:
                        path, method, params = "nodes", "GET", []
                    q = urllib.parse.urlencode(params)
                    if method == "GET":
                        status, _, raw = node.request("GET", f"/discovery/{path}?{q}", conn=conn)
                    else:
                        status, _, raw = node.request("POST", f"/discovery/{path}", q,
                                                      {"Content-Type": "application/x-www-form-urlencoded"}, conn=conn)
                    body = json.loads(raw)
                    if status != 200 or body["code"] not in (0, -304, -400, -404):
                        errors.append((path, status, body))
            except Exception as e:  # noqa: BLE001 - any failure is a test failure
                errors.append(repr(e))
            finally:
                conn.close()

        threads = [threading.Thread(target=worker, args=(s,)) for s in range(THREADS)]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertFalse(any(t.is_alive() for t in threads), "workers finished")
        self.assertEqual(errors, [])
        self.assertTrue(node.alive())
        self.assertEqual(node.stop(), 0)
        print(f"{THREADS * ROUNDS} requests in {time.monotonic() - start:.1f}s")


if __name__ == "__main__":
    unittest.main()

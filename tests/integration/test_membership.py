"""Membership is a privilege (issue 27.1-27.2, docs/security.md "Trust boundaries"): an
infra.discovery entry written by a client no longer makes its address a peer. On an open node a
discovered address becomes a peer only once it answers /discovery/nodes listing itself, and what
it answers is read with a size limit: a fake peer that declares a 100 GiB body took every node of
a zone down with std::bad_alloc before. On a secured node only a peer or an admin may write
infra.discovery, and the peer token goes only to the configured --nodes."""
import socket
import threading
import time
import unittest

from muster_node import Node, eventually, free_ports, write_yaml


class FakePeer:
    """A server on loopback that answers every request with a 200 whose Content-Length is 100
    GiB, and records the header lines it received."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.requests = []
        self.stopping = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(2)
            try:
                data = b""
                while b"\r\n\r\n" not in data and len(data) < 65536:
                    more = conn.recv(4096)
                    if not more:
                        break
                    data += more
                self.requests.append(data.decode("latin-1"))
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: 107374182400\r\n\r\n{\"code\":0,\"data\":[")
                time.sleep(0.5)
            except OSError:
                pass
            finally:
                conn.close()

    def stop(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()


def membership(port, token=None, hostname="evil"):
    params = {"zone": "sh001", "env": "dev", "appid": "infra.discovery", "hostname": hostname,
              "status": "1", "addrs": "http://127.0.0.1:%d" % port}
    return params, ({"Authorization": "Bearer " + token} if token else {})


class OpenNodeTest(unittest.TestCase):
    def test_a_fake_peer_that_declares_100_gib_is_not_made_a_peer_and_costs_nothing(self):
        fake = FakePeer()
        self.addCleanup(fake.stop)
        p1, p2 = free_ports(2)
        nodes_arg = "127.0.0.1:%d,127.0.0.1:%d" % (p1, p2)
        nodes = [Node("--listen", "127.0.0.1:%d" % p, "--nodes", nodes_arg, "--anti-entropy", "1s",
                      self_register=True) for p in (p1, p2)]
        for n in nodes:
            self.addCleanup(n.stop)
        a, b = nodes
        params, headers = membership(fake.port)
        self.assertEqual(a.call("POST", "register", params, headers=headers)[0]["code"], 0)
        # Before, the first read of the fake peer's answer aborted the node (std::bad_alloc).
        time.sleep(3)
        for n in nodes:
            self.assertTrue(n.alive(), "".join(n.log[-3:]))
        for n in nodes:
            n.wait_for_log("infra.discovery entry 127.0.0.1:%d is not made a peer" % fake.port)
        # Both nodes still serve and still replicate to each other; the fake peer was asked for
        # its node list only, never sent a write.
        a.register("after", appid="app")
        eventually(lambda: "after" in b.instances("app"), what="replication between the real nodes")
        time.sleep(2)  # anti-entropy rounds, which must not reach the fake peer
        for n in nodes:
            self.assertTrue(n.alive())
            self.assertGreaterEqual(n.metric("muster_membership_unverified_total"), 1)
        self.assertTrue(fake.requests)
        for r in fake.requests:
            self.assertTrue(r.startswith("GET /discovery/nodes "), r.splitlines()[0])

    def test_a_real_node_found_through_infra_discovery_becomes_a_peer(self):
        # Not in each other's --nodes: they meet through a registration written at one of them.
        a = Node("--anti-entropy", "1s", self_register=True)
        self.addCleanup(a.stop)
        b = Node("--anti-entropy", "1s", self_register=True)
        self.addCleanup(b.stop)
        params, _ = membership(b.port, hostname="b-by-hand")
        self.assertEqual(a.call("POST", "register", params)[0]["code"], 0)
        a.wait_for_log("infra.discovery entry 127.0.0.1:%d answered as a discovery node" % b.port)
        a.register("through", appid="app")
        eventually(lambda: "through" in b.instances("app"), what="a write replicated to b")


TOKENS = """
admin: [adm]
write:
  - token: w-all
    appids: [""]
peer: [peer-secret]
"""


class SecuredNodeTest(unittest.TestCase):
    def test_only_a_peer_or_an_admin_writes_membership_and_the_secret_stays_home(self):
        fake = FakePeer()
        self.addCleanup(fake.stop)
        path = write_yaml(self, TOKENS)
        p1, p2 = free_ports(2)
        nodes_arg = "127.0.0.1:%d,127.0.0.1:%d" % (p1, p2)
        nodes = [Node("--listen", "127.0.0.1:%d" % p, "--nodes", nodes_arg, "--tokens", path,
                      "--anti-entropy", "1s", self_register=True) for p in (p1, p2)]
        for n in nodes:
            self.addCleanup(n.stop)
        a, b = nodes
        # A write token whose prefixes cover every appid still may not make a peer.
        params, headers = membership(fake.port, "w-all")
        answer = a.call("POST", "register", params, headers=headers)[0]
        self.assertEqual(answer["code"], -403, answer)
        self.assertEqual(a.call("POST", "renew", params, headers=headers)[0]["code"], -403)
        # An admin may (an operator adding a node by hand). The node is secured, so the entry is
        # taken as written, but without TLS the peer token goes only to the configured nodes.
        params, headers = membership(fake.port, "adm")
        self.assertEqual(a.call("POST", "register", params, headers=headers)[0]["code"], 0)
        ok = a.call("POST", "register", [("zone", "sh001"), ("env", "dev"), ("appid", "app"),
                                         ("hostname", "w1"), ("status", "1"),
                                         ("addrs", "http://10.0.0.1:80")],
                    headers={"Authorization": "Bearer w-all"})[0]
        self.assertEqual(ok["code"], 0, ok)
        eventually(lambda: len(fake.requests) >= 2, timeout=15, what="the fake peer contacted")
        time.sleep(2)
        for r in fake.requests:
            self.assertNotIn("peer-secret", r)
        for n in nodes:
            self.assertTrue(n.alive())


if __name__ == "__main__":
    unittest.main()

"""The soak with faults of issue 19 (`make soak`; not in CI): three nodes of one zone with data
directories, 50,000 instances renewing through a load generator that behaves as libmuster does
(a renew answered -404 registers again; a node that fails is left for the next), 2,000 parked
long polls, Consul registrations, churn (cancels, new instances, sets), and a fault schedule:
kill -9 and restart of a node, SIGSTOP/SIGCONT (a frozen peer), a partition of one node from its
peers, slow and lossy links between nodes, and bursts of malformed requests. Then a checker: every
node must hold exactly the instances whose clients kept renewing and the Consul registrations not
deregistered, none that was cancelled, within a stated convergence time, and each node's RSS must
stay bounded. It checks what dies too (issue 26): instances whose clients stop renewing without a
cancel must be gone from every node within their bound and stay gone (checked every 5 s),
Consul services whose TTL check stops being passed must show down on every node within their
bound, and Consul blocking clients that alternate between the nodes must block rather than loop
(answers without a change are counted). It prints a verdict and the numbers; exit code 0 only
for a clean verdict.

Where the machine allows network namespaces (root, iproute2), each node runs in a namespace of
its own on a bridge, and a partition is a blackhole route between a node and its peers (its
clients still reach it); slow, lossy links use `tc netem` there when the kernel has it. Elsewhere
(or with --loopback) links between nodes go through proxies on loopback, one per direction, which
block, delay and drop. After each fault heals the checker measures how long the nodes take to
agree again (on what no client touched in the last few seconds), and at the end, with churn
stopped, that every node holds exactly what it must. Every process it starts is stopped by its
PID; the namespaces it made are deleted.

Usage: python3 tests/soak/soak.py BUILD/muster [--minutes 10] [--instances 50000] [--seed N]
"""
import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from muster_node import free_ports  # noqa: E402

ZONE, ENV = "sh001", "soak"
APPS = 100           # the renewing instances are spread over these apps
POLL_APPS = 20       # quiet apps the parked polls watch (few instances, rare changes)
RENEW_EVERY = 10.0   # seconds between two renews of one instance
EVICT_AFTER = "30s"
# The guard expects two renews per instance per interval (Bilibili's 30 s renews, 60 s ticks):
# twice the renew period keeps its arithmetic true, so that it protects only when renews fail.
EVICT_INTERVAL = "20s"
EVICT_INTERVAL_S = 20
CLIENTS = 24         # load generator tasks, each with its own connection and instances
# An instance that stops renewing is gone from every node within evict-after + evict-interval +
# one anti-entropy round of its last renew (at most RENEW_EVERY before it was declared dead),
# plus slack for a loaded machine.
GONE_BOUND = 30 + 20 + 5 + 10
CONSUL_WATCHERS = 10  # Consul blocking clients that alternate between the nodes
TTL_SERVICES = 40     # Consul services with a TTL check, passed every few seconds at any node
TTL = 20              # their TTL, seconds
# A TTL check that stops passing turns critical within TTL plus a scan of its owner (250 ms), and
# its instance shows down (status 2) on every node once that write has replicated: slack for a
# loaded machine and for an owner that just died (its checks move within seconds).
CRITICAL_BOUND = TTL + 15


def rss_mib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# --- links between nodes ----------------------------------------------------------------------
class Link:
    """A one-way proxy on loopback from one node to another: it can be blocked (a partition),
    slowed and made lossy (a bad link)."""

    def __init__(self, target_port):
        self.target = target_port
        self.blocked = False
        self.delay = 0.0
        self.loss = 0.0
        self.conns = set()
        self.server = None

    async def start(self):
        self.server = await asyncio.start_server(self.accept, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    def cut(self):
        self.blocked = True
        for w in list(self.conns):
            w.transport.abort()

    async def accept(self, reader, writer):
        if self.blocked or (self.loss and random.random() < self.loss):
            writer.transport.abort()
            return
        try:
            ur, uw = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.target), 2)
        except (OSError, asyncio.TimeoutError):
            writer.transport.abort()
            return
        self.conns.update([writer, uw])

        async def pump(src, dst):
            try:
                while True:
                    data = await src.read(65536)
                    if not data or self.blocked:
                        break
                    if self.delay:
                        await asyncio.sleep(self.delay)
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                for w in (writer, uw):
                    w.transport.abort()
                    self.conns.discard(w)

        try:
            await asyncio.gather(pump(reader, uw), pump(ur, writer))
        except asyncio.CancelledError:
            pass


class ProxyTopology:
    """Three nodes on loopback, each reaching the others through a Link per direction."""
    name = "loopback with a proxy per link"
    can_slow = True

    async def setup(self, n):
        self.ports = free_ports(n)
        self.hosts = ["127.0.0.1"] * n
        self.wraps = [()] * n
        # links[i][j]: the proxy node i reaches node j through.
        self.links = [[None] * n for _ in range(n)]
        for i in range(n):
            for j in range(n):
                if i != j:
                    self.links[i][j] = Link(self.ports[j])
                    await self.links[i][j].start()
        self.peers_args = [",".join("127.0.0.1:%d" % (self.ports[i] if j == i else
                                                       self.links[i][j].port)
                                    for j in range(n)) for i in range(n)]

    def pairs(self, i):
        for j in range(len(self.ports)):
            if j != i:
                yield self.links[i][j]
                yield self.links[j][i]

    def partition(self, i, on):
        for link in self.pairs(i):
            if on:
                link.cut()
            else:
                link.blocked = False

    def slow(self, i, on):
        for link in self.pairs(i):
            link.delay, link.loss = (0.2, 0.1) if on else (0.0, 0.0)

    def close(self):
        for row in self.links:
            for link in row:
                if link:
                    link.server.close()


def ip(*args, check=True):
    return subprocess.run(["ip", *args], check=check, capture_output=True, timeout=10)


class NetnsTopology:
    """Each node in a network namespace of its own, on a bridge in a hub namespace that the
    load generator reaches through one more veth. A partition is a blackhole route each way
    between a node and its peers: their packets vanish, its clients still reach it."""
    name = "network namespaces on a bridge"

    async def setup(self, n):
        tag = str(os.getpid() % 100000)
        self.hub = "msoakhub" + tag
        self.ns = ["msoak%d_%s" % (i, tag) for i in range(n)]
        self.made = []
        ip("netns", "add", self.hub)
        self.made.append(self.hub)
        ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
        ip("-n", self.hub, "link", "set", "br0", "up")
        self.hosts = ["10.215.0.%d" % (i + 1) for i in range(n)]
        self.ports = [7171] * n
        for i, ns in enumerate(self.ns):
            ip("netns", "add", ns)
            self.made.append(ns)
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "h%d" % i,
               "netns", self.hub)
            ip("-n", ns, "addr", "add", self.hosts[i] + "/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("-n", self.hub, "link", "set", "h%d" % i, "master", "br0")
            ip("-n", self.hub, "link", "set", "h%d" % i, "up")
        # The load generator's way in, from the root namespace.
        self.root_if = "msk" + tag
        ip("link", "add", self.root_if, "type", "veth", "peer", "name", "hroot", "netns",
           self.hub)
        ip("addr", "add", "10.215.0.100/24", "dev", self.root_if)
        ip("link", "set", self.root_if, "up")
        ip("-n", self.hub, "link", "set", "hroot", "master", "br0")
        ip("-n", self.hub, "link", "set", "hroot", "up")
        self.wraps = [("ip", "netns", "exec", ns) for ns in self.ns]
        self.peers_args = [",".join("%s:7171" % h for h in self.hosts)] * n
        # netem where the kernel has it: a slow, lossy link is then one a node's eth0 gets.
        probe = ip("-n", self.ns[0], "qdisc", "add", "dev", "eth0", "root", "netem", "delay",
                   "1ms", check=False)
        self.can_slow = probe.returncode == 0
        if self.can_slow:
            ip("-n", self.ns[0], "qdisc", "del", "dev", "eth0", "root", check=False)

    def partition(self, i, on):
        verb = "add" if on else "del"
        for j, host in enumerate(self.hosts):
            if j == i:
                continue
            ip("-n", self.ns[i], "route", verb, "blackhole", host + "/32", check=False)
            ip("-n", self.ns[j], "route", verb, "blackhole", self.hosts[i] + "/32", check=False)

    def slow(self, i, on):
        if on:
            ip("-n", self.ns[i], "qdisc", "add", "dev", "eth0", "root", "netem", "delay",
               "200ms", "loss", "5%", check=False)
        else:
            ip("-n", self.ns[i], "qdisc", "del", "dev", "eth0", "root", check=False)

    def close(self):
        for ns in self.made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)
        subprocess.run(["ip", "link", "del", self.root_if], capture_output=True, timeout=10)


async def make_topology(loopback):
    if not loopback and shutil.which("ip") and os.geteuid() == 0:
        topology = NetnsTopology()
        try:
            await topology.setup(3)
            return topology
        except (OSError, subprocess.CalledProcessError) as e:
            print("soak: network namespaces are not allowed here (%s); proxies on loopback"
                  % (e.stderr.decode().strip() if hasattr(e, "stderr") and e.stderr else e))
            topology.close()
    topology = ProxyTopology()
    await topology.setup(3)
    return topology


# --- nodes --------------------------------------------------------------------------------------
class Node:
    def __init__(self, binary, index, host, port, peers_arg, data_dir, log_dir, wrap=()):
        self.binary, self.index, self.host, self.port = binary, index, host, port
        self.peers_arg, self.data_dir, self.wrap = peers_arg, data_dir, list(wrap)
        self.log = open(os.path.join(log_dir, "node%d.log" % index), "a")
        self.proc = None
        self.max_rss = 0.0
        self.stopped = False  # SIGSTOP

    def start(self):
        self.proc = subprocess.Popen(
            self.wrap + [self.binary, "serve", "--listen", "%s:%d" % (self.host, self.port),
             "--zone", ZONE,
             "--env", ENV, "--nodes", self.peers_arg, "--self-register", "false",
             "--data-dir", self.data_dir, "--evict-after", EVICT_AFTER, "--evict-interval", EVICT_INTERVAL,
             "--peer-timeout", "2s", "--anti-entropy", "5s", "--poll-hold", "30s",
             "--max-parked-polls", "10000", "--log-level", "info"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection((self.host, self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("node %d did not start" % self.index)

    def signal(self, sig):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def kill(self):
        self.signal(signal.SIGKILL)
        if self.proc:
            self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def sample_rss(self):
        if self.proc and self.proc.poll() is None:
            self.max_rss = max(self.max_rss, rss_mib(self.proc.pid))


# --- HTTP on raw connections (pipelined) ------------------------------------------------------
async def read_response(reader):
    """(status, body) of one HTTP/1.1 answer with Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    body = await reader.readexactly(length) if length else b""
    return status, body


def form_request(route, form):
    return ("POST /discovery/%s HTTP/1.1\r\nHost: soak\r\nContent-Type: "
            "application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s"
            % (route, len(form), form)).encode()


def code_of(body):
    try:
        return json.loads(body)["code"]
    except (ValueError, KeyError, TypeError):
        return None


class Ledger:
    """Every acknowledged write, with its time; and what the end state must be."""

    def __init__(self):
        self.acks = {"register": 0, "renew": 0, "cancel": 0, "set": 0, "consul": 0,
                     "deregister": 0}
        self.failures = 0
        self.alive = set()      # (appid, hostname) whose client keeps renewing
        self.cancelled = {}     # (appid, hostname) -> time the cancel was acknowledged
        self.consul_alive = set()
        self.consul_gone = {}
        self.touched = {}       # (appid, hostname) -> when a write about it was last made
        self.sets = {}          # (appid, hostname) -> the "soak" metadata its last set gave it
        # (appid, hostname) -> by when it must be gone from every node: its client died without a
        # cancel (stopped renewing), so its lease lapses (issue 26).
        self.died = {}
        self.zombies = set()    # died instances seen on a node after their bound
        # The rules give a dead instance longer on a node that protects (no eviction while the
        # guard is on) or restarts (a restored lapsed lease goes at its first eviction run):
        # when either was last seen.
        self.last_protect = 0.0
        self.last_restart = 0.0
        self.ttl_passing = {}   # (appid, service ID) -> when its TTL check last passed
        # (appid, service ID) -> by when it must show down on every node: its TTL check stopped
        # passing, so it turns critical (issue 26).
        self.critical_by = {}
        self.not_down = set()   # of those, (key, node) seen up after their bound


class Client:
    """One load generator task: its instances, its node (moved on failure), its connection."""

    def __init__(self, index, nodes, ledger, stop, quiet):
        self.index, self.nodes, self.ledger, self.stop = index, nodes, ledger, stop
        self.quiet = quiet  # set: renew only (the checker is comparing)
        self.node = index % len(nodes)
        self.instances = []  # (appid, hostname)
        self.conn = None
        self.serial = 0

    async def connect(self):
        if self.conn:
            return self.conn
        for _ in range(len(self.nodes)):
            n = self.nodes[self.node]
            try:
                self.conn = await asyncio.wait_for(asyncio.open_connection(n.host, n.port), 2)
                return self.conn
            except (OSError, asyncio.TimeoutError):
                self.node = (self.node + 1) % len(self.nodes)
        return None

    def drop(self):
        if self.conn:
            self.conn[1].transport.abort()
        self.conn = None
        self.node = (self.node + 1) % len(self.nodes)  # as libmuster: the next node
        self.ledger.failures += 1

    async def exchange(self, requests):
        """Sends `requests` pipelined; their (status, body), or None after a failure."""
        for _ in range(4):
            conn = await self.connect()
            if conn is None:
                await asyncio.sleep(0.5)
                continue
            reader, writer = conn
            try:
                writer.write(b"".join(requests))
                await writer.drain()
                out = []
                for _ in requests:
                    out.append(await asyncio.wait_for(read_response(reader), 5))
                return out
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                    asyncio.LimitOverrunError, ValueError):
                self.drop()
        return None

    def register_form(self, appid, host):
        return ("zone=%s&env=%s&appid=%s&hostname=%s&status=1&addrs=http://10.%d.%d.%d:80"
                % (ZONE, ENV, appid, host, self.index, len(host) % 256, hash(host) % 256))

    async def register(self, keys):
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            got = await self.exchange([form_request("register", self.register_form(a, h))
                                       for a, h in chunk])
            if got is None:
                continue
            now = time.monotonic()
            for key, (status, body) in zip(chunk, got):
                self.ledger.touched[key] = now
                if code_of(body) == 0:
                    self.ledger.acks["register"] += 1
                    self.ledger.alive.add(key)
                    self.ledger.sets.pop(key, None)  # a register replaces the metadata

    async def renew_all(self):
        lost = []
        keys = list(self.instances)
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            got = await self.exchange([form_request(
                "renew", "zone=%s&env=%s&appid=%s&hostname=%s" % (ZONE, ENV, a, h))
                for a, h in chunk])
            if got is None:
                continue
            for key, (status, body) in zip(chunk, got):
                c = code_of(body)
                if c == 0:
                    self.ledger.acks["renew"] += 1
                elif c == -404:
                    lost.append(key)  # as kratos: register again
        if lost:
            await self.register(lost)

    async def churn(self, rng):
        """A few cancels (their clients stop for good), new instances, and a set."""
        if len(self.instances) > 10:
            gone = rng.sample(self.instances, 3)
            got = await self.exchange([form_request(
                "cancel", "zone=%s&env=%s&appid=%s&hostname=%s" % (ZONE, ENV, a, h))
                for a, h in gone])
            for key in gone:
                self.instances.remove(key)  # the client stops, acknowledged or not
                self.ledger.alive.discard(key)
                self.ledger.touched[key] = time.monotonic()
            if got:
                for key, (status, body) in zip(gone, got):
                    if code_of(body) in (0, -404):
                        self.ledger.acks["cancel"] += 1
                        self.ledger.cancelled[key] = time.monotonic()
        # One dies without a cancel: its client simply stops renewing it. Every node must drop it
        # within --evict-after + --evict-interval + an anti-entropy round of its last renew
        # (decisions.md §5.7), and never take it back.
        if len(self.instances) > 10:
            key = rng.choice(self.instances)
            self.instances.remove(key)
            self.ledger.alive.discard(key)
            self.ledger.sets.pop(key, None)
            self.ledger.died[key] = time.monotonic() + GONE_BOUND
        fresh = []
        for _ in range(3):
            self.serial += 1
            fresh.append(("soak.app%d" % rng.randrange(APPS), "c%d-n%d" % (self.index,
                                                                           self.serial)))
        self.instances.extend(fresh)
        await self.register(fresh)
        a, h = rng.choice(self.instances)
        got = await self.exchange([form_request(
            "set", "zone=%s&env=%s&appid=%s&hostname=%s&status=1&metadata=%s"
            % (ZONE, ENV, a, h, '{"soak":"%d"}' % self.serial))])
        if got and code_of(got[0][1]) == 0:
            self.ledger.acks["set"] += 1
            self.ledger.sets[(a, h)] = str(self.serial)
            self.ledger.touched[(a, h)] = time.monotonic()

    async def run(self, rng):
        await self.register(list(self.instances))
        next_churn = time.monotonic() + rng.uniform(2, 5)
        while not self.stop.is_set():
            started = time.monotonic()
            await self.renew_all()
            if time.monotonic() >= next_churn and not self.stop.is_set() and not self.quiet.is_set():
                await self.churn(rng)
                next_churn = time.monotonic() + rng.uniform(3, 6)
            rest = RENEW_EVERY - (time.monotonic() - started)
            try:
                await asyncio.wait_for(self.stop.wait(), max(0.1, rest))
            except asyncio.TimeoutError:
                pass


async def poller(nodes, index, stop, counts):
    """One parked long poll at a time on a quiet app, moved to the next node on failure."""
    node = index % len(nodes)
    appid = "soak.quiet%d" % (index % POLL_APPS)
    latest = 0
    while not stop.is_set():
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(nodes[node].host, nodes[node].port), 2)
        except (OSError, asyncio.TimeoutError):
            node = (node + 1) % len(nodes)
            await asyncio.sleep(1)
            continue
        try:
            while not stop.is_set():
                writer.write(("GET /discovery/polls?env=%s&hostname=p%d&appid=%s"
                              "&latest_timestamp=%d HTTP/1.1\r\nHost: soak\r\n\r\n"
                              % (ENV, index, appid, latest)).encode())
                await writer.drain()
                status, body = await asyncio.wait_for(read_response(reader), 45)
                answer = json.loads(body)
                if answer.get("code") == 0:
                    latest = answer["data"][appid]["latest_timestamp"]
                    counts["answers"] += 1
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError,
                KeyError, TypeError):
            counts["failures"] += 1
            node = (node + 1) % len(nodes)
        finally:
            writer.transport.abort()


async def consul_put(nodes, rng, path, body=b""):
    """PUT `path` at a random node, then the others; True once one answered 200."""
    for attempt in range(len(nodes)):
        n = nodes[(attempt + rng.randrange(len(nodes))) % len(nodes)]
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(n.host, n.port), 2)
            writer.write(("PUT %s HTTP/1.1\r\nHost: soak\r\nContent-Length: %d\r\n\r\n"
                          % (path, len(body))).encode() + body)
            await writer.drain()
            status, _ = await asyncio.wait_for(read_response(reader), 5)
            writer.transport.abort()
            if status == 200:
                return True
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
            pass
    return False


async def consul_work(nodes, ledger, stop, quiet, rng):
    """200 Consul registrations (no heartbeat), the first TTL_SERVICES with a TTL check, then one
    without a check deregistered every few seconds."""
    def put(path, body=b""):
        return consul_put(nodes, rng, path, body)

    for i in range(200):
        svc = {"Name": "soak.consul%d" % (i % 10), "ID": "svc-%d" % i, "Address": "10.9.0.%d"
               % (i % 250), "Port": 80}
        if i < TTL_SERVICES:
            svc["Check"] = {"TTL": "%ds" % TTL, "Status": "passing"}
        key = ("soak.consul%d" % (i % 10), "svc-%d" % i)
        ledger.touched[key] = time.monotonic()
        if await put("/v1/agent/service/register?ns=%s&dc=%s" % (ENV, ZONE),
                     json.dumps(svc).encode()):
            ledger.acks["consul"] += 1
            ledger.consul_alive.add(key)
            if i < TTL_SERVICES:
                ledger.ttl_passing[key] = time.monotonic()
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), rng.uniform(4, 8))
        except asyncio.TimeoutError:
            pass
        if stop.is_set() or not ledger.consul_alive:
            break
        if quiet.is_set():
            continue
        key = rng.choice(sorted(ledger.consul_alive))
        if int(key[1].split("-")[1]) < TTL_SERVICES:
            continue  # those with a check stay: ttl_keeper watches them
        ledger.touched[key] = time.monotonic()
        if await put("/v1/agent/service/deregister/%s?ns=%s&dc=%s" % (key[1], ENV, ZONE)):
            ledger.acks["deregister"] += 1
            ledger.consul_alive.discard(key)
            ledger.consul_gone[key] = time.monotonic()


async def ttl_keeper(nodes, ledger, stop, quiet, rng):
    """Passes the TTL checks every 5 s, each at a random node; every 20-40 s one stops being
    passed (its service dies without deregistering) and must then show down on every node."""
    next_death = time.monotonic() + rng.uniform(20, 40)
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), 5)
        except asyncio.TimeoutError:
            pass
        for key in sorted(ledger.ttl_passing):
            if await consul_put(nodes, rng, "/v1/agent/check/pass/service:%s?ns=%s&dc=%s"
                                % (key[1], ENV, ZONE)):
                ledger.ttl_passing[key] = time.monotonic()
        if quiet.is_set() or time.monotonic() < next_death or len(ledger.ttl_passing) <= 1:
            continue
        next_death = time.monotonic() + rng.uniform(20, 40)
        key = rng.choice(sorted(ledger.ttl_passing))
        ledger.critical_by[key] = ledger.ttl_passing.pop(key) + CRITICAL_BOUND


MALFORMED = [
    b"\x16\x03\x01garbage that is not HTTP\r\n\r\n",
    b"GET /discovery/fetch?appid=" + b"x" * 70000 + b" HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /discovery/register HTTP/1.1\r\nHost: a\r\nContent-Length: 40\r\n\r\n"
    b"zone=\xff\xfe&env=soak&appid=bad&hostname=h",
    b"POST /discovery/register HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X: y\r\n" * 5000 + b"\r\n",
    b"POST /discovery/register HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999\r\n\r\nabc",
    b"GET /discovery/fetch HTTP/1.1\r\n",  # never finished: a slow client
]


async def malformed_burst(nodes, rng, n=50):
    sent = 0
    for _ in range(n):
        n = rng.choice(nodes)
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(n.host, n.port), 2)
            writer.write(rng.choice(MALFORMED))
            await writer.drain()
            try:
                await asyncio.wait_for(reader.read(1024), 0.5)
            except asyncio.TimeoutError:
                pass
            writer.transport.abort()
            sent += 1
        except (OSError, asyncio.TimeoutError):
            pass
    return sent


async def get_body(node, path, timeout):
    """The body of GET `path` from `node` on a connection of its own, or None."""
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(node.host, node.port), 2)
        writer.write(("GET %s HTTP/1.1\r\nHost: soak\r\n\r\n" % path).encode())
        await writer.drain()
        _, body = await asyncio.wait_for(read_response(reader), timeout)
        writer.transport.abort()
        return body
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
        return None


async def snapshot_of(node, metadata=None, statuses=None):
    """{(appid, hostname)} of the soak's apps on `node` (fetch/all), or None; with `metadata` (a
    dict), each instance's "soak" metadata goes there too, with `statuses` its status."""
    body = await get_body(node, "/discovery/fetch/all", 20)
    try:
        data = json.loads(body)["data"]
    except (TypeError, ValueError, KeyError):
        return None
    out = set()
    for appid, instances in data.items():
        for inst in instances:
            if inst.get("env") == ENV:
                out.add((appid, inst["hostname"]))
                if metadata is not None:
                    metadata[(appid, inst["hostname"])] = (inst.get("metadata") or {}).get("soak")
                if statuses is not None:
                    statuses[(appid, inst["hostname"])] = inst.get("status")
    return out


async def protecting(node):
    """Whether the node's guard protects now (its muster_protect_mode), None without an answer."""
    body = await get_body(node, "/metrics", 5)
    if body is None:
        return None
    for line in body.decode(errors="replace").splitlines():
        if line.startswith("muster_protect_mode "):
            return line.split()[1] != "0"
    return None


async def zombie_watch(nodes, ledger, stop):
    """Every 5 s: a died instance past its bound must be on no node (it came back, or never
    went: the resurrection bug of issue 26). The bound is the rules': longer by one eviction run
    after a node protected (decisions.md §5.2) or restarted (its restored leases are evicted at
    its first run), both of which the soak's faults cause."""
    grace = EVICT_INTERVAL_S + 10
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), 5)
        except asyncio.TimeoutError:
            pass
        now = time.monotonic()
        for n in nodes:
            if await protecting(n):
                ledger.last_protect = now
        floor = max(ledger.last_protect, ledger.last_restart) + grace
        due = {k for k, by in ledger.died.items() if now >= max(by, floor)}
        # A TTL check that stopped passing: critical, so down (status 2) on every node.
        down_due = {k for k, by in ledger.critical_by.items()
                    if now >= max(by, ledger.last_restart + grace)}
        if not due and not down_due:
            continue
        for i, n in enumerate(nodes):
            statuses = {}
            st = await snapshot_of(n, statuses=statuses)
            if st is not None:
                ledger.zombies |= st & due
                ledger.not_down |= {(k, i) for k in down_due if statuses.get(k) != 2}


async def consul_watcher(nodes, index, stop, counts):
    """A Consul blocking client behind a round-robin balancer: each query goes to the next node,
    with the index of the last answer. Counts the answers that came back early (well before the
    wait) with the same services as the last one: a hot loop makes them by the thousand, as
    muster did before issue 26 (each node answered an index it had not reached at once)."""
    last_index, last_body = 0, None
    turn = index
    wait = 5.0
    while not stop.is_set():
        n = nodes[turn % len(nodes)]
        turn += 1
        path = "/v1/health/service/soak.consul%d?ns=%s&dc=%s&index=%d&wait=%ds" % (
            index % 10, ENV, ZONE, last_index, wait)
        asked = time.monotonic()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(n.host, n.port), 2)
            writer.write(("GET %s HTTP/1.1\r\nHost: soak\r\n\r\n" % path).encode())
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3 * wait)
            length = 0
            got = None
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"x-consul-index:"):
                    got = int(line.split(b":", 1)[1])
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await asyncio.wait_for(reader.readexactly(length), 5)
            writer.transport.abort()
        except (OSError, ValueError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError):
            counts["failures"] += 1
            await asyncio.sleep(0.5)
            continue
        # The services as such: the indexes (CreateIndex, ModifyIndex) agree between nodes only
        # once they hold the same versions.
        services = re.sub(rb'"(Create|Modify)Index":\d+', b"", body)
        counts["answers"] += 1
        if services == last_body and time.monotonic() - asked < wait / 2:
            counts["unchanged"] += 1
        last_index, last_body = got or 0, services


async def agreement_after(nodes, ledger, window=5.0, limit=60.0):
    """Seconds until every node holds what the clients left registered, leaving out what they
    touched in the last `window` seconds (in flight, legitimately different); None when that
    takes longer than `limit`."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        now = time.monotonic()
        recent = {k for k, t in ledger.touched.items() if now - t < window}
        recent |= {k for k, by in ledger.died.items() if now < by}  # still lapsing
        expected = (set(ledger.alive) | set(ledger.consul_alive)) - recent
        agree = True
        for n in nodes:
            st = await snapshot_of(n)
            if st is None or st - recent != expected:
                agree = False
                break
        if agree:
            return time.monotonic() - start
        await asyncio.sleep(1)
    return None


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--instances", type=int, default=50_000)
    ap.add_argument("--polls", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--convergence", type=float, default=120,
                    help="seconds the nodes get to agree after the last fault heals")
    ap.add_argument("--loopback", action="store_true",
                    help="proxies on loopback even where network namespaces are allowed")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    random.seed(args.seed)
    work = tempfile.mkdtemp(prefix="muster-soak-")
    print("soak: seed %d, %d instances, %d polls, %.1f minutes, logs in %s"
          % (args.seed, args.instances, args.polls, args.minutes, work), flush=True)
    topology = await make_topology(args.loopback)
    print("soak: %s%s" % (topology.name, "" if topology.can_slow else
                          " (no slow links: this kernel has no netem)"), flush=True)
    nodes = [Node(args.binary, i, topology.hosts[i], topology.ports[i], topology.peers_args[i],
                  os.path.join(work, "data%d" % i), work, topology.wraps[i]) for i in range(3)]
    try:
        return await soak(args, rng, work, topology, nodes)
    finally:
        for n in nodes:
            n.stop()
        topology.close()


async def soak(args, rng, work, topology, nodes):
    for n in nodes:
        n.start()
    ledger = Ledger()
    stop, quiet = asyncio.Event(), asyncio.Event()
    clients = [Client(i, nodes, ledger, stop, quiet) for i in range(CLIENTS)]
    for k in range(args.instances):
        clients[k % CLIENTS].instances.append(("soak.app%d" % (k % APPS), "h%d" % k))
    # The quiet apps the polls watch: a few instances each, renewed like the others.
    for q in range(POLL_APPS):
        for h in range(3):
            clients[q % CLIENTS].instances.append(("soak.quiet%d" % q, "q%d-%d" % (q, h)))
    counts = {"answers": 0, "failures": 0}
    tasks = [asyncio.create_task(c.run(random.Random(rng.random()))) for c in clients]
    tasks += [asyncio.create_task(consul_work(nodes, ledger, stop, quiet,
                                              random.Random(rng.random())))]
    await asyncio.sleep(RENEW_EVERY)  # every instance registered before polls and faults start
    tasks += [asyncio.create_task(poller(nodes, i, stop, counts)) for i in range(args.polls)]
    watch_counts = {"answers": 0, "unchanged": 0, "failures": 0}
    watch_started = time.monotonic()
    tasks += [asyncio.create_task(consul_watcher(nodes, i, stop, watch_counts))
              for i in range(CONSUL_WATCHERS)]
    tasks += [asyncio.create_task(zombie_watch(nodes, ledger, stop))]
    tasks += [asyncio.create_task(ttl_keeper(nodes, ledger, stop, quiet,
                                             random.Random(rng.random())))]
    faults = {"kill -9": 0, "SIGSTOP": 0, "partition": 0, "malformed": 0}
    if topology.can_slow:
        faults["slow link"] = 0
    malformed_sent = 0
    agreements = []  # (fault, seconds until the nodes agreed after it healed, or None)
    fault_end = time.monotonic() + max(0.0, args.minutes * 60 - args.convergence - RENEW_EVERY)
    last_heal = time.monotonic()
    log = open(os.path.join(work, "faults.log"), "w")

    def say(text):
        line = "%8.1fs %s" % (time.monotonic() - begun, text)
        log.write(line + "\n")
        log.flush()
        print(line, flush=True)

    begun = time.monotonic()
    while time.monotonic() < fault_end:
        for n in nodes:
            n.sample_rss()
        kind = rng.choice(list(faults))
        victim = rng.randrange(3)
        n = nodes[victim]
        faults[kind] += 1
        if kind == "kill -9":
            say("kill -9 node %d" % victim)
            n.kill()
            await asyncio.sleep(rng.uniform(3, 8))
            n.start()
            ledger.last_restart = time.monotonic()
            say("node %d restarted" % victim)
        elif kind == "SIGSTOP":
            say("SIGSTOP node %d" % victim)
            n.signal(signal.SIGSTOP)
            await asyncio.sleep(rng.uniform(5, 12))
            n.signal(signal.SIGCONT)
            say("SIGCONT node %d" % victim)
        elif kind == "partition":
            say("partition node %d from its peers" % victim)
            topology.partition(victim, True)
            await asyncio.sleep(rng.uniform(10, 20))
            topology.partition(victim, False)
            say("partition of node %d healed" % victim)
        elif kind == "slow link":
            say("slow, lossy links to and from node %d" % victim)
            topology.slow(victim, True)
            await asyncio.sleep(rng.uniform(10, 20))
            topology.slow(victim, False)
            say("links of node %d well again" % victim)
        else:
            malformed_sent += await malformed_burst(nodes, rng)
            say("malformed requests sent (%d so far)" % malformed_sent)
        last_heal = time.monotonic()
        if kind != "malformed":
            took = await agreement_after(nodes, ledger)
            agreements.append((kind, took))
            say("nodes agree %s" % ("%.1f s after the heal" % took if took is not None else
                                     "NOT within 60 s of the heal"))
        await asyncio.sleep(rng.uniform(3, 8))
    quiet.set()  # no more churn: the clients only renew while the checker compares
    say("faults over; the checker waits up to %.0f s for the nodes to agree" % args.convergence)
    # The clients keep renewing: the end state is theirs. Cancelled instances may come back for a
    # while through anti-entropy from a node that missed the cancel; they lapse (no renews).
    expected_native = None
    converged_at = None
    last_diff = None
    deadline = last_heal + args.convergence
    while time.monotonic() < deadline:
        for n in nodes:
            n.sample_rss()
        expected = set(ledger.alive) | set(ledger.consul_alive)
        states = [await snapshot_of(n) for n in nodes]
        diffs = []
        for i, st in enumerate(states):
            if st is None:
                diffs.append((i, None, None))
                continue
            diffs.append((i, len(expected - st), len(st - expected)))
        last_diff = diffs
        if all(m == 0 and e == 0 for _, m, e in diffs):
            converged_at = time.monotonic()
            expected_native = expected
            break
        await asyncio.sleep(2)
    stop.set()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    metas = [{} for _ in nodes]
    statuses = [{} for _ in nodes]
    states = [await snapshot_of(n, m, s) for n, m, s in zip(nodes, metas, statuses)]
    expected = set(ledger.alive) | set(ledger.consul_alive)
    for n in nodes:
        n.sample_rss()
    rss_final = [rss_mib(n.proc.pid) for n in nodes]
    for n in nodes:
        n.stop()
    print("\n--- soak verdict (seed %d) ---" % args.seed)
    print("writes acknowledged: %s; client-side failures (moved node): %d"
          % (", ".join("%s %d" % kv for kv in ledger.acks.items()), ledger.failures))
    print("faults injected: %s; malformed requests %d"
          % (", ".join("%s %d" % kv for kv in faults.items()), malformed_sent))
    print("polls answered %d, poll connections lost %d" % (counts["answers"], counts["failures"]))
    print("sets whose metadata every node must show: %d" % len(ledger.sets))
    # A hot loop answers without a change by the thousand per minute; a blocking client that
    # alternates nodes may get one such answer per switch to a node whose index is ahead.
    watch_minutes = max((time.monotonic() - watch_started) / 60, 1e-9)
    unchanged_rate = watch_counts["unchanged"] / watch_minutes / CONSUL_WATCHERS
    print("Consul blocking clients alternating nodes: %d answers, %d without a change (%.1f per "
          "client-minute; a hot loop fails the soak above 30), %d failures"
          % (watch_counts["answers"], watch_counts["unchanged"], unchanged_rate,
             watch_counts["failures"]))
    print("instances that died without a cancel: %d; seen on a node after their bound (one "
          "eviction run longer after a node protected or restarted): %d%s"
          % (len(ledger.died), len(ledger.zombies),
             " e.g. %s" % sorted(ledger.zombies)[:5] if ledger.zombies else ""))
    print("TTL checks that stopped passing: %d of %d; seen up on a node after their bound (%d s "
          "after the last pass): %d%s"
          % (len(ledger.critical_by), TTL_SERVICES, CRITICAL_BOUND, len(ledger.not_down),
             " e.g. %s" % sorted(ledger.not_down)[:5] if ledger.not_down else ""))
    cancelled = set(ledger.cancelled) | set(ledger.consul_gone)
    clean = (converged_at is not None and not ledger.zombies and not ledger.not_down
             and unchanged_rate <= 30)
    for i, st in enumerate(states):
        if st is None:
            print("node %d: no answer at the end" % i)
            clean = False
            continue
        missing, extra = expected - st, st - expected
        zombies = st & cancelled
        print("node %d: %d instances, missing %d, extra %d (cancelled still there: %d); RSS max "
              "%.0f MiB, final %.0f MiB" % (i, len(st), len(missing), len(extra), len(zombies),
                                            nodes[i].max_rss, rss_final[i]))
        if missing or extra:
            clean = False
            print("  e.g. missing %s, extra %s" % (sorted(missing)[:5], sorted(extra)[:5]))
        up = [k for k in ledger.critical_by if statuses[i].get(k) != 2]
        if up:
            clean = False
            print("  %d services whose TTL check stopped passing not down, e.g. %s"
                  % (len(up), up[:3]))
        wrong_sets = [k for k, v in ledger.sets.items() if k in st and metas[i].get(k) != v]
        if wrong_sets:
            clean = False
            print("  %d of %d sets not seen, e.g. %s" % (len(wrong_sets), len(ledger.sets),
                                                       wrong_sets[:3]))
    timed = [t for _, t in agreements if t is not None]
    late = [k for k, t in agreements if t is None]
    if agreements:
        print("after each fault healed, the nodes agreed within %.1f s at worst (median %.1f s, "
              "%d faults)%s" % (max(timed) if timed else float("nan"),
                                sorted(timed)[len(timed) // 2] if timed else float("nan"),
                                len(agreements),
                                "; not within 60 s after: " + ", ".join(late) if late else ""))
        if late:
            clean = False
    if converged_at is not None:
        print("converged %.1f s after the last fault healed (bound %.0f s)"
              % (converged_at - last_heal, args.convergence))
    else:
        print("did not converge within %.0f s of the last fault: %s" % (args.convergence,
                                                                        last_diff))
    bound = 2048
    if any(r > bound for r in [n.max_rss for n in nodes]):
        clean = False
        print("RSS over %d MiB" % bound)
    print("VERDICT: %s" % ("CLEAN" if clean else "FAILED"))
    if clean:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print("logs kept in %s" % work)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

"""Starts a real `muster serve` on a free loopback port and talks to it over HTTP.

Every process a test starts is stopped by its own PID when the test ends.
"""
import http.client
import json
import os
import re
import threading
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse

BIN = os.environ.get("MUSTER_BIN", os.path.join(os.path.dirname(__file__), "../../build/muster"))


def free_ports(n):
    """n distinct free loopback ports (all bound at once, so none repeats)."""
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def eventually(check, timeout=10, what="condition", interval=0.05):
    """Polls `check` until it returns a true value; bounded in time."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out waiting for " + what + ": " + repr(last))


def status_bytes(pid, key):
    """A size from /proc/PID/status (VmRSS, VmHWM), in bytes."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no " + key)


def watch(args, change=None, timeout=20):
    """Runs `muster watch ARGS` (give --count) until it exits; with `change`, calls it after the
    first report, so that the change is not folded into it. Returns (returncode, stdout, stderr);
    a watch that overstays `timeout` is killed."""
    w = subprocess.Popen([BIN, "watch", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         encoding="utf-8")
    overstayed = threading.Timer(timeout, w.kill)  # also ends a first report that never comes
    overstayed.start()
    try:
        first = ""
        if change is not None:
            first = w.stdout.readline()
            if not first.startswith("# "):
                w.kill()
                raise AssertionError("no first report from muster watch: %r %r"
                                     % (first, w.communicate()[1][-2000:]))
            change()
        out, err = w.communicate(timeout=timeout)
        return w.returncode, first + out, err
    finally:
        overstayed.cancel()
        if w.poll() is None:
            w.kill()
            w.wait()


class Node:
    def __init__(self, *args, config=None, self_register=False, wrap=(), host="127.0.0.1",
                 tls=None, preexec=None, listen="127.0.0.1:0"):
        """`wrap` prefixes the command (e.g. `ip netns exec NS`); `host` is where the test
        reaches the node; `tls` is the ssl.SSLContext to reach it with (a node serving TLS);
        `preexec` runs in the child before muster (resource limits); `listen` is --listen
        ("[::1]:PORT" with host "::1" for IPv6)."""
        self.tls = tls
        # Single-node tests count instances: the node's own infra.discovery registration is
        # left out unless a test asks for it.
        cmd = [*wrap, BIN, "serve", "--listen", listen, "--log-level", "info",
               "--self-register", "true" if self_register else "false", *args]
        self.host = host
        if config is not None:
            cmd += ["--config", config]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     preexec_fn=preexec)
        self.port = None
        self.log = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.log.append(line)
            m = re.search(r"listening on \S+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            self.proc.kill()
            raise RuntimeError("muster did not start:\n" + "".join(self.log) + self.proc.stdout.read())
        self._conn = None
        # The rest of the output is drained as it comes (a full pipe would block the node).
        self._drain = threading.Thread(target=self._drain_output, daemon=True)
        self._drain.start()

    def _drain_output(self):
        for line in self.proc.stdout:
            self.log.append(line)

    # --- HTTP -------------------------------------------------------------------------------
    def connect(self, timeout=10):
        if self.tls is not None:
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                               context=self.tls)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, conn=None, timeout=10):
        own = conn is None
        c = conn or self.connect(timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data
        finally:
            if own:
                c.close()

    def call(self, method, route, params=None, json_body=None, timeout=10, headers=None):
        """Calls a /discovery route; returns (parsed envelope, raw body, headers)."""
        params = params or []
        if isinstance(params, dict):
            params = list(params.items())
        path = "/discovery/" + route
        body = None
        hdrs = dict(headers or {})
        if method == "GET":
            if params:
                path += "?" + urllib.parse.urlencode(params)
        elif json_body is not None:
            body = json.dumps(json_body)
            hdrs["Content-Type"] = "application/json"
        else:
            body = urllib.parse.urlencode(params)
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        status, h, raw = self.request(method, path, body, hdrs, timeout=timeout)
        assert status == 200, (status, raw)
        return json.loads(raw), raw, h

    def register(self, hostname="h1", appid="provider", zone="sh001", env="dev", status=1,
                 addrs=("http://172.1.1.1:8000",), version="111", **extra):
        params = [("zone", zone), ("env", env), ("appid", appid), ("hostname", hostname),
                  ("status", str(status)), ("region", "sh"), ("version", version)]
        params += [("addrs", a) for a in addrs]
        params += [(k, v) for k, v in extra.items()]
        return self.call("POST", "register", params)[0]

    def fetch(self, appid="provider", env="dev", status=3, zone=None):
        p = [("env", env), ("appid", appid), ("status", str(status))]
        if zone:
            p.append(("zone", zone))
        return self.call("GET", "fetch", p)[0]

    def instances(self, appid="provider", env="dev"):
        r = self.fetch(appid, env)
        if r["code"] != 0:
            return {}
        return {i["hostname"]: i for zone in r["data"]["instances"].values() for i in zone}

    def metric(self, name):
        _, _, body = self.request("GET", "/metrics")
        for line in body.decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return None

    def wait_for_log(self, text, timeout=10):
        """Waits until a line of the node's output holds `text`; returns that line. Bounded."""
        return eventually(lambda: next((l for l in list(self.log) if text in l), None),
                          timeout=timeout, what="a log line with %r" % text)

    # --- lifecycle ----------------------------------------------------------------------------
    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        self._drain.join(10)
        self.proc.stdout.close()
        return self.proc.returncode

    def alive(self):
        return self.proc.poll() is None


def write_yaml(test, text):
    """A temporary YAML file holding `text`, removed when `test` ends; returns its path."""
    f = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    f.write(text)
    f.close()
    test.addCleanup(os.unlink, f.name)
    return f.name


def raw_exchange(port, data, timeout=5, read=True):
    """Sends raw bytes on a new connection; returns what the server sent back until it closed."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        if not read:
            return b""
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()

#!/usr/bin/env python3
"""Two hostile-client figures (issue 15), for one or more muster binaries measured in the same run
(the first is usually the build before a change, the second the build after):
  1. clients that never read: 5,000 instances (fetch/all about 6.7 MB), then 100 connections
     that each send GET /discovery/fetch/all and never read. The node's RSS before, with the 100
     connected, and after they left; and normal fetches of a small app meanwhile (p50/max).
  2. renew latency while 4 clients loop on fetch/all (curl processes, 10 s): p50 and p99 of renews
     sent one after another on one kept-alive connection, against the same renews with no
     fetch/all load.
Usage: hostile.py MUSTER_BIN [MUSTER_BIN ...]"""
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse

INSTANCES = 5000
IDLE_CLIENTS = 100
LOOPERS = 4
SECONDS = 10


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def start(binary):
    proc = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--self-register",
                             "false", "--log-level", "info"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        m = re.search(r"listening on \S+:(\d+)", proc.stdout.readline())
        if m:
            return proc, int(m.group(1))
    proc.kill()
    raise RuntimeError("no node")


def fill(port):
    # Pipelined form registers on one connection: 5,000 instances in about a second.
    md = urllib.parse.quote(json.dumps({"k%d" % i: "v" * 40 for i in range(20)}))
    body_of = lambda i: ("zone=sh001&env=dev&appid=app%d&hostname=h%d&status=1&region=sh&version=1"
                         "&addrs=http://10.0.%d.%d:8000&addrs=grpc://10.0.%d.%d:9000&metadata=%s"
                         % (i % 50, i, i // 256, i % 256, i // 256, i % 256, md))
    s = socket.create_connection(("127.0.0.1", port))
    for start_at in range(0, INSTANCES, 500):
        out = b""
        for i in range(start_at, min(INSTANCES, start_at + 500)):
            b = body_of(i).encode()
            out += (b"POST /discovery/register HTTP/1.1\r\nHost: x\r\nContent-Type: "
                    b"application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n" % len(b)) + b
        s.sendall(out)
        got = b""
        while got.count(b'"code":0') < min(500, INSTANCES - start_at):
            got += s.recv(1 << 20)
    s.close()


def timed_get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    t = time.perf_counter()
    c.request("GET", path)
    r = c.getresponse()
    data = r.read()
    c.close()
    return time.perf_counter() - t, r.status, len(data)


def never_readers(binary):
    proc, port = start(binary)
    try:
        fill(port)
        _, _, size = timed_get(port, "/discovery/fetch/all")
        time.sleep(1)
        before = rss_mb(proc.pid)
        idle = []
        for _ in range(IDLE_CLIENTS):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /discovery/fetch/all HTTP/1.1\r\nHost: x\r\n\r\n")
            idle.append(s)
        lat = []
        for _ in range(20):
            dt, status, _ = timed_get(port, "/discovery/fetch?env=dev&appid=app1&status=1")
            lat.append(dt * 1000)
            time.sleep(0.1)
        held = rss_mb(proc.pid)
        for s in idle:
            s.close()
        time.sleep(3)
        after = rss_mb(proc.pid)
        return {"fetch_all_bytes": size, "rss_before_mb": round(before, 1),
                "rss_with_idle_mb": round(held, 1), "rss_after_mb": round(after, 1),
                "fetch_p50_ms": round(statistics.median(lat), 2), "fetch_max_ms": round(max(lat), 2)}
    finally:
        proc.terminate()
        proc.wait(10)


def renew_latencies(port, seconds):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = "zone=sh001&env=dev&appid=app1&hostname=h1"
    hdrs = {"Content-Type": "application/x-www-form-urlencoded"}
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.perf_counter()
        c.request("POST", "/discovery/renew", body, hdrs)
        c.getresponse().read()
        out.append((time.perf_counter() - t) * 1000)
    c.close()
    out.sort()
    return round(out[len(out) // 2], 3), round(out[int(len(out) * 0.99)], 3), len(out)


def renew_under_fetch_all(binary):
    proc, port = start(binary)
    try:
        fill(port)
        quiet = renew_latencies(port, 3)
        loop = ("end=$((SECONDS+%d)); while [ $SECONDS -lt $end ]; do "
                "curl -s -o /dev/null http://127.0.0.1:%d/discovery/fetch/all; done"
                % (SECONDS + 1, port))
        loopers = [subprocess.Popen(["bash", "-c", loop]) for _ in range(LOOPERS)]
        time.sleep(0.5)
        loaded = renew_latencies(port, SECONDS - 1)
        for p in loopers:
            p.wait(30)
        return {"renew_quiet_p50_ms": quiet[0], "renew_quiet_p99_ms": quiet[1],
                "renew_loaded_p50_ms": loaded[0], "renew_loaded_p99_ms": loaded[1],
                "renews_loaded": loaded[2]}
    finally:
        proc.terminate()
        proc.wait(10)


def main():
    for binary in sys.argv[1:]:
        result = {"binary": binary}
        result.update(never_readers(binary))
        result.update(renew_under_fetch_all(binary))
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

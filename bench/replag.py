#!/usr/bin/env python3
"""Replication lag probe: registers one instance on node A again and again (its version counting
up), PROBES_PER_S times a second, and long-polls node B for it; the lag of a probe is the time
from sending it to A until B's poll shows it. The probes travel in the same per-peer queue as
whatever load runs beside them. Usage: replag.py A_PORT B_PORT SECONDS [PROBES_PER_S]"""
import http.client
import json
import sys
import threading
import time
import urllib.parse

a_port, b_port, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
rate = float(sys.argv[4]) if len(sys.argv) > 4 else 100
sent = {}
lags = []
stop = threading.Event()


def register(conn, version):
    body = urllib.parse.urlencode([("zone", "sh001"), ("env", "bench"), ("appid", "bench.lag"),
                                   ("hostname", "probe"), ("status", "1"), ("version", str(version)),
                                   ("addrs", "http://10.0.0.1:1")])
    conn.request("POST", "/discovery/register", body,
                 {"Content-Type": "application/x-www-form-urlencoded"})
    conn.getresponse().read()


def watch():
    conn = http.client.HTTPConnection("127.0.0.1", b_port, timeout=60)
    latest = 0
    deadline = time.monotonic() + seconds + 30
    while not stop.is_set() and time.monotonic() < deadline:
        q = urllib.parse.urlencode([("env", "bench"), ("appid", "bench.lag"), ("hostname", "w"),
                                    ("latest_timestamp", str(latest))])
        conn.request("GET", "/discovery/poll?" + q)
        r = json.loads(conn.getresponse().read())
        now = time.monotonic()
        if r["code"] != 0:
            continue
        app = r["data"]
        latest = app["latest_timestamp"]
        for zone in app["instances"].values():
            for inst in zone:
                v = int(inst["version"])
                if v in sent and v > 0:
                    lags.append(now - sent.pop(v))


conn = http.client.HTTPConnection("127.0.0.1", a_port, timeout=10)
register(conn, 0)
watcher = threading.Thread(target=watch, daemon=True)
time.sleep(0.5)  # the probe app reaches B before timing starts
watcher.start()
start = time.monotonic()
i = 0
while time.monotonic() - start < seconds:
    i += 1
    sent[i] = time.monotonic()
    register(conn, i)
    time.sleep(max(0.0, start + i / rate - time.monotonic()))
time.sleep(2)
stop.set()
lags.sort()
if not lags:
    print("probes=%d seen=0" % i)
    sys.exit(1)
pick = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))] * 1000
print("probes=%d seen=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f" % (i, len(lags), pick(0.5), pick(0.99), lags[-1] * 1000))

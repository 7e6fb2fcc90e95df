"""Consul TTL checks at scale (issue 27.9): N services registered through the Consul API, each
with a TTL check, on one node. Measured: the latency of /v1/agent/check/pass on one of them
against a native renew on the same node (the reference, measured in the same run), and the
node's CPU while idle with the N checks against the same node with none. Before the check index
a pass among 100,000 checks took 123 ms and the idle node spent 48 % of a core re-reading them.

    python3 bench/ttl_checks.py [--binary build/muster] [--services 100000] [--ttl 30 --renewed]
"""
import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from bench_util import free_port, pct, rss_mib, wait_for  # noqa: E402


def start(binary):
    port = free_port()
    proc = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:%d" % port, "--zone", "sh001",
                             "--env", "dev", "--log-level", "warn"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def up():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    if not wait_for(up, 20, 0.05):
        proc.kill()
        raise SystemExit("the node did not start")
    return proc, port


def pipelined(port, n, request_of):
    """Sends request_of(i) for i < n over one keep-alive connection, 500 at a time; every answer
    must be 200."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(120)
    batch = 500
    for start_at in range(0, n, batch):
        count = min(batch, n - start_at)
        s.sendall("".join(request_of(i) for i in range(start_at, start_at + count)).encode())
        data = b""
        while data.count(b"HTTP/1.1 ") < count:
            more = s.recv(1 << 16)
            if not more:
                raise SystemExit("the node closed the connection")
            data += more
        if data.count(b"HTTP/1.1 200") != count:
            raise SystemExit("a request was refused: %r" % data[:300])
    s.close()


def register(port, n, ttl):
    """n services svc-<i>, each with a TTL check."""
    def request(i):
        body = json.dumps({"Name": "svc%d" % (i % 1000), "ID": "svc-%d" % i, "Port": 80,
                           "Check": {"TTL": ttl}})
        return ("PUT /v1/agent/service/register HTTP/1.1\r\nHost: x\r\n"
                "Content-Length: %d\r\n\r\n%s" % (len(body), body))
    pipelined(port, n, request)


def pass_all(port, n):
    pipelined(port, n, lambda i: "PUT /v1/agent/check/pass/service:svc-%d HTTP/1.1\r\n"
                                 "Host: x\r\nContent-Length: 0\r\n\r\n" % i)


def latencies(port, method, path, body, times):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out = []
    for _ in range(times):
        t = time.perf_counter()
        c.request(method, path, body=body,
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
        r = c.getresponse()
        r.read()
        out.append((time.perf_counter() - t) * 1000)
        if r.status != 200:
            raise SystemExit("%s %s: %d" % (method, path, r.status))
    c.close()
    return out


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(pid, seconds):
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds * 100


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build/muster")
    ap.add_argument("--services", type=int, default=100_000)
    ap.add_argument("--idle-seconds", type=float, default=10)
    ap.add_argument("--ttl", type=float, default=3600,
                    help="each check's TTL in seconds; with --renewed, at least 20")
    ap.add_argument("--renewed", action="store_true",
                    help="pass every check twice (the second an unchanged pass: a renew) and "
                         "measure once the first pass is older than the TTL, as under live traffic")
    args = ap.parse_args()

    empty, empty_port = start(args.binary)
    full, port = start(args.binary)
    try:
        t = time.monotonic()
        register(port, args.services, "%ds" % args.ttl)
        took = time.monotonic() - t
        if args.renewed:
            first = time.monotonic()
            pass_all(port, args.services)  # critical -> passing: a change
            time.sleep(args.idle_seconds + 5)  # so the renew outlives the measure
            pass_all(port, args.services)  # unchanged: a renew of the instance
            # The measure runs where the first pass is older than the TTL and the renew is not.
            time.sleep(max(0, first + args.ttl + 1 - time.monotonic()))
        # A native instance on each node, for the reference renew.
        form = "zone=sh001&env=dev&appid=ref&hostname=r1&status=1&addrs=http://10.0.0.1:80"
        for p in (port, empty_port):
            latencies(p, "POST", "/discovery/register", form, 1)
        time.sleep(1)
        pid_rss = rss_mib(full.pid)
        idle_full = idle_cpu(full.pid, args.idle_seconds)
        idle_empty = idle_cpu(empty.pid, args.idle_seconds)
        pass_ms = latencies(port, "PUT", "/v1/agent/check/pass/service:svc-%d" % (args.services // 2),
                            None, 300)
        renew_ms = latencies(port, "POST", "/discovery/renew",
                             "zone=sh001&env=dev&appid=ref&hostname=r1", 300)
    finally:
        for proc in (empty, full):
            proc.terminate()
            proc.wait(30)
    print("services with a TTL check: %d (TTL %ds%s; registered in %.1f s); node RSS %.0f MiB"
          % (args.services, args.ttl, ", passed and renewed" if args.renewed else "", took,
             pid_rss))
    print("check/pass  p50 %.3f ms  p99 %.3f ms" % (pct(pass_ms, 50), pct(pass_ms, 99)))
    print("renew (ref) p50 %.3f ms  p99 %.3f ms" % (pct(renew_ms, 50), pct(renew_ms, 99)))
    print("pass / renew at p50: %.2f" % (pct(pass_ms, 50) / pct(renew_ms, 50)))
    print("idle CPU: %.1f %% of a core with the checks, %.1f %% with none"
          % (idle_full, idle_empty))


if __name__ == "__main__":
    main()

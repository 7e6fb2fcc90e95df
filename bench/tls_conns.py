"""Memory of parked long polls: opens N connections to a node (over TLS or not), each sending a
poll that parks, and prints the node's RSS growth per poll.
Usage: tls_conns.py http|https PORT PID N CA_FILE"""
import http.client
import json
import ssl
import sys
import time


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def parked(port, ctx):
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx) if ctx else \
        http.client.HTTPConnection("127.0.0.1", port)
    c.request("GET", "/metrics")
    for line in c.getresponse().read().decode().splitlines():
        if line.startswith("muster_parked_polls "):
            c.close()
            return int(float(line.split()[1]))
    c.close()
    return 0


def main():
    scheme, port, pid, n, ca = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), \
        sys.argv[5]
    ctx = ssl.create_default_context(cafile=ca) if scheme == "https" else None
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx) if ctx else \
        http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", "/discovery/fetch?appid=bench.renew&env=bench&status=3")
    latest = json.loads(conn.getresponse().read())["data"]["latest_timestamp"]
    conn.close()
    time.sleep(0.5)
    before = rss_kib(pid)
    conns = []
    target = "/discovery/polls?env=bench&hostname=b&appid=bench.renew&latest_timestamp=%d" % latest
    for _ in range(n):
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx) if ctx else \
            http.client.HTTPConnection("127.0.0.1", port)
        c.request("GET", target)
        conns.append(c)
    deadline = time.monotonic() + 60
    while parked(port, ctx) < n and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    after = rss_kib(pid)
    print("%d parked polls: node RSS %.1f -> %.1f MiB, %.1f KiB per poll"
          % (parked(port, ctx), before / 1024, after / 1024, (after - before) / n))
    for c in conns:
        c.close()


if __name__ == "__main__":
    main()

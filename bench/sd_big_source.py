#!/usr/bin/env python3
"""Memory of muster sd reading one large source (issue 27): a file_sd JSON file of GROUPS groups
(1 target each, labels dc (4 values) and team (50 values), and with SHAPE=unique a label host
unique to each group as well), read by one
file_sd_configs job with a file_sd output and the HTTP output. Reported per binary: the peak RSS
(VmHWM), the RSS once the outputs are written, the time to the output file, and the sizes.
Give two binaries (before, after) to measure both in the same run.
Usage: sd_big_source.py GROUPS MUSTER_BIN [MUSTER_BIN ...]"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from bench_util import free_port, wait_for


def write_source(path, n, unique_label):
    with open(path, "w") as f:
        f.write("[")
        for i in range(n):
            if i:
                f.write(",")
            labels = {"dc": "dc%d" % (i % 4), "team": "t%d" % (i % 50)}
            if unique_label:
                labels["host"] = "host-%d" % i
            f.write(json.dumps({
                "targets": ["127.%d.%d.%d:9100" % (1 + (i >> 16), (i >> 8) & 255, i & 255)],
                "labels": labels}))
        f.write("]")


def status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def measure(binary, source, d):
    out = os.path.join(d, "out-%d" % time.monotonic_ns())
    os.makedirs(out)
    port = free_port()
    config = os.path.join(d, "sd.yml")
    with open(config, "w") as f:
        f.write("throttle: 0s\noutput:\n  listen: 127.0.0.1:%d\n  file_sd_dir: %s\n"
                "scrape_configs:\n  - job_name: big\n    file_sd_configs:\n      - files: [%s]\n"
                % (port, out, source))
    start = time.monotonic()
    p = subprocess.Popen([binary, "sd", "--config", config], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        written = os.path.join(out, "big.json")
        if not wait_for(lambda: os.path.exists(written) and os.path.getsize(written) > 2, 600,
                        step=0.2):
            raise SystemExit("%s wrote no output within 600 s" % binary)
        seconds = time.monotonic() - start
        time.sleep(2)
        with urllib.request.urlopen("http://127.0.0.1:%d/sd/big" % port, timeout=120) as r:
            http_bytes = len(r.read())
        return {"peak_mib": status_kib(p.pid, "VmHWM") / 1024,
                "kept_mib": status_kib(p.pid, "VmRSS") / 1024, "seconds": seconds,
                "file_bytes": os.path.getsize(written), "http_bytes": http_bytes}
    finally:
        p.terminate()
        p.wait(30)


def main():
    groups = int(sys.argv[1])
    shape = os.environ.get("SHAPE", "shared")
    d = tempfile.mkdtemp(prefix="muster-bench-sd-big-")
    try:
        source = os.path.join(d, "source.json")
        write_source(source, groups, shape == "unique")
        print("source: %d groups (%s labels), %.1f MiB" % (groups, shape,
                                                          os.path.getsize(source) / 1048576))
        for binary in sys.argv[2:]:
            m = measure(binary, source, d)
            print("%s: peak %.0f MiB, after the outputs %.0f MiB, output file in %.1f s "
                  "(%d bytes; GET /sd/big %d bytes)" % (binary, m["peak_mib"], m["kept_mib"],
                                                        m["seconds"], m["file_bytes"],
                                                        m["http_bytes"]))
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()

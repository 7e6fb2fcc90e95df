#!/usr/bin/env python3
"""Jobs from a CMDB at fleet size (issue 20): one job_discovery source of 500 jobs x 40 targets
(one CMDB export file, read by a file_sd_configs provider), muster sd writing a real Prometheus
2.42's configuration (template + 500 scrape_configs over http_sd) and reloading it. For CHANGES
rounds, a new group is added to the CMDB file and timed until
  - muster sd has written it into the Prometheus configuration (the file's mtime and content),
  - Prometheus shows it as a job in /api/v1/targets.
The peer, measured in the same run on the same Prometheus: the same new job written straight
into Prometheus's configuration by hand (a static_configs job appended to the file muster sd
wrote, then POST /-/reload), timed until /api/v1/targets shows it: the floor of any tool that
makes Prometheus take a new job by reloading its configuration.
Targets are 127.x.y.z addresses (nothing listens; the template's scrape_interval is 1h).
Usage: sd_jobs.py MUSTER_BIN [CHANGES]"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from bench_util import free_port, pct, rss_mib, wait_for, write_atomically

BIN = sys.argv[1]
CHANGES = int(sys.argv[2]) if len(sys.argv) > 2 else 5
JOBS, TARGETS = 500, 40


def group(j):
    return {"targets": ["127.%d.%d.%d:9100" % (1 + j // 250, j % 250, i) for i in range(TARGETS)],
            "labels": {"cmdb_group": "group-%d" % j, "__metrics_path__": "/m/%d" % j,
                       "team": "t%d" % (j % 7)}}


def established(port):
    """TCP connections established to 127.0.0.1:port (from /proc/net/tcp)."""
    n = 0
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1].endswith(":%04X" % port) and fields[3] == "01":
                n += 1
    return n


def main():
    if not shutil.which("prometheus"):
        raise SystemExit("prometheus is not installed")
    d = tempfile.mkdtemp(prefix="muster-bench-sd-jobs-")
    procs = []
    try:
        prom_port, sd_port = free_port(), free_port()
        cmdb = os.path.join(d, "cmdb.json")
        groups = [group(j) for j in range(JOBS)]
        write_atomically(cmdb, json.dumps(groups))
        template = os.path.join(d, "base.yml")
        with open(template, "w") as f:
            f.write("global:\n  scrape_interval: 1h\n  scrape_timeout: 10s\nscrape_configs: []\n")
        prom_file = os.path.join(d, "prometheus.yml")
        config = os.path.join(d, "sd.yml")
        with open(config, "w") as f:
            f.write("""throttle: 0s
output:
  listen: 127.0.0.1:%d
  prometheus_config:
    file: %s
    template: %s
    reload_url: http://127.0.0.1:%d/-/reload
    refresh_interval: 5s
    min_interval: 0s
job_discovery:
  - name: cmdb
    job_label: cmdb_group
    file_sd_configs:
      - files: [%s]
""" % (sd_port, prom_file, template, prom_port, cmdb))
        sd = subprocess.Popen([BIN, "sd", "--config", config], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        procs.append(sd)
        if not wait_for(lambda: os.path.exists(prom_file), 30, 0.01):
            raise SystemExit("muster sd wrote no prometheus configuration")
        log = open(os.path.join(d, "prom.log"), "w")
        prom = subprocess.Popen(["prometheus", "--config.file=" + prom_file,
                                 "--web.enable-lifecycle",
                                 "--storage.tsdb.path=" + os.path.join(d, "tsdb"),
                                 "--web.listen-address=127.0.0.1:%d" % prom_port,
                                 "--log.level=warn"], stdout=log, stderr=log)
        procs.append(prom)

        def prom_jobs():
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/targets?state=active"
                                            % prom_port, timeout=30) as r:
                    data = json.load(r)["data"]["activeTargets"]
            except OSError:
                return set()
            return {t["scrapePool"] for t in data}

        start = time.monotonic()
        if not wait_for(lambda: len(prom_jobs()) >= JOBS, 180, 0.5):
            raise SystemExit("prometheus did not show the %d jobs" % JOBS)
        print("machine: %d cores; %d jobs x %d targets from one source; Prometheus showed them all "
              "%.1f s after its start; RSS of muster sd then %.1f MiB"
              % (os.cpu_count(), JOBS, TARGETS, time.monotonic() - start, rss_mib(sd.pid)))

        def timed(job, make_change):
            t0 = time.monotonic()
            make_change()

            def in_file():
                with open(prom_file) as f:
                    return ('"%s"' % job) in f.read()
            written = (time.monotonic() - t0) if wait_for(in_file, 60, 0.002) else None
            seen = wait_for(lambda: job in prom_jobs(), 60, 0.05)
            return written, (time.monotonic() - t0) if seen else None

        muster_written, muster_seen, peer_seen = [], [], []
        for i in range(CHANGES):
            j = JOBS + i
            groups.append(group(j))
            w, s = timed("group-%d" % j, lambda: write_atomically(cmdb, json.dumps(groups)))
            muster_written.append(w)
            muster_seen.append(s)
            if os.environ.get("RSS_EACH_ROUND"):
                print("round %d: RSS %.1f MiB, %d connections to muster sd"
                      % (i, rss_mib(sd.pid), established(sd_port)))
            time.sleep(1)

            # The peer: the same kind of job written into the configuration by hand, reloaded.
            peer_job = "hand-%d" % i

            def by_hand():
                with open(prom_file) as f:
                    text = f.read()
                text += ("  - job_name: %s\n    static_configs:\n      - targets: [%s]\n"
                         % (peer_job, ", ".join("'127.9.%d.%d:9100'" % (i, t)
                                                for t in range(TARGETS))))
                write_atomically(prom_file, text)
                req = urllib.request.Request("http://127.0.0.1:%d/-/reload" % prom_port,
                                             method="POST")
                urllib.request.urlopen(req, timeout=60).read()

            t0 = time.monotonic()
            by_hand()
            seen = wait_for(lambda: peer_job in prom_jobs(), 60, 0.05)
            peer_seen.append((time.monotonic() - t0) if seen else None)
            time.sleep(1)

        def show(name, values):
            ok = [v for v in values if v is not None]
            if not ok:
                return "%s: none seen" % name
            return "%s: p50 %.0f ms, max %.0f ms (%d/%d)" % (
                name, pct(ok, 50) * 1000, max(ok) * 1000, len(ok), len(values))

        print(show("CMDB change -> muster sd's prometheus.yml has the job", muster_written))
        print(show("CMDB change -> Prometheus shows the job (through muster sd)", muster_seen))
        print(show("peer: job written into prometheus.yml by hand + reload -> Prometheus shows it",
                   peer_seen))
        ok_m = [v for v in muster_seen if v is not None]
        ok_p = [v for v in peer_seen if v is not None]
        if ok_m and ok_p:
            print("ratio muster sd / by hand (p50): %.2f" % (statistics.median(ok_m)
                                                             / statistics.median(ok_p)))
        print("RSS of muster sd with %d jobs: %.1f MiB" % (JOBS + CHANGES, rss_mib(sd.pid)))
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()

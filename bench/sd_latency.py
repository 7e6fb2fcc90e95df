#!/usr/bin/env python3
"""muster sd under a fleet-sized configuration: 20,000 targets in 200 jobs, 100 jobs from files
(one file of 100 targets each) and 100 from an exec source (a script printing one job's 100
targets, refresh 10 s), throttle 0. Measures, for CHANGES edits of one source file each:
  - file: time from the rename of a changed source file until muster sd's output file has it;
  - exec: time from the start of the first run of the exec source after a change of its data
    until the output file has it (process start, its output read, parsed, rendered, written;
    the wait for that run, up to the 10 s refresh interval, is left out);
  - CPU seconds muster sd used per change (minus the same idle window's CPU), and its RSS;
  - the same file change seen by a real Prometheus 2.42 reading the same source files through its
    own file_sd (time until /api/v1/targets shows it).
Usage: sd_latency.py MUSTER_BIN [CHANGES]"""
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from bench_util import free_port, pct, rss_mib, wait_for, write_atomically

BIN = sys.argv[1]
CHANGES = int(sys.argv[2]) if len(sys.argv) > 2 else 20
JOBS_PER_KIND, TARGETS = 100, 100
TICK = os.sysconf("SC_CLK_TCK")


def targets_doc(job, gen):
    base = 10000 + (job * TARGETS) % 50000
    return json.dumps([{"targets": ["127.%d.%d.%d:%d" % (1 + job // 250, job % 250, i, base + gen)
                                    for i in range(TARGETS)],
                        "labels": {"team": "t%d" % (job % 7), "gen": str(gen)}}])


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def output_has(path, marker):
    try:
        with open(path) as f:
            return marker in f.read()
    except OSError:
        return False


def main():
    d = tempfile.mkdtemp(prefix="muster-sd-bench-")
    src, out = os.path.join(d, "src"), os.path.join(d, "out")
    os.makedirs(src)
    procs = []
    try:
        for j in range(2 * JOBS_PER_KIND):
            write_atomically(os.path.join(src, "job%d.json" % j if j < JOBS_PER_KIND
                                          else "exec%d.data" % j), targets_doc(j, 0))
        script = os.path.join(d, "cmdb.sh")
        with open(script, "w") as f:
            # Notes when it ran, so that the exec latency can be taken from the run, not the change.
            f.write("#!/bin/sh\ndate +%s.%N > \"$1.ran\"\nexec cat \"$1\"\n")
        os.chmod(script, 0o755)
        jobs = []
        for j in range(JOBS_PER_KIND):
            jobs.append("  - job_name: job%d\n    file_sd_configs:\n      - files: ['%s/job%d.json']\n"
                        % (j, src, j))
        for j in range(JOBS_PER_KIND, 2 * JOBS_PER_KIND):
            jobs.append("  - job_name: job%d\n    exec_sd_configs:\n      - command: [%s, %s]\n"
                        "        refresh_interval: 10s\n" % (j, script, os.path.join(src, "exec%d.data" % j)))
        config = os.path.join(d, "sd.yml")
        with open(config, "w") as f:
            f.write("throttle: 0s\noutput:\n  file_sd_dir: %s\nscrape_configs:\n%s" % (out, "".join(jobs)))
        sd = subprocess.Popen([BIN, "sd", "--config", config], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        procs.append(sd)
        last = os.path.join(out, "job%d.json" % (2 * JOBS_PER_KIND - 1))
        if not wait_for(lambda: output_has(last, "127."), 60, 0.05):
            raise SystemExit("muster sd did not write its outputs")
        time.sleep(2)

        prom = None
        prom_port = free_port()

        def prom_has(job, address):
            try:
                url = "http://127.0.0.1:%d/api/v1/targets?state=active&scrapePool=job%d" % (prom_port, job)
                with urllib.request.urlopen(url, timeout=5) as r:
                    data = json.load(r)["data"]["activeTargets"]
                return any(t["labels"].get("instance") == address for t in data)
            except OSError:
                return False

        if shutil.which("prometheus"):
            with open(os.path.join(d, "prometheus.yml"), "w") as f:
                f.write("global:\n  scrape_interval: 1h\n  scrape_timeout: 10s\nscrape_configs:\n")
                for j in range(JOBS_PER_KIND):
                    f.write("  - job_name: job%d\n    file_sd_configs:\n      - files: ['%s/job%d.json']\n"
                            % (j, src, j))
            prom = subprocess.Popen(["prometheus", "--config.file=" + os.path.join(d, "prometheus.yml"),
                                     "--storage.tsdb.path=" + os.path.join(d, "tsdb"),
                                     "--web.listen-address=127.0.0.1:%d" % prom_port,
                                     "--log.level=error"],
                                    stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "prom.log"), "w"))
            procs.append(prom)
            first = "127.1.0.0:%d" % (10000)
            if not wait_for(lambda: prom_has(0, first), 90, 0.2):
                with open(os.path.join(d, "prom.log")) as log:
                    raise SystemExit("prometheus did not discover its targets:\n" + log.read()[-2000:])

        # Idle CPU over a window as long as the measurement, to subtract the exec runs' share.
        idle0 = cpu_seconds(sd.pid)
        t0 = time.monotonic()
        time.sleep(10)  # one whole exec refresh round
        idle_rate = (cpu_seconds(sd.pid) - idle0) / (time.monotonic() - t0)

        file_lat, exec_lat, prom_lat = [], [], []
        cpu0, w0 = cpu_seconds(sd.pid), time.monotonic()
        for n in range(1, CHANGES + 1):
            job = (n * 37) % JOBS_PER_KIND
            marker = '"gen":"%d"' % n
            began = time.monotonic()
            write_atomically(os.path.join(src, "job%d.json" % job), targets_doc(job, n))
            if wait_for(lambda: output_has(os.path.join(out, "job%d.json" % job), marker), 30):
                file_lat.append(time.monotonic() - began)
            if prom is not None:
                address = "127.%d.%d.0:%d" % (1 + job // 250, job % 250, 10000 + (job * TARGETS) % 50000 + n)
                if wait_for(lambda: prom_has(job, address), 60, 0.05):
                    prom_lat.append(time.monotonic() - began)
        cpu_used = cpu_seconds(sd.pid) - cpu0 - idle_rate * (time.monotonic() - w0)
        for n in range(1, min(CHANGES, 10) + 1):
            job = JOBS_PER_KIND + (n * 13) % JOBS_PER_KIND
            data = os.path.join(src, "exec%d.data" % job)
            write_atomically(data, targets_doc(job, 1000 + n))
            changed_at = time.time()
            if wait_for(lambda: output_has(os.path.join(out, "job%d.json" % job), '"gen":"%d"' % (1000 + n)), 30):
                seen_at = time.time()
                with open(data + ".ran") as f:
                    ran_at = float(f.read())
                if ran_at >= changed_at:
                    exec_lat.append(seen_at - ran_at)
        ms = lambda v: "%.1f ms" % (v * 1000)
        print("targets %d in %d jobs; changes %d" % (2 * JOBS_PER_KIND * TARGETS, 2 * JOBS_PER_KIND, CHANGES))
        print("muster sd file change -> output: p50 %s, p99 %s, max %s (%d/%d seen)"
              % (ms(statistics.median(file_lat)), ms(pct(file_lat, 99)), ms(max(file_lat)),
                 len(file_lat), CHANGES))
        print("muster sd exec run start -> output (the run after the change): p50 %s, max %s (%d seen)"
              % (ms(statistics.median(exec_lat)), ms(max(exec_lat)), len(exec_lat)))
        print("muster sd CPU per file change: %s (idle %.3f CPU-s/s subtracted)"
              % (ms(max(cpu_used, 0) / CHANGES), idle_rate))
        print("muster sd RSS: %.1f MiB" % rss_mib(sd.pid))
        if prom_lat:
            print("prometheus 2.42 own file_sd, same change -> /api/v1/targets: p50 %s, max %s (%d/%d seen)"
                  % (ms(statistics.median(prom_lat)), ms(max(prom_lat)), len(prom_lat), CHANGES))
            print("ratio prometheus/muster sd (p50): %.0f" % (statistics.median(prom_lat) / statistics.median(file_lat)))
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()

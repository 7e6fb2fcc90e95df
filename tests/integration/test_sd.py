"""muster sd feeding a real Prometheus 2.42 (Debian package) through file_sd and http_sd, and its
own endpoints. Every process runs on loopback with temporary directories."""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

import muster_node
from muster_node import BIN, Node, free_ports

PROMETHEUS = shutil.which("prometheus")


def free_port():
    return free_ports(1)[0]


def eventually(check, timeout=40, what="condition"):
    """Prometheus and the throttle are slower than a node: a longer bound by default."""
    return muster_node.eventually(check, timeout=timeout, what=what, interval=0.1)


def write_atomically(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


class Process:
    """A child whose output is drained by a thread (kept for failure messages)."""

    def __init__(self, cmd, ready_pattern=None, timeout=20):
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = []
        self.match = None
        found = threading.Event()

        def drain():
            for line in self.proc.stdout:
                self.lines.append(line)
                if ready_pattern and self.match is None:
                    m = re.search(ready_pattern, line)
                    if m:
                        self.match = m
                        found.set()
            found.set()

        threading.Thread(target=drain, daemon=True).start()
        if ready_pattern and (not found.wait(timeout) or self.match is None):
            self.stop()
            raise RuntimeError("%s did not start:\n%s" % (cmd[0], "".join(self.lines)))

    def log(self):
        return "".join(self.lines)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                # 30 s: a ThreadSanitizer run once saw muster sd take over 10 s to exit after
                # SIGTERM (its log without the "shutting down" line; not seen again in runs by
                # hand). A real hang still fails the test, with the log.
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


class Sd(Process):
    def __init__(self, config_path, prefix=()):
        """`prefix`: a command to run muster sd under (prlimit, for one)."""
        super().__init__(list(prefix) + [BIN, "sd", "--config", config_path],
                         r"http on 127\.0\.0\.1:(\d+)")
        self.port = int(self.match.group(1))

    def get(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.getheader("Content-Type"), r.read().decode()
        finally:
            c.close()

    def post(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.request("POST", path)
            r = c.getresponse()
            return r.status, r.read().decode()
        finally:
            c.close()

    def metric(self, name, labels=""):
        _, _, text = self.get("/metrics")
        for line in text.splitlines():
            if line.startswith(name + labels + " "):
                return float(line.split()[-1])
        return None


class Prometheus(Process):
    """Prometheus 2.42 on `scrape_configs` (written under a 1m global), or on `config_file` as it
    is; `port` when the caller must know it before the start, `extra_args` for its flags."""

    def __init__(self, directory, scrape_configs=None, config_file=None, port=None, extra_args=()):
        self.port = port or free_port()
        config = config_file or os.path.join(directory, "prometheus.yml")
        if scrape_configs is not None:
            with open(config, "w") as f:
                f.write("global:\n  scrape_interval: 1m\n  scrape_timeout: 10s\nscrape_configs:\n")
                f.write(scrape_configs)
        super().__init__([PROMETHEUS, "--config.file=" + config,
                          "--storage.tsdb.path=" + os.path.join(directory, "tsdb"),
                          "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"]
                         + list(extra_args))
        eventually(self.ready, timeout=30, what="prometheus ready")

    def ready(self):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % self.port, timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def targets(self, job):
        """{address: labels} of the job's active targets, labels after relabelling."""
        with urllib.request.urlopen(
                "http://127.0.0.1:%d/api/v1/targets?state=active" % self.port, timeout=5) as r:
            data = json.load(r)["data"]["activeTargets"]
        return {t["labels"]["instance"]: t for t in data if t["labels"]["job"] == job}


@unittest.skipIf(PROMETHEUS is None, "prometheus is not installed (scripts/setup.sh installs it)")
class PrometheusTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="muster-sd-test-")
        self.src = os.path.join(self.dir, "src")
        self.out = os.path.join(self.dir, "out")
        os.makedirs(self.src)
        self.procs = []

    def tearDown(self):
        for p in reversed(self.procs):
            p.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        for p in self.procs:
            if isinstance(p, Sd):  # a clean stop (a sanitizer's report would change it)
                self.assertEqual(p.proc.returncode, 0, p.log())

    def sd_config(self, jobs):
        path = os.path.join(self.dir, "sd.yml")
        sd_port = getattr(self, "sd_port", None) or free_port()
        self.sd_port = sd_port
        with open(path + ".tmp", "w") as f:
            f.write("throttle: 100ms\noutput:\n  file_sd_dir: %s\n  listen: 127.0.0.1:%d\n"
                    "scrape_configs:\n%s" % (self.out, sd_port, jobs))
        os.replace(path + ".tmp", path)
        return path

    def test_prometheus_follows_file_sd_and_http_sd(self):
        write_atomically(os.path.join(self.src, "racks.json"), json.dumps(
            [{"targets": ["127.0.0.1:10001", "127.0.0.1:10002"], "labels": {"rack": "r1"}}]))
        cmdb_data = os.path.join(self.src, "cmdb.data")
        write_atomically(cmdb_data, json.dumps([{"targets": ["127.0.0.1:20001"],
                                                 "labels": {"team": "pay"}}]))
        cmdb = os.path.join(self.dir, "cmdb.sh")
        with open(cmdb, "w") as f:
            f.write("#!/bin/sh\ncat %s\n" % cmdb_data)
        os.chmod(cmdb, 0o755)
        jobs = ("  - job_name: racks\n    file_sd_configs:\n      - files: ['%s/*.json']\n"
                % self.src)
        cmdb_job = ("  - job_name: cmdb\n    exec_sd_configs:\n      - command: [%s]\n"
                    "        refresh_interval: 300ms\n" % cmdb)
        sd = Sd(self.sd_config(jobs + cmdb_job))
        self.procs.append(sd)
        prom = Prometheus(self.dir, (
            "  - job_name: racks\n    file_sd_configs:\n      - files: ['%s/racks.json']\n"
            "  - job_name: cmdb\n    http_sd_configs:\n"
            "      - url: http://127.0.0.1:%d/sd/cmdb\n        refresh_interval: 1s\n")
            % (self.out, sd.port))
        self.procs.append(prom)

        racks = eventually(lambda: prom.targets("racks") if len(prom.targets("racks")) == 2
                           else None, what="racks in prometheus")
        self.assertEqual(set(racks), {"127.0.0.1:10001", "127.0.0.1:10002"})
        t = racks["127.0.0.1:10001"]
        self.assertEqual(t["labels"]["rack"], "r1")
        # Prometheus's own file_sd sets __meta_filepath (to muster sd's output file) over ours.
        self.assertEqual(t["discoveredLabels"]["__meta_filepath"],
                         os.path.join(self.out, "racks.json"))
        cmdb_targets = eventually(lambda: prom.targets("cmdb"), what="cmdb in prometheus")
        self.assertEqual(set(cmdb_targets), {"127.0.0.1:20001"})
        self.assertEqual(cmdb_targets["127.0.0.1:20001"]["labels"]["team"], "pay")
        self.assertEqual(cmdb_targets["127.0.0.1:20001"]["discoveredLabels"]["__meta_exec_command"],
                         cmdb)

        # Adds and removals in the sources reach Prometheus.
        write_atomically(os.path.join(self.src, "racks.json"), json.dumps(
            [{"targets": ["127.0.0.1:10002", "127.0.0.1:10003"], "labels": {"rack": "r2"}}]))
        write_atomically(cmdb_data, json.dumps([{"targets": ["127.0.0.1:20001", "127.0.0.1:20002"],
                                                 "labels": {"team": "pay"}}]))
        eventually(lambda: set(prom.targets("racks")) == {"127.0.0.1:10002", "127.0.0.1:10003"},
                   what="racks changed in prometheus")
        self.assertEqual(prom.targets("racks")["127.0.0.1:10003"]["labels"]["rack"], "r2")
        eventually(lambda: set(prom.targets("cmdb")) == {"127.0.0.1:20001", "127.0.0.1:20002"},
                   what="cmdb grew in prometheus")

        # A job removed from muster sd's configuration: Prometheus drops its targets (the
        # endpoint answers [] rather than stale targets or an error that would keep them).
        self.sd_config(jobs)
        sd.proc.send_signal(signal.SIGHUP)
        eventually(lambda: sd.get("/sd/cmdb")[2] == "[]", what="cmdb emptied after SIGHUP")
        eventually(lambda: prom.targets("cmdb") == {}, what="cmdb gone from prometheus")
        self.assertEqual(len(prom.targets("racks")), 2)

    def test_muster_node_to_prometheus(self):
        node = Node()
        self.procs.append(node)
        node.register("h1", appid="pay.api", addrs=["http://127.0.0.1:30001"])
        sd = Sd(self.sd_config(
            "  - job_name: pay\n    muster_sd_configs:\n"
            "      - nodes: ['127.0.0.1:%d']\n        env: dev\n        appids: [pay.api]\n"
            % node.port))
        self.procs.append(sd)
        prom = Prometheus(self.dir, (
            "  - job_name: pay\n    http_sd_configs:\n"
            "      - url: http://127.0.0.1:%d/sd/pay\n        refresh_interval: 1s\n") % sd.port)
        self.procs.append(prom)
        got = eventually(lambda: prom.targets("pay"), what="pay in prometheus")
        self.assertEqual(set(got), {"127.0.0.1:30001"})
        discovered = got["127.0.0.1:30001"]["discoveredLabels"]
        self.assertEqual(discovered["__meta_muster_appid"], "pay.api")
        self.assertEqual(discovered["__meta_muster_hostname"], "h1")
        self.assertEqual(discovered["__meta_muster_zone"], "sh001")
        node.register("h2", appid="pay.api", addrs=["http://127.0.0.1:30002"])
        eventually(lambda: set(prom.targets("pay")) == {"127.0.0.1:30001", "127.0.0.1:30002"},
                   what="the new instance in prometheus")


def temp_dir(test):
    """A new directory, removed when `test` ends."""
    directory = tempfile.mkdtemp(prefix="muster-sd-test-")
    test.addCleanup(shutil.rmtree, directory, True)
    return directory


class UnreachableSourceTest(unittest.TestCase):
    """Issue 14.8: a muster node that does not answer is reported like any failing provider: a
    log line with the node and the reason, and muster_sd_refresh_failures_total."""

    def test_unreachable_muster_node_is_reported(self):
        directory = temp_dir(self)
        config = os.path.join(directory, "sd.yml")
        dead = free_ports(1)[0]  # nothing listens there
        write_atomically(config, "output:\n  listen: 127.0.0.1:0\nscrape_configs:\n"
                                 "  - job_name: pay\n    muster_sd_configs:\n"
                                 "      - nodes: ['127.0.0.1:%d']\n        env: dev\n"
                                 "        appids: [pay.api]\n" % dead)
        sd = Sd(config)
        self.addCleanup(sd.stop)

        def failures():
            return sum(float(l.split()[-1]) for l in sd.get("/metrics")[2].splitlines()
                       if l.startswith("muster_sd_refresh_failures_total{")
                       and 'mechanism="muster"' in l)

        eventually(lambda: failures() >= 1, what="a counted failure")
        line = eventually(lambda: [l for l in sd.lines if "127.0.0.1:%d" % dead in l],
                          what="a log line naming the node")
        self.assertIn("no answer", line[0])


class ListenTest(unittest.TestCase):
    def test_a_host_name_in_listen_is_resolved_and_a_bad_one_is_an_error(self):
        # Issue 14.5: `listen: localhost:PORT` used to abort muster sd.
        directory = temp_dir(self)
        config = os.path.join(directory, "sd.yml")
        write_atomically(config, "output:\n  listen: localhost:0\nscrape_configs:\n"
                                 "  - job_name: web\n    static_configs:\n"
                                 "      - targets: ['a:1']\n")
        sd = Sd(config)
        try:
            self.assertEqual(sd.get("/sd/web")[0], 200)
            self.assertIn("muster sd running: 1 job from", sd.log())  # not "1 jobs"
        finally:
            sd.stop()
        self.assertEqual(sd.proc.returncode, 0, sd.log())
        write_atomically(config, "output:\n  listen: no-such-host.invalid:7278\nscrape_configs: []\n")
        p = subprocess.run([BIN, "sd", "--config", config], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        out = p.stdout + p.stderr
        self.assertIn('cannot resolve host "no-such-host.invalid"', out)
        self.assertEqual(out.count("cannot listen on"), 1, out)


class ConfigPathTest(unittest.TestCase):
    def test_a_directory_is_not_a_configuration(self):
        # Issue 15.7: `muster sd --config /etc` used to run with "0 jobs".
        directory = temp_dir(self)
        p = subprocess.run([BIN, "sd", "--config", directory], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn(directory + " is a directory", p.stdout + p.stderr)


class LargeSourceTest(unittest.TestCase):
    """Issue 27: a source of many groups costs memory in proportion to what is kept, not to its
    text (docs/benchmarks.md, "One large source in muster sd")."""

    GROUPS = 200_000

    @unittest.skipIf("ASAN_OPTIONS" in os.environ or "TSAN_OPTIONS" in os.environ,
                     "a sanitizer's allocator and shadow memory are not muster sd's memory")
    def test_a_large_file_costs_what_its_groups_cost(self):
        d = tempfile.mkdtemp(prefix="muster-sd-big-")
        self.addCleanup(shutil.rmtree, d, True)
        source, out, config = (os.path.join(d, x) for x in ("big.json", "out", "sd.yml"))
        with open(source, "w") as f:
            f.write("[")
            for i in range(self.GROUPS):
                f.write('%s{"targets":["127.%d.%d.%d:9100"],"labels":{"dc":"dc%d","team":"t%d"}}'
                        % ("," if i else "", 1 + (i >> 16), (i >> 8) & 255, i & 255, i % 4,
                           i % 50))
            f.write("]")
        write_atomically(config, "throttle: 0s\noutput:\n  file_sd_dir: %s\n  listen: 127.0.0.1:0\n"
                         "scrape_configs:\n  - job_name: big\n    file_sd_configs:\n"
                         "      - files: [%s]\n" % (out, source))
        sd = Sd(config)
        self.addCleanup(sd.stop)
        written = os.path.join(out, "big.json")
        eventually(lambda: os.path.exists(written) and os.path.getsize(written) > 2,
                   what="the job's file written")
        self.assertEqual(sd.metric("muster_sd_discovered_targets", '{config="big"}'), self.GROUPS)
        peak = muster_node.status_bytes(sd.proc.pid, "VmHWM")
        # About 160 bytes a group at the peak now, with the process's own 10 MB; 370 bytes a group
        # before the 40-byte group and the shared update arrays, 900 before the streaming read.
        self.assertLess(peak, 16_000_000 + 250 * self.GROUPS,
                        "peak RSS %d bytes for %d groups (%d MB of source text)"
                        % (peak, self.GROUPS, os.path.getsize(source) // 1_000_000))


class EndpointsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="muster-sd-test-")
        self.out = os.path.join(self.dir, "out")
        self.config = os.path.join(self.dir, "sd.yml")
        self.write_config(
            "throttle: 0s\noutput:\n  file_sd_dir: %s\n  listen: 127.0.0.1:0\n"
            "scrape_configs:\n  - job_name: web\n    static_configs:\n"
            "      - targets: ['a:1', 'b:1']\n        labels: {team: web}\n"
            "  - job_name: empty\n" % self.out)
        self.sd = Sd(self.config)

    def tearDown(self):
        self.sd.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        self.assertEqual(self.sd.proc.returncode, 0, self.sd.log())

    def write_config(self, text):
        write_atomically(self.config, text)

    def test_http_sd_endpoint_answers_as_prometheus_requires(self):
        status, ctype, body = self.sd.get("/sd/web")
        self.assertEqual(status, 200)
        self.assertEqual(ctype, "application/json; charset=utf-8")
        self.assertEqual(json.loads(body), [{"targets": ["a:1", "b:1"], "labels": {"team": "web"}}])
        self.assertEqual(self.sd.get("/sd/empty")[2], "[]")
        status, _, body = self.sd.get("/sd/nope")
        self.assertEqual(status, 404)
        self.assertIn("nope", body)
        listing = json.loads(self.sd.get("/sd")[2])
        self.assertEqual({j["job"]: j["targets"] for j in listing["jobs"]}, {"web": 2, "empty": 0})

    def test_file_sd_output(self):
        with open(os.path.join(self.out, "web.json")) as f:
            self.assertEqual(json.load(f), [{"targets": ["a:1", "b:1"], "labels": {"team": "web"}}])
        # Beside the job files, only the manifest of the files muster sd wrote (issue 15.7).
        self.assertEqual(sorted(os.listdir(self.out)), [".muster-sd-files", "empty.json", "web.json"])

    def test_metrics(self):
        self.assertEqual(self.sd.metric("muster_sd_discovered_targets", '{config="web"}'), 2)
        self.assertEqual(self.sd.metric("muster_sd_failed_configs"), 0)
        self.assertGreaterEqual(self.sd.metric("muster_sd_updates_total"), 1)

    def test_bad_reload_changes_nothing(self):
        self.write_config("scrape_configs:\n  - job_name: web\n    static_config: []\n")
        status, body = self.sd.post("/-/reload")
        self.assertEqual(status, 500)
        self.assertIn('line 3: unknown key "static_config"', body)
        self.assertEqual(self.sd.get("/sd/web")[0], 200)
        self.assertEqual(self.sd.metric("muster_sd_config_last_reload_successful"), 0)
        self.assertEqual(self.sd.metric("muster_sd_reload_failures_total"), 1)

    def test_reload_removes_and_adds_jobs(self):
        self.write_config(
            "throttle: 0s\noutput:\n  file_sd_dir: %s\n  listen: 127.0.0.1:0\n"
            "scrape_configs:\n  - job_name: api\n    static_configs:\n"
            "      - targets: ['c:1']\n" % self.out)
        status, _ = self.sd.post("/-/reload")
        self.assertEqual(status, 200)
        eventually(lambda: self.sd.get("/sd/api")[0] == 200, what="api served")
        self.assertEqual(self.sd.get("/sd/web")[2], "[]")  # removed: empty, not 404 or stale
        with open(os.path.join(self.out, "web.json")) as f:
            self.assertEqual(f.read(), "[]")

    def test_a_job_waiting_for_its_source_is_an_error_not_an_empty_list(self):
        # Prometheus's http_sd keeps its targets on an error and drops them on []: a job whose
        # source has not answered yet (here a CMDB script taking 2 s) must not answer [].
        gate = os.path.join(self.dir, "gate")
        slow = os.path.join(self.dir, "slow.sh")
        with open(slow, "w") as f:
            f.write("#!/bin/sh\nwhile [ ! -e %s ]; do sleep 0.05; done\n"
                    "echo '[{\"targets\": [\"s:1\"]}]'\n" % gate)
        os.chmod(slow, 0o755)
        self.write_config(
            "throttle: 0s\noutput:\n  file_sd_dir: %s\n  listen: 127.0.0.1:0\n"
            "scrape_configs:\n  - job_name: slow\n    exec_sd_configs:\n"
            "      - command: [%s]\n        timeout: 30s\n" % (self.out, slow))
        self.assertEqual(self.sd.post("/-/reload")[0], 200)
        status, _, body = self.sd.get("/sd/slow")
        self.assertEqual(status, 503, body)
        self.assertIn("first update", body)
        listing = json.loads(self.sd.get("/sd")[2])
        self.assertEqual(listing["jobs"], [{"job": "slow", "held": True, "path": "/sd/slow"}])
        self.assertFalse(os.path.exists(os.path.join(self.out, "slow.json")))
        with open(gate, "w"):
            pass
        eventually(lambda: self.sd.get("/sd/slow")[0] == 200, what="slow discovered")
        self.assertEqual(json.loads(self.sd.get("/sd/slow")[2])[0]["targets"], ["s:1"])

    def test_bad_config_at_start_is_a_clear_error(self):
        bad = os.path.join(self.dir, "bad.yml")
        with open(bad, "w") as f:
            f.write("scrape_configs:\n  - job_name: x\n    file_sd_configs: [{files: [a.txt]}]\n")
        r = subprocess.run([BIN, "sd", "--config", bad], capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 1)
        self.assertIn("line 3", r.stdout + r.stderr)
        r = subprocess.run([BIN, "sd", "--config", os.path.join(self.dir, "missing.yml")],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot read", r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()

"""Jobs discovered from a CMDB (issue 20): muster sd splits a source's groups by a label into jobs,
writes a real Prometheus 2.42's configuration from a template and reloads it. Prometheus, muster
sd and the exporters (a Python HTTP server) all run on loopback in temporary directories."""
import http.client
import http.server
import json
import os
import shutil
import tempfile
import threading
import time
import unittest
import urllib.request

import test_sd
from test_sd import PROMETHEUS, Sd, eventually, free_port, write_atomically


class Exporters:
    """One HTTP server answering every path that ends in /metrics; counts the paths asked."""

    def __init__(self):
        hits = self.hits = {}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                path = self.path.split("?")[0]
                hits[path] = hits.get(path, 0) + 1
                body = b"muster_test_up 1\n"
                self.send_response(200 if path.endswith("/metrics") else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Prometheus(test_sd.Prometheus):
    """A Prometheus on muster sd's file, with /-/reload enabled."""

    def __init__(self, directory, config, port):
        super().__init__(directory, config_file=config, port=port,
                         extra_args=["--web.enable-lifecycle"])

    def jobs(self):
        """{job: [active targets]}"""
        with urllib.request.urlopen(
                "http://127.0.0.1:%d/api/v1/targets?state=active" % self.port, timeout=5) as r:
            data = json.load(r)["data"]["activeTargets"]
        out = {}
        for t in data:
            out.setdefault(t["scrapePool"], []).append(t)
        return out


def group(job, addrs, path=None, interval=None, **labels):
    labels["cmdb_group"] = job
    if path:
        labels["__metrics_path__"] = path
    if interval:
        labels["__scrape_interval__"] = interval
    return {"targets": addrs, "labels": labels}


@unittest.skipIf(PROMETHEUS is None, "prometheus is not installed (scripts/setup.sh installs it)")
class CmdbJobsInPrometheusTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="muster-sd-jobs-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.exporters = Exporters()
        self.addCleanup(self.exporters.stop)
        self.target = "127.0.0.1:%d" % self.exporters.port
        self.cmdb = os.path.join(self.dir, "cmdb.json")
        self.prom_port = free_port()
        self.prom_file = os.path.join(self.dir, "prometheus.yml")
        template = os.path.join(self.dir, "base.yml")
        with open(template, "w") as f:
            f.write("global:\n  scrape_interval: 1m\n  external_labels: {dc: test}\n"
                    "scrape_configs:\n  - job_name: handwritten\n    metrics_path: /hand/metrics\n"
                    "    scrape_interval: 1s\n    static_configs: [{targets: ['%s']}]\n"
                    % self.target)
        self.sd_config = os.path.join(self.dir, "sd.yml")
        with open(self.sd_config, "w") as f:
            f.write("""throttle: 100ms
first_update_timeout: 1s
output:
  listen: 127.0.0.1:%d
  prometheus_config:
    file: %s
    template: %s
    reload_url: http://127.0.0.1:%d/-/reload
    refresh_interval: 1s
    min_interval: 1s
job_discovery:
  - name: cmdb
    job_label: cmdb_group
    exec_sd_configs:
      - command: [cat, %s]
        refresh_interval: 200ms
""" % (free_port(), self.prom_file, template, self.prom_port, self.cmdb))
        self.procs = []
        self.addCleanup(self.stop_all)

    def stop_all(self):
        for p in reversed(self.procs):
            p.stop()

    def start_sd(self):
        sd = Sd(self.sd_config)
        self.procs.append(sd)
        return sd

    def set_cmdb(self, groups):
        write_atomically(self.cmdb, json.dumps(groups))

    def scrape_pools(self, prom):
        return set(prom.jobs())

    def test_cmdb_groups_become_prometheus_jobs_with_their_own_settings(self):
        t = self.target
        three = [group("storage", [t], "/storage/metrics", "1s", team="st"),
                 group("payments", [t], "/payments/metrics", "2s"),
                 group("web", [t])]
        self.set_cmdb(three)
        sd = self.start_sd()
        eventually(lambda: os.path.exists(self.prom_file), what="prometheus.yml written")
        prom = Prometheus(self.dir, self.prom_file, self.prom_port)
        self.procs.append(prom)

        jobs = eventually(lambda: (lambda j: j if {"storage", "payments", "web", "handwritten"}
                                   <= set(j) else None)(prom.jobs()),
                          what="the three jobs and the hand-written one in prometheus")
        storage = jobs["storage"][0]
        self.assertEqual(storage["scrapeUrl"], "http://%s/storage/metrics" % t)
        self.assertEqual(storage["scrapeInterval"], "1s")
        self.assertEqual(storage["labels"]["job"], "storage")
        self.assertEqual(storage["labels"]["team"], "st")
        self.assertEqual(storage["labels"]["cmdb_group"], "storage")
        self.assertEqual(jobs["payments"][0]["scrapeUrl"], "http://%s/payments/metrics" % t)
        self.assertEqual(jobs["payments"][0]["scrapeInterval"], "2s")
        self.assertEqual(jobs["web"][0]["scrapeUrl"], "http://%s/metrics" % t)
        self.assertEqual(jobs["web"][0]["scrapeInterval"], "1m")
        # Each job is scraped on its own path (the exporter saw them).
        eventually(lambda: {"/storage/metrics", "/payments/metrics", "/hand/metrics"}
                   <= set(self.exporters.hits), what="scrapes on each job's path")
        self.assertEqual(sd.get("/sd/storage")[0], 200)
        reloads = sd.metric("muster_sd_prometheus_reloads_total")

        # A fourth group appears: a new job after a reload.
        self.set_cmdb(three + [group("search", [t], "/search/metrics", "1s")])
        jobs = eventually(lambda: (lambda j: j if "search" in j else None)(prom.jobs()),
                          what="the new job in prometheus")
        self.assertEqual(jobs["search"][0]["scrapeUrl"], "http://%s/search/metrics" % t)
        eventually(lambda: sd.metric("muster_sd_prometheus_reloads_total") > reloads,
                   what="a reload counted")
        self.assertEqual(sd.metric("muster_sd_prometheus_reload_failures_total"), 0)

        # A group removed: its job leaves Prometheus.
        self.set_cmdb([three[0], three[1], group("search", [t], "/search/metrics", "1s")])
        eventually(lambda: "web" not in prom.jobs(), what="web gone from prometheus")
        self.assertEqual(self.scrape_pools(prom), {"storage", "payments", "search", "handwritten"})
        self.assertEqual(sd.get("/sd/web"), (200, "application/json; charset=utf-8", "[]"))

        # A broken source keeps the last good jobs: no write, no reload.
        with open(self.prom_file) as f:
            written = f.read()
        writes = sd.metric("muster_sd_prometheus_config_writes_total")
        failures = sd.metric("muster_sd_refresh_failures_total",
                             '{provider="exec/0",mechanism="exec",jobs="job_discovery/cmdb"}')
        write_atomically(self.cmdb, "[{not json")
        eventually(lambda: sd.metric(
            "muster_sd_refresh_failures_total",
            '{provider="exec/0",mechanism="exec",jobs="job_discovery/cmdb"}') >= failures + 3,
            what="the source failing")
        time.sleep(1.5)  # longer than min_interval: a removal would have been written by now
        with open(self.prom_file) as f:
            self.assertEqual(f.read(), written)
        self.assertEqual(sd.metric("muster_sd_prometheus_config_writes_total"), writes)
        self.assertEqual(self.scrape_pools(prom), {"storage", "payments", "search", "handwritten"})

        # Restarted while the source is broken: the file stays as it is.
        sd.stop()
        self.procs.remove(sd)
        sd = self.start_sd()
        time.sleep(2)  # past first_update_timeout (1s)
        with open(self.prom_file) as f:
            self.assertEqual(f.read(), written)
        self.assertEqual(sd.get("/sd/storage")[0], 503, "held, not [] that would drop targets")
        # Mended: the same jobs, so no write and no reload.
        self.set_cmdb([three[0], three[1], group("search", [t], "/search/metrics", "1s")])
        eventually(lambda: sd.get("/sd/storage")[0] == 200, what="the source answering again")
        self.assertEqual(sd.metric("muster_sd_prometheus_config_writes_total"), 0)
        self.assertIn("handwritten", self.scrape_pools(prom))

    def test_settings_the_targets_of_a_job_disagree_on_stay_per_target(self):
        """What docs call honoured per target by Prometheus 2.42: interval, timeout, path,
        scheme and parameters as target labels, with nothing lifted into the job."""
        t = self.target
        self.set_cmdb([
            group("mixed", [t], "/a/metrics", "2s", __scrape_timeout__="1s",
                  __param_module="one", __scheme__="http"),
            group("mixed", ["127.0.0.2:%d" % self.exporters.port], "/b/metrics", "3s",
                  __scrape_timeout__="2s", __param_module="two")])
        self.start_sd()
        eventually(lambda: os.path.exists(self.prom_file), what="prometheus.yml written")
        with open(self.prom_file) as f:
            written = f.read()
        job = written[written.index('job_name: "mixed"'):]
        for setting in ("scrape_interval", "scrape_timeout", "metrics_path", "params"):
            self.assertNotIn(setting, job)
        prom = Prometheus(self.dir, self.prom_file, self.prom_port)
        self.procs.append(prom)
        targets = eventually(lambda: (lambda j: j.get("mixed") if len(j.get("mixed", [])) == 2
                                      else None)(prom.jobs()), what="both targets of mixed")
        by_url = {x["scrapeUrl"]: x for x in targets}
        self.assertEqual(set(by_url), {"http://%s/a/metrics?module=one" % t,
                                       "http://127.0.0.2:%d/b/metrics?module=two"
                                       % self.exporters.port})
        a = by_url["http://%s/a/metrics?module=one" % t]
        self.assertEqual((a["scrapeInterval"], a["scrapeTimeout"]), ("2s", "1s"))
        b = by_url["http://127.0.0.2:%d/b/metrics?module=two" % self.exporters.port]
        self.assertEqual((b["scrapeInterval"], b["scrapeTimeout"]), ("3s", "2s"))

    def test_a_new_template_at_reload_and_a_prometheus_that_never_answers(self):
        self.set_cmdb([group("storage", [self.target])])
        sd = self.start_sd()  # no Prometheus listens on reload_url's port
        eventually(lambda: os.path.exists(self.prom_file), what="prometheus.yml written")
        # Five attempts (1, 2, 4 and 8 s apart), then given up and counted.
        eventually(lambda: sd.metric("muster_sd_prometheus_reload_failures_total") == 1,
                   timeout=40, what="the reload given up")
        self.assertEqual(sd.metric("muster_sd_prometheus_reloads_total"), 0)
        template = os.path.join(self.dir, "base.yml")
        with open(template, "a") as f:
            f.write("  - job_name: added\n    static_configs: [{targets: ['127.0.0.1:1']}]\n")
        self.assertEqual(sd.post("/-/reload")[0], 200)
        eventually(lambda: "job_name: added" in open(self.prom_file).read(),
                   what="the template's new job written")
        self.assertIn('job_name: "storage"', open(self.prom_file).read())
        # A template that is not YAML keeps the file and is counted.
        written = open(self.prom_file).read()
        with open(template, "w") as f:
            f.write("scrape_configs: [unclosed\n")
        self.assertEqual(sd.post("/-/reload")[0], 200)
        eventually(lambda: sd.metric("muster_sd_prometheus_config_write_failures_total") == 1,
                   what="the bad template counted")
        self.assertEqual(open(self.prom_file).read(), written)

    def test_jobs_read_by_file_sd(self):
        out = os.path.join(self.dir, "out")
        with open(self.sd_config) as f:
            config = f.read()
        with open(self.sd_config, "w") as f:
            f.write(config.replace("output:\n", "output:\n  file_sd_dir: %s\n" % out)
                    .replace("    refresh_interval: 1s\n", "    targets: file_sd\n"))
        t = self.target
        self.set_cmdb([group("storage", [t], "/storage/metrics", "1s"), group("web", [t])])
        self.start_sd()
        eventually(lambda: os.path.exists(self.prom_file), what="prometheus.yml written")
        with open(self.prom_file) as f:
            self.assertIn(os.path.join(out, "storage.json"), f.read())
        prom = Prometheus(self.dir, self.prom_file, self.prom_port)
        self.procs.append(prom)
        jobs = eventually(lambda: (lambda j: j if {"storage", "web"} <= set(j) else None)(
            prom.jobs()), what="the jobs through file_sd")
        self.assertEqual(jobs["storage"][0]["scrapeUrl"], "http://%s/storage/metrics" % t)
        self.assertEqual(jobs["storage"][0]["discoveredLabels"]["__meta_filepath"],
                         os.path.join(out, "storage.json"))
        # web leaves: its file becomes [] and its job leaves Prometheus's configuration.
        self.set_cmdb([group("storage", [t], "/storage/metrics", "1s")])
        eventually(lambda: "web" not in prom.jobs(), what="web gone from prometheus")
        with open(os.path.join(out, "web.json")) as f:
            self.assertEqual(f.read(), "[]")

    def test_a_flapping_group_does_not_reload_prometheus_over_and_over(self):
        t = self.target
        stable = [group("storage", [t], "/storage/metrics")]
        self.set_cmdb(stable)
        sd = self.start_sd()  # min_interval: 1s
        eventually(lambda: sd.metric("muster_sd_prometheus_config_writes_total") == 1,
                   what="the first write")
        prom = Prometheus(self.dir, self.prom_file, self.prom_port)
        self.procs.append(prom)
        # "flappy" comes and goes every 300 ms for 6 s: across six intervals, never gone for one.
        for i in range(20):
            self.set_cmdb(stable + ([group("flappy", [t])] if i % 2 == 0 else []))
            time.sleep(0.3)
        self.set_cmdb(stable + [group("flappy", [t])])
        eventually(lambda: "flappy" in prom.jobs(), what="flappy in prometheus")
        time.sleep(1.5)
        # One write added it; it never left.
        self.assertEqual(sd.metric("muster_sd_prometheus_config_writes_total"), 2)
        self.assertEqual(sd.metric("muster_sd_prometheus_reloads_total"), 1)


class ConnectionsTest(unittest.TestCase):
    @unittest.skipIf(shutil.which("prlimit") is None, "no prlimit")
    def test_more_connections_than_the_soft_descriptor_limit(self):
        """Prometheus keeps one http_sd connection per job (and its reloads leave the old ones
        idle): muster sd raises its soft descriptor limit as muster serve does, rather than
        stop accepting at Debian's default 1,024 (here 256)."""
        directory = tempfile.mkdtemp(prefix="muster-sd-fds-")
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        config = os.path.join(directory, "sd.yml")
        with open(config, "w") as f:
            f.write("output:\n  listen: 127.0.0.1:%d\nscrape_configs:\n  - job_name: web\n"
                    "    static_configs: [{targets: ['127.0.0.1:1']}]\n" % free_port())
        sd = Sd(config, prefix=["prlimit", "--nofile=256:"])
        self.addCleanup(sd.stop)
        conns = []
        self.addCleanup(lambda: [c.close() for c in conns])
        for _ in range(400):
            c = http.client.HTTPConnection("127.0.0.1", sd.port, timeout=10)
            c.request("GET", "/sd/web")
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            r.read()
            conns.append(c)
        self.assertEqual(sd.get("/sd/web")[0], 200)


@unittest.skipIf(PROMETHEUS is None, "prometheus is not installed (scripts/setup.sh installs it)")
class WorkedExampleTest(unittest.TestCase):
    """examples/sd/jobs.yml as the README runs it, on free ports and a temporary directory."""

    def test_a_new_cmdb_group_becomes_a_prometheus_job_with_its_own_path(self):
        examples = os.path.abspath(os.path.join(os.path.dirname(__file__), "../../examples/sd"))
        directory = tempfile.mkdtemp(prefix="muster-sd-example-")
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        prom_port = free_port()
        with open(os.path.join(examples, "jobs.yml")) as f:
            config = f.read()
        config = (config.replace("127.0.0.1:7273", "127.0.0.1:%d" % free_port())
                  .replace("127.0.0.1:9091", "127.0.0.1:%d" % prom_port)
                  .replace("/tmp/muster-sd-jobs", directory)
                  .replace("examples/sd/", examples + "/")
                  .replace("refresh_interval: 10s", "refresh_interval: 300ms")
                  .replace("min_interval: 5s", "min_interval: 1s"))
        with open(os.path.join(directory, "jobs.yml"), "w") as f:
            f.write(config)
        groups = os.path.join(directory, "cmdb.json")
        shutil.copy(os.path.join(examples, "cmdb_groups.json"), groups)
        os.environ["CMDB_GROUPS"] = groups  # muster sd's children (the hook) inherit it
        self.addCleanup(os.environ.pop, "CMDB_GROUPS")
        sd = Sd(os.path.join(directory, "jobs.yml"))
        self.addCleanup(sd.stop)
        prom_file = os.path.join(directory, "prometheus.yml")
        eventually(lambda: os.path.exists(prom_file), what="prometheus.yml written")
        prom = Prometheus(directory, prom_file, prom_port)
        self.addCleanup(prom.stop)
        jobs = eventually(lambda: (lambda j: j if len(j) == 4 else None)(prom.jobs()),
                          what="three CMDB jobs and the template's in prometheus")
        self.assertEqual(set(jobs), {"prometheus", "storage", "payments", "edge-proxies"})
        self.assertEqual(jobs["payments"][0]["scrapeUrl"], "http://127.0.0.1:9103/internal/metrics")
        self.assertEqual(jobs["payments"][0]["scrapeInterval"], "30s")
        self.assertEqual(jobs["payments"][0]["labels"]["team"], "payments")
        with open(groups) as f:
            records = json.load(f)
        records.append({"group": "search", "team": "search", "metrics_path": "/search/metrics",
                        "interval": "10s", "hosts": ["127.0.0.1:9105"]})
        write_atomically(groups, json.dumps(records))
        jobs = eventually(lambda: (lambda j: j if "search" in j else None)(prom.jobs()),
                          what="the new group as a job in prometheus")
        self.assertEqual(jobs["search"][0]["scrapeUrl"], "http://127.0.0.1:9105/search/metrics")
        self.assertEqual(jobs["search"][0]["scrapeInterval"], "10s")


if __name__ == "__main__":
    unittest.main()

"""The one list of metrics (issue 28): every family that a node (in a cluster, with a data
directory) and muster sd (with a job_discovery source and a Prometheus configuration output)
expose on /metrics has its row in src/common/metric_list.cpp, and with it in docs/metrics.md
(which a unit test holds to the list); and every row is exposed by one of them."""
import os
import re
import shutil
import tempfile
import unittest

from muster_node import Node, eventually
from test_cluster import Cluster
from test_sd import Sd, free_port

DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "metrics.md")


def families(text):
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))


class MetricListTest(unittest.TestCase):
    def test_every_family_exposed_is_listed_and_every_listed_one_exposed(self):
        exposed = {}
        cluster = Cluster(2)
        self.addCleanup(cluster.stop)
        node = cluster.nodes[0]
        eventually(lambda: "muster_replication_peer_up{" in node.request("GET", "/metrics")[2]
                   .decode(), what="the peer's series")
        text = node.request("GET", "/metrics")[2].decode()
        exposed.update(families(text))
        self.assertNotIn("(not in common/metric_list.cpp)", text)

        data = tempfile.mkdtemp(prefix="muster-metrics-")
        self.addCleanup(shutil.rmtree, data, True)
        alone = Node("--data-dir", data)
        self.addCleanup(alone.stop)
        text = alone.request("GET", "/metrics")[2].decode()
        exposed.update(families(text))
        self.assertNotIn("(not in common/metric_list.cpp)", text)

        work = tempfile.mkdtemp(prefix="muster-metrics-sd-")
        self.addCleanup(shutil.rmtree, work, True)
        template = os.path.join(work, "base.yml")
        with open(template, "w") as f:
            f.write("scrape_configs: []\n")
        cmdb = os.path.join(work, "cmdb.json")
        with open(cmdb, "w") as f:
            f.write('[{"targets": ["10.0.0.1:9100"], "labels": {"group": "web"}}]')
        config = os.path.join(work, "sd.yml")
        with open(config, "w") as f:
            f.write("""throttle: 0s
output:
  listen: 127.0.0.1:%d
  file_sd_dir: %s
  prometheus_config:
    file: %s
    template: %s
job_discovery:
  - name: cmdb
    job_label: group
    file_sd_configs:
      - files: [%s]
scrape_configs:
  - job_name: static
    static_configs: [{targets: ['a:1']}]
""" % (free_port(), work, os.path.join(work, "prometheus.yml"), template, cmdb))
        sd = Sd(config)
        self.addCleanup(sd.stop)
        eventually(lambda: 'muster_sd_discovered_jobs{source="cmdb"} 1' in sd.get("/metrics")[2],
                   what="the discovered job counted")
        text = sd.get("/metrics")[2]
        exposed.update(families(text))
        self.assertNotIn("(not in common/metric_list.cpp)", text)

        with open(DOCS) as f:
            documented = dict(re.findall(r"^\| `(muster_[a-z0-9_]+)` \| ([a-z]+) \|", f.read(), re.M))
        self.assertEqual(exposed, documented)


if __name__ == "__main__":
    unittest.main()

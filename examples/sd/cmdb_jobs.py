#!/usr/bin/env python3
"""A CMDB hook for muster sd's job_discovery: print the CMDB's monitoring groups as target groups.

Each group becomes one Prometheus job: its name goes in the label `cmdb_group` (the source's
job_label), its scrape settings in the labels Prometheus honours per target (__metrics_path__,
__scrape_interval__, __scheme__). A real hook would query the CMDB's API; this one reads a file
(CMDB_GROUPS, default cmdb_groups.json beside it), so the example can change it."""
import json
import os
import sys

path = os.environ.get("CMDB_GROUPS", os.path.join(os.path.dirname(__file__), "cmdb_groups.json"))
with open(path) as f:
    records = json.load(f)
groups = []
for r in records:
    labels = {"cmdb_group": r["group"], "team": r.get("team", "")}
    for key, label in (("metrics_path", "__metrics_path__"), ("interval", "__scrape_interval__"),
                       ("scheme", "__scheme__")):
        if key in r:
            labels[label] = r[key]
    groups.append({"targets": r["hosts"], "labels": labels})
json.dump(groups, sys.stdout)

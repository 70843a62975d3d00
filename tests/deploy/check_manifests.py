#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Checks deploy/daemonset.yaml and deploy/grafana-dashboard.json the way a cluster
and Grafana would read them; prints one line per check, 'ok ...' or 'FAIL ...'."""
import json
import re
import sys

import yaml

results = []


def check(name, cond):
    results.append(bool(cond))
    print(("ok   " if cond else "FAIL ") + name)


docs = [d for d in yaml.safe_load_all(open("deploy/daemonset.yaml")) if d is not None]
check("daemonset.yaml has documents", len(docs) >= 3)
for d in docs:
    ident = "%s/%s" % (d.get("kind"), (d.get("metadata") or {}).get("name"))
    check(ident + " has apiVersion, kind, metadata.name",
          d.get("apiVersion") and d.get("kind") and (d.get("metadata") or {}).get("name"))
kinds = {d["kind"]: d for d in docs}
check("a Namespace, a ServiceAccount and a DaemonSet", {"Namespace", "ServiceAccount", "DaemonSet"} <= set(kinds))
ds = kinds.get("DaemonSet", {})
check("DaemonSet apiVersion apps/v1", ds.get("apiVersion") == "apps/v1")
spec = ds.get("spec", {})
sel = spec.get("selector", {}).get("matchLabels", {})
tmpl = spec.get("template", {})
labels = tmpl.get("metadata", {}).get("labels", {})
check("selector matches the pod labels", sel and all(labels.get(k) == v for k, v in sel.items()))
pod = tmpl.get("spec", {})
check("hostNetwork", pod.get("hostNetwork") is True)
check("service account exists", pod.get("serviceAccountName") == kinds.get("ServiceAccount", {}).get("metadata", {}).get("name"))
check("tolerates every taint", any(t.get("operator") == "Exists" and "key" not in t for t in pod.get("tolerations", [])))
ann = tmpl.get("metadata", {}).get("annotations", {})
check("prometheus scrape annotations", ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/port", "").isdigit())
volumes = {v["name"]: v for v in pod.get("volumes", [])}
containers = pod.get("containers", [])
check("one container", len(containers) == 1)
c = containers[0] if containers else {}
mounts = c.get("volumeMounts", [])
for m in mounts:
    check("mount %s names a declared volume" % m["mountPath"], m["name"] in volumes)
paths = {m["mountPath"] for m in mounts}
for need in ("/sys/fs/bpf", "/sys/kernel/tracing", "/run/faultline"):
    check("mounts " + need, need in paths)
check("/run/faultline is a hostPath", volumes.get("run", {}).get("hostPath", {}).get("path") == "/run/faultline")
env = {e["name"]: e for e in c.get("env", [])}
check("NODE_NAME from the downward API", env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName")
caps = c.get("securityContext", {}).get("capabilities", {})
check("capabilities: drop ALL, add what eBPF needs",
      caps.get("drop") == ["ALL"] and {"BPF", "PERFMON", "NET_ADMIN"} <= set(caps.get("add", [])))
probe = c.get("livenessProbe", {}).get("exec", {}).get("command", [])
check("liveness probe runs faultline stats", len(probe) >= 2 and probe[0].endswith("faultline") and probe[1] == "stats")
res = c.get("resources", {})
check("requests and limits", res.get("requests", {}).get("memory") and res.get("limits", {}).get("memory"))
args = c.get("args", [])
check("metrics port matches the annotation", "--metrics-listen" in args and
      args[args.index("--metrics-listen") + 1].endswith(":" + ann.get("prometheus.io/port", "?")))

# The dashboard: valid JSON, and every metric its queries use is one faultline exports.
dash = json.load(open("deploy/grafana-dashboard.json"))
exported = set(open(sys.argv[1]).read().split()) if len(sys.argv) > 1 else None
titles = [p.get("title", "") for p in dash.get("panels", [])]
check("dashboard has panels for errors by type, peers, drops and missed bytes",
      any("type" in t for t in titles) and any("peer" in t for t in titles) and
      any("lost" in t or "drop" in t for t in titles) and any("Missed" in t for t in titles))
for p in dash.get("panels", []):
    for t in p.get("targets", []):
        for name in re.findall(r"\bfaultline_[a-z_]+", t.get("expr", "")):
            if exported is not None:
                check("dashboard metric %s is exported" % name, name in exported)
sys.exit(0 if all(results) else 1)

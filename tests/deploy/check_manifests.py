#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Checks deploy/daemonset.yaml, deploy/podmonitor.yaml and deploy/grafana-dashboard.json the
way a cluster and Grafana would read them: the fields they use, with the API's types, and what
a hardened cluster asks of them.  Prints one line per check, 'ok ...' or 'FAIL ...'.
Usage: check_manifests.py [EXPORTED_METRIC_NAMES_FILE [IDLE_RSS_BYTES]]"""
import json
import os
import re
import sys

import yaml

results = []


def check(name, cond):
    results.append(bool(cond))
    print(("ok   " if cond else "FAIL ") + name)


def unit_bytes(q):
    """A Kubernetes memory quantity in bytes (the suffixes these manifests may use)."""
    m = re.fullmatch(r"(\d+)(Ki|Mi|Gi|K|M|G)?", str(q))
    if not m:
        return None
    mult = {None: 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "K": 1000, "M": 10 ** 6, "G": 10 ** 9}
    return int(m.group(1)) * mult[m.group(2)]


# The types of the fields these manifests use, as the Kubernetes API defines them: a wrong type
# (a port as a string, a list where a map goes) is what a cluster would refuse.
SCHEMA = {
    "DaemonSet": {
        "spec.selector.matchLabels": dict, "spec.template.metadata.labels": dict,
        "spec.template.metadata.annotations": dict, "spec.updateStrategy.type": str,
        "spec.template.spec.hostNetwork": bool, "spec.template.spec.nodeSelector": dict,
        "spec.template.spec.automountServiceAccountToken": bool,
        "spec.template.spec.tolerations": list, "spec.template.spec.containers": list,
        "spec.template.spec.volumes": list, "spec.template.spec.terminationGracePeriodSeconds": int,
    },
    "Container": {
        "name": str, "image": str, "args": list, "env": list, "ports": list,
        "securityContext.capabilities.drop": list, "securityContext.capabilities.add": list,
        "securityContext.allowPrivilegeEscalation": bool, "securityContext.readOnlyRootFilesystem": bool,
        "securityContext.seccompProfile.type": str, "resources.requests": dict, "resources.limits": dict,
        "livenessProbe.httpGet.path": str, "readinessProbe.httpGet.path": str,
        "livenessProbe.periodSeconds": int, "readinessProbe.periodSeconds": int,
        "lifecycle.preStop.exec.command": list, "volumeMounts": list,
    },
}


def get(obj, path):
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def check_types(ident, obj, schema):
    bad = [p for p, t in schema.items() if get(obj, p) is not None and not isinstance(get(obj, p), t)]
    missing = [p for p in schema if get(obj, p) is None]
    check("%s: fields have the API's types %s" % (ident, bad or ""), not bad)
    check("%s: fields present %s" % (ident, missing or ""), not missing)


docs = [d for d in yaml.safe_load_all(open("deploy/daemonset.yaml")) if d is not None]
check("daemonset.yaml has documents", len(docs) >= 3)
for d in docs:
    ident = "%s/%s" % (d.get("kind"), (d.get("metadata") or {}).get("name"))
    check(ident + " has apiVersion, kind, metadata.name",
          d.get("apiVersion") and d.get("kind") and (d.get("metadata") or {}).get("name"))
kinds = {d["kind"]: d for d in docs}
check("a Namespace, a ServiceAccount and a DaemonSet", {"Namespace", "ServiceAccount", "DaemonSet"} <= set(kinds))
nslabels = kinds.get("Namespace", {}).get("metadata", {}).get("labels", {})
check("namespace: Pod Security enforce=privileged (with warn and audit)",
      nslabels.get("pod-security.kubernetes.io/enforce") == "privileged" and
      nslabels.get("pod-security.kubernetes.io/warn") and nslabels.get("pod-security.kubernetes.io/audit"))
check("namespace: the reason for privileged is written beside it",
      re.search(r"#.*baseline.*refuses", open("deploy/daemonset.yaml").read()) is not None)
check("service account: automountServiceAccountToken false",
      kinds.get("ServiceAccount", {}).get("automountServiceAccountToken") is False)
ds = kinds.get("DaemonSet", {})
check("DaemonSet apiVersion apps/v1", ds.get("apiVersion") == "apps/v1")
check_types("DaemonSet", ds, SCHEMA["DaemonSet"])
spec = ds.get("spec", {})
sel = spec.get("selector", {}).get("matchLabels", {})
tmpl = spec.get("template", {})
labels = tmpl.get("metadata", {}).get("labels", {})
check("selector matches the pod labels", sel and all(labels.get(k) == v for k, v in sel.items()))
check("updateStrategy: RollingUpdate with maxUnavailable",
      spec.get("updateStrategy", {}).get("type") == "RollingUpdate" and
      re.fullmatch(r"\d+%?", str(spec.get("updateStrategy", {}).get("rollingUpdate", {}).get("maxUnavailable", ""))))
pod = tmpl.get("spec", {})
check("hostNetwork", pod.get("hostNetwork") is True)
check("nodeSelector kubernetes.io/os: linux", pod.get("nodeSelector") == {"kubernetes.io/os": "linux"})
check("pod: automountServiceAccountToken false", pod.get("automountServiceAccountToken") is False)
check("service account exists", pod.get("serviceAccountName") == kinds.get("ServiceAccount", {}).get("metadata", {}).get("name"))
check("tolerates every taint", any(t.get("operator") == "Exists" and "key" not in t for t in pod.get("tolerations", [])))
ann = tmpl.get("metadata", {}).get("annotations", {})
check("prometheus scrape annotations", ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/port", "").isdigit()
      and ann.get("prometheus.io/path") == "/metrics")
volumes = {v["name"]: v for v in pod.get("volumes", [])}
containers = pod.get("containers", [])
check("one container", len(containers) == 1)
c = containers[0] if containers else {}
check_types("container", c, SCHEMA["Container"])
mounts = c.get("volumeMounts", [])
for m in mounts:
    check("mount %s names a declared volume" % m["mountPath"], m["name"] in volumes)
used = {m["name"] for m in mounts}
check("every volume is mounted (no unused hostPath) %s" % sorted(set(volumes) - used), set(volumes) <= used)
paths = {m["mountPath"]: m for m in mounts}
check("no bpffs mount (faultline pins nothing)", "/sys/fs/bpf" not in paths and
      not any(v.get("hostPath", {}).get("path") == "/sys/fs/bpf" for v in volumes.values()))
for need in ("/sys/kernel/tracing", "/run/faultline"):
    check("mounts " + need, need in paths)
for need in ("/var/log/pods", "/var/log/containers"):
    m = paths.get(need, {})
    v = volumes.get(m.get("name"), {})
    check("mounts %s read-only from the host's %s" % (need, need),
          m.get("readOnly") is True and v.get("hostPath", {}).get("path") == need)
check("/run/faultline is a hostPath", volumes.get("run", {}).get("hostPath", {}).get("path") == "/run/faultline")
env = {e["name"]: e for e in c.get("env", [])}
check("NODE_NAME from the downward API", env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName")
check("HOST_IP from the downward API (status.hostIP)",
      env.get("HOST_IP", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "status.hostIP")
sc = c.get("securityContext", {})
caps = sc.get("capabilities", {})
check("capabilities: drop ALL, add what eBPF needs",
      caps.get("drop") == ["ALL"] and {"BPF", "PERFMON", "NET_ADMIN"} <= set(caps.get("add", [])) and
      "SYS_ADMIN" not in caps.get("add", []))
check("not privileged, no privilege escalation, read-only root",
      sc.get("privileged") is False and sc.get("allowPrivilegeEscalation") is False and sc.get("readOnlyRootFilesystem") is True)
check("a seccomp profile is set (RuntimeDefault, or Unconfined with the reason)",
      sc.get("seccompProfile", {}).get("type") == "RuntimeDefault" or
      (sc.get("seccompProfile", {}).get("type") == "Unconfined" and
       re.search(r"#.*Unconfined, not RuntimeDefault", open("deploy/daemonset.yaml").read())))
ports = {p.get("name"): p for p in c.get("ports", [])}
check("metrics port named, TCP", ports.get("metrics", {}).get("protocol") == "TCP" and
      isinstance(ports.get("metrics", {}).get("containerPort"), int))
for kind, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
    g = c.get(kind, {}).get("httpGet", {})
    check("%s: GET %s on the metrics port" % (kind, path), g.get("path") == path and g.get("port") in ("metrics", ports.get("metrics", {}).get("containerPort")))
stop = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
check("preStop runs faultline cleanup", len(stop) == 2 and stop[0].endswith("/faultline") and stop[1] == "cleanup")
res = c.get("resources", {})
args = c.get("args", [])
limit = unit_bytes(res.get("limits", {}).get("memory", ""))
request = unit_bytes(res.get("requests", {}).get("memory", ""))
budget = 384
for i, a in enumerate(args[:-1]):
    if a == "--set" and args[i + 1].startswith("tap.memoryLimitMb="):
        budget = int(args[i + 1].split("=", 1)[1])
idle = int(sys.argv[2]) if len(sys.argv) > 2 else 0   # measured idle RSS in bytes (0: not measured)
check("memory: request %s >= the measured idle RSS %d MiB" % (res.get("requests", {}).get("memory"), idle >> 20),
      request and request >= idle)
check("memory: limit %s above tap.memoryLimitMb (%d MiB) + idle RSS" % (res.get("limits", {}).get("memory"), budget),
      limit and request and limit > (budget << 20) + max(idle, request // 2) and limit >= request)
check("no CPU limit (throttling drops packets)", "cpu" not in res.get("limits", {}))
check("metrics bound to the node IP from the downward API, port as annotated",
      "--metrics-listen" in args and
      args[args.index("--metrics-listen") + 1] == "$(HOST_IP):" + ann.get("prometheus.io/port", "?") and
      ports.get("metrics", {}).get("containerPort") == int(ann.get("prometheus.io/port", "0")))

# The PodMonitor: selects these pods, on the port they name.
pm = [d for d in yaml.safe_load_all(open("deploy/podmonitor.yaml")) if d]
pmon = pm[0] if pm else {}
check("podmonitor.yaml: one monitoring.coreos.com/v1 PodMonitor",
      len(pm) == 1 and pmon.get("kind") == "PodMonitor" and pmon.get("apiVersion") == "monitoring.coreos.com/v1")
psel = pmon.get("spec", {}).get("selector", {}).get("matchLabels", {})
check("PodMonitor selects the DaemonSet's pods", psel and all(labels.get(k) == v for k, v in psel.items()))
check("PodMonitor in the namespace", pmon.get("spec", {}).get("namespaceSelector", {}).get("matchNames") == [ds.get("metadata", {}).get("namespace")])
eps = pmon.get("spec", {}).get("podMetricsEndpoints", [])
check("PodMonitor scrapes the metrics port at /metrics", eps and eps[0].get("port") == "metrics" and eps[0].get("path") == "/metrics")

# The dashboard: valid JSON, and every metric its queries use is one faultline exports.
dash = json.load(open("deploy/grafana-dashboard.json"))
exported = set(open(sys.argv[1]).read().split()) if len(sys.argv) > 1 and os.path.exists(sys.argv[1]) else None
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

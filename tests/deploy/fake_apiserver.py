#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The least of a Kubernetes API server that `kubectl apply --dry-run=client` and `kubectl
create --dry-run=client` need to run without a cluster: discovery (which kinds exist, under
which resource names, namespaced or not) for the kinds of deploy/, and 404 for every object,
so that kubectl takes each as new.  Nothing is stored.  Usage: fake_apiserver.py PORT
(listens on 127.0.0.1; logs every request it could not answer to stderr; exits after 300 s)."""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RESOURCES = {
    "v1": [("namespaces", "Namespace", False), ("serviceaccounts", "ServiceAccount", True)],
    "apps/v1": [("daemonsets", "DaemonSet", True)],
    "monitoring.coreos.com/v1": [("podmonitors", "PodMonitor", True)],
}
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


def group_list():
    groups = {}
    for gv in RESOURCES:
        if "/" in gv:
            g, v = gv.split("/")
            groups.setdefault(g, []).append({"groupVersion": gv, "version": v})
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [{"name": g, "versions": vs, "preferredVersion": vs[0]} for g, vs in groups.items()]}


def resource_list(gv):
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": [{"name": n, "singularName": k.lower(), "namespaced": ns, "kind": k, "verbs": VERBS}
                          for n, k, ns in RESOURCES[gv]]}


class Handler(BaseHTTPRequestHandler):
    def send(self, code, doc):
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?")[0].rstrip("/")
        if path == "/api":
            return self.send(200, {"kind": "APIVersions", "versions": ["v1"],
                                   "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                                   "serverAddress": "127.0.0.1"}]})
        if path == "/apis":
            return self.send(200, group_list())
        gv = path[len("/api/"):] if path.startswith("/api/") else path[len("/apis/"):]
        if gv in RESOURCES:
            return self.send(200, resource_list(gv))
        if path == "/version":
            return self.send(200, {"major": "1", "minor": "32", "gitVersion": "v1.32.0"})
        if not path.startswith("/openapi"):
            print("fake_apiserver: 404 %s" % self.path, file=sys.stderr)
        self.send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                        "reason": "NotFound", "code": 404, "message": "not found"})

    def log_message(self, fmt, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
threading.Timer(300, server.shutdown).start()
server.serve_forever()

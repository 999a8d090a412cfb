#!/usr/bin/env python3
"""A kubelet (and API server) stand-in on loopback HTTPS, for tests/integration/kubernetes_test.

    kubelet_stub.py --dir DIR [--port PORT]

Makes a CA and a server certificate for IP 127.0.0.1 with the openssl CLI in DIR (once: an
existing pair is reused, so a restarted stub keeps its CA), listens on 127.0.0.1:PORT (0: any
free port) and prints "PORT <n>" when it accepts connections.

Files in DIR steer it, read on every request:
  mode            what to answer (default "pods"):
                    pods        the pod list below
                    pods-extra  the pod list with one more pod, as after a rollout
                    empty       a pod list without pods, as the kubelet writes it ("items": null)
                    forbidden   403: the kubelet's plain-text refusal on /pods, a Kubernetes
                                Status body on /api/v1/pods
                    error       500 with a Status body
                    hang        nothing, for 120 s
                    malformed   a pod list cut short (not JSON)
                    not-a-list  JSON that is not a pod list
                    oversize    a valid pod list of about 4 MiB, without Content-Length
  expected_token  the bearer token to require (401 otherwise, in text or as a Status as
                  above); absent: any
Every request appends a line to DIR/requests.log: "<path> auth=<ok|missing|wrong> mode=<mode>".

Paths: /pods answers in the kubelet's form; /api/v1/pods answers in the API server's form (a
mirror pod for the static pod) and requires fieldSelector=spec.nodeName=node-1. Anything else is
404.
"""

import argparse
import copy
import http.server
import json
import os
import socketserver
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

NODE = "node-1"
HOST_IP = "10.0.0.11"


def container_id(runtime, n):
    return "%s://%064x" % (runtime, n)


def status(name, image, cid, state="running", restarts=0):
    """A containerStatuses[] entry as the kubelet writes it."""
    entry = {
        "name": name,
        "state": {},
        "lastState": {},
        "ready": state == "running",
        "restartCount": restarts,
        "image": image,
        "imageID": image.split(":")[0] + "@sha256:" + "ab" * 32,
        "started": state == "running",
    }
    if cid:
        entry["containerID"] = cid
    if state == "running":
        entry["state"] = {"running": {"startedAt": "2024-05-01T10:00:00Z"}}
    elif state == "terminated":
        entry["state"] = {"terminated": {"exitCode": 0, "reason": "Completed",
                                         "startedAt": "2024-05-01T09:59:58Z",
                                         "finishedAt": "2024-05-01T09:59:59Z",
                                         "containerID": cid}}
        entry["ready"] = False
        entry["started"] = False
    else:
        entry["state"] = {"waiting": {"reason": "ContainerCreating"}}
        entry["imageID"] = ""
    return entry


def pod(name, namespace, uid, labels, containers, statuses, init_statuses=None,
        ephemeral_statuses=None, annotations=None, owner=None, qos="Burstable"):
    """A Pod as the kubelet's /pods lists it: spec and status in full, managedFields included."""
    meta = {
        "name": name,
        "namespace": namespace,
        "uid": uid,
        "resourceVersion": "48213",
        "creationTimestamp": "2024-05-01T09:59:50Z",
        "labels": labels,
        "annotations": annotations or {
            "kubernetes.io/config.seen": "2024-05-01T09:59:50.123456789Z",
            "kubernetes.io/config.source": "api",
        },
        "managedFields": [{
            "manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
            "time": "2024-05-01T09:59:50Z", "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app.kubernetes.io/name": {}}}},
        }],
    }
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner,
                                    "uid": "0f0f0f0f-1111-2222-3333-444455556666",
                                    "controller": True, "blockOwnerDeletion": True}]
    spec = {
        "volumes": [{"name": "kube-api-access-x7k2p", "projected": {"sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}]}}],
        "containers": [{
            "name": c, "image": img, "resources": {"requests": {"cpu": "100m"}},
            "env": [{"name": "LOG_LEVEL", "value": "info"}],
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent",
        } for c, img in containers],
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "serviceAccountName": "default",
        "nodeName": NODE,
        "securityContext": {},
        "schedulerName": "default-scheduler",
        "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                         "effect": "NoExecute", "tolerationSeconds": 300}],
        "priority": 0,
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
    }
    st = {
        "phase": "Running",
        "conditions": [
            {"type": "Initialized", "status": "True", "lastProbeTime": None,
             "lastTransitionTime": "2024-05-01T10:00:00Z"},
            {"type": "Ready", "status": "True", "lastProbeTime": None,
             "lastTransitionTime": "2024-05-01T10:00:01Z"},
        ],
        "hostIP": HOST_IP,
        "podIP": "10.244.1.17",
        "podIPs": [{"ip": "10.244.1.17"}],
        "startTime": "2024-05-01T09:59:50Z",
        "containerStatuses": statuses,
        "qosClass": qos,
    }
    if init_statuses is not None:
        st["initContainerStatuses"] = init_statuses
    if ephemeral_statuses is not None:
        st["ephemeralContainerStatuses"] = ephemeral_statuses
    return {"metadata": meta, "spec": spec, "status": st}


# The UIDs and ids kubernetes_test.cpp expects.
WEB_UID = "3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
ETCD_HASH = "9a8b7c6d5e4f30211203f4e5d6c7b8a9"  # a static pod's UID: its config hash
ETCD_MIRROR_UID = "77777777-8888-4999-aaaa-bbbbbbbbbbbb"
PENDING_UID = "c0ffee00-1234-4abc-8def-001122334455"
EXTRA_UID = "e1e2e3e4-f5f6-4a7b-8c9d-0a1b2c3d4e5f"


def pod_list(extra=False):
    items = [
        pod("web-7d4b9c8f6-x2k9p", "shop", WEB_UID,
            {"app.kubernetes.io/name": "web", "app.kubernetes.io/instance": "web-prod",
             "pod-template-hash": "7d4b9c8f6", "team": "storefront"},
            [("nginx", "docker.io/library/nginx:1.25"),
             ("log-shipper", "docker.io/fluent/fluent-bit:3.0")],
            [status("nginx", "docker.io/library/nginx:1.25", container_id("containerd", 0x1001)),
             status("log-shipper", "docker.io/fluent/fluent-bit:3.0",
                    container_id("containerd", 0x1002), restarts=2)],
            init_statuses=[status("init-config", "docker.io/library/busybox:1.36",
                                  container_id("containerd", 0x1000), state="terminated")],
            ephemeral_statuses=[status("debugger-abcde", "docker.io/library/busybox:1.36",
                                       container_id("containerd", 0x1003))],
            owner="web-7d4b9c8f6"),
        pod("etcd-" + NODE, "kube-system", ETCD_HASH,
            {"component": "etcd", "tier": "control-plane"},
            [("etcd", "registry.k8s.io/etcd:3.5.12-0")],
            [status("etcd", "registry.k8s.io/etcd:3.5.12-0", container_id("containerd", 0x2001))],
            annotations={"kubernetes.io/config.hash": ETCD_HASH,
                         "kubernetes.io/config.seen": "2024-05-01T09:00:00.000000000Z",
                         "kubernetes.io/config.source": "file"},
            qos="Burstable"),
        pod("worker-0", "batch", PENDING_UID, {"app": "worker"},
            [("worker", "ghcr.io/example/worker:2.1")],
            [status("worker", "ghcr.io/example/worker:2.1", "", state="waiting")]),
    ]
    if extra:
        items.append(pod("api-5c6d7e8f9-q8w7e", "shop", EXTRA_UID,
                         {"app.kubernetes.io/name": "api", "k8s-app": "api"},
                         [("api", "ghcr.io/example/api:1.4")],
                         [status("api", "ghcr.io/example/api:1.4",
                                 container_id("containerd", 0x3001))],
                         owner="api-5c6d7e8f9"))
    return items


def kubelet_pod_list(extra=False):
    # The kubelet's /pods: a v1 PodList with empty list metadata.
    return {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": pod_list(extra)}


def apiserver_pod_list(extra=False):
    # The API server shows the static pod as a mirror pod: a UID of its own, the kubelet's in the
    # kubernetes.io/config.mirror annotation.
    items = copy.deepcopy(pod_list(extra))
    for item in items:
        meta = item["metadata"]
        if meta["uid"] == ETCD_HASH:
            meta["uid"] = ETCD_MIRROR_UID
            meta["annotations"]["kubernetes.io/config.mirror"] = ETCD_HASH
        meta.pop("managedFields", None)
    return {"kind": "PodList", "apiVersion": "v1",
            "metadata": {"resourceVersion": "48213"}, "items": items}


def status_body(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kubelet-stub"

    def log_message(self, fmt, *args):  # quiet: the test reads requests.log
        pass

    def read_control(self, name):
        try:
            with open(os.path.join(self.server.dir, name)) as f:
                return f.read().strip()
        except FileNotFoundError:
            return None

    def send_json(self, code, doc, length=True):
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        if length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def send_text(self, code, text):
        # The kubelet answers authentication and authorisation failures in plain text.
        body = (text + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        mode = self.read_control("mode") or "pods"
        expected = self.read_control("expected_token")
        header = self.headers.get("Authorization")
        if header is None:
            auth = "missing"
        elif expected is None or header == "Bearer " + expected:
            auth = "ok"
        else:
            auth = "wrong"
        with self.server.log_lock:
            with open(os.path.join(self.server.dir, "requests.log"), "a") as f:
                f.write("%s auth=%s mode=%s\n" % (self.path, auth, mode))

        url = urllib.parse.urlsplit(self.path)
        kubelet = url.path == "/pods"
        if kubelet:
            make_list = kubelet_pod_list
        elif url.path == "/api/v1/pods":
            query = urllib.parse.parse_qs(url.query)
            if query.get("fieldSelector") != ["spec.nodeName=" + NODE]:
                self.send_json(400, status_body(400, "BadRequest", "expected a node selector"))
                return
            make_list = apiserver_pod_list
        else:
            self.send_json(404, status_body(404, "NotFound", "the server could not find the "
                                            "requested resource"))
            return
        if expected is not None and auth != "ok":
            if kubelet:
                self.send_text(401, "Unauthorized")
            else:
                self.send_json(401, status_body(401, "Unauthorized", "Unauthorized"))
            return

        if mode == "pods":
            self.send_json(200, make_list())
        elif mode == "pods-extra":
            self.send_json(200, make_list(extra=True))
        elif mode == "empty":
            self.send_json(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {},
                                 "items": None})
        elif mode == "forbidden" and kubelet:
            self.send_text(403, "Forbidden (user=system:serviceaccount:monitoring:pidscope, "
                           "verb=get, resource=nodes, subresource(s)=[proxy])")
        elif mode == "forbidden":
            self.send_json(403, status_body(
                403, "Forbidden", "pods is forbidden: User \"system:serviceaccount:monitoring:"
                "pidscope\" cannot list resource \"pods\" in API group \"\" at the cluster scope"))
        elif mode == "error":
            self.send_json(500, status_body(500, "InternalError", "etcdserver: request timed out"))
        elif mode == "hang":
            time.sleep(120)
        elif mode == "malformed":
            body = json.dumps(make_list())[:700].encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif mode == "not-a-list":
            self.send_json(200, {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "x"}})
        elif mode == "oversize":
            doc = make_list()
            doc["items"] = doc["items"] * 400  # about 4 MiB
            self.send_json(200, doc, length=False)
        else:
            self.send_json(500, status_body(500, "InternalError", "unknown stub mode " + mode))


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, context, directory):
        super().__init__(address, Handler)
        self.context = context
        self.dir = directory
        self.log_lock = threading.Lock()

    def finish_request(self, request, client_address):
        # The TLS handshake happens here, in the connection's own thread.
        try:
            request.settimeout(30)
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            try:
                tls.close()
            except OSError:
                pass


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, timeout=60,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_certificates(directory):
    if os.path.exists(os.path.join(directory, "server.crt")):
        return
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", "/CN=pidscope-test-ca",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    openssl("req", "-new", *ec, "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=" + NODE, cwd=directory)
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:%s\n" % NODE)
        f.write("basicConstraints=CA:FALSE\n")
        f.write("keyUsage=critical,digitalSignature,keyEncipherment\n")
        f.write("extendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.crt.tmp", "-days", "2", "-extfile", "server.ext",
            cwd=directory)
    os.rename(os.path.join(directory, "server.crt.tmp"), os.path.join(directory, "server.crt"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    make_certificates(args.dir)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.path.join(args.dir, "server.crt"),
                            os.path.join(args.dir, "server.key"))
    server = Server(("127.0.0.1", args.port), context, args.dir)
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever(poll_interval=0.1)


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as e:
        sys.stderr.write("openssl failed: %s\n" % e.stderr.decode(errors="replace"))
        sys.exit(1)

#!/usr/bin/python3
"""A small OCI distribution server for what docker-registry cannot be made
to do in a test: Bearer tokens from a token server, blobs redirected to
another host (a "CDN" on 127.0.0.2), connections dropped in the middle of a
blob, and a log of what clients sent.

  fake-registry.py --layout DIR --repo NAME --ports FILE --log FILE
                   [--user USER --password PASSWORD] [--drop-first]

Serves the OCI layout DIR as repository NAME (tags are the layout's
org.opencontainers.image.ref.name annotations). Writes "REGISTRY_PORT
CDN_PORT" to FILE once listening. Log lines:
  token service=S scope=S user=U|-        a token was issued
  token-denied user=U|-                   wrong or missing credentials
  cdn DIGEST range=R|- auth=yes|no        the CDN was asked for a blob
  drop DIGEST at=N                        the CDN cut a transfer at byte N
"""
import argparse, base64, hashlib, json, os, secrets, socket, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

ap = argparse.ArgumentParser()
ap.add_argument("--layout", required=True)
ap.add_argument("--repo", required=True)
ap.add_argument("--ports", required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--user")
ap.add_argument("--password")
ap.add_argument("--drop-first", action="store_true")
args = ap.parse_args()

lock = threading.Lock()
tokens = set()
dropped = set()


def log(line):
    with lock, open(args.log, "a") as f:
        f.write(line + "\n")


def blob_path(digest):
    algo, _, hexpart = digest.partition(":")
    if algo != "sha256" or len(hexpart) != 64 or not all(c in "0123456789abcdef" for c in hexpart):
        return None
    p = os.path.join(args.layout, "blobs", "sha256", hexpart)
    return p if os.path.isfile(p) else None


def find_tag(tag):
    with open(os.path.join(args.layout, "index.json")) as f:
        idx = json.load(f)
    for m in idx.get("manifests", []):
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            return m["digest"]
    return None


class Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, code, errcode, message, headers=()):
        body = json.dumps({"errors": [{"code": errcode, "message": message}]}).encode()
        self.send(code, body, [("Content-Type", "application/json")] + list(headers))


class Registry(Quiet):
    def challenge(self, scope=None):
        realm = f"http://127.0.0.1:{self.server.server_port}/token"
        h = f'Bearer realm="{realm}",service="fake-registry"'
        if scope:
            h += f',scope="{scope}"'
        self.error(401, "UNAUTHORIZED", "authentication required", [("WWW-Authenticate", h)])

    def authorized(self):
        a = self.headers.get("Authorization", "")
        return a.startswith("Bearer ") and a[7:] in tokens

    def do_GET(self):
        u = urlparse(self.path)
        if u.path == "/token":
            return self.token(parse_qs(u.query))
        if u.path == "/v2/":
            return self.send(200, b"{}") if self.authorized() else self.challenge()
        prefix = f"/v2/{args.repo}/"
        if not u.path.startswith(prefix):
            return self.error(404, "NAME_UNKNOWN", "repository name not known to registry")
        if not self.authorized():
            return self.challenge(f"repository:{args.repo}:pull")
        kind, _, ref = u.path[len(prefix):].partition("/")
        if kind == "manifests":
            digest = ref if ref.startswith("sha256:") else find_tag(ref)
            p = blob_path(digest) if digest else None
            if not p:
                return self.error(404, "MANIFEST_UNKNOWN", "manifest unknown")
            data = open(p, "rb").read()
            mt = json.loads(data).get("mediaType", "application/vnd.oci.image.manifest.v1+json")
            return self.send(200, data, [("Content-Type", mt), ("Docker-Content-Digest", digest)])
        if kind == "blobs":
            if not blob_path(ref):
                return self.error(404, "BLOB_UNKNOWN", "blob unknown to registry")
            cdn = f"http://127.0.0.2:{self.server.cdn_port}/blobs/{ref}?signature=x"
            return self.send(307, b"", [("Location", cdn)])
        self.error(404, "UNSUPPORTED", "not here")

    def token(self, q):
        user = "-"
        a = self.headers.get("Authorization", "")
        if a.startswith("Basic "):
            u, _, p = base64.b64decode(a[6:]).decode().partition(":")
            user = u
            if u != args.user or p != args.password:
                log(f"token-denied user={u}")
                return self.error(401, "UNAUTHORIZED", "invalid username or password")
        elif args.user:
            log("token-denied user=-")
            return self.error(401, "UNAUTHORIZED", "authentication required")
        t = secrets.token_hex(16)
        tokens.add(t)
        log(f"token service={q.get('service', ['-'])[0]} scope={q.get('scope', ['-'])[0]} user={user}")
        self.send(200, json.dumps({"token": t, "expires_in": 300}).encode(),
                  [("Content-Type", "application/json")])


class Cdn(Quiet):
    def do_GET(self):
        u = urlparse(self.path)
        digest = u.path[len("/blobs/"):] if u.path.startswith("/blobs/") else ""
        p = blob_path(digest)
        rng = self.headers.get("Range")
        log(f"cdn {digest} range={rng or '-'} auth={'yes' if self.headers.get('Authorization') else 'no'}")
        if self.headers.get("Authorization"):
            return self.error(400, "DENIED", "credentials sent to the blob store")
        if not p:
            return self.error(404, "BLOB_UNKNOWN", "blob unknown")
        data = open(p, "rb").read()
        start = 0
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
        body = data[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        with lock:
            drop = args.drop_first and digest not in dropped and len(data) > 65536
            if drop:
                dropped.add(digest)
        if drop:
            cut = len(body) // 2
            self.wfile.write(body[:cut])
            self.wfile.flush()
            log(f"drop {digest} at={cut}")
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(body)


reg = ThreadingHTTPServer(("127.0.0.1", 0), Registry)
cdn = ThreadingHTTPServer(("127.0.0.2", 0), Cdn)
reg.cdn_port = cdn.server_port
threading.Thread(target=cdn.serve_forever, daemon=True).start()
with open(args.ports + ".tmp", "w") as f:
    f.write(f"{reg.server_port} {cdn.server_port}\n")
os.rename(args.ports + ".tmp", args.ports)
reg.serve_forever()
